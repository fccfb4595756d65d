"""What one server holds while it answers: the model (loaded once, in ``load``), what the
pages say about it, the jobs and the corrections file. The pages and the API get it from
the app's assembly; keeping it here lets them share it without importing one another."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sw_nlp._version import __version__
from sw_nlp.bundle import load_model, read_manifest
from sw_nlp.config import Paths, ServeConfig
from sw_nlp.model import CaseClassifier
from sw_nlp.resolve import resolve_model
from sw_nlp.web.jobs import JobStore


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


@dataclass
class Served:
    """The one server's model and stores, handed to the routes."""

    cfg: ServeConfig
    clf: CaseClassifier
    info: ModelInfo
    jobs: JobStore
    corrections: Path


def load(cfg: ServeConfig) -> Served:
    """The model that answers, and what the pages say about it: the one place the model is
    chosen, by ``resolve_model`` as every command chooses it (``--model``, else the
    registry's current one, else the shipped one). The job store classifies uploads with
    this same loaded model."""
    resolved = resolve_model(cfg.model)
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
    return Served(
        cfg=cfg,
        clf=clf,
        info=info,
        jobs=JobStore(info.path, cfg.job_ttl_seconds, classifier=clf),
        corrections=cfg.corrections or Paths.discover().corrections,
    )
