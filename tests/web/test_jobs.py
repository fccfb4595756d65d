"""Jobs: private folders, expiry, and reading classify's "no text column" message."""

from __future__ import annotations

import time
from pathlib import Path

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.web.jobs import JobStore, _offered_columns


def _wait(job, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while job.status in ("queued", "running", "preparing") and time.monotonic() < end:
        time.sleep(0.05)


def test_results_expire_and_everything_goes_on_close(tmp_path: Path):
    store = JobStore(default_bundle_dir(), ttl_seconds=1)
    try:
        upload = store.new_upload_path()
        upload.write_text("teks\nanak dipukuli ayahnya setiap malam\n")
        job = store.create("a.csv", upload)
        _wait(job)
        assert job.status == "done" and job.csv.is_file() and not job.input.exists()
        job.ended = time.time() - 2  # ended longer ago than the TTL
        assert store.get(job.id) is None
        assert not job.folder.exists()
    finally:
        store.close()
    assert not store.root.exists()


def test_offered_columns_come_from_classify_message():
    message = (
        "x.csv, row 1: no text column found; name it with --text-column. Columns are: "
        "nomor, cerita panjang, tgl"
    )
    assert _offered_columns(message) == ["nomor", "cerita panjang", "tgl"]
    hinted = message.replace("row 1", "row 3") + " (a header lower down? pass --header-row N)"
    assert _offered_columns(hinted) == ["nomor", "cerita panjang", "tgl"]
    assert _offered_columns("x.csv: empty file") == []
