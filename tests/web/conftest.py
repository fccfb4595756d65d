"""An app on the shipped model with small limits, one per session (loading takes seconds)."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")

from fastapi.testclient import TestClient  # noqa: E402

from sw_nlp.bundle import default_bundle_dir  # noqa: E402
from sw_nlp.config import ServeConfig  # noqa: E402
from sw_nlp.web.app import create_app  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "data" / "examples" / "cases.csv"
BASE = "http://127.0.0.1"


def small_config(tmp: Path, **changes) -> ServeConfig:
    values = {
        "model": default_bundle_dir(),
        "corrections": tmp / "corrections" / "corrections.csv",
        "max_upload_bytes": 200_000,
        "max_request_bytes": 50_000,
        "max_texts": 20,
        "max_text_chars": 2_000,
        "page_size": 5,
    }
    return ServeConfig(**{**values, **changes})


@pytest.fixture(scope="session")
def web_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("web")


@pytest.fixture(scope="session")
def client(web_dir: Path):
    app = create_app(small_config(web_dir))
    with TestClient(app, base_url=BASE) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def examples_job(client) -> str:
    """The example file, uploaded and classified once for the tests that only read it."""
    job = upload(client, "cases.csv", EXAMPLES.read_bytes())
    assert wait(client, job)["status"] == "done"
    return job


def csrf_of(client: TestClient) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', client.get("/").text).group(1)


def upload(client: TestClient, name: str, data: bytes, **fields) -> str:
    """Upload a file; the job's URL."""
    response = client.post(
        "/upload",
        data={"csrf": csrf_of(client), **fields},
        files={"file": (name, data, "application/octet-stream")},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return response.headers["location"]


def wait(client: TestClient, job_url: str, timeout: float = 60) -> dict:
    """Poll the job's status endpoint until it has ended."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        status = client.get(f"{job_url}/status").json()
        if status["status"] in ("done", "failed", "needs_column"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"job {job_url} still running after {timeout} s")
