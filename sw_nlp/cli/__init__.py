"""The ``sw-nlp`` command (``app``) and its entry point (``main``)."""

from sw_nlp.cli.app import app, main

__all__ = ["app", "main"]
