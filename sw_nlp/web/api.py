"""The JSON API of ``sw-nlp serve`` for case-management systems: ``/healthz``,
``/api/v1/model`` and ``/api/v1/classify`` (``classify.classify_texts`` on the server's
loaded model). Errors are one JSON ``{"error": ...}`` line; the input is never echoed."""

from __future__ import annotations

import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict

from sw_nlp.classify import classify_texts
from sw_nlp.web.corrections import count_corrections
from sw_nlp.web.served import Served


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


def add_api(app: FastAPI, served: Served) -> None:
    """The API routes, and the answer to a request body that is not the API's form."""
    cfg, clf, info = served.cfg, served.clf, served.info

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
            "corrections_waiting": count_corrections(served.corrections),
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


def _api_error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _json_value(value: Any) -> Any:
    """A value of the results frame as JSON has it: NaN is null, numpy scalars are plain."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value
