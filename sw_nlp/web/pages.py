"""The pages of ``sw-nlp serve`` for case workers: sign-in, upload, progress and the
column picker, the results table, the case page with its correction form, downloads (the
bytes ``sw-nlp classify`` writes), the model page and the corrections file. What a page
shows is computed in ``views``; the guards around every route are in ``security``."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from sw_nlp.columns import shown_names
from sw_nlp.errors import InputError
from sw_nlp.files import ALL_SHEETS
from sw_nlp.labels import LEVELS, METHODS_BY_LEVEL
from sw_nlp.web.corrections import (
    MAX_NOTE_CHARS,
    MAX_REVIEWER_CHARS,
    Correction,
    count_corrections,
    save_correction,
)
from sw_nlp.web.jobs import DONE, Job
from sw_nlp.web.messages import MESSAGES, translate
from sw_nlp.web.security import REPORT_CSP, SESSION_COOKIE, Guard, is_api, local_target
from sw_nlp.web.served import Served
from sw_nlp.web.views import REVIEWER_COOKIE, case_context, index_context, result_view

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"


def add_pages(app: FastAPI, served: Served, guard: Guard) -> None:
    """The page routes, and the error page (a JSON error on the API's paths)."""
    cfg, clf, info, jobs = served.cfg, served.clf, served.info, served.jobs
    corrections_path = served.corrections
    templates = Jinja2Templates(directory=str(TEMPLATES))
    # A column name as the page shows it: masked and cut, for a file without a header row,
    # whose "names" are its first case (the option's value stays the name, to be chosen).
    templates.env.filters["shown_name"] = lambda name: shown_names([str(name)])

    def page(request: Request, name: str, status_code: int = 200, **context: Any) -> Response:
        lang = request.state.lang

        def t(key: str, **values: Any) -> str:
            return translate(lang, key, **values)

        switched = request.url.include_query_params(lang="en" if lang == "id" else "id")
        return templates.TemplateResponse(
            request,
            name,
            {
                "t": t,
                "lang": lang,
                "lang_url": f"{request.url.path}?{switched.query}",
                "csrf": guard.csrf_token,
                "waiting": count_corrections(corrections_path),
                "secured": bool(cfg.token),
                **context,
            },
            status_code=status_code,
        )

    def job_or_404(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job is None:
            raise StarletteHTTPException(404, "job.expired")
        return job

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if is_api(request.url.path):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        key = {404: "error.not_found", 403: "error.forbidden", 413: "error.too_big"}.get(
            exc.status_code, "error.title"
        )
        if str(exc.detail) in MESSAGES["en"]:
            key = str(exc.detail)
        return page(request, "error.html", exc.status_code, message_key=key)

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_form(request: Request, next: str = "/") -> Response:
        return page(request, "login.html", next=local_target(next), failed=False)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        target = local_target(str(form.get("next", "/")))
        given = str(form.get("token", ""))
        if not cfg.token:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(given.encode(), cfg.token.encode()):
            log.info("login refused")
            return page(request, "login.html", 401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, guard.session, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> Response:
        return page(request, "index.html", **index_context(cfg, jobs))

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> Response:
        async with request.form(max_files=1, max_fields=5) as form:  # closes the spooled file
            return await _take_upload(request, form)

    async def _take_upload(request: Request, form: Any) -> Response:
        guard.check_csrf(form)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return page(
                request, "index.html", 400, error_key="upload.none", **index_context(cfg, jobs)
            )
        target = jobs.new_upload_path()
        size = 0
        with open(target, "wb") as handle:
            while data := await file.read(1 << 20):
                size += len(data)
                if size > cfg.max_upload_bytes:
                    break
                handle.write(data)
        if size > cfg.max_upload_bytes:
            target.unlink(missing_ok=True)
            return page(
                request, "index.html", 413, error_key="upload.too_big", **index_context(cfg, jobs)
            )
        column = str(form.get("text_column", "")).strip() or None
        # A sheet named is read alone, as with --sheet NAME; else the box: every sheet of
        # cases; else the first.
        named = str(form.get("sheet", "")).strip() or None
        sheet = named or (ALL_SHEETS if form.get("all_sheets") else None)
        job = jobs.create(file.filename, target, column, sheet)
        log.info("job %s: upload of %d bytes", job.id, size)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
    async def job_page(request: Request, job_id: str) -> Response:
        job = job_or_404(job_id)
        if job.status == DONE:
            return RedirectResponse(f"/jobs/{job.id}/results", status_code=303)
        return page(request, "job.html", job=job)

    @app.get("/jobs/{job_id}/status", include_in_schema=False)
    async def job_status(job_id: str) -> dict[str, Any]:
        return job_or_404(job_id).progress()

    @app.post("/jobs/{job_id}/column", include_in_schema=False)
    async def job_column(request: Request, job_id: str) -> Response:
        job = job_or_404(job_id)
        form = await request.form()
        guard.check_csrf(form)
        column = str(form.get("column", ""))
        if job.status != "needs_column" or column not in job.columns:
            raise StarletteHTTPException(400, "error.title")
        job.text_column = column
        jobs.start(job)
        return RedirectResponse(f"/jobs/{job.id}", status_code=303)

    @app.get("/jobs/{job_id}/results", response_class=HTMLResponse, include_in_schema=False)
    async def results(
        request: Request,
        job_id: str,
        level: str = "",
        flag: str = "",
        sort: str = "row",
        page_no: int = 1,
    ) -> Response:
        job = job_or_404(job_id)
        if job.status != DONE or job.results is None:
            return RedirectResponse(f"/jobs/{job.id}", status_code=303)
        view = result_view(job, level, flag, sort, page_no, cfg.page_size, request.state.lang)
        return page(request, "results.html", job=job, labels=info.labels, **view)

    @app.get("/jobs/{job_id}/rows/{row}", response_class=HTMLResponse, include_in_schema=False)
    async def case_page(
        request: Request, job_id: str, row: str, saved: int | None = None
    ) -> Response:
        job = job_or_404(job_id)
        return page(
            request,
            "case.html",
            **case_context(request, job, row, clf, info, corrections_path, saved=saved),
        )

    @app.post("/jobs/{job_id}/rows/{row}/correct", include_in_schema=False)
    async def correct(request: Request, job_id: str, row: str) -> Response:
        job = job_or_404(job_id)
        form = await request.form()
        guard.check_csrf(form)
        context = case_context(request, job, row, clf, info, corrections_path)
        record = context["record"]
        level = str(form.get("level", ""))
        method = str(form.get("method", ""))
        reviewer = " ".join(str(form.get("reviewer", "")).split())
        note = " ".join(str(form.get("note", "")).split())
        lang = request.state.lang
        problem = None
        if level not in LEVELS:
            problem = translate(lang, "case.bad_level")
        elif method not in METHODS_BY_LEVEL[level]:
            problem = translate(lang, "case.bad_method", method=method or "-", level=level)
        elif not reviewer or len(reviewer) > MAX_REVIEWER_CHARS:
            problem = translate(lang, "case.bad_reviewer")
        elif len(note) > MAX_NOTE_CHARS:
            problem = translate(lang, "case.bad_note", n=MAX_NOTE_CHARS)
        if problem is None:
            try:
                waiting = save_correction(
                    corrections_path,
                    Correction(
                        text=context["text"],
                        level=level,
                        method=method,
                        reviewer=reviewer,
                        note=note,
                        model_version=info.version,
                        model_sha256=info.sha256,
                        predicted_level=record.get("level", ""),
                        predicted_confidence=record.get("confidence", ""),
                        source_file=job.name,
                        source_row=str(record.get("row", "")),
                    ),
                )
            except InputError as exc:
                problem = translate(lang, "case.refused", error=str(exc))
        if problem is not None:
            context.update(
                problem=problem,
                form={"level": level, "method": method, "note": note, "reviewer": reviewer},
            )
            return page(request, "case.html", 400, **context)
        response = RedirectResponse(
            f"/jobs/{job.id}/rows/{quote(row)}?saved={waiting}", status_code=303
        )
        response.set_cookie(REVIEWER_COOKIE, quote(reviewer), httponly=True, samesite="strict")
        return response

    @app.get("/jobs/{job_id}/download.{kind}", include_in_schema=False)
    async def download(job_id: str, kind: str) -> Response:
        job = job_or_404(job_id)
        if job.status != DONE or kind not in ("csv", "xlsx"):
            raise StarletteHTTPException(404, "error.not_found")
        path = job.csv if kind == "csv" else job.xlsx
        media = (
            "text/csv; charset=utf-8"
            if kind == "csv"
            else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        return FileResponse(path, media_type=media, filename=f"{Path(job.name).stem}-hasil.{kind}")

    @app.get("/model", response_class=HTMLResponse, include_in_schema=False)
    async def model_page(request: Request) -> Response:
        metrics = info.manifest.get("metrics", {}).get("test") or {}
        return page(
            request,
            "model.html",
            info=info,
            metrics=metrics,
            corpus=info.manifest.get("corpus", {}),
            has_report=info.report.is_file(),
        )

    @app.get("/model/report", include_in_schema=False)
    async def model_report() -> Response:
        if not info.report.is_file():
            raise StarletteHTTPException(404, "model.no_report")
        response = FileResponse(info.report, media_type="text/html; charset=utf-8")
        response.headers["Content-Security-Policy"] = REPORT_CSP
        return response

    @app.get("/corrections", response_class=HTMLResponse, include_in_schema=False)
    async def corrections_page(request: Request) -> Response:
        return page(request, "corrections.html", path=corrections_path)

    @app.get("/corrections.csv", include_in_schema=False)
    async def corrections_file() -> Response:
        if not corrections_path.is_file():
            raise StarletteHTTPException(404, "corr.none")
        return FileResponse(
            corrections_path, media_type="text/csv; charset=utf-8", filename="corrections.csv"
        )
