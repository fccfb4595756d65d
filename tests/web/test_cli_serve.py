"""`sw-nlp serve` refuses what would expose case files, before loading anything."""

from __future__ import annotations

import pytest

from sw_nlp.cli import main


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "example.org"])
def test_a_public_host_needs_a_token(host: str, capsys, monkeypatch):
    monkeypatch.delenv("SW_NLP_TOKEN", raising=False)
    assert main(["serve", "--host", host]) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "needs a token" in err and "\n" not in err


def test_an_empty_token_is_refused(capsys, monkeypatch):
    monkeypatch.setenv("SW_NLP_TOKEN", " ")
    assert main(["serve", "--host", "0.0.0.0"]) != 0
    assert "empty" in capsys.readouterr().err
