"""The message catalogue: both languages complete, every key a page uses is there."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient

from sw_nlp.web.messages import DEFAULT_LANG, MESSAGES, pick_lang, translate

TEMPLATES = Path(__file__).resolve().parents[2] / "sw_nlp" / "web" / "templates"


def test_both_languages_have_the_same_keys_and_placeholders():
    assert set(MESSAGES) == {"id", "en"}
    assert MESSAGES["id"].keys() == MESSAGES["en"].keys()
    for key, text in MESSAGES["id"].items():
        fields = set(re.findall(r"\{(\w+)\}", text))
        assert fields == set(re.findall(r"\{(\w+)\}", MESSAGES["en"][key])), key
        assert text.strip(), key


def test_every_key_the_templates_use_exists():
    used = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"t\('([\w. ]+)'\s*[,)]", template.read_text()))
    assert used, "templates call t('...')"
    assert used - MESSAGES["en"].keys() == set()


def test_language_choice():
    assert pick_lang(None, None) == DEFAULT_LANG == "id"
    assert pick_lang("en", "id") == "en"
    assert pick_lang("xx", "en") == "en"
    assert translate("en", "results.page", page=2, pages=5) == "Page 2 of 5"


def test_pages_are_indonesian_by_default_and_english_on_request(client: TestClient):
    client.cookies.clear()
    assert "Klasifikasi berkas kasus" in client.get("/").text
    english = client.get("/", params={"lang": "en"})
    assert "Classify a case file" in english.text and 'lang="en"' in english.text
    assert "sw_nlp_lang=en" in english.headers["set-cookie"]
    assert "Classify a case file" in client.get("/").text  # the cookie keeps it
    assert "Klasifikasi berkas kasus" in client.get("/", params={"lang": "id"}).text
    client.cookies.clear()
