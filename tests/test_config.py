from pathlib import Path

import pytest

from sw_nlp.config import Config, Paths
from sw_nlp.errors import ConfigError


def test_defaults_round_trip_through_dict():
    cfg = Config()
    assert Config.from_dict(cfg.to_dict()) == cfg


def test_toml_overrides_and_converts_lists(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text("[model]\nC = 3\n[search]\nC = [1, 2]\nword_ngrams = [[1, 1], [1, 3]]\n")
    cfg = Config.from_toml(path)
    assert cfg.model.C == 3
    assert cfg.search.C == (1, 2)
    assert cfg.search.word_ngrams == ((1, 1), (1, 3))
    assert cfg.features == Config().features


@pytest.mark.parametrize(
    "body, message",
    [
        ("[modle]\nC = 1\n", "unknown section [modle]"),
        ("[model]\nc = 1\n", "model.c: unknown key"),
        ("[model]\nC = 'high'\n", "expected a number"),
        ("[preprocess]\nstem = 1\n", "expected true or false"),
        ("[model\n", "not valid TOML"),
    ],
)
def test_bad_toml_names_the_problem(tmp_path: Path, body: str, message: str):
    path = tmp_path / "bad.toml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Config.from_toml(path)


def test_missing_config_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="not found"):
        Config.from_toml(tmp_path / "none.toml")


def test_paths_discover_finds_the_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.delenv("SW_NLP_HOME", raising=False)
    assert Paths.discover(deep).root == tmp_path.resolve()
    monkeypatch.setenv("SW_NLP_HOME", str(deep))
    assert Paths.discover(tmp_path).corpus == deep / "data" / "corpus" / "cases.csv"
