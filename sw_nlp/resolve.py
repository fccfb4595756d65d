"""Which model answers: the one place that decides which bundle folder is loaded.

``load_model(path)`` loads exactly the folder it is given; this module chooses the folder, in
this order:

1. an explicit folder (``--model``, or a path given in Python);
2. the registry's current model, when a version has been promoted. The registry lives in
   ``$SW_NLP_HOME/models/registry`` when ``SW_NLP_HOME`` is set, else in the user's data
   folder (``config.user_data_dir``). Never in a folder found from the working directory:
   the same command must answer with the same model wherever it is run;
3. the model shipped with sw-nlp.

The choice is returned with the model's name, when it was made and the sha256 of its
``model.json``, so that the summary, ``-v`` and the output's metadata can say which model
answered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sw_nlp.bundle import MANIFEST_FILE, default_bundle_dir, read_manifest
from sw_nlp.config import Paths
from sw_nlp.pipeline_data import SPEC_FILE
from sw_nlp.registry import SHIPPED, Registry

EXPLICIT = "--model"
REGISTRY = "registry"


@dataclass(frozen=True)
class ResolvedModel:
    """A bundle folder and what identifies it to a user."""

    path: Path
    source: str  # EXPLICIT, REGISTRY or SHIPPED
    name: str  # the registry version, "shipped", or the folder's name
    version: str  # when the bundle was made (the manifest's ``created``)
    sha256: str  # of model.json, which records model.npz's; the hash the trust checks use

    @property
    def short_sha256(self) -> str:
        return self.sha256[:12]

    def describe(self) -> str:
        """One line for a summary or a log, e.g.
        ``v20261123-105500 (registry, created …, sha256 …)``."""
        source = "" if self.source == self.name else f"{self.source}, "
        return f"{self.name} ({source}created {self.version}, sha256 {self.short_sha256})"

    def metadata(self) -> dict[str, str]:
        """Key-value pairs for an output file's metadata (Parquet, XLSX properties)."""
        return {
            "sw_nlp.model.name": self.name,
            "sw_nlp.model.source": self.source,
            "sw_nlp.model.created": self.version,
            "sw_nlp.model.sha256": self.sha256,
        }


def resolve_model(
    explicit: Path | str | None = None, models_dir: Path | None = None
) -> ResolvedModel:
    """The bundle to load: ``explicit`` if given, else the registry's current model, else the
    shipped one. ``models_dir`` overrides where the registry is looked for (tests, tools).

    Only the manifest is read here; ``load_model`` does every integrity and trust check.
    """
    if explicit is not None:
        path = Path(explicit)
        return _described(path, EXPLICIT, path.name or str(path))
    registry = Registry.at(models_dir if models_dir is not None else Paths.discover().models)
    current = registry.current()
    if current != SHIPPED:
        return _described(registry.path(current), REGISTRY, current)
    return _described(default_bundle_dir(), SHIPPED, SHIPPED)


def _described(path: Path, source: str, name: str) -> ResolvedModel:
    manifest: dict[str, Any] = read_manifest(path)
    entry = manifest.get("files", {}).get(SPEC_FILE)
    sha256 = entry.get("sha256") if isinstance(entry, dict) else None
    created = manifest.get("created")
    return ResolvedModel(
        path=path,
        source=source,
        name=name,
        version=str(created) if created else "unknown",
        sha256=str(sha256) if sha256 else f"unknown (no {SPEC_FILE} entry in {MANIFEST_FILE})",
    )
