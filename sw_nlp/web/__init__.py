"""``sw-nlp serve``: a triage web page for case workers and a JSON API (needs the ``web``
extra: ``pip install 'sw-nlp[web]'``). Nothing here is imported by the rest of sw-nlp."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sw_nlp.config import ServeConfig
from sw_nlp.errors import ConfigError

log = logging.getLogger(__name__)


def serve(cfg: ServeConfig, announce: Callable[[str], None] | None = None) -> None:
    """Load the model, then answer on ``cfg.host:cfg.port`` until stopped (Ctrl-C).

    ``announce`` gets one line saying where and with which model, once it is loaded (the
    command prints it; the library does not print)."""
    try:
        import uvicorn

        from sw_nlp.web.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"sw-nlp serve needs the web extra ({exc.name} is missing): pip install 'sw-nlp[web]'"
        ) from None

    app = create_app(cfg)
    info = app.state.info
    where = cfg.host if ":" not in cfg.host else f"[{cfg.host}]"
    line = (
        f"serving model {info.version} on http://{where}:{cfg.port}"
        + (" (token required)" if cfg.token else " (this machine only)")
        + "; Ctrl-C stops"
    )
    log.info("%s", line)
    if announce is not None:
        announce(line)
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False)
