"""The retraining loop on small data: add → challenger → gate → promote/refuse → rollback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sw_nlp.bundle import default_bundle_dir, load_model
from sw_nlp.cli import main
from sw_nlp.corpus import load_corpus
from sw_nlp.registry import SHIPPED, Registry, RegistryError
from sw_nlp.resolve import resolve_model
from sw_nlp.workflows import run_training

FAST = "[search]\nfolds = 2\nC = [10.0]\nstem = [false]\nremove_stopwords = [false]\nn_jobs = 1\n"
NEW = [
    (
        "Seorang nenek hidup sebatang kara di gubuk, pekerja sosial merujuknya ke panti werdha.",
        "mikro",
        "casework_individual",
    ),
    (
        "Warga satu desa membentuk kelompok siaga bencana dan jalur evakuasi bersama perangkat desa.",
        "mezzo",
        "community_planning",
    ),
    (
        "Pemerintah provinsi menetapkan peraturan gubernur penanganan anak jalanan di semua kabupaten.",
        "Makro",
        "social_policy",
    ),
    (
        "Negara-negara ASEAN menyepakati protokol bersama pemulangan korban perdagangan orang.",
        "internasional",
        "international_social_policy",
    ),
]


@pytest.fixture()
def home(tmp_path: Path, tiny_corpus_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    shutil.copy(tiny_corpus_path, tmp_path / "data" / "corpus" / "cases.csv")
    (tmp_path / "models").mkdir()
    (tmp_path / "fast.toml").write_text(FAST)
    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    return tmp_path


def garbage_model(home: Path) -> str:
    """A model trained on shuffled labels: clearly worse than any real one."""
    corpus = pd.read_csv(home / "data" / "corpus" / "cases.csv", dtype=str, keep_default_na=False)
    corpus["level"] = np.random.default_rng(0).permutation(corpus["level"].to_numpy())
    corpus["method"] = corpus["level"].map(
        {
            "mikro": "group_work",
            "mezzo": "mpok",
            "makro": "social_policy",
            "global": "international_social_policy",
        }
    )
    path = home / "shuffled.csv"
    corpus.to_csv(path, index=False)
    registry = Registry.at(home / "models")
    out = registry.new_version_dir()
    from sw_nlp.config import Config

    run_training(path, out, Config.from_toml(home / "fast.toml"), with_report=False)
    registry.record("register", out.name)
    return out.name


def test_add_rows_registers_a_challenger(home: Path, capsys):
    add = home / "new.csv"
    pd.DataFrame(NEW, columns=["text", "level", "method"]).assign(text=lambda f: f["text"]).to_csv(
        add, index=False
    )
    before = load_corpus(home / "data" / "corpus" / "cases.csv")
    assert main(["retrain", "--add", str(add), "--config", str(home / "fast.toml")]) == 0
    out = capsys.readouterr()
    assert "added 4 case(s)" in out.out and "alias 'Makro' read as 'makro'" in out.err
    after = load_corpus(home / "data" / "corpus" / "cases.csv")
    assert len(after) == len(before) + 4
    assert after["case_id"].tail(4).tolist() == ["SW-00001", "SW-00002", "SW-00003", "SW-00004"]
    assert (after.tail(4)["split"] == "train").all()
    pd.testing.assert_frame_equal(after.head(len(before)), before)  # the frozen split stays frozen
    registry = Registry.at(home / "models")
    [version] = registry.versions()
    assert registry.current() == SHIPPED  # registered, not promoted
    assert (registry.root / version / "report" / "report.html").is_file()
    assert (
        "## Comparison with current (shipped)"
        in (registry.root / version / "report" / "report.md").read_text()
    )
    assert [e["action"] for e in registry.history()] == ["register"]

    # the same file again adds nothing: stopped before training, each repeated row named
    assert main(["retrain", "--add", str(add), "--config", str(home / "fast.toml")]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0] == (
        f"error: {add}: nothing new to train on: all 4 row(s) are already in the corpus "
        "(0 by case_id, 4 by text); nothing was trained or registered"
    )
    assert err[1] == "  row 2: same text as corpus case SW-00001 (same label); skipped"
    assert len(err) == 5 and registry.versions() == [version]


def test_bad_new_rows_are_named(home: Path, capsys):
    add = home / "bad.csv"
    pd.DataFrame([("teks", "nasional", "mpok")], columns=["text", "level", "method"]).to_csv(
        add, index=False
    )
    assert main(["retrain", "--add", str(add)]) == 3
    assert "bad.csv:2:level: unknown label 'nasional'" in capsys.readouterr().err


def test_every_bad_new_row_is_listed_first_20_and_a_count(home: Path, capsys):
    add = home / "bad.csv"
    rows = [(f"teks nomor {i} yang cukup panjang", "nasional", "mpok") for i in range(25)]
    pd.DataFrame(rows, columns=["text", "level", "method"]).to_csv(add, index=False)
    assert main(["retrain", "--add", str(add)]) == 3
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("error: ") and "nothing was added" in err[0]
    assert f"{add}:2:level: unknown label 'nasional'" in err[1]
    assert f"{add}:21:level" in err[20] and err[-1] == "  … and 5 more"
    assert Registry.at(home / "models").versions() == []


def test_duplicates_of_corpus_rows_are_reported(home: Path, capsys):
    corpus = pd.read_csv(home / "data" / "corpus" / "cases.csv", dtype=str, keep_default_na=False)
    known = corpus.iloc[0]
    other = "mikro" if known["level"] != "mikro" else "mezzo"
    add = home / "new.csv"
    pd.DataFrame(
        [(known["text"], other, {"mikro": "casework_individual", "mezzo": "mpok"}[other]), NEW[0]],
        columns=["text", "level", "method"],
    ).to_csv(add, index=False)
    assert main(["retrain", "--add", str(add), "--config", str(home / "fast.toml")]) == 0
    captured = capsys.readouterr()
    assert "added 1 case(s)" in captured.out
    assert (
        f"row 2: same text as corpus case {known['case_id']} (labelled {known['level']} there, "
        f"{other} here); skipped" in captured.err
    )


def test_gate_refuses_a_challenger_never_better_in_any_resample(home: Path, capsys):
    """An identical model is never better: promoting it changes nothing users need."""
    registry = Registry.at(home / "models")
    out = registry.new_version_dir()
    shutil.copytree(default_bundle_dir(), out, dirs_exist_ok=True)
    registry.record("register", out.name)
    assert main(["models", "trust", str(out)]) == 0
    assert main(["models", "promote", out.name]) == 5
    err = capsys.readouterr().err
    assert "better in 0.0% of resamples" in err and "is not above zero" in err
    assert registry.current() == SHIPPED and registry.history()[-1]["action"] == "refused"
    assert "current model in some of 1,000 paired bootstrap resamples" in (
        Path(__file__).resolve().parent.parent / "README.md"
    ).read_text(encoding="utf-8")


def test_gate_refuses_worse_accepts_better_and_rollback_restores(home: Path, capsys):
    registry = Registry.at(home / "models")
    corpus = load_corpus(home / "data" / "corpus" / "cases.csv")
    bad = garbage_model(home)

    with pytest.raises(RegistryError, match="refused: .* is not above zero"):
        registry.promote(bad, corpus)
    assert registry.current() == SHIPPED
    with pytest.raises(RegistryError, match="--force needs --reason"):
        registry.promote(bad, corpus, force=True)
    assert main(["models", "promote", bad, "--force", "--reason", "test of the override"]) == 0
    assert registry.current() == bad
    assert registry.history()[-1]["reason"] == "test of the override"
    assert registry.history()[-1]["action"] == "force-promote"

    texts = corpus["text"].tolist()
    bad_proba = load_model(registry.path(bad)).predict_proba(texts)
    current = resolve_model()
    assert (current.source, current.name, current.path) == ("registry", bad, registry.path(bad))
    assert np.array_equal(load_model(current.path).predict_proba(texts), bad_proba)

    # the shipped model is better than the garbage one: the gate lets it back in, and says
    # what changes for users
    capsys.readouterr()
    assert main(["models", "promote", SHIPPED]) == 0
    shown = capsys.readouterr().out
    entry = registry.history()[-1]
    assert entry["action"] == "promote" and entry["gate"]["difference"] > 0
    effect = entry["effect"]
    assert 0 <= effect["review_share_before"] <= 1 and effect["n"] == int(
        (corpus["split"] == "test").sum()
    )
    assert f"needs review on the test split ({effect['n']} cases): " in shown
    assert "settings changed:" in shown
    assert resolve_model().source == "shipped"
    assert resolve_model().path == default_bundle_dir()

    assert main(["models", "rollback", "--reason", "checking rollback"]) == 0
    assert registry.current() == bad
    assert np.array_equal(
        load_model(resolve_model().path).predict_proba(texts), bad_proba
    )  # exactly the previous predictions

    # a second rollback goes further back (to the shipped model), not back and forth
    assert main(["models", "rollback", "--reason", "again"]) == 0
    assert registry.current() == SHIPPED
    with pytest.raises(RegistryError, match="nothing to roll back"):
        registry.rollback("once more")
    assert main(["models", "rollback", "--reason", "again"]) == 5
    assert main(["models", "rollback"]) == 2  # --reason is required
    assert main(["models", "promote", bad, "--force", "--reason", "again"]) == 0

    actions = [e["action"] for e in registry.history()]
    assert actions == [
        "register", "refused", "force-promote", "promote", "rollback", "rollback", "force-promote",
    ]  # fmt: skip
    assert all({"when", "who", "version"} <= set(e) for e in registry.history())
    capsys.readouterr()
    assert main(["models", "list"]) == 0
    listing = capsys.readouterr().out
    assert f"* {bad}" in listing and "  shipped" in listing
    assert main(["models", "show", bad]) == 0
    assert json.loads(capsys.readouterr().out)["format_version"] == 2


def test_rollback_without_history(home: Path):
    with pytest.raises(RegistryError, match="needs --reason"):
        Registry.at(home / "models").rollback()
    with pytest.raises(RegistryError, match="nothing to roll back"):
        Registry.at(home / "models").rollback("a reason")


def _flagged_share(path: Path) -> float:
    """The share of rows ``classify`` flagged for review in its output file."""
    flags = pd.read_csv(path, dtype=str, keep_default_na=False)["needs_review"]
    return float(flags.str.lower().isin(["true", "yes"]).mean())


def test_promotion_shows_review_share_on_the_last_classified_file(home: Path, capsys):
    bad = garbage_model(home)
    registry = Registry.at(home / "models")
    texts = [text for text, _, _ in NEW] + ["tolong", "Ibu S lansia tinggal sendiri, perlu kunjungan rumah."]
    cases = home / "rekap.csv"
    pd.DataFrame({"No": range(1, len(texts) + 1), "Deskripsi Kasus": texts}).to_csv(cases, index=False)
    assert main(["classify", str(cases), "-o", str(home / "before.csv"), "-q"]) == 0
    record = json.loads((registry.root / "last_classified.json").read_text())
    assert record["path"] == str(cases.resolve()) and record["rows"] == len(texts)
    assert not any(text in json.dumps(record) for text in texts)  # where and how, never text
    assert main(["classify", str(cases), "-o", str(home / "after.csv"), "-q",
                 "--model", str(registry.path(bad))]) == 0  # fmt: skip
    capsys.readouterr()

    assert main(["models", "promote", bad, "--force", "--reason", "workload check"]) == 0
    out = capsys.readouterr().out
    last = registry.history()[-1]["effect"]["last_file"]
    assert "texts" not in last and last["n"] == len(texts)
    # the promotion counts what classify itself flagged with each model
    assert last["review_share_before"] == pytest.approx(_flagged_share(home / "before.csv"))
    assert last["review_share_after"] == pytest.approx(_flagged_share(home / "after.csv"))
    assert (
        f"needs review on the last classified file ({cases.resolve()}, {len(texts)} rows): "
        f"{last['review_share_before']:.1%} with {SHIPPED}, {last['review_share_after']:.1%} "
        f"with {bad}"
    ) in out

    assert main(["models", "rollback", "--reason", "back"]) == 0
    with open(cases, "a") as handle:
        handle.write(f"{len(texts) + 1},Satu baris lagi tentang keluarga miskin\n")
    capsys.readouterr()
    assert main(["models", "promote", bad, "--force", "--reason", "again"]) == 0
    assert "not shown (the file has changed since it was classified)" in capsys.readouterr().out
    assert registry.history()[-1]["effect"]["last_file"]["why"].startswith("the file has changed")

    assert main(["models", "rollback", "--reason", "back"]) == 0
    cases.unlink()
    capsys.readouterr()
    assert main(["models", "promote", bad, "--force", "--reason", "once more"]) == 0
    assert "not shown (the file is no longer there)" in capsys.readouterr().out


def test_classify_records_nothing_without_a_registry(home: Path, capsys):
    cases = home / "cases.csv"
    cases.write_text("teks\nSeorang nenek tinggal sendiri\n")
    assert main(["classify", str(cases), "-o", str(home / "out.csv"), "-q"]) == 0
    assert not (home / "models" / "registry").exists()  # classify creates no registry


def test_promotion_without_a_classified_file_says_so(home: Path, capsys):
    bad = garbage_model(home)
    assert main(["models", "promote", bad, "--force", "--reason", "none classified"]) == 0
    assert (
        "needs review on the last classified file: not shown (no file classified since the "
        "registry was made)" in capsys.readouterr().out
    )


def test_a_change_started_while_the_holder_writes_its_name_still_names_it(tmp_path):
    """The holder takes the OS lock first and writes who it is just after; a second change
    arriving in between must wait for that record, not say "an unknown time (process ?)"."""
    import fcntl
    import threading

    from sw_nlp.locks import holder_record

    root = tmp_path / "models"
    (root / "registry").mkdir(parents=True)
    handle = open(root / "registry" / ".lock", "a+", encoding="utf-8")
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    handle.truncate(0)
    handle.flush()

    def write_holder_late() -> None:
        handle.write(holder_record("promote"))
        handle.flush()

    timer = threading.Timer(0.2, write_holder_late)
    timer.start()
    try:
        with pytest.raises(RegistryError, match="another promote is running since 20"):
            with Registry.at(root).lock("retrain"):
                pass
    finally:
        timer.join()
        handle.close()
