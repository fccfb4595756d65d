"""The pages: upload to results to a corrected case, downloads equal to `classify`'s bytes,
escaping, masking, security headers, the token, limits and the log."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.classify import classify_file
from sw_nlp.corpus import read_new_cases
from sw_nlp.web.app import create_app

from .conftest import BASE, EXAMPLES, csrf_of, small_config, upload, wait


def test_upload_classifies_in_the_background_and_shows_flagged_rows_first(
    client: TestClient, examples_job: str
):
    job = examples_job
    page = client.get(job, follow_redirects=True)
    assert page.url.path.endswith("/results")
    expected = pd.read_csv(EXAMPLES, dtype=str)
    rows = re.findall(r'<tr class="(flagged)?">\s*<td>(\d+)</td>', page.text)
    # page_size 5: the first page holds the first five rows in display order
    flags = [bool(f) for f, _ in rows]
    assert flags == sorted(flags, reverse=True), "needs-review rows come first"
    assert f"{len(expected)} baris" in page.text


def test_downloads_are_the_bytes_classify_writes(
    client: TestClient, examples_job: str, tmp_path: Path
):
    job = examples_job
    classify_file(EXAMPLES, tmp_path / "out.csv", model=default_bundle_dir(), columns="all")
    csv = client.get(f"{job}/download.csv")
    assert csv.status_code == 200 and "attachment" in csv.headers["content-disposition"]
    assert csv.content == (tmp_path / "out.csv").read_bytes()
    classify_file(EXAMPLES, tmp_path / "out.xlsx", model=default_bundle_dir(), columns="all")
    xlsx = client.get(f"{job}/download.xlsx").content
    ours, theirs = zipfile.ZipFile(io.BytesIO(xlsx)), zipfile.ZipFile(tmp_path / "out.xlsx")
    assert ours.namelist() == theirs.namelist()
    for name in ours.namelist():  # core.xml holds the time of writing; all else is equal
        if name != "docProps/core.xml":
            assert ours.read(name) == theirs.read(name), name


def test_filters_sorting_and_paging(client: TestClient, examples_job: str):
    job = examples_job
    frame = pd.read_csv(io.BytesIO(client.get(f"{job}/download.csv").content), dtype=str)
    level = frame["level"].value_counts().index[0]
    page = client.get(f"{job}/results", params={"level": level}).text
    shown = re.findall(r'<span class="level level-(\w+)">', page)
    assert shown and set(shown) == {level}
    page = client.get(f"{job}/results", params={"flag": "no", "sort": "desc"}).text
    assert 'class="flagged"' not in page
    confidences = [float(c) for c in re.findall(r'<td class="num">([\d.]+)</td>', page)]
    assert confidences == sorted(confidences, reverse=True)
    last = client.get(f"{job}/results", params={"page_no": 99}).text  # clamped to the last
    pages = -(-len(frame) // 5)
    assert f"Halaman {pages} dari {pages}" in last


def test_a_file_without_a_known_text_column_asks_for_it(client: TestClient):
    data = "nomor,isian\n1,Ibu Sari tinggal sendiri dan butuh bantuan makanan setiap hari\n"
    job = upload(client, "tanpa.csv", data.encode())
    status = wait(client, job)
    assert status["status"] == "needs_column"
    page = client.get(job).text
    assert '<option value="isian">isian</option>' in page
    response = client.post(
        f"{job}/column", data={"csrf": csrf_of(client), "column": "isian"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert wait(client, job)["status"] == "done"
    assert "Ibu Sari" in client.get(f"{job}/results").text


def test_a_bad_file_fails_with_its_message(client: TestClient):
    job = upload(client, "kosong.csv", b"teks\n")
    status = wait(client, job)
    assert status["status"] == "failed" and "no cases" in status["error"]
    assert "kosong.csv" in client.get(job).text


def test_case_text_is_escaped_and_identifiers_masked(client: TestClient):
    text = (
        "<script>alert('x')</script> anak dipukuli ayahnya, hubungi 081234567890 atau "
        "sari@contoh.id, NIK 3201010101900001"
    )
    data = pd.DataFrame({"id": ["A"], "teks": [text]}).to_csv(index=False).encode()
    job = upload(client, "xss.csv", data)
    wait(client, job)
    for page in (client.get(f"{job}/results").text, client.get(f"{job}/rows/2").text):
        assert "<script>alert" not in page
        assert re.findall(r"<script[^>]*>", page) == ['<script src="/static/app.js">']
        plain = re.sub(r"</?mark[^>]*>", "", page)  # the case page marks words inside
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in plain
        for secret in ("081234567890", "sari@contoh.id", "3201010101900001"):
            assert secret not in page
    case = client.get(f"{job}/rows/2").text
    assert re.search(r'<mark class="(for|against)"', case), "drivers are highlighted"
    assert "_telepon_" in case


def test_case_page_shows_probabilities_runner_up_and_drivers(
    client: TestClient, examples_job: str
):
    job = examples_job
    frame = pd.read_csv(io.BytesIO(client.get(f"{job}/download.csv").content), dtype=str)
    first = frame.iloc[0]
    page = client.get(f"{job}/rows/{first['row']}").text
    widths = re.findall(r'class="bar-fill[^"]*" width="([\d.]+)"', page)
    assert len(widths) == 4
    assert max(float(w) for w in widths) == pytest.approx(
        float(first["confidence"]) * 200, abs=0.2
    )
    assert f"<dd>{first['runner_up']}</dd>" in page
    assert "Kata yang mendukung" in page and "Kata yang menentang" in page


def test_a_correction_is_saved_in_the_format_retrain_reads(
    client: TestClient, examples_job: str, web_dir: Path
):
    job = examples_job
    csrf = csrf_of(client)
    form = {
        "csrf": csrf,
        "level": "makro",
        "method": "social_policy",
        "reviewer": "Rina",
        "note": "cek ulang",
    }
    response = client.post(f"{job}/rows/3/correct", data=form, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"]).text
    assert "Koreksi disimpan" in page and "makro" in page
    assert '<option value="makro" selected>' in page  # the form opens with the correction
    assert '<option value="social_policy" selected>' in page
    path = web_dir / "corrections" / "corrections.csv"
    saved = pd.read_csv(path, dtype=str, keep_default_na=False)
    new, notes = read_new_cases(path)  # retrain --add's own reader and validation
    assert len(new) == len(saved)
    row = saved.iloc[-1]
    assert (row["level"], row["method"], row["reviewer"], row["note"]) == (
        "makro",
        "social_policy",
        "Rina",
        "cek ulang",
    )
    assert row["model_version"] == "default" and len(row["model_sha256"]) == 64
    assert row["source_file"] == "cases.csv" and row["source_row"] == "3"
    assert row["predicted_level"] in ("mikro", "mezzo", "makro", "global")
    # correcting the same case again replaces its row
    form["level"], form["method"] = "mezzo", "mpok"
    client.post(f"{job}/rows/3/correct", data=form, follow_redirects=False)
    again = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(again) == len(saved) and again.iloc[-1]["level"] == "mezzo"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"method": "social_policy"}, "tidak berlaku"),  # a makro method for mikro
        ({"level": "nope"}, "Pilih tingkat"),
        ({"reviewer": " "}, "peninjau"),
        ({"note": "x" * 501}, "terlalu panjang"),
    ],
)
def test_a_bad_correction_is_refused_with_a_message(
    client, examples_job: str, web_dir, change, message
):
    job = examples_job
    path = web_dir / "corrections" / "corrections.csv"
    before = path.read_bytes() if path.exists() else b""
    form = {
        "csrf": csrf_of(client),
        "level": "mikro",
        "method": "casework_individual",
        "reviewer": "R",
        **change,
    }
    response = client.post(f"{job}/rows/2/correct", data=form)
    assert response.status_code == 400 and message in response.text
    assert (path.read_bytes() if path.exists() else b"") == before


def test_forms_need_the_form_token(client: TestClient):
    response = client.post("/upload", files={"file": ("a.csv", b"teks\nx\n")})
    assert response.status_code == 403


@pytest.mark.parametrize(
    "path", ["/", "/model", "/corrections", "/api/v1/model", "/healthz", "/nope"]
)
def test_security_headers(client: TestClient, path: str):
    headers = client.get(path).headers
    assert headers["content-security-policy"].startswith("default-src 'self'")
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"


def test_pages_have_no_inline_script_or_style(client: TestClient, examples_job: str):
    job = examples_job
    for path in ("/", "/model", "/corrections", f"{job}/results", f"{job}/rows/2"):
        page = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), path
        assert " style=" not in page and "<style" not in page, path


def test_model_page_and_report(client: TestClient):
    page = client.get("/model").text
    manifest_sha = re.search(r"<code>([0-9a-f]{64})</code>", page)
    assert manifest_sha and "macro-F1" in page
    report = client.get("/model/report")
    assert report.status_code == 200 and "sandbox" in report.headers["content-security-policy"]


def test_other_hosts_are_refused_on_loopback(client: TestClient):
    assert client.get("/healthz", headers={"host": "evil.example"}).status_code == 400


def test_upload_limit_and_private_files(client: TestClient, examples_job: str):
    big = b"teks\n" + b"kata " * 50_000
    response = client.post(
        "/upload", data={"csrf": csrf_of(client)}, files={"file": ("big.csv", big)}
    )
    assert response.status_code == 413
    job_url = examples_job
    store = client.app.state.jobs
    assert store.root.stat().st_mode & 0o777 == 0o700
    job = store.get(job_url.rsplit("/", 1)[-1])
    assert not job.input.exists(), "the upload is deleted once classified"
    assert job.folder.stat().st_mode & 0o777 == 0o700


def test_no_case_text_in_the_log(client: TestClient, caplog):
    unique = "zorvathiquel"
    loggers = [logging.getLogger(n) for n in ("sw_nlp", "uvicorn", "fastapi", "")]
    for logger in loggers:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    try:
        data = f"teks\nanak {unique} dipukuli ayahnya setiap malam di rumah\n".encode()
        job = upload(client, "log.csv", data)
        wait(client, job)
        client.get(f"{job}/rows/2")
        client.post("/api/v1/classify", json={"texts": [f"warga {unique} minta bantuan"]})
        client.post("/api/v1/classify", json={"texts": [f"{unique}"], "extra": 1})
    finally:
        for logger in loggers:
            logger.removeHandler(caplog.handler)
    assert caplog.records, "something was logged"
    assert unique not in caplog.text


def test_token_is_checked_on_every_request(web_dir: Path):
    app = create_app(small_config(web_dir, host="0.0.0.0", token="s3cret-token"))
    with TestClient(app, base_url=BASE) as client:
        assert client.get("/api/v1/model").status_code == 401
        assert client.get("/healthz").status_code == 401
        bad = {"authorization": "Bearer wrong"}
        assert (
            client.post("/api/v1/classify", json={"texts": ["x"]}, headers=bad).status_code == 401
        )
        good = {"authorization": "Bearer s3cret-token"}
        assert client.get("/api/v1/model", headers=good).status_code == 200
        page = client.get("/model", follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/model"
        assert client.get("/static/style.css").status_code == 200  # the login page's look
        refused = client.post("/login", data={"token": "nope", "next": "/model"})
        assert refused.status_code == 401 and "Token salah" in refused.text
        assert client.get("/model", follow_redirects=False).status_code == 303
        login = client.post(
            "/login", data={"token": "s3cret-token", "next": "/model"}, follow_redirects=False
        )
        assert login.status_code == 303 and login.headers["location"] == "/model"
        assert "httponly" in login.headers["set-cookie"].lower()
        assert "s3cret-token" not in login.headers["set-cookie"]
        assert client.get("/model").status_code == 200
        # a redirect never leaves this server
        away = client.post(
            "/login",
            data={"token": "s3cret-token", "next": "//evil.example/"},
            follow_redirects=False,
        )
        assert away.headers["location"] == "/"


def test_an_upload_without_a_length_is_counted(client: TestClient):
    """A chunked upload over the limit is refused as it arrives, not after it is stored."""
    boundary = "b0undary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf_of(client)}\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\nteks\n"
    ).encode()

    def body():
        yield head
        for _ in range(30):
            yield b"kata " * 2000  # 10 kB each, 300 kB in all: over the 200 kB limit
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post(
        "/upload",
        content=body(),
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.status_code == 413
    assert list(client.app.state.jobs.root.glob("upload-*")) == []


def test_a_single_note_shows_its_text(client: TestClient):
    note = "Ibu Rina (hp 081234567890) dipukuli suaminya, anak-anak ketakutan di rumah."
    job = upload(client, "catatan.txt", note.encode())
    assert wait(client, job)["status"] == "done"
    page = client.get(f"{job}/rows/1").text
    plain = re.sub(r"</?mark[^>]*>", "", page)
    assert "dipukuli suaminya" in plain and "081234567890" not in page
