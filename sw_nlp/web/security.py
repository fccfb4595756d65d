"""The server's guards: the token (bearer header or sign-in cookie) on every request, the
form token (CSRF) on every form, the host check against DNS rebinding, body size limits,
and the security headers on every answer. Kept apart from the routes so that every route
is behind them by construction, not by each route remembering to check."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from sw_nlp.config import LOOPBACK_HOSTS, ServeConfig
from sw_nlp.web.messages import MESSAGES, pick_lang

SESSION_COOKIE = "sw_nlp_session"
LANG_COOKIE = "sw_nlp_lang"
FORM_LIMIT = 64 << 10  # bytes of any request that is not an upload or an API call

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# The evaluation report is a self-contained HTML file sw-nlp wrote (one <style>, figures as
# data: URIs): shown sandboxed, with no script and nothing fetched.
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox"


@dataclass(frozen=True)
class Guard:
    """The secrets of one server run: a form token and the sign-in cookie's value, both
    derived from a random secret, so that both are void once the server restarts."""

    token: str
    csrf_token: str
    session: str

    @classmethod
    def new(cls, token: str) -> Guard:
        secret = secrets.token_bytes(32)
        # The sign-in cookie: never the token itself.
        session = (
            hmac.new(secret, b"session " + token.encode(), hashlib.sha256).hexdigest()
            if token
            else ""
        )
        return cls(
            token=token,
            csrf_token=hmac.new(secret, b"csrf", hashlib.sha256).hexdigest(),
            session=session,
        )

    def authorised(self, request: Request) -> bool:
        if not self.token:
            return True
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            return hmac.compare_digest(header[7:].strip().encode(), self.token.encode())
        cookie = request.cookies.get(SESSION_COOKIE, "")
        return hmac.compare_digest(cookie.encode(), self.session.encode())

    def check_csrf(self, form: Any) -> None:
        if not hmac.compare_digest(str(form.get("csrf", "")).encode(), self.csrf_token.encode()):
            raise StarletteHTTPException(403, "form token missing or wrong")


def install(app: FastAPI, cfg: ServeConfig, guard: Guard) -> None:
    """Put the guards around every route of ``app``: the size limit outermost, then the host
    check, then the token, the language and the headers."""

    @app.middleware("http")
    async def guarded(request: Request, call_next: Any) -> Response:
        """Token on every request (but the login form and its stylesheet), the language,
        and the security headers on every answer."""
        path = request.url.path
        chosen = request.query_params.get("lang")
        request.state.lang = pick_lang(chosen, request.cookies.get(LANG_COOKIE))
        open_paths = path == "/login" or path.startswith("/static/")
        if not open_paths and not guard.authorised(request):
            if is_api(path):
                response: Response = JSONResponse(
                    {"error": "missing or wrong token (Authorization: Bearer <token>)"},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
            else:
                response = RedirectResponse(f"/login?next={quote(path)}", status_code=303)
            return secure(response)
        response = await call_next(request)
        if chosen in MESSAGES:
            response.set_cookie(LANG_COOKIE, chosen, samesite="strict", httponly=True)
        return secure(response)

    if cfg.is_loopback:  # a page on another site cannot reach us through DNS rebinding
        names = {*LOOPBACK_HOSTS, cfg.host}
        hosts = sorted({*names, *(f"[{h}]" for h in names if ":" in h)})
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    app.add_middleware(BodyLimit, cfg=cfg)


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
        secure(response)
        await response(scope, lambda: None, send)  # type: ignore[arg-type]


def secure(response: Response, csp: str = PAGE_CSP) -> Response:
    """The security headers every answer carries."""
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def is_api(path: str) -> bool:
    """Paths answered in JSON (errors too), not with a page."""
    return path.startswith("/api/") or path in ("/healthz", "/openapi.json")


def local_target(target: str) -> str:
    """A redirect target on this server only: a path, never another site."""
    return target if target.startswith("/") and not target.startswith("//") else "/"
