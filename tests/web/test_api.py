"""The JSON API: classify columns as `classify_texts` gives them, limits, and bad input."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.classify import classify_texts

TEXTS = [
    "Seorang nenek tinggal sendiri di rumah reyot dan tidak punya makanan",
    "Pemerintah kota menyusun peraturan daerah tentang perlindungan anak",
    "",
]


def test_classify_texts_returns_the_classify_columns(client: TestClient):
    response = client.post("/api/v1/classify", json={"texts": TEXTS})
    assert response.status_code == 200
    body = response.json()
    expected = classify_texts(load_model(default_bundle_dir()), TEXTS)
    assert [list(r) for r in body["results"]] == [list(expected.columns)] * len(TEXTS)
    for got, want in zip(body["results"], expected.to_dict("records"), strict=True):
        assert got["level"] == want["level"] and got["top_terms"] == want["top_terms"]
        assert got["needs_review"] == bool(want["needs_review"])
        if want["level"]:
            assert got["confidence"] == pytest.approx(want["confidence"])
    assert body["results"][2]["confidence"] is None and body["results"][2]["error"] == "empty text"
    assert body["model"]["version"] == "default" and len(body["model"]["sha256"]) == 64


def test_classify_cases_keeps_ids_in_order(client: TestClient):
    cases = [{"id": "B-2", "text": TEXTS[1]}, {"id": 7, "text": TEXTS[0]}]
    results = client.post("/api/v1/classify", json={"cases": cases}).json()["results"]
    assert [r["id"] for r in results] == ["B-2", 7]
    assert list(results[0])[:2] == ["id", "level"]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'"texts"', 400, "JSON object"),
        (json.dumps({}).encode(), 422, "either"),
        (json.dumps({"texts": ["a"], "cases": []}).encode(), 422, "either"),
        (json.dumps({"texts": []}).encode(), 422, "no texts"),
        (json.dumps({"texts": [1]}).encode(), 422, "texts.0"),
        (json.dumps({"cases": [{"text": "a"}]}).encode(), 422, "cases.0.id"),
        (json.dumps({"texts": ["a"], "other": 1}).encode(), 422, "other"),
        (json.dumps({"texts": ["a"] * 21}).encode(), 413, "at most 20"),
        (json.dumps({"texts": ["a", "b" * 2001]}).encode(), 413, "text 1"),
    ],
)
def test_bad_requests_get_a_4xx_and_a_message(client, body, status, message):
    response = client.post(
        "/api/v1/classify", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == status, response.text
    assert message in response.json()["error"]


def test_request_size_is_limited_before_it_is_read(client: TestClient):
    body = json.dumps({"texts": ["kata " * 300] * 40}).encode()  # > 50 kB
    response = client.post(
        "/api/v1/classify", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413 and "larger than" in response.json()["error"]

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(40):
            yield b" " * 2000

    response = client.post(
        "/api/v1/classify", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_model_and_health(client: TestClient):
    model = client.get("/api/v1/model").json()
    assert model["labels"] == ["mikro", "mezzo", "makro", "global"]
    assert 0 < model["metrics"]["macro_f1"] <= 1
    assert client.get("/healthz").json() == {"status": "ok", "model_version": "default"}


def test_openapi_describes_the_api(client: TestClient):
    spec = client.get("/openapi.json").json()
    assert {"/api/v1/classify", "/api/v1/model", "/healthz"} <= set(spec["paths"])
    assert not any(p.startswith("/jobs") for p in spec["paths"])  # pages are not the API
    request = spec["paths"]["/api/v1/classify"]["post"]["requestBody"]
    assert "ClassifyRequest" in json.dumps(request)
    assert client.get("/docs").status_code == 404  # its scripts would come from a CDN
