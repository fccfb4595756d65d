"""The web app of ``sw-nlp serve``: triage pages for case workers and a JSON API.

Built on the library's public functions only: ``classify.classify_file`` for uploads (the
downloads are its bytes), ``classify.classify_texts`` for the API, ``bundle.load_model``
through ``_load`` (the one place the model is chosen), ``pii.mask_pii`` wherever case text
is shown. Safe by default: loopback only unless a token is set (checked on every request),
Jinja2 autoescaping, a CSP without inline script or style, size limits, private temporary
files, and no case text in the log.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import math
import re
import secrets
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from sw_nlp._version import __version__
from sw_nlp.bundle import load_model, read_manifest
from sw_nlp.classify import classify_texts
from sw_nlp.config import LOOPBACK_HOSTS, Paths, ServeConfig
from sw_nlp.labels import LEVELS, METHODS_BY_LEVEL
from sw_nlp.errors import InputError
from sw_nlp.model import CaseClassifier
from sw_nlp.resolve import resolve_model
from sw_nlp.pii import mask_pii
from sw_nlp.web.corrections import (
    MAX_NOTE_CHARS,
    MAX_REVIEWER_CHARS,
    Correction,
    count_corrections,
    find_correction,
    methods_for,
    save_correction,
)
from sw_nlp.web.jobs import DONE, Job, JobStore
from sw_nlp.web.messages import MESSAGES, pick_lang, translate

log = logging.getLogger(__name__)

HERE = Path(__file__).parent
SESSION_COOKIE = "sw_nlp_session"
LANG_COOKIE = "sw_nlp_lang"
REVIEWER_COOKIE = "sw_nlp_reviewer"
FORM_LIMIT = 64 << 10  # bytes of any request that is not an upload or an API call
EXPLAIN_TERMS = 12  # terms for and against on the case page
SHOWN_CELL_CHARS = 160  # a long text is cut in the results table (the case page has it all)

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The evaluation report is a self-contained HTML file sw-nlp wrote (one <style>, figures as
# data: URIs): shown sandboxed, with no script and nothing fetched.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass
class ModelInfo:
    """Which model answers, as the model page and the API say it."""

    path: Path
    version: str
    sha256: str
    created: str
    labels: list[str]
    threshold: float
    manifest: dict[str, Any] = field(repr=False)

    @property
    def report(self) -> Path:
        return self.path / "report" / "report.html"

    def public(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "sha256": self.sha256,
            "created": self.created,
            "labels": self.labels,
            "review_threshold": self.threshold,
            "sw_nlp": __version__,
        }


def _load(model_path: Path | None) -> tuple[CaseClassifier, ModelInfo]:
    """The model that answers, and what the pages say about it: the one place the model is
    chosen, by ``resolve_model`` as every command chooses it (``--model``, else the
    registry's current one, else the shipped one)."""
    resolved = resolve_model(model_path)
    clf = load_model(resolved.path)
    info = ModelInfo(
        path=resolved.path.resolve(),
        version=resolved.name,
        sha256=resolved.sha256,
        created=resolved.version,
        labels=list(clf.classes_),
        threshold=clf.review.threshold,
        manifest=read_manifest(resolved.path),
    )
    return clf, info


class Case(BaseModel):
    """One case from a case-management system."""

    model_config = ConfigDict(extra="forbid")
    id: str | int
    text: str


class ClassifyRequest(BaseModel):
    """Either ``texts`` or ``cases``, not both."""

    model_config = ConfigDict(extra="forbid")
    texts: list[str] | None = None
    cases: list[Case] | None = None


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuses a request body over its path's limit with 413, by Content-Length when given
    and by counting otherwise, before the app holds it in memory or on disk."""

    def __init__(self, app: Any, cfg: ServeConfig) -> None:
        self.app = app
        self.cfg = cfg

    def limit(self, path: str) -> int:
        if path == "/upload":
            return self.cfg.max_upload_bytes + FORM_LIMIT  # the form's own fields and framing
        if path.startswith("/api/"):
            return self.cfg.max_request_bytes
        return FORM_LIMIT

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit(scope["path"])
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._refuse(scope, send, limit)
            return
        if scope["path"] != "/upload":
            # Small bodies (API, forms) are read whole here, under the limit, and handed on:
            # the framework's own body parsing would turn an error raised while reading
            # into a 400.
            body = bytearray()
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                body += message.get("body", b"")
                if len(body) > limit:
                    await self._refuse(scope, send, limit)
                    return
                if not message.get("more_body", False):
                    break
            replayed = False

            async def replay() -> dict[str, Any]:
                nonlocal replayed
                if replayed:
                    return await receive()
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}

            await self.app(scope, replay, send)
            return
        seen = 0
        started = False

        async def counted() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        async def watched(message: dict[str, Any]) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if not started:
                await self._refuse(scope, send, limit)
        except BaseExceptionGroup as group:  # raised inside a task group on the way up
            too_large, rest = group.split(_TooLarge)
            if rest is not None:
                raise
            if not started:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: dict[str, Any], send: Any, limit: int) -> None:
        message = f"request body larger than {limit:,} bytes"
        if scope["path"] == "/upload":
            message = f"upload larger than {self.cfg.max_upload_bytes / (1 << 20):g} MB"
        response = JSONResponse({"error": message}, status_code=413)
        _secure(response)
        await response(scope, lambda: None, send)  # type: ignore[arg-type]


def _secure(response: Response, csp: str = PAGE_CSP) -> Response:
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(cfg: ServeConfig | None = None) -> FastAPI:
    """The app for ``cfg``: the model is loaded here, once, before the first request."""
    cfg = cfg or ServeConfig()
    clf, info = _load(cfg.model)
    corrections_path = cfg.corrections or Paths.discover().corrections
    jobs = JobStore(info.path, cfg.job_ttl_seconds, classifier=clf)
    secret = secrets.token_bytes(32)
    csrf_token = hmac.new(secret, b"csrf", hashlib.sha256).hexdigest()
    # The sign-in cookie: never the token itself, and void once the server restarts.
    session = (
        hmac.new(secret, b"session " + cfg.token.encode(), hashlib.sha256).hexdigest()
        if cfg.token
        else ""
    )
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        yield
        jobs.close()

    app = FastAPI(
        title="sw-nlp",
        version=__version__,
        description="Triage of Indonesian social-work case texts by intervention level.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load their scripts from a CDN
        redoc_url=None,
    )
    app.state.jobs = jobs
    app.state.info = info
    app.state.corrections = corrections_path
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    def authorised(request: Request) -> bool:
        if not cfg.token:
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), cfg.token.encode())
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), session.encode())

    @app.middleware("http")
    async def guard(request: Request, call_next: Any) -> Response:
        """Token on every request (but the login form and its stylesheet), the language,
        and the security headers on every answer."""
        path = request.url.path
        chosen = request.query_params.get("lang")
        request.state.lang = pick_lang(chosen, request.cookies.get(LANG_COOKIE))
        open_paths = path == "/login" or path.startswith("/static/")
        if not open_paths and not authorised(request):
            if _is_api(path):
                response: Response = JSONResponse(
                    {"error": "missing or wrong token (Authorization: Bearer <token>)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            else:
                response = RedirectResponse(f"/login?next={quote(path)}", status_code=303)
            return _secure(response)
        response = await call_next(request)
        if chosen in MESSAGES:
            response.set_cookie(LANG_COOKIE, chosen, samesite="strict", httponly=True)
        return _secure(response)

    if cfg.is_loopback:  # a page on another site cannot reach us through DNS rebinding
        names = {*LOOPBACK_HOSTS, cfg.host}
        hosts = sorted({*names, *(f"[{h}]" for h in names if ":" in h)})
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(BodyLimit, cfg=cfg)

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
                "csrf": csrf_token,
                "waiting": count_corrections(corrections_path),
                "secured": bool(cfg.token),
                **context,
            },
            status_code=status_code,
        )

    def check_csrf(form: Any) -> None:
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), csrf_token.encode()):
            raise StarletteHTTPException(403, "form token missing or wrong")

    def job_or_404(job_id: str) -> Job:
        job = jobs.get(job_id)
        if job is None:
            raise StarletteHTTPException(404, "job.expired")
        return job

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _is_api(request.url.path):
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code)
        key = {404: "error.not_found", 403: "error.forbidden", 413: "error.too_big"}.get(
            exc.status_code, "error.title"
        )
        if str(exc.detail) in MESSAGES["en"]:
            key = str(exc.detail)
        return page(request, "error.html", exc.status_code, message_key=key)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        """One message per problem, naming where it is; the input itself is never echoed."""
        problems = exc.errors()
        if any(p.get("type") == "json_invalid" for p in problems):
            return JSONResponse({"error": "the body is not valid JSON"}, status_code=400)
        if any(tuple(p.get("loc", ())) == ("body",) for p in problems):
            return JSONResponse(
                {"error": 'the body must be a JSON object: {"texts": [...]} or {"cases": [...]}'},
                status_code=400,
            )
        lines = [
            f"{'.'.join(str(x) for x in p.get('loc', ()) if x != 'body') or 'body'}: {p.get('msg')}"
            for p in problems
        ]
        return JSONResponse({"error": "; ".join(lines[:10])}, status_code=422)

    # ---- pages

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_form(request: Request, next: str = "/") -> Response:
        return page(request, "login.html", next=_local(next), failed=False)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        form = await request.form()
        target = _local(str(form.get("next", "/")))
        given = str(form.get("token", ""))
        if not cfg.token:
            return RedirectResponse(target, status_code=303)
        if not hmac.compare_digest(given.encode(), cfg.token.encode()):
            log.info("login refused")
            return page(request, "login.html", 401, next=target, failed=True)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="strict")
        return response

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def index(request: Request) -> Response:
        return page(request, "index.html", **_index_context(cfg, jobs))

    @app.post("/upload", include_in_schema=False)
    async def upload(request: Request) -> Response:
        async with request.form(max_files=1, max_fields=5) as form:  # closes the spooled file
            return await _take_upload(request, form)

    async def _take_upload(request: Request, form: Any) -> Response:
        check_csrf(form)
        file = form.get("file")
        if not isinstance(file, UploadFile) or not file.filename:
            return page(
                request, "index.html", 400, error_key="upload.none", **_index_context(cfg, jobs)
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
                request, "index.html", 413, error_key="upload.too_big", **_index_context(cfg, jobs)
            )
        column = str(form.get("text_column", "")).strip() or None
        job = jobs.create(file.filename, target, column)
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
        check_csrf(form)
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
        view = _result_view(job, level, flag, sort, page_no, cfg.page_size, request.state.lang)
        return page(request, "results.html", job=job, labels=info.labels, **view)

    @app.get("/jobs/{job_id}/rows/{row}", response_class=HTMLResponse, include_in_schema=False)
    async def case_page(
        request: Request, job_id: str, row: str, saved: int | None = None
    ) -> Response:
        job = job_or_404(job_id)
        return page(
            request,
            "case.html",
            **_case_context(request, job, row, clf, info, corrections_path, saved=saved),
        )

    @app.post("/jobs/{job_id}/rows/{row}/correct", include_in_schema=False)
    async def correct(request: Request, job_id: str, row: str) -> Response:
        job = job_or_404(job_id)
        form = await request.form()
        check_csrf(form)
        context = _case_context(request, job, row, clf, info, corrections_path)
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

    # ---- API

    @app.get("/healthz", tags=["service"])
    def healthz() -> dict[str, Any]:
        """Whether the server answers, and with which model."""
        return {"status": "ok", "model_version": info.version}

    @app.get("/api/v1/model", tags=["api"])
    def api_model() -> dict[str, Any]:
        """The model that answers: version, sha256 of its weights, labels, test metrics."""
        test = info.manifest.get("metrics", {}).get("test") or {}
        return {
            **info.public(),
            "metrics": {k: test.get(k) for k in ("n", "accuracy", "macro_f1", "weighted_f1")},
            "corrections_waiting": count_corrections(corrections_path),
        }

    @app.post("/api/v1/classify", tags=["api"])
    def api_classify(body: ClassifyRequest) -> Response:
        """The ``sw-nlp classify`` columns for each text, in the order given.

        Send ``{"texts": ["..."]}`` or ``{"cases": [{"id": "A1", "text": "..."}]}``; each
        result of ``cases`` starts with its ``id``.
        """
        if (body.texts is None) == (body.cases is None):
            return _api_error(422, 'give either "texts" or "cases"')
        texts = body.texts if body.texts is not None else [c.text for c in body.cases or []]
        if not texts:
            return _api_error(422, "no texts given")
        if len(texts) > cfg.max_texts:
            return _api_error(413, f"{len(texts)} texts: at most {cfg.max_texts} per request")
        for i, text in enumerate(texts):
            if len(text) > cfg.max_text_chars:
                return _api_error(
                    413, f"text {i}: {len(text):,} characters, at most {cfg.max_text_chars:,}"
                )
        frame = classify_texts(clf, texts)
        rows = [{k: _json_value(v) for k, v in r.items()} for r in frame.to_dict("records")]
        if body.cases is not None:
            rows = [{"id": c.id, **r} for c, r in zip(body.cases, rows, strict=True)]
        return JSONResponse({"model": info.public(), "results": rows})

    return app


def _api_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _is_api(path: str) -> bool:
    return path.startswith("/api/") or path in ("/healthz", "/openapi.json")


def _local(target: str) -> str:
    """A redirect target on this server only: a path, never another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


def _json_value(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def _index_context(cfg: ServeConfig, jobs: JobStore) -> dict[str, Any]:
    return {
        "jobs": jobs.recent(),
        "max_mb": f"{cfg.max_upload_bytes / (1 << 20):g}",
        "ttl_hours": f"{cfg.job_ttl_seconds / 3600:g}",
    }


def _input_columns(job: Job) -> list[str]:
    """The input's own columns in the results: between ``row`` and ``level``."""
    assert job.results is not None
    columns = list(job.results.columns)
    return columns[1 : columns.index("level")]


def _ordered(job: Job, level: str = "", flag: str = "", sort: str = "row") -> Any:
    """The results as the table shows them: needs-review rows first, then by confidence
    when asked, else in file order; filtered by level and review flag."""
    frame = job.results
    assert frame is not None
    keep = frame["row"] != ""
    if level:
        keep &= frame["level"] == level
    if flag in ("yes", "no"):
        keep &= frame["needs_review"] == ("True" if flag == "yes" else "False")
    view = frame[keep].assign(
        _review=(frame["needs_review"] == "True").astype(int),
        _conf=_numbers(frame["confidence"]),
        _row=_numbers(frame["row"]),
    )
    if sort in ("asc", "desc"):
        return view.sort_values(
            ["_review", "_conf", "_row"], ascending=[False, sort == "asc", True], kind="stable"
        )
    return view.sort_values(["_review", "_row"], ascending=[False, True], kind="stable")


def _numbers(column: Any) -> Any:
    import pandas as pd

    return pd.to_numeric(column, errors="coerce")


def _reason(lang: str, reasons: str) -> str:
    return "; ".join(translate(lang, f"reason.{r}") for r in reasons.split("; ") if r)


def _result_view(
    job: Job, level: str, flag: str, sort: str, page_no: int, size: int, lang: str
) -> dict[str, Any]:
    assert job.results is not None
    ordered = _ordered(job, level, flag, sort)
    pages = max(1, math.ceil(len(ordered) / size))
    page_no = min(max(page_no, 1), pages)
    shown = ordered.iloc[(page_no - 1) * size : page_no * size]
    inputs = _input_columns(job)
    rows = []
    for record in shown.to_dict("records"):
        cells = []
        for column in inputs:
            value = mask_pii(str(record[column]))
            if len(value) > SHOWN_CELL_CHARS:
                value = value[:SHOWN_CELL_CHARS].rstrip() + "…"
            cells.append(value)
        rows.append(
            {
                "row": record["row"],
                "level": record["level"],
                "confidence": record["confidence"],
                "review": record["needs_review"] == "True",
                "reason": _reason(lang, record["review_reason"]),
                "cells": cells,
            }
        )
    total_review = int((job.results["needs_review"] == "True").sum())
    query = {"level": level, "flag": flag, "sort": sort}
    return {
        "rows": rows,
        "inputs": inputs,
        "page_no": page_no,
        "pages": pages,
        "total": len(job.results),
        "total_review": total_review,
        "matched": len(ordered),
        "query": query,
        "query_string": "&".join(f"{k}={quote(v)}" for k, v in query.items() if v),
    }


_WORD = re.compile(r"\w+|\W+")


def _highlight(text: str, terms: list[tuple[str, float]]) -> list[tuple[str, str, float]]:
    """The text as (piece, "for"/"against"/"", weight): a word is marked when it is one of the
    explanation's terms, or holds one of at least four letters (terms are stems: "kunci"
    marks "dikunci"); a term of two words marks both."""
    parts: dict[str, float] = {}
    for term, weight in terms:
        for part in term.lower().split():
            if abs(weight) > abs(parts.get(part, 0.0)):
                parts[part] = weight
    pieces = []
    for match in _WORD.finditer(text):
        piece = match.group(0)
        word = piece.lower()
        weight = parts.get(word)
        if weight is None and piece[:1].isalnum():
            found = [w for p, w in parts.items() if len(p) >= 4 and p in word]
            weight = max(found, key=abs) if found else None
        kind = "" if weight is None else ("for" if weight > 0 else "against")
        pieces.append((piece, kind, weight or 0.0))
    return pieces


def _case_context(
    request: Request,
    job: Job,
    row: str,
    clf: CaseClassifier,
    info: ModelInfo,
    corrections_path: Path,
    saved: int | None = None,
) -> dict[str, Any]:
    if job.status != DONE or job.results is None:
        raise StarletteHTTPException(404, "job.expired")
    found = job.results[job.results["row"] == row]
    if found.empty:
        raise StarletteHTTPException(404, "error.not_found")
    record = found.iloc[0].to_dict()
    column = job.text_output_column
    text = mask_pii(str(record[column])) if column else job.note_texts.get(row, "")
    terms: list[tuple[str, float]] = []
    if record["level"] and text.strip():
        terms = clf.explain(text, k=EXPLAIN_TERMS, label=record["level"])
    order = [str(r) for r in _ordered(job)["row"].tolist()]
    at = order.index(row)
    reviewer = request.cookies.get(REVIEWER_COOKIE, "")
    from urllib.parse import unquote

    probabilities = [(label, float(record.get(f"proba_{label}") or 0.0)) for label in info.labels]
    correction = find_correction(corrections_path, text) if text else None
    chosen = correction or {"level": record.get("level", ""), "method": ""}
    return {
        "job": job,
        "record": record,
        "text": text,
        "pieces": _highlight(text, terms),
        "for_terms": [(t, w) for t, w in terms if w > 0],
        "against_terms": [(t, w) for t, w in terms if w < 0],
        "probabilities": probabilities,
        "reason": _reason(request.state.lang, record.get("review_reason", "")),
        "others": [(c, mask_pii(str(record[c]))) for c in _input_columns(job) if c != column],
        "levels": list(LEVELS),
        "methods": {level: methods_for(level) for level in LEVELS},
        "correction": correction,
        "saved": saved,
        "prev_row": order[at - 1] if at > 0 else None,
        "next_row": order[at + 1] if at + 1 < len(order) else None,
        "form": {  # a case corrected before opens with its correction chosen
            "level": chosen["level"],
            "method": chosen["method"],
            "note": "",
            "reviewer": unquote(reviewer),
        },
        "problem": None,
    }
