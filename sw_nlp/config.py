"""One typed configuration for the whole pipeline, and the one place default paths are found.

The config travels into every bundle's manifest, so a model always says how it was made.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from sw_nlp.errors import ConfigError

MAX_CONFIG_BYTES = 1 << 20  # a config is a few lines; read from a regular file only


@dataclass(frozen=True, kw_only=True)
class PreprocessConfig:
    """How raw case text becomes tokens."""

    mask_pii: bool = True
    lexicon_path: str | None = None  # an analyst's extra slang lexicon (TSV), merged over ours
    remove_stopwords: bool = False
    stem: bool = False
    numbers_as_token: bool = True


@dataclass(frozen=True, kw_only=True)
class FeaturesConfig:
    """TF-IDF on word n-grams and on character n-grams inside word boundaries."""

    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 5)
    min_df: int = 2
    max_df: float = 0.9
    max_char_features: int | None = 150_000


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """Multinomial logistic regression."""

    # 3 rather than the corpus's favourite: on texts written by other people (the real-text
    # dev set) C = 3 beat 1, 10 and 30; see benchmarks/README.md, "Real text".
    C: float = 3.0
    class_weight: str | None = "balanced"
    max_iter: int = 3000


@dataclass(frozen=True, kw_only=True)
class CalibrationConfig:
    """Temperature scaling, fitted on out-of-fold predictions (see ``sw_nlp.calibration``).

    ``fit_on`` picks the training rows most like real use: ``hard_or_short`` (the default:
    texts of at most ``short_words`` words, or marked hard), ``short``, ``hard`` or ``all``.
    ``method = "none"`` keeps the raw probabilities.
    """

    method: str = "temperature"
    fit_on: str = "hard_or_short"
    short_words: int = 40


@dataclass(frozen=True, kw_only=True)
class SearchConfig:
    """Model selection by stratified k-fold cross-validation on the train split only.

    Every list is one axis of the grid; a one-value list fixes that setting.
    """

    folds: int = 5
    seed: int = 13
    # Folds keep each value of this column together (when the data has it): settings are
    # chosen for texts on topics, and so by writers, the model has not seen.
    group_by: str = "topic"
    # One setting by default. The corpus is cleaner than real text, and cross-validation on it
    # preferred settings that did worse on texts by other people (benchmarks/README.md, "Real
    # text"); a one-point grid is cross-validated once and trains in under a minute. Give
    # several values in a config to compare them (the report lists what each was worth).
    C: tuple[float, ...] = (3.0,)
    stem: tuple[bool, ...] = (False,)
    remove_stopwords: tuple[bool, ...] = (False,)
    word_ngrams: tuple[tuple[int, int], ...] = ((1, 2),)
    char_ngrams: tuple[tuple[int, int], ...] = ((2, 5),)
    min_df: tuple[int, ...] = (2,)
    n_jobs: int = 2


@dataclass(frozen=True, kw_only=True)
class ReviewConfig:
    """When a prediction is flagged for a person to check."""

    # The lowest threshold at which rows not flagged were 95% right on the real-text dev set
    # (shipped model, temperature-calibrated); see the model card.
    threshold: float = 0.91
    min_words: int = 5
    max_unknown_share: float = 0.5

    def __post_init__(self) -> None:
        """Checked here, so a bad value is refused wherever it comes from: a config file, a
        bundle's manifest, the command line or Python. A threshold of 7 or -5 would flag
        every case or none without a word."""
        check_share("review.threshold", self.threshold)
        check_share("review.max_unknown_share", self.max_unknown_share)
        check_count("review.min_words", self.min_words, low=0, high=10_000)


@dataclass(frozen=True, kw_only=True)
class Config:
    preprocess: PreprocessConfig = field(default_factory=PreprocessConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    review: ReviewConfig = field(default_factory=ReviewConfig)

    @classmethod
    def from_toml(cls, path: Path) -> Config:
        """Read a TOML file; unknown sections or keys are errors, not silently ignored."""
        from sw_nlp.errors import InputError
        from sw_nlp.safe_read import read_regular_file

        try:
            raw = tomllib.loads(read_regular_file(path, MAX_CONFIG_BYTES, "config").decode())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        except OSError as exc:
            raise ConfigError(f"{path}: config file unreadable ({exc.strerror or exc})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc})") from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: dict[str, Any], source: str = "config") -> Config:
        sections = {f.name: f for f in fields(cls)}
        parts: dict[str, Any] = {}
        for name, value in raw.items():
            if name not in sections:
                raise ConfigError(f"{source}: unknown section [{name}]")
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: [{name}] must be a table")
            parts[name] = _build_section(
                sections[name].default_factory, value, f"{source}: {name}"
            )  # type: ignore[misc]
        return cls(**parts)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def replace(self, **sections: Any) -> Config:
        """A copy with some fields of some sections changed: ``cfg.replace(model={"C": 3})``."""
        new = {
            name: dataclasses.replace(getattr(self, name), **changes)
            for name, changes in sections.items()
        }
        return dataclasses.replace(self, **new)


def _build_section(factory: type, values: dict[str, Any], where: str) -> Any:
    known = {f.name: f for f in fields(factory)}
    defaults = factory()
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}.{key}: unknown key (known: {', '.join(known)})")
        kwargs[key] = _coerce(value, getattr(defaults, key), f"{where}.{key}")
    try:
        return factory(**kwargs)
    except ConfigError as exc:  # a range check: name the file it came from
        source = where.rsplit(": ", 1)[0]
        raise ConfigError(f"{source}: {exc}") from None


def check_share(name: str, value: Any) -> float:
    """A number from 0 to 1 (a probability or a share), or a one-line ConfigError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ConfigError(f"{name} must be a number from 0 to 1, got {value!r}")
    return float(value)


def check_count(name: str, value: Any, *, low: int, high: int | None = None) -> int:
    """A whole number in [low, high], or a one-line ConfigError."""
    in_range = (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )
    if not in_range:
        bounds = f"from {low} to {high:,}" if high is not None else f"of {low} or more"
        raise ConfigError(f"{name} must be a whole number {bounds}, got {value!r}")
    return value


def _coerce(value: Any, default: Any, where: str) -> Any:
    """TOML has arrays where the config has tuples; check the kind against the default's."""
    if isinstance(default, tuple):
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if default and isinstance(default[0], tuple):
            return tuple(tuple(v) for v in value)
        return tuple(value)
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true or false, got {value!r}")
        return value
    if isinstance(default, int | float) and not isinstance(default, bool):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return value
    return value


def user_data_dir() -> Path:
    """sw-nlp's folder in the user's data folder: ``%LOCALAPPDATA%\\sw-nlp`` on Windows,
    ``$XDG_DATA_HOME/sw-nlp`` (default ``~/.local/share/sw-nlp``) elsewhere."""
    if os.name == "nt" and (local := os.environ.get("LOCALAPPDATA")):
        return Path(local) / "sw-nlp"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "sw-nlp"


@dataclass(frozen=True)
class Paths:
    """Where the corpus, the models and the reports live for this checkout or install.

    ``root`` holds the data and the reports; ``models`` (the model registry) is
    ``root / "models"`` unless given apart. ``discover`` gives the models a place that does
    not depend on the working directory: which model answers must not change with the
    folder a command runs in.
    """

    root: Path
    models_dir: Path | None = None

    @property
    def corpus(self) -> Path:
        return self.root / "data" / "corpus" / "cases.csv"

    @property
    def models(self) -> Path:
        return self.models_dir if self.models_dir is not None else self.root / "models"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def examples(self) -> Path:
        return self.root / "data" / "examples" / "cases.csv"

    @property
    def corrections(self) -> Path:
        """Reviewers' corrections from ``sw-nlp serve``, waiting for ``retrain --add``: beside
        the models they correct, and git-ignored (they hold case text)."""
        return self.models / "corrections" / "corrections.csv"

    @classmethod
    def discover(cls, start: Path | None = None) -> Paths:
        """``$SW_NLP_HOME`` for everything when it is set. Otherwise the data and reports
        of the nearest folder upwards that holds ``data/corpus`` (else the working folder),
        and the models in the user's data folder (``user_data_dir() / "models"``)."""
        if home := os.environ.get("SW_NLP_HOME"):
            return cls(Path(home))
        here = (start or Path.cwd()).resolve()
        root = next((f for f in (here, *here.parents) if (f / "data" / "corpus").is_dir()), here)
        return cls(root, models_dir=user_data_dir() / "models")


LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True, kw_only=True)
class ServeConfig:
    """Settings of ``sw-nlp serve``: where it listens, which files it uses, and its limits.

    The limits keep one careless or hostile client from taking the memory or the CPU of the
    machine that serves a whole office: an upload is as big as a year's case register, an API
    request as big as a case-management system's batch.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    model: Path | None = None  # None: the registry's current model, else the shipped one
    token: str | None = None  # required when host is not a loopback address
    corrections: Path | None = None  # None: Paths.discover().corrections
    max_upload_bytes: int = 50 << 20
    max_request_bytes: int = 1 << 20
    max_texts: int = 1000  # texts per API request
    max_text_chars: int = 100_000  # characters per text in an API request
    page_size: int = 50  # result rows per page
    job_ttl_seconds: int = 3600  # results are deleted this long after their job ended

    def __post_init__(self) -> None:
        check_count("port", self.port, low=0, high=65535)
        for name in ("max_upload_bytes", "max_request_bytes", "max_texts", "max_text_chars"):
            check_count(name, getattr(self, name), low=1)
        check_count("page_size", self.page_size, low=1, high=10_000)
        check_count("job_ttl_seconds", self.job_ttl_seconds, low=1)
        if self.token is not None and not self.token.strip():
            raise ConfigError("token: empty; give a token or none")
        if not self.is_loopback and not self.token:
            raise ConfigError(
                f"host {self.host}: serving beyond this machine needs a token "
                "(--token or SW_NLP_TOKEN); or serve on 127.0.0.1"
            )

    @property
    def is_loopback(self) -> bool:
        """Whether only this machine can connect (127.0.0.0/8, ::1, localhost)."""
        import ipaddress

        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:  # a host name: it may resolve to anything
            return False
