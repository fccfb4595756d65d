"""``sw-nlp serve``: a triage web page for case workers and a JSON API (needs the ``web``
extra: ``pip install 'sw-nlp[web]'``). Nothing here is imported by the rest of sw-nlp."""

from __future__ import annotations

import logging

from sw_nlp.config import ServeConfig
from sw_nlp.errors import ConfigError

log = logging.getLogger(__name__)


def serve(cfg: ServeConfig) -> None:
    """Load the model, then answer on ``cfg.host:cfg.port`` until stopped (Ctrl-C)."""
    try:
        import uvicorn

        from sw_nlp.web.app import create_app
    except ImportError as exc:
        raise ConfigError(
            f"sw-nlp serve needs the web extra ({exc.name} is missing): pip install 'sw-nlp[web]'"
        ) from None

    app = create_app(cfg)
    info = app.state.info
    log.warning(
        "serving model %s on http://%s:%d%s",
        info.version,
        cfg.host if ":" not in cfg.host else f"[{cfg.host}]",
        cfg.port,
        "" if cfg.token else " (this machine only, no token)",
    )
    uvicorn.run(app, host=cfg.host, port=cfg.port, log_level="warning", access_log=False)
