"""Shared fixtures: a tiny hand-written corpus, a fast config, one bundle trained per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from sw_nlp.config import Config
from sw_nlp.workflows import run_training

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session", autouse=True)
def private_trust_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never read or write the user's real trust store."""
    path = tmp_path_factory.mktemp("trust") / "trusted.json"
    mp = pytest.MonkeyPatch()
    mp.setenv("SW_NLP_TRUST_FILE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session", autouse=True)
def private_user_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never read or write the user's real model registry (in the user data folder)."""
    path = tmp_path_factory.mktemp("user-data")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_DATA_HOME", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="session")
def tiny_corpus_path() -> Path:
    return FIXTURES / "tiny_corpus.csv"


@pytest.fixture(scope="session")
def fast_config() -> Config:
    """Two folds, a two-point grid: model selection still runs, in about a second."""
    return Config().replace(
        search={
            "folds": 2,
            "C": (10.0,),
            "stem": (False, True),
            "remove_stopwords": (False,),
            "n_jobs": 1,
        }
    )


@pytest.fixture(scope="session")
def trained_bundle(
    tmp_path_factory: pytest.TempPathFactory, tiny_corpus_path: Path, fast_config: Config
) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "tiny"
    run_training(tiny_corpus_path, out, fast_config)
    return out


@pytest.fixture(scope="session")
def tiny_model(trained_bundle: Path):
    from sw_nlp.bundle import load_model

    return load_model(trained_bundle)
