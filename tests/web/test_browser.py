"""A case worker's whole round in a real browser: headless Chromium from the system's
packages, driven by Selenium (no browser download). Upload the example file, wait for the
table, open a flagged case, correct its level, download the XLSX, check the corrections.

Skips when Chromium or its driver is missing on a workstation; fails in CI (``CI=true``),
where ``.ci/run`` installs them.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.classify import classify_file
from sw_nlp.corpus import read_new_cases

from .conftest import EXAMPLES

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def _browser_or_skip():
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).is_file()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if missing:
        reason = f"real-browser test needs {', '.join(missing)} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason + "; CI must run it")
        pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path: Path):
    """`sw-nlp serve` in its own process on a free loopback port."""
    _browser_or_skip()
    port = _free_port()
    corrections = tmp_path / "corrections.csv"
    log = open(tmp_path / "server.log", "wb")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sw_nlp",
            "serve",
            "--port",
            str(port),
            "--model",
            str(default_bundle_dir()),
            "--corrections",
            str(corrections),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > end:
                    raise AssertionError((tmp_path / "server.log").read_text()) from None
                time.sleep(0.2)
        yield url, corrections
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.fixture
def browser(tmp_path: Path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    downloads = tmp_path / "downloads"
    downloads.mkdir()
    options = Options()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
    ):
        options.add_argument(arg)
    options.add_experimental_option(
        "prefs",
        {"download.default_directory": str(downloads), "download.prompt_for_download": False},
    )
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.downloads = downloads  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.slow
def test_upload_review_correct_download(server, browser, tmp_path: Path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, corrections = server
    wait = WebDriverWait(browser, 60)
    browser.get(url + "/")
    browser.find_element(By.ID, "file").send_keys(str(EXAMPLES))
    browser.find_element(By.CSS_SELECTOR, "#upload-form button[type=submit]").click()
    table = wait.until(ec.presence_of_element_located((By.ID, "results")))
    rows = table.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert rows and "flagged" in rows[0].get_attribute("class"), "a flagged row comes first"

    rows[0].find_element(By.CSS_SELECTOR, "a.open").click()
    predicted = wait.until(ec.presence_of_element_located((By.ID, "case-level"))).text
    assert browser.find_elements(By.CSS_SELECTOR, "#case-text mark")
    new_level = "makro" if predicted != "makro" else "mezzo"
    Select(browser.find_element(By.ID, "correct-level")).select_by_value(new_level)
    method = Select(browser.find_element(By.ID, "correct-method")).first_selected_option
    method = method.get_attribute("value")
    browser.find_element(By.ID, "reviewer").send_keys("Uji Peramban")
    browser.find_element(By.ID, "note").send_keys("dicek di peramban")
    browser.find_element(By.ID, "save-correction").click()
    wait.until(ec.presence_of_element_located((By.ID, "saved")))
    assert new_level in browser.find_element(By.ID, "corrected").text

    browser.find_element(By.LINK_TEXT, "Kembali ke hasil").click()
    wait.until(ec.element_to_be_clickable((By.ID, "download-xlsx"))).click()
    end = time.monotonic() + 30
    while not list(browser.downloads.glob("*.xlsx")) and time.monotonic() < end:
        time.sleep(0.2)
    downloaded = list(browser.downloads.glob("*.xlsx"))
    assert [p.name for p in downloaded] == ["cases-hasil.xlsx"]
    classify_file(EXAMPLES, tmp_path / "cli.xlsx", model=default_bundle_dir(), columns="all")
    ours = zipfile.ZipFile(io.BytesIO(downloaded[0].read_bytes()))
    theirs = zipfile.ZipFile(tmp_path / "cli.xlsx")
    for name in theirs.namelist():
        if name != "docProps/core.xml":  # the time of writing
            assert ours.read(name) == theirs.read(name), name

    server_log = (corrections.parent / "server.log").read_text()
    for text in pd.read_csv(EXAMPLES, dtype=str)["uraian"]:
        assert text[:40] not in server_log, "case text in the server's output"

    new, _ = read_new_cases(corrections)
    assert len(new) == 1
    assert new.iloc[0]["level"] == new_level
    assert new.iloc[0]["method"] == method
