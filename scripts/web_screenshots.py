"""Screenshots of every page of ``sw-nlp serve`` for the README, in headless Chromium.

    python scripts/web_screenshots.py            # writes docs/screenshots/*.png

Starts ``sw-nlp serve`` (the shipped model, corrections in a temporary folder) on a free
loopback port, walks a case worker's round with the example file (upload, results, one
case, a correction, the model page, the corrections page, a file with no known text
column) and saves one PNG per page. Needs the system's ``chromium`` and ``chromedriver``
and the ``selenium`` package (the test extra); nothing is downloaded.
"""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots"
EXAMPLES = REPO / "data" / "examples" / "cases.csv"


def main() -> None:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    from sw_nlp.bundle import default_bundle_dir

    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sw-nlp-shots-") as folder:
        tmp = Path(folder)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(tmp / "server.log", "wb")  # noqa: SIM115
        server = subprocess.Popen(
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
                str(tmp / "c.csv"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for arg in (
            "--headless=new",
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--window-size=1280,900",
            "--hide-scrollbars",
        ):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        wait = WebDriverWait(driver, 60)
        url = f"http://127.0.0.1:{port}"

        def shot(name: str, full: bool = True) -> None:
            if full:
                height = driver.execute_script("return document.documentElement.scrollHeight")
                driver.set_window_size(1280, min(max(int(height) + 20, 600), 2400))
            driver.save_screenshot(str(OUT / f"{name}.png"))
            driver.set_window_size(1280, 900)
            print(f"wrote {OUT / name}.png")

        try:
            for _ in range(600):
                try:
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                    c.request("GET", "/healthz")
                    if c.getresponse().status == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            driver.get(url + "/")
            shot("upload")
            driver.find_element(By.ID, "file").send_keys(str(EXAMPLES))
            driver.find_element(By.CSS_SELECTOR, "#upload-form button").click()
            table = wait.until(ec.presence_of_element_located((By.ID, "results")))
            shot("results")
            table.find_element(By.CSS_SELECTOR, "tbody tr a.open").click()
            wait.until(ec.presence_of_element_located((By.ID, "case-text")))
            shot("case")
            Select(driver.find_element(By.ID, "correct-level")).select_by_value("mezzo")
            driver.find_element(By.ID, "reviewer").send_keys("Rina")
            driver.find_element(By.ID, "note").send_keys("laporan warga, perlu penjangkauan RT")
            driver.find_element(By.ID, "save-correction").click()
            wait.until(ec.presence_of_element_located((By.ID, "saved")))
            shot("case-corrected")
            driver.get(driver.current_url.split("?")[0] + "?lang=en")
            shot("case-en")
            driver.get(url + "/?lang=id")
            driver.get(url + "/model")
            shot("model")
            driver.get(url + "/corrections")
            shot("corrections")
            odd = tmp / "rekap.csv"
            odd.write_text(
                "No,Tanggal,Isian Warga\n1,2026-11-02,Ibu Tini tinggal sendiri dan sakit\n",
                encoding="utf-8",
            )
            driver.get(url + "/")
            driver.find_element(By.ID, "file").send_keys(str(odd))
            driver.find_element(By.CSS_SELECTOR, "#upload-form button").click()
            wait.until(ec.presence_of_element_located((By.ID, "column")))
            shot("pick-column")
        finally:
            driver.quit()
            server.terminate()
            server.wait(timeout=30)
            log.close()


if __name__ == "__main__":
    main()
