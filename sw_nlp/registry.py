"""Model versions, one `current` model, and the champion/challenger gate.

Where it lives: ``Paths.discover().models / "registry"``, that is
``$SW_NLP_HOME/models/registry`` when ``SW_NLP_HOME`` is set, else
``<user data folder>/sw-nlp/models/registry`` (never a folder found from the working
directory). Which model a command uses is decided in ``sw_nlp.resolve``.

Layout under ``models/registry/``: one folder per version (an immutable bundle), a text file
``current`` naming the version in use (a file, not a symlink, so it works on every OS), and
``HISTORY.jsonl``, an append-only record of every change: who, when, why and with which
metrics. Without a registry, the model shipped with sw-nlp is current.

The gate (``sw_nlp.evaluate.GATE_RULE``): a challenger is promoted only if, on the frozen test
split, it is better than the champion in some of the paired-bootstrap resamples and the upper
end of the 95% interval of (challenger − champion) macro-F1 is above zero. A challenger that is never
better in any resample, or whose whole interval is at or below zero, is refused: it can only
be the same or worse, and promoting it changes what users see for nothing. ``--force``
overrides the gate, and the reason is recorded.

Rollback walks back along the chain of promotions (a stack replayed from the history), so two
rollbacks go two steps back, never back and forth between the last two models.

Concurrency and crashes: every change (``retrain``, ``promote``, ``rollback``) holds one file
lock per registry (``.lock``), so a second one at the same time stops at once with a message
naming the first, instead of both writing. A version folder is reserved by creating it
(``mkdir`` fails if another process took the name) with a ``.building`` marker inside; the
``register`` history entry is the commit point and removes the marker. A folder still marked
is half-made (its process died): it is never listed or promoted, and the next change moves it
to ``.quarantine/``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sw_nlp.bundle import default_bundle_dir, load_model, read_manifest
from sw_nlp.errors import RegistryError
from sw_nlp.locks import current_user, holder_record, read_holder, try_lock
from sw_nlp.safe_read import file_sha256

log = logging.getLogger(__name__)

SHIPPED = "shipped"  # the name under which the model shipped with sw-nlp appears
BUILDING = ".building"  # marker inside a version folder that is not registered yet
QUARANTINE = ".quarantine"
LAST_CLASSIFIED = "last_classified.json"  # the file `classify` read last: where it is, never text
_VERSION_NAME = re.compile(r"^v\d{8}-\d{6}(?:-\d+)?$")


@dataclass(frozen=True)
class Registry:
    root: Path  # models/registry

    @classmethod
    def at(cls, models_dir: Path) -> Registry:
        return cls(Path(models_dir) / "registry")

    @property
    def history_file(self) -> Path:
        return self.root / "HISTORY.jsonl"

    def versions(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(
            p.name
            for p in self.root.iterdir()
            if (p / "manifest.json").is_file() and not (p / BUILDING).exists()
        )

    def path(self, version: str) -> Path:
        if version == SHIPPED:
            return default_bundle_dir()
        path = self.root / version
        if (path / BUILDING).exists():
            raise RegistryError(
                f"{version} is not registered: it is being built, or its build was stopped "
                "(it is quarantined by the next retrain or promote)"
            )
        if version.startswith(".") or not (path / "manifest.json").is_file():
            known = ", ".join([SHIPPED, *self.versions()])
            raise RegistryError(f"no model version {version!r} (known: {known})")
        return path

    def current(self) -> str:
        marker = self.root / "current"
        if marker.is_file():
            name = marker.read_text("utf-8").strip()
            if name:
                return name
        return SHIPPED

    def new_version_dir(self) -> Path:
        """Reserve a fresh, sortable version folder, v<UTC time>, marked as being built.

        The folder is created here, not only named: ``mkdir`` fails when another process
        took the name first, so two builds can never share a folder.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("v%Y%m%d-%H%M%S")
        n = 1
        while True:
            path = self.root / (stamp if n == 1 else f"{stamp}-{n}")
            try:
                path.mkdir()
            except FileExistsError:
                n += 1
                continue
            (path / BUILDING).write_text(holder_record("build"), "utf-8")
            return path

    @contextmanager
    def lock(self, action: str) -> Iterator[None]:
        """Hold the registry's lock for one change; a second change at the same time stops
        at once with an error naming the first (who, since when), rather than waiting on a
        retrain that may take minutes. Half-made versions are quarantined once it is held.

        The lock is an OS file lock, released by the OS when the holder dies: a killed
        retrain never leaves the registry locked.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        handle = open(self.root / ".lock", "a+", encoding="utf-8")
        try:
            if not try_lock(handle):
                holder = read_holder(handle)
                raise RegistryError(
                    f"another {holder.get('action', 'registry change')} is running since "
                    f"{holder.get('since', 'an unknown time')} (process {holder.get('pid', '?')}"
                    f" of {holder.get('who', '?')}); try again when it has finished"
                )
            handle.seek(0)
            handle.truncate()
            handle.write(holder_record(action))
            handle.flush()
            self.quarantine_half_made()
            yield
        finally:
            handle.close()  # closing releases the lock

    def quarantine_half_made(self) -> list[str]:
        """Move version folders whose build never finished to ``.quarantine/``.

        Call only while holding the lock: then no build is running, and a ``.building``
        marker (or a reserved folder without a manifest) was left by a process that died.
        """
        moved = []
        if not self.root.is_dir():
            return moved
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or not _VERSION_NAME.match(folder.name):
                continue
            if (folder / BUILDING).exists() or not (folder / "manifest.json").is_file():
                target = self.root / QUARANTINE / folder.name
                target.parent.mkdir(exist_ok=True)
                if target.exists():
                    shutil.rmtree(target)
                folder.rename(target)
                moved.append(folder.name)
                log.warning(
                    "quarantined half-made model version %s (its build was stopped) in %s",
                    folder.name,
                    target.parent,
                )
        return moved

    def history(self) -> list[dict[str, Any]]:
        """Every recorded change, oldest first.

        A line that is not a JSON object (the half-written last line of a process killed
        while appending) is skipped with a warning rather than making the registry unusable.
        """
        if not self.history_file.is_file():
            return []
        entries = []
        lines = self.history_file.read_text("utf-8", errors="replace").splitlines()
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                entry = None
            if isinstance(entry, dict) and isinstance(entry.get("version"), str):
                entries.append(entry)
            else:
                log.warning("%s:%d: not a history entry; skipped", self.history_file, number)
        return entries

    def record(self, action: str, version: str, **fields: Any) -> dict[str, Any]:
        entry = {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "who": current_user(),
            "action": action,
            "version": version,
            **fields,
        }
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.history_file, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        if action == "register":  # the commit point of a new version
            (self.root / version / BUILDING).unlink(missing_ok=True)
        return entry

    def _set_current(self, version: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / "current.tmp"
        tmp.write_text(version + "\n", "utf-8")
        tmp.replace(self.root / "current")

    def listing(self) -> list[dict[str, Any]]:
        current = self.current()
        rows = []
        for version in [SHIPPED, *self.versions()]:
            manifest = read_manifest(self.path(version))
            metrics = manifest.get("metrics", {})
            rows.append(
                {
                    "version": version,
                    "current": version == current,
                    "created": manifest.get("created"),
                    "test_macro_f1": metrics.get("test", {}).get("macro_f1"),
                    "cv_macro_f1": metrics.get("cv", {}).get("macro_f1_mean"),
                    "corpus_rows": manifest.get("corpus", {}).get("rows"),
                }
            )
        return rows

    def promote(
        self,
        version: str,
        corpus: Any,
        *,
        force: bool = False,
        reason: str | None = None,
        workload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Make ``version`` current if it passes the gate against the current model.

        ``workload`` is the last classified file as ``last_classified_texts`` read it: its
        texts (only counted, never stored) or why they could not be read. The effect of the
        promotion on it is recorded beside the effect on the test split.
        """
        if force and not reason:
            raise RegistryError("--force needs --reason: the override is recorded")
        with self.lock("promote"):
            return self._promote(version, corpus, force=force, reason=reason, workload=workload)

    def _promote(
        self,
        version: str,
        corpus: Any,
        *,
        force: bool,
        reason: str | None,
        workload: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        from sw_nlp.evaluate import gate_refuses, macro_f1, paired_bootstrap

        champion_name = self.current()
        if version == champion_name:
            raise RegistryError(f"{version} is already current")
        challenger = load_model(self.path(version))
        champion = load_model(self.path(champion_name))
        test = corpus[corpus["split"] == "test"]
        if test.empty:
            raise RegistryError("the corpus has no test split to compare the models on")
        if challenger.classes_ != champion.classes_ and not force:
            raise RegistryError(
                f"{version} predicts {challenger.classes_}, the current model {champion.classes_}: "
                "not comparable; promote with --force --reason if this is intended"
            )
        texts, truth = test["text"].tolist(), test["level"].tolist()
        a, b = champion.predict(texts), challenger.predict(texts)
        gate = paired_bootstrap(truth, a, b, challenger.classes_)
        gate |= {
            "champion": champion_name,
            "champion_macro_f1": macro_f1(truth, a, challenger.classes_),
            "challenger_macro_f1": macro_f1(truth, b, challenger.classes_),
            "n_test": len(test),
        }
        refused = gate_refuses(gate)
        if refused and not force:
            self.record("refused", version, previous=champion_name, gate=gate)
            raise RegistryError(
                f"refused: {version} scores macro-F1 {gate['challenger_macro_f1']:.4f} against "
                f"{gate['champion_macro_f1']:.4f} for {champion_name}; the difference "
                f"{gate['difference']:+.4f} (95% interval {gate['low']:+.4f} to {gate['high']:+.4f}"
                f", better in {gate['share_b_better']:.1%} of resamples) is not above zero: the "
                'gate needs it better somewhere. Override with --force --reason "..."'
            )
        effect = promotion_effect(champion, challenger, texts)
        if workload is not None:
            effect["last_file"] = workload_effect(champion, challenger, workload)
        self._set_current(version)
        action = "force-promote" if refused else "promote"
        return self.record(
            action, version, previous=champion_name, gate=gate, effect=effect, reason=reason
        )

    def rollback(self, reason: str | None = None) -> dict[str, Any]:
        """Make the model that was current before the current one's promotion current again.

        A reason is required: a rollback answers a problem in the field, and the history is
        where the next analyst looks for it.
        """
        if not reason or not reason.strip():
            raise RegistryError('rollback needs --reason "...": it is recorded in the history')
        with self.lock("rollback"):
            return self._rollback(reason)

    def chain(self) -> list[str]:
        """The models made current, oldest first, as the history has them after rollbacks:
        a promotion pushes its version, a rollback pops one."""
        stack = [SHIPPED]
        for entry in self.history():
            if entry["action"] in ("promote", "force-promote"):
                stack.append(entry["version"])
            elif entry["action"] == "rollback" and len(stack) > 1:
                stack.pop()
        return stack

    def _rollback(self, reason: str) -> dict[str, Any]:
        stack = self.chain()
        if len(stack) < 2:
            raise RegistryError(
                "nothing to roll back: no promotion left in the history to undo "
                f"(current: {self.current()})"
            )
        target = stack[-2]
        self.path(target)  # still there: a deleted folder is an error before anything changes
        current = self.current()
        self._set_current(target)
        return self.record("rollback", target, previous=current, reason=reason)


def promotion_effect(champion: Any, challenger: Any, texts: list[str]) -> dict[str, Any]:
    """What a promotion changes for the people using the model: the share of the test split's
    cases each model sends to review, and the settings that differ.

    Macro-F1 can stay the same while the review workload moves a lot (a new ``C`` makes the
    model surer of itself); an analyst promoting a model has to see that before users do.
    """
    before = _flat(getattr(champion, "manifest", {}).get("config", {}))
    after = _flat(getattr(challenger, "manifest", {}).get("config", {}))
    changed = {
        key: [before.get(key), after.get(key)]
        for key in sorted(set(before) | set(after))
        if before.get(key) != after.get(key)
    }
    return {
        "review_share_before": review_share(champion, texts),
        "review_share_after": review_share(challenger, texts),
        "n": len(texts),
        "settings_changed": changed,
    }


def review_share(clf: Any, texts: list[str]) -> float:
    """The share of ``texts`` the model sends to a person, by the review rules batch output
    applies (low confidence, very short text, mostly unknown words)."""
    from sw_nlp.model import review_flags

    if not texts:
        return 0.0
    analysis = clf.analyse(texts, k=0)
    low, short, unknown = review_flags(
        texts, analysis.proba.max(axis=1), analysis.vocabulary_share, clf.review
    )
    return float((low | short | unknown).mean())


def workload_effect(champion: Any, challenger: Any, workload: dict[str, Any]) -> dict[str, Any]:
    """The promotion's effect on the last classified file: the share of its rows each model
    sends to review, or, when the file could not be read as it was, why not (``why``)."""
    out = {k: v for k, v in workload.items() if k != "texts"}
    texts = workload.get("texts")
    if texts is None:
        return out
    return out | {
        "review_share_before": review_share(champion, texts),
        "review_share_after": review_share(challenger, texts),
        "n": len(texts),
    }


def record_classified(
    models_dir: Path, path: Path, *, rows: int, **options: Any
) -> Path | None:
    """Remember the file ``classify`` has just read (path, sha256, how it was read, row
    count; never any text) in the registry, so a promotion can show its effect on it.

    Only where a registry exists: classifying in a folder without one must not create
    ``models/`` there, nor pay for hashing a large input again. Returns the record's path, or
    None when nothing was written.
    """
    root = Registry.at(models_dir).root
    if not root.is_dir():
        return None
    record = {"path": str(path.resolve()), "sha256": file_sha256(path), "rows": rows, **options}
    target = root / LAST_CLASSIFIED
    tmp = root / f".{LAST_CLASSIFIED}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", "utf-8")
    tmp.replace(target)
    return target


def last_classified(models_dir: Path) -> dict[str, Any] | None:
    """The record ``record_classified`` wrote, or None (no file, or not a record)."""
    path = Registry.at(models_dir).root / LAST_CLASSIFIED
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        log.warning("%s: not a record of the last classified file; ignored", path)
        return None
    if not isinstance(data, dict) or not isinstance(data.get("path"), str):
        log.warning("%s: not a record of the last classified file; ignored", path)
        return None
    return data


def _flat(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """A nested config as ``section.key`` → value, to list the settings that differ."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value
    return out

