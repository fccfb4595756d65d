"""Jobs: private folders, expiry, the columns offered, and the one loaded model."""

from __future__ import annotations

import time
from pathlib import Path

from sw_nlp.bundle import default_bundle_dir
from sw_nlp.web.jobs import JobStore


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


def test_columns_offered_are_the_header_itself_even_with_commas_in_names(tmp_path: Path):
    """The picker takes the names from the error's ``columns``, not from its message: a name
    holding ", " (which the message joins names with) is offered whole."""
    store = JobStore(default_bundle_dir(), ttl_seconds=60)
    try:
        upload = store.new_upload_path()
        upload.write_text('nomor,"isian, panjang",tgl\n1,anak dipukuli ayahnya,2024-01-02\n')
        job = store.create("a.csv", upload)
        _wait(job)
        assert job.status == "needs_column"
        assert job.columns == ["nomor", "isian, panjang", "tgl"]
        assert job.input.exists()  # kept for the second try with the chosen column
    finally:
        store.close()


def test_a_mistyped_text_column_offers_the_picker(tmp_path: Path):
    """A text column typed wrong on the upload form gets the same column picker as a file
    without a recognisable one, not a dead end."""
    store = JobStore(default_bundle_dir(), ttl_seconds=60)
    try:
        upload = store.new_upload_path()
        upload.write_text("nomor,isian\n1,anak dipukuli ayahnya setiap malam\n")
        job = store.create("a.csv", upload, text_column="isiann")
        _wait(job)
        assert job.status == "needs_column"
        assert job.columns == ["nomor", "isian"]
    finally:
        store.close()


def test_each_upload_uses_the_store_model_without_loading_it(tmp_path: Path, monkeypatch):
    """Both outputs (CSV and XLSX) come from the server's loaded model: loading is refused
    here, and the job still ends with both files."""
    from sw_nlp import classify
    from sw_nlp.bundle import load_model

    clf = load_model(default_bundle_dir())

    def no_load(*args, **kwargs):
        raise AssertionError("the model was loaded again")

    monkeypatch.setattr(classify, "load_model", no_load)
    store = JobStore(default_bundle_dir(), ttl_seconds=60, classifier=clf)
    try:
        upload = store.new_upload_path()
        upload.write_text("teks\nanak dipukuli ayahnya setiap malam\n")
        job = store.create("a.csv", upload)
        _wait(job)
        assert job.status == "done", job.error
        assert job.csv.is_file() and job.xlsx.is_file()
    finally:
        store.close()
