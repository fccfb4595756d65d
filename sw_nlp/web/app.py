"""The web app of ``sw-nlp serve``: triage pages for case workers and a JSON API.

Built on the library's public functions only: ``classify.classify_file`` for uploads (the
downloads are its bytes), ``classify.classify_texts`` for the API, ``bundle.load_model``
through ``served.load`` (the one place the model is chosen), ``pii.mask_pii`` wherever case
text is shown. Safe by default (``security``): loopback only unless a token is set (checked
on every request), Jinja2 autoescaping, a CSP without inline script or style, size limits,
private temporary files, and no case text in the log.

This module only assembles the app: the model and stores (``served``), the guards
(``security``), the pages (``pages``, ``views``) and the API (``api``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from sw_nlp._version import __version__
from sw_nlp.config import ServeConfig
from sw_nlp.web import security
from sw_nlp.web.api import add_api
from sw_nlp.web.pages import add_pages
from sw_nlp.web.served import load

HERE = Path(__file__).parent


def create_app(cfg: ServeConfig | None = None) -> FastAPI:
    """The app for ``cfg``: the model is loaded here, once, before the first request."""
    cfg = cfg or ServeConfig()
    served = load(cfg)
    guard = security.Guard.new(cfg.token)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        served.jobs.close()

    app = FastAPI(
        title="sw-nlp",
        version=__version__,
        description="Triage of Indonesian social-work case texts by intervention level.",
        lifespan=lifespan,
        docs_url=None,  # the interactive docs load their scripts from a CDN
        redoc_url=None,
    )
    app.state.jobs = served.jobs
    app.state.info = served.info
    app.state.corrections = served.corrections
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    security.install(app, cfg, guard)
    add_pages(app, served, guard)
    add_api(app, served)
    return app
