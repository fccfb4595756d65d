"""The second round of hostile tests (issue 20): every break found in review has a test
here that failed before its fix. Each asserts what a user sees: a one-line error naming the
file, or a row for every input row, or files that stay consistent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sw_nlp.cli import main


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@contextmanager
def deadline(seconds: int) -> Iterator[None]:
    """Fail, instead of hanging the suite, when the code under test blocks (a FIFO)."""
    import signal

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still blocked after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def one_line_error(err: str, *parts: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    for part in parts:
        assert part in lines[0], lines[0]


# --- 1. rows silently lost on malformed quoting --------------------------------------------

STRAY_QUOTES = (
    b'id,text\nK1,"Ibu hamil butuh bantuan segera\nK2,Warga desa membentuk posko\n'
    b'K3,Rapat "data" kecamatan\nK4,Lansia tinggal sendiri\n'
)


def test_stray_quote_is_an_error_naming_file_and_line(tmp_path, trained_bundle, capsys):
    """pandas' lenient parser merged K1..K3 into one row and exited 0 with 2 rows of 4."""
    path = tmp_path / "stray.csv"
    path.write_bytes(STRAY_QUOTES)
    out = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 3 and not out.exists()
    one_line_error(err, "stray.csv", "line 2", "quot")


def test_quote_inside_an_unquoted_field_is_kept_as_text(tmp_path, trained_bundle, capsys):
    path = tmp_path / "inner.csv"
    path.write_bytes(b'id,text\nK1,Rapat "data" kecamatan\nK2,Lansia sendiri\n')
    out = tmp_path / "out.csv"
    code, _, err = run(
        capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["K1", "K2"]
    assert "rows in: 2, rows out: 2" in err


def test_extra_fields_give_a_row_error_not_a_lost_or_shifted_row(tmp_path, trained_bundle, capsys):
    path = tmp_path / "extra.csv"
    path.write_bytes(b"id,text\nK1,Lansia sendiri\nK2,Rapat, desa, banyak koma\nK3,Anak\n")
    out = tmp_path / "out.csv"
    code, _, _ = run(capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle))
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["K1", "K2", "K3"]
    assert frame["error"].tolist()[1].startswith("4 fields, the header has 2")


def test_row_counts_are_checked_and_shown(tmp_path, trained_bundle, monkeypatch):
    """A chunk that comes back shorter than it went in stops the run before the output is
    put in place (a stand-in for any future bug that drops rows)."""
    import sw_nlp.classify as classify
    from sw_nlp.errors import SwNlpError

    path = tmp_path / "ok.csv"
    path.write_text("id,text\n1,Lansia sendiri\n2,Rapat desa\n3,Anak jalanan\n", encoding="utf-8")
    from sw_nlp.files import ResultTable

    real = classify.result_table
    monkeypatch.setattr(
        classify,
        "result_table",
        lambda chunk, result: ResultTable(
            {k: v[:-1] for k, v in real(chunk, result).columns.items()}
        ),
    )
    out = tmp_path / "out.csv"
    with pytest.raises(SwNlpError, match="3 rows in, 2 rows out"):
        classify.classify_file(path, out, model=trained_bundle)
    assert not out.exists()


# --- 2. formula injection -------------------------------------------------------------------

FORMULAS = ['=HYPERLINK("http://x.example","klik")', "+2+5", "-3+cmd", "@SUM(A1)", "\tTab", "\rCR"]


def formula_input(tmp_path: Path) -> Path:
    path = tmp_path / "formulas.jsonl"
    import json

    path.write_text(
        "".join(
            json.dumps({"id": f, "text": f"{f} Lansia tinggal sendiri butuh rujukan"}) + "\n"
            for f in FORMULAS
        ),
        encoding="utf-8",
    )
    return path


def test_csv_output_escapes_formulas(tmp_path, trained_bundle, capsys):
    out = tmp_path / "out.csv"
    code, _, _ = run(
        capsys,
        "classify",
        str(formula_input(tmp_path)),
        "-o",
        str(out),
        "--model",
        str(trained_bundle),
    )
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["'" + f for f in FORMULAS]
    assert frame["level"].str.len().gt(0).all()  # other columns unchanged
    # machine consumers can turn it off
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model",
        str(trained_bundle), "--no-escape-formulas",
    )  # fmt: skip
    assert code == 0
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["id"].tolist() == FORMULAS


@pytest.mark.parametrize("escape", [True, False])
def test_xlsx_output_never_holds_a_formula(tmp_path, trained_bundle, capsys, escape):
    import openpyxl

    out = tmp_path / "out.xlsx"
    flag = [] if escape else ["--no-escape-formulas"]
    code, _, _ = run(
        capsys, "classify", str(formula_input(tmp_path)), "-o", str(out), "--model",
        str(trained_bundle), *flag,
    )  # fmt: skip
    assert code == 0
    sheet = openpyxl.load_workbook(out).active
    ids = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert all(cell.data_type == "s" for cell in ids)
    assert [c.value for c in ids] == [("'" + f if escape else f) for f in FORMULAS]


def test_jsonl_output_is_not_changed(tmp_path, trained_bundle, capsys):
    out = tmp_path / "out.jsonl"
    code, _, _ = run(
        capsys,
        "classify",
        str(formula_input(tmp_path)),
        "-o",
        str(out),
        "--model",
        str(trained_bundle),
    )
    assert code == 0
    assert pd.read_json(out, lines=True, dtype=False)["id"].tolist() == FORMULAS


def test_note_file_names_are_escaped(tmp_path, trained_bundle, capsys):
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "=2+5+cmd.txt").write_text("Lansia tinggal sendiri", encoding="utf-8")
    out = tmp_path / "out.csv"
    code, _, _ = run(
        capsys, "classify", str(notes), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0
    assert pd.read_csv(out, dtype=str, keep_default_na=False)["file"].tolist() == ["'=2+5+cmd.txt"]


def test_suggest_xlsx_writes_case_text_as_text(tmp_path, trained_bundle, capsys):
    import openpyxl

    pool = tmp_path / "pool.csv"
    pd.DataFrame(
        {"id": range(6), "text": [f'=HYPERLINK("http://x","{i}") warga desa' for i in range(6)]}
    ).to_csv(pool, index=False)
    out = tmp_path / "x.xlsx"
    code, _, err = run(
        capsys, "suggest", "--pool", str(pool), "-n", "3", "--model", str(trained_bundle),
        "--out", str(out),
    )  # fmt: skip
    assert code == 0, err
    sheet = openpyxl.load_workbook(out).active
    cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(isinstance(c.value, str) and c.value.startswith("'=HYPERLINK") for c in cells)


# --- 3. personal data -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, secret",
    [
        ("NIK 320101 010190 0001 atas nama", "010190"),
        ("KK 32.01.01.010190.0001.", "010190"),
        ("NIK 3201-01-010190-0001", "010190"),
        ("NIK 3201/01/010190/0001", "010190"),
        ("NIK 3201 0123 4567 8901 12 orang", "4567"),
        ("hp (0812) 3456 7890", "3456"),
        ("telp +62 (812) 3456-7890", "3456"),
        ("kontak wa081234567890", "81234567890"),
        ("HP.0812-3456-7890", "3456"),
        ("(+62) 812 3456 7890", "3456"),
        ("email sari@contoh saja", "sari"),
        ("rek BRI 1234-5678-90", "5678"),
        ("no. rek: 0123456789", "0123456789"),
        ("rekening BCA a.n. Siti 123 456 7890", "456"),
        ("norek 123456789012", "123456789012"),
    ],
)
def test_more_identifier_formats_are_masked(text, secret):
    from sw_nlp.pii import mask_pii

    assert secret not in mask_pii(text)


@pytest.mark.parametrize(
    "text",
    ["rekan kerja 2 orang", "rekomendasi 12345678", "tanggal 08.12.2023 pukul 08.30",
     "tahun 2023 ada 1.250 keluarga", "RT 03/RW 05, umur 67 tahun", "Rp 600.000 per bulan"],
)  # fmt: skip
def test_ordinary_numbers_and_words_stay(text):
    from sw_nlp.pii import mask_pii

    assert mask_pii(text) == text


def _digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def nik(draw) -> str:
    digits = draw(st.sampled_from("123456789")) + draw(_digits(15))
    groups = draw(st.sampled_from([(16,), (4, 4, 4, 4), (6, 6, 4), (2, 2, 2, 6, 4), (4, 2, 6, 4)]))
    sep = draw(st.sampled_from([" ", ".", "-", "/", ". ", " - "])) if len(groups) > 1 else ""
    parts, at = [], 0
    for g in groups:
        parts.append(digits[at : at + g])
        at += g
    return sep.join(parts)


@st.composite
def phone(draw) -> str:
    operator = "8" + draw(_digits(draw(st.integers(2, 3))))
    rest = draw(_digits(draw(st.integers(7, 8))))
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    body = sep.join([rest[:4], rest[4:]])
    prefix, bracketed = draw(
        st.sampled_from([("0", False), ("+62 ", False), ("62", False), ("(+62) ", False),
                         ("+62 ", True), ("0", True), ("+62", False)])
    )  # fmt: skip
    code = f"({'0' if prefix == '0' else ''}{operator})" if bracketed else f"{prefix}{operator}"
    if bracketed and prefix != "0":
        code = f"{prefix}{code}"
    glue = draw(st.sampled_from(["", "wa", "hp", "WA ", "hp. "]))
    return f"{glue}{code}{sep or ' '}{body}"


@st.composite
def email(draw) -> str:
    name = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=10)
    tld = draw(st.sampled_from(["", ".id", ".co.id", ".com"]))
    return f"{draw(name)}{draw(st.sampled_from(['', '.', '_']))}{draw(name)}@{draw(name)}{tld}"


@st.composite
def account(draw) -> str:
    word = draw(st.sampled_from(["rek", "rek.", "Rek", "rekening", "no. rek", "norek", "No Rek:"]))
    bank = draw(st.sampled_from(["", "BRI ", "BCA a.n. Siti ", "Mandiri "]))
    digits = draw(st.sampled_from("123456789")) + draw(_digits(draw(st.integers(9, 14))))
    sep = draw(st.sampled_from(["", " ", "-", "."]))
    return f"{word} {bank}{sep.join([digits[:3], digits[3:7], digits[7:]])}"


IDENTIFIERS = st.one_of(nik(), phone(), email(), account())


def _leaked(identifier: str, output: str) -> bool:
    """An identifier leaks if its digit run (7+ digits) or an address's name part shows."""
    digits = "".join(c for c in identifier if c.isdigit())
    if "@" in identifier:
        return "@" in output or identifier.split("@")[0] in output
    return digits[-7:] in "".join(c for c in output if c.isdigit())


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(identifier=IDENTIFIERS, before=st.sampled_from(["", "Kontak ", "ibu, "]),
       after=st.sampled_from(["", " ya.", ", lansia tinggal sendiri"]))  # fmt: skip
def test_no_identifier_survives_into_any_output(tiny_model, identifier, before, after):
    """Masked text, report excerpts, classify's rows and their top_terms, on both paths."""
    from sw_nlp.classify import classify_texts
    from sw_nlp.evaluate import excerpt
    from sw_nlp.pii import PLACEHOLDERS, mask_pii

    text = f"Warga desa {before}{identifier}{after} butuh bantuan sosial"
    assert not _leaked(identifier, mask_pii(text))
    assert not _leaked(identifier, excerpt(text))
    result = classify_texts(tiny_model, [text], explain=20)
    row = " ".join(str(v) for v in result.iloc[0].tolist())
    assert not _leaked(identifier, row.replace(".", " "))
    assert not any(p in row for p in PLACEHOLDERS)


_PII_PIECES = st.lists(
    st.sampled_from(
        ["0812", "-", " ", ".", "/", "(", ")", "3456", "7890", "+62", "62", "(+62)", "8", "@",
         "a", "www.", "http://", "3201", "\x0b", "\x1c", "\t", "_", "x", "08", "123", "wa", "hp",
         "rek", "REK", "ening", "no. ", ":", "12", "010190", "0001"]
    ),
    max_size=24,
).map("".join)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(text=_PII_PIECES)
def test_fast_path_candidate_covers_every_new_pattern(text):
    """Rows the fast path does not hand to Python (no PII_CANDIDATE match) must be rows that
    mask_pii leaves unchanged, for the new formats too."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sw_nlp.pii import PII_CANDIDATE, mask_pii

    if not pc.match_substring_regex(pa.array([text]), PII_CANDIDATE)[0].as_py():
        assert mask_pii(text) == text


def test_placeholders_never_reach_top_terms(tmp_path, tiny_corpus_path, fast_config):
    """A model trained on notes full of phone numbers learns `_telepon_` as a feature; the
    issue saw `wa081234567890 +0.105` in top_terms. Neither path may show a placeholder."""
    from sw_nlp.bundle import load_model
    from sw_nlp.pii import PLACEHOLDERS
    from sw_nlp.workflows import run_training

    corpus = pd.read_csv(tiny_corpus_path, dtype=str, keep_default_na=False)
    corpus["text"] = [
        f"{t} hubungi wa0812345678{i % 90 + 10} atau (0812) 3456 78{i % 90 + 10}"
        if level == "mikro"
        else t
        for i, (t, level) in enumerate(zip(corpus["text"], corpus["level"], strict=True))
    ]
    data = tmp_path / "phones.csv"
    corpus.to_csv(data, index=False)
    run_training(data, tmp_path / "b", fast_config, with_report=False)
    texts = ["Ibu lansia sakit, hubungi wa081298765432 atau (0813) 1111 2222"] * 3
    for fast in (True, False):
        clf = load_model(tmp_path / "b", fast=fast)
        assert PHONE_IN_VOCABULARY(clf)
        terms = clf.analyse(texts, k=50).explanations
        shown = [term for row in terms for term, _ in row]
        assert shown and not any(p in term for term in shown for p in PLACEHOLDERS)
        assert not any(c.isdigit() for term in shown for c in term)


def PHONE_IN_VOCABULARY(clf) -> bool:  # noqa: N802 - reads as the condition it checks
    from sw_nlp.pii import PHONE_TOKEN

    word = clf.pipeline.named_steps["features"].transformer_list[0][1]
    return any(PHONE_TOKEN in term for term in word.vocabulary_)


# --- 4. registry concurrency and crash leftovers --------------------------------------------

FAST = "[search]\nfolds = 2\nC = [10.0]\nstem = [false]\nremove_stopwords = [false]\nn_jobs = 1\n"
LEVEL_METHODS = [
    ("mikro", "casework_individual"),
    ("mezzo", "community_planning"),
    ("makro", "social_policy"),
    ("global", "international_social_policy"),
]


@pytest.fixture()
def home(tmp_path: Path, tiny_corpus_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    import shutil

    (tmp_path / "data" / "corpus").mkdir(parents=True)
    shutil.copy(tiny_corpus_path, tmp_path / "data" / "corpus" / "cases.csv")
    (tmp_path / "models").mkdir()
    (tmp_path / "fast.toml").write_text(FAST)
    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    return tmp_path


def new_cases(home: Path, name: str, n: int = 10) -> Path:
    """n new labelled cases, texts unique to this file."""
    rows = [
        (f"Catatan {name} nomor {i}: keluarga {name}{i} menerima kunjungan petugas dinas.",
         level, method)
        for i, (level, method) in enumerate(LEVEL_METHODS * (n // 4 + 1))
    ][:n]  # fmt: skip
    path = home / f"{name}.csv"
    pd.DataFrame(rows, columns=["text", "level", "method"]).to_csv(path, index=False)
    return path


def sw_nlp(*args: str, home: Path):
    import os
    import subprocess
    import sys

    env = os.environ | {"SW_NLP_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    return subprocess.Popen(
        [sys.executable, "-m", "sw_nlp", *args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


# Imports everything a command needs, says it is ready, then waits for the start file: the
# commands then begin within a millisecond of each other, so the race is real every time.
_STARTER = """
import sys, time
from pathlib import Path
import sw_nlp.bundle, sw_nlp.corpus, sw_nlp.registry, sw_nlp.report, sw_nlp.workflows
from sw_nlp.cli import main
Path(sys.argv[1] + '.ready').touch()
while not Path(sys.argv[1]).exists():
    time.sleep(0.0005)
sys.exit(main(sys.argv[2:]))
"""


def started_together(home: Path, *argvs: list[str]) -> list[tuple[int, str, str]]:
    """Run several `sw-nlp` commands released at the same instant; (code, out, err) each."""
    import os
    import subprocess
    import sys
    import time

    env = os.environ | {"SW_NLP_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    go = home / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _STARTER, f"{go}.{i}", *argv],
            env=env,
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i, argv in enumerate(argvs)
    ]
    deadline = time.time() + 120
    while not all(Path(f"{go}.{i}.ready").exists() for i in range(len(argvs))):
        assert time.time() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.01)
    for i in range(len(argvs)):
        Path(f"{go}.{i}").touch()
    return [(p.wait(timeout=600), *p.communicate()) for p in procs]


def assert_registry_consistent(home: Path) -> None:
    from sw_nlp.bundle import load_model
    from sw_nlp.registry import Registry

    registry = Registry.at(home / "models")
    registered = {e["version"] for e in registry.history() if e["action"] == "register"}
    assert set(registry.versions()) == registered
    for version in registered:
        load_model(registry.path(version))  # sha256 matches, trusted
    assert registry.current() == "shipped" or registry.current() in registered


@pytest.mark.slow  # processes that each start up and train
def test_two_retrains_at_once_lose_no_labelled_row(home):
    from sw_nlp.corpus import read_corpus_frame, text_key

    corpus = home / "data" / "corpus" / "cases.csv"
    base = len(read_corpus_frame(corpus))
    adds = [new_cases(home, "alpha"), new_cases(home, "beta")]
    results = started_together(
        home, *(["retrain", "--add", str(a), "--config", str(home / "fast.toml")] for a in adds)
    )
    codes = [code for code, _, _ in results]
    assert 0 in codes and set(codes) <= {0, 5}, results
    for code, _, err in results:
        assert "Traceback" not in err
        if code == 5:
            one_line_error(err, "another retrain is running since")
    texts = {text_key(t) for t in read_corpus_frame(corpus)["text"]}
    added = 0
    for add, (code, _, _) in zip(adds, results, strict=True):
        wanted = {text_key(t) for t in pd.read_csv(add)["text"]}
        if code == 0:
            assert wanted <= texts  # every labelled row of a successful retrain is there
            added += len(wanted)
        else:
            assert not wanted & texts  # a refused retrain changed nothing
    assert len(read_corpus_frame(corpus)) == base + added
    assert_registry_consistent(home)


@pytest.mark.slow
def test_a_retrain_while_the_registry_is_locked_stops_with_a_message(home, capsys):
    from sw_nlp.corpus import file_sha256
    from sw_nlp.registry import Registry

    corpus = home / "data" / "corpus" / "cases.csv"
    before = file_sha256(corpus)
    with Registry.at(home / "models").lock("retrain"):
        proc = sw_nlp("retrain", "--add", str(new_cases(home, "gamma")), home=home)
        code = proc.wait(timeout=120)
        _, err = proc.communicate()
    assert code == 5
    one_line_error(err, "another retrain is running since", "process")
    assert file_sha256(corpus) == before and Registry.at(home / "models").versions() == []


@pytest.mark.slow  # processes that each start up and train
def test_two_promotes_at_once_keep_one_history(home):
    """Both reported success before, both with previous=shipped: rollback then jumped."""
    from sw_nlp.config import Config
    from sw_nlp.registry import Registry
    from sw_nlp.workflows import run_training

    registry = Registry.at(home / "models")
    versions = []
    for _ in range(2):
        out = registry.new_version_dir()
        run_training(home / "data" / "corpus" / "cases.csv", out, Config.from_toml(home / "fast.toml"),
                     with_report=False)  # fmt: skip
        registry.record("register", out.name)
        versions.append(out.name)
    results = started_together(
        home, *(["models", "promote", v, "--force", "--reason", "race"] for v in versions)
    )
    codes = [code for code, _, _ in results]
    assert 0 in codes and set(codes) <= {0, 5}, results
    for code, _, err in results:
        assert "Traceback" not in err
        if code == 5:
            one_line_error(err, "another promote is running since")
    changes = [e for e in registry.history() if e["action"] in ("promote", "force-promote")]
    assert len(changes) == codes.count(0)
    chain = ["shipped"] + [e["version"] for e in changes]
    assert [e["previous"] for e in changes] == chain[:-1]  # each saw the one before it
    assert registry.current() == chain[-1]
    assert_registry_consistent(home)


def test_half_made_versions_are_never_promoted_and_are_quarantined(home, capsys):
    import shutil

    from sw_nlp.bundle import default_bundle_dir
    from sw_nlp.registry import Registry, RegistryError

    registry = Registry.at(home / "models")
    half = registry.new_version_dir()  # a build killed after copying a complete bundle
    for name in ("model.npz", "model.json", "manifest.json"):
        shutil.copy(default_bundle_dir() / name, half / name)
    empty = registry.root / "v20250101-000000"  # killed right after reserving the name
    empty.mkdir()
    assert registry.versions() == []
    with pytest.raises(RegistryError, match="not registered"):
        registry.path(half.name)
    code, _, err = run(capsys, "models", "promote", half.name, "--force", "--reason", "x")
    assert code == 5 and "no model version" in err
    assert not half.exists() and not empty.exists()
    assert (registry.root / ".quarantine" / half.name / "manifest.json").is_file()
    assert registry.current() == "shipped"


@pytest.mark.slow  # processes that each start up and train
def test_killed_retrain_leaves_the_corpus_and_cleans_up(home):
    """A retrain killed mid-training (before it existed, the corpus was already rewritten at
    3 s) leaves the corpus as it was; the next retrain cleans the leftovers and succeeds."""
    import signal
    import time

    from sw_nlp.corpus import file_sha256
    from sw_nlp.registry import Registry

    corpus = home / "data" / "corpus" / "cases.csv"
    before = file_sha256(corpus)
    add = new_cases(home, "delta")
    proc = sw_nlp("retrain", "--add", str(add), "--config", str(home / "fast.toml"), home=home)
    registry = Registry.at(home / "models")
    deadline = time.time() + 120
    while (
        not (registry.root.is_dir() and any(registry.root.glob("v*"))) and time.time() < deadline
    ):
        time.sleep(0.05)
    assert proc.poll() is None
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert file_sha256(corpus) == before
    assert registry.versions() == []
    again = sw_nlp("retrain", "--add", str(add), "--config", str(home / "fast.toml"), home=home)
    _, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert file_sha256(corpus) != before and len(registry.versions()) == 1
    assert list((registry.root / ".quarantine").iterdir())
    assert not list(corpus.parent.glob(".retrain-*"))


def test_stale_part_files_of_a_killed_run_are_removed(tmp_path, trained_bundle, capsys):
    out = tmp_path / "out.csv"
    dead = tmp_path / ".out.csv.999999999.abcd1234.part"  # no such process
    dead.write_text("half")
    other = tmp_path / ".other.csv.999999999.abcd1234.part"  # not this output's: kept
    other.write_text("half")
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,Lansia sendiri\n", encoding="utf-8")
    code, _, _ = run(capsys, "classify", str(src), "-o", str(out), "--model", str(trained_bundle))
    assert code == 0 and not dead.exists() and other.exists()
    assert not list(tmp_path.glob(".out.csv.*.part"))


@pytest.mark.slow
def test_sigterm_removes_the_part_file(tmp_path, trained_bundle):
    import os
    import signal
    import subprocess
    import sys
    import time

    src = tmp_path / "big.csv"
    text = "Seorang lansia tinggal sendiri dan perlu rujukan ke panti sosial. " * 6
    # Rows enough for seconds of work (4,000 took under 0.3 s once classification sped up,
    # and the run could end before the signal was sent).
    pd.DataFrame({"id": range(40_000), "text": [f"{text} {i}" for i in range(40_000)]}).to_csv(
        src, index=False
    )
    out = tmp_path / "out.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sw_nlp", "classify", str(src), "-o", str(out), "--model",
         str(trained_bundle), "--chunk-size", "100", "--quiet"],
        env=os.environ | {"PYTHONWARNINGS": "ignore"}, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.time() + 60
    while not list(tmp_path.glob(".out.csv.*.part")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.glob(".out.csv.*.part"))


# --- 5. workers and range checks ---------------------------------------------------------------


def test_workers_are_capped_at_the_cpus(tmp_path, trained_bundle, capsys, monkeypatch):
    import sw_nlp.workers as workers

    started = []
    real_pool = workers.ProcessPoolExecutor

    def pool(max_workers, **kwargs):
        started.append(max_workers)
        return real_pool(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(workers, "ProcessPoolExecutor", pool)
    monkeypatch.setattr(workers, "usable_cpus", lambda: 2)
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,Lansia sendiri\n2,Rapat desa\n", encoding="utf-8")
    code, _, err = run(capsys, "classify", str(src), "-o", str(tmp_path / "o.csv"), "--model",
                       str(trained_bundle), "--workers", "1000")  # fmt: skip
    assert code == 0 and started == [2]
    assert "--workers 1000 capped at 2, the number of CPUs available" in err


@pytest.mark.parametrize(
    "toml, message",
    [
        ("[review]\nthreshold = 7\n", "review.threshold must be a number from 0 to 1, got 7"),
        ("[review]\nmin_words = -4\n", "review.min_words must be a whole number from 0"),
        ("[review]\nmax_unknown_share = 1.5\n", "review.max_unknown_share must be a number"),
    ],
)
def test_review_settings_in_a_config_are_range_checked(tmp_path, capsys, toml, message):
    from sw_nlp.config import Config
    from sw_nlp.errors import ConfigError

    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError, match="bad.toml: " + message.replace("(", r"\(")):
        Config.from_toml(path)
    code, _, err = run(capsys, "train", "--config", str(path))
    assert code == 2
    one_line_error(err, "bad.toml", message)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"review_threshold": -5}, "review_threshold must be a number from 0 to 1, got -5"),
        ({"chunk_size": 0}, "chunk_size must be a whole number from 1"),
        ({"chunk_size": 2.5}, "chunk_size must be a whole number"),
        ({"workers": 0}, "workers must be a whole number of 1 or more"),
        ({"explain": -3}, "explain must be a whole number from 0"),
    ],
)
def test_python_api_settings_are_range_checked(tmp_path, trained_bundle, kwargs, message):
    from sw_nlp.classify import classify_file
    from sw_nlp.errors import ConfigError

    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,Lansia sendiri\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        classify_file(src, tmp_path / "o.csv", model=trained_bundle, **kwargs)
    assert not (tmp_path / "o.csv").exists()


def test_review_config_refuses_bad_values_from_python():
    from sw_nlp.config import ReviewConfig
    from sw_nlp.errors import ConfigError

    with pytest.raises(ConfigError, match="review.threshold"):
        ReviewConfig(threshold=-5)
    with pytest.raises(ConfigError, match="review.min_words"):
        ReviewConfig(min_words=-4)


@pytest.mark.parametrize(
    "args, message",
    [
        (["predict", "--explain", "-3", "Lansia sendiri"], "--explain must be a whole number"),
        (["classify", "x.csv", "--chunk-size", "0"], "--chunk-size"),
        (["classify", "x.csv", "--review-threshold", "7"], "--review-threshold"),
        (["classify", "x.csv", "--workers", "many"], "--workers"),
        (["classify"], "Missing argument"),
        (["no-such-command"], "No such command"),
    ],
)
def test_cli_usage_errors_are_one_line(capsys, trained_bundle, args, message):
    code, _, err = run(
        capsys, *args, *(["--model", str(trained_bundle)] if args[0] == "predict" else [])
    )
    assert code == 2
    one_line_error(err, message)


# --- 6. bounded reads and one-line errors ------------------------------------------------------


def copy_bundle(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize("kind", ["dev-zero", "fifo"])
def test_manifest_that_is_not_a_regular_file_is_refused(tmp_path, trained_bundle, capsys, kind):
    """A symlink to /dev/zero was read until memory ran out; a FIFO hung forever."""
    import os

    bundle = copy_bundle(trained_bundle, tmp_path / "b")
    (bundle / "manifest.json").unlink()
    if kind == "fifo":
        os.mkfifo(bundle / "manifest.json")
    else:
        (bundle / "manifest.json").symlink_to("/dev/zero")
    src = tmp_path / "in.csv"
    src.write_text("id,text\n1,Lansia\n", encoding="utf-8")
    # In a child process with its memory capped and a timeout: code that reads /dev/zero
    # would otherwise take the whole machine's memory down with the test run.
    code, err = bounded_run(["classify", str(src), "--model", str(bundle)], memory_gb=3)
    assert code == 4
    one_line_error(err, "manifest.json", "not a regular file")


def bounded_run(argv: list[str], memory_gb: int, seconds: int = 60) -> tuple[int, str]:
    """`sw-nlp argv` in a child process limited to ``memory_gb`` of address space and
    ``seconds``; (exit code, stderr). A run that hangs or runs out of memory fails the test
    instead of hanging or crashing the suite."""
    import os
    import resource
    import subprocess
    import sys

    def limit() -> None:
        cap = memory_gb << 30
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    try:
        done = subprocess.run(
            [sys.executable, "-m", "sw_nlp", *argv],
            env=os.environ | {"PYTHONWARNINGS": "ignore"},
            preexec_fn=limit,
            capture_output=True,
            text=True,
            timeout=seconds,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"sw-nlp {' '.join(argv)} still running after {seconds} s")
    return done.returncode, done.stderr


def test_oversized_manifest_is_refused(tmp_path, trained_bundle):
    from sw_nlp.bundle import MAX_MANIFEST_BYTES, read_manifest
    from sw_nlp.errors import BundleError

    bundle = copy_bundle(trained_bundle, tmp_path / "b")
    (bundle / "manifest.json").write_bytes(b" " * (MAX_MANIFEST_BYTES + 1))
    with pytest.raises(BundleError, match="too large"):
        read_manifest(bundle)


@pytest.mark.parametrize(
    "files, message",
    [([], "'files' must be a JSON object"), ({"model.json": "abc"}, "no sha256 for model.json"),
     ({}, "no sha256"), ("x", "'files' must be a JSON object")],
)  # fmt: skip
def test_malformed_manifest_files_give_one_line(tmp_path, trained_bundle, capsys, files, message):
    import json

    bundle = copy_bundle(trained_bundle, tmp_path / "b")
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest["files"] = files
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    code, _, err = run(capsys, "predict", "--model", str(bundle), "Lansia sendiri")
    assert code == 4
    one_line_error(err, message)
    code, _, err = run(capsys, "models", "trust", str(bundle))
    assert code == 4
    one_line_error(err, message)


def test_config_that_is_a_fifo_is_refused(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "c.toml")
    with deadline(20):
        code, _, err = run(capsys, "train", "--config", str(tmp_path / "c.toml"))
    assert code == 2
    one_line_error(err, "c.toml", "not a regular file")


def zip_bomb(path: Path, member: str, size: int, extra: dict[str, bytes] | None = None) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
        with archive.open(member, "w", force_zip64=True) as handle:
            block = b" " * (1 << 20)
            for _ in range(size >> 20):
                handle.write(block)
    return path


def test_docx_that_unpacks_too_far_is_a_row_error(tmp_path, trained_bundle, capsys):
    import docx

    from sw_nlp.safe_read import MAX_DOCX_UNPACKED

    notes = tmp_path / "notes"
    notes.mkdir()
    docx.Document().save(notes / "ok.docx")
    zip_bomb(notes / "bomb.docx", "word/document.xml", MAX_DOCX_UNPACKED + (1 << 20))
    assert (notes / "bomb.docx").stat().st_size < 1 << 20
    out = tmp_path / "o.csv"
    code, _, _ = run(
        capsys, "classify", str(notes), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["file"].tolist() == ["bomb.docx", "ok.docx"]
    assert "refused as a zip bomb" in frame["error"][0]


def test_xlsx_that_unpacks_too_far_is_refused(tmp_path, trained_bundle, capsys, monkeypatch):
    import sw_nlp.workbooks as workbooks

    monkeypatch.setattr(workbooks, "MAX_XLSX_PARTS_UNPACKED", 4 << 20)
    path = zip_bomb(tmp_path / "bomb.xlsx", "xl/sharedStrings.xml", 5 << 20)
    code, _, err = run(capsys, "classify", str(path), "--model", str(trained_bundle))
    assert code == 3
    one_line_error(err, "bomb.xlsx", "refused as a zip bomb")


def test_deeply_nested_jsonl_line_is_a_row_error(tmp_path, trained_bundle, capsys):
    path = tmp_path / "deep.jsonl"
    path.write_text(
        '{"id": 1, "text": "Lansia sendiri"}\n'
        + '{"id": 2, "text": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
        + '{"id": 3, "text": "Rapat desa"}\n',
        encoding="utf-8",
    )  # fmt: skip
    out = tmp_path / "o.csv"
    code, _, err = run(
        capsys, "classify", str(path), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0, err
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["1", "", "3"]
    assert frame["error"].tolist() == ["", "JSON nested too deeply to read", ""]
    first = tmp_path / "deep_first.jsonl"
    first.write_text("[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    code, _, err = run(capsys, "classify", str(first), "--model", str(trained_bundle))
    assert code == 3
    one_line_error(err, "nested too deeply")


MIXED_IDS = '{"id": 1, "text": "Lansia"}\n{"id": "a", "text": "Rapat desa"}\n{"id": {"x": [1]}, "text": "Anak"}\n'


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_ids_of_mixed_kinds_are_written_not_a_traceback(tmp_path, trained_bundle, capsys, suffix):
    src = tmp_path / "mixed.jsonl"
    src.write_text(MIXED_IDS, encoding="utf-8")
    out = tmp_path / f"o{suffix}"
    code, _, err = run(
        capsys, "classify", str(src), "-o", str(out), "--model", str(trained_bundle)
    )
    assert code == 0, err
    frame = pd.read_parquet(out) if suffix == ".parquet" else pd.read_excel(out, dtype=str)
    assert [str(v) for v in frame["id"]] == ["1", "a", '{"x": [1]}']


def test_ids_changing_kind_between_parquet_chunks_is_one_line(tmp_path, trained_bundle, capsys):
    src = tmp_path / "mixed.jsonl"
    src.write_text(MIXED_IDS, encoding="utf-8")
    out = tmp_path / "o.parquet"
    code, _, err = run(capsys, "classify", str(src), "-o", str(out), "--model", str(trained_bundle),
                       "--chunk-size", "1")  # fmt: skip
    assert code == 3 and not out.exists()
    one_line_error(err, "column(s) id hold different kinds of value")


# --- 7. the pickle allow-list and the hash ----------------------------------------------------------


def planted_bundle(src: Path, dst: Path, payload: bytes) -> Path:
    """A copy of a bundle made format 1 with ``payload`` as its pickle, with a matching
    manifest, trusted: what an attacker who can write every file and get the bundle trusted
    would make. Only ``upgrade_bundle`` ever unpickles it."""
    import gzip
    import hashlib
    import json

    from sw_nlp.safety import trust

    bundle = copy_bundle(src, dst)
    for name in ("model.npz", "model.json"):
        (bundle / name).unlink()
    model = gzip.compress(payload)
    (bundle / "model.pkl.gz").write_bytes(model)
    manifest = json.loads((bundle / "manifest.json").read_text())
    sha256 = hashlib.sha256(model).hexdigest()
    manifest["format_version"] = 1
    manifest["files"] = {"model.pkl.gz": {"sha256": sha256, "bytes": len(model)}}
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    trust(sha256, bundle, "test: planted")
    return bundle


def test_allow_list_refuses_a_module_without_importing_it(tmp_path, trained_bundle, monkeypatch):
    """Importing numpy.f2py.__main__ runs f2py's command line; the loader imported first and
    checked after."""
    import sys

    from sw_nlp.bundle import upgrade_bundle
    from sw_nlp.errors import BundleError

    monkeypatch.setattr(sys, "argv", ["f2py"])  # should the old code import it: usage only
    monkeypatch.delitem(sys.modules, "numpy.f2py.__main__", raising=False)
    payload = b"\x80\x04cnumpy.f2py.__main__\nmain\n)R."
    bundle = planted_bundle(trained_bundle, tmp_path / "b", payload)
    with pytest.raises(BundleError, match="refused: the file asks for numpy.f2py.__main__.main"):
        upgrade_bundle(bundle)
    assert "numpy.f2py.__main__" not in sys.modules


def test_allow_list_never_imports_a_named_module(tmp_path, monkeypatch):
    import gzip
    import sys

    from sw_nlp.safety import RefusedGlobal, restricted_load

    monkeypatch.delitem(sys.modules, "sklearn.utils._testing", raising=False)
    path = tmp_path / "m.pkl.gz"
    path.write_bytes(gzip.compress(b"\x80\x04csklearn.utils._testing\nTempMemmap\n)R."))
    with pytest.raises(RefusedGlobal):
        restricted_load(path)
    assert "sklearn.utils._testing" not in sys.modules


def test_model_file_is_read_once_and_the_hash_is_of_those_bytes(trained_bundle):
    """Hashing one read and unpickling another let a file swapped in between load (2 in 40)."""
    import sys

    from sw_nlp.bundle import load_model

    models = {str((trained_bundle / name).resolve()) for name in ("model.npz", "model.json")}
    opened: list[str] = []
    watching = [True]

    def hook(event: str, args: tuple) -> None:
        if watching[0] and event == "open" and args and str(args[0]) in models:
            opened.append(str(args[0]))

    sys.addaudithook(hook)  # cannot be removed: turned off below instead
    try:
        load_model(trained_bundle)
    finally:
        watching[0] = False
    assert sorted(opened) == sorted(models)  # each once


# --- 8. folder mode and symlinks ---------------------------------------------------------------------


def test_links_out_of_the_folder_are_skipped_and_named(tmp_path, trained_bundle, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.txt").write_text("rahasiaperusahaan " * 20, encoding="utf-8")
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "a.txt").write_text("Lansia tinggal sendiri butuh rujukan", encoding="utf-8")
    (notes / "b.txt").write_text("Rapat warga desa", encoding="utf-8")
    (notes / "inner.txt").symlink_to(notes / "b.txt")  # inside: kept
    (notes / "leak.txt").symlink_to(elsewhere / "secret.txt")
    (notes / "loop.txt").symlink_to(notes / "loop.txt")
    (notes / "gone.txt").symlink_to(elsewhere / "missing.txt")
    out = tmp_path / "o.csv"
    code, _, err = run(capsys, "classify", str(notes), "-o", str(out), "--model", str(trained_bundle),
                       "--explain", "20")  # fmt: skip
    assert code == 0
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["file"].tolist() == ["a.txt", "b.txt", "inner.txt", "loop.txt"]
    assert frame["error"].tolist()[:3] == ["", "", ""] and frame["error"][3].startswith(
        "unreadable"
    )
    assert "rahasia" not in out.read_text()
    assert "skipped 2 link(s) to files outside the folder: gone.txt, leak.txt" in err


# --- every CLI path: one line, never a traceback -------------------------------------------------

HOSTILE_VALUES = ["-3", "0", "1", "-1", "1e9", "999999999999", "abc", "", "nan", "inf", "1.5",
                  "x" * 300, "--", "\u202e", "=1+1", "../../etc/passwd"]  # fmt: skip


@st.composite
def hostile_argv(draw, files: dict[str, str], bundle: str) -> list[str]:
    value = st.sampled_from(HOSTILE_VALUES)
    path = st.sampled_from(sorted(files.values()))
    command = draw(st.sampled_from(["classify", "predict", "suggest", "show", "promote", "trust",
                                    "validate"]))  # fmt: skip
    if command == "classify":
        argv = ["classify", draw(path), "--model", bundle]
        for option in draw(st.lists(st.sampled_from(
            ["--chunk-size", "--workers", "--explain", "--review-threshold", "--text-column",
             "--id-column", "--sheet", "--engine", "-o"]), max_size=3)):  # fmt: skip
            argv += [option, draw(value) if option != "-o" else files["out"]]
        return argv
    if command == "predict":
        return ["predict", "--model", bundle, "--explain", draw(value), draw(value)]
    if command == "suggest":
        return ["suggest", "--pool", draw(path), "--model", bundle, "-n", draw(value),
                "--out", files["out"]]  # fmt: skip
    if command in ("show", "promote"):
        return ["models", command, draw(value)]
    if command == "trust":
        return ["models", "trust", draw(path)]
    return ["data", "validate", draw(path)]


def test_hostile_command_lines_give_one_line_errors(tmp_path, trained_bundle, capsys, monkeypatch):
    import os

    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    (tmp_path / "stray.csv").write_bytes(STRAY_QUOTES)
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "binary.xlsx").write_bytes(os.urandom(512))
    (tmp_path / "ok.csv").write_text("id,text\n1,Lansia sendiri\n2,Rapat desa\n", encoding="utf-8")
    os.mkfifo(tmp_path / "fifo.csv")
    files = {name: str(tmp_path / name) for name in
             ("stray.csv", "empty.csv", "binary.xlsx", "ok.csv", "missing.csv", "fifo.csv")}  # fmt: skip
    files["dir"] = str(tmp_path)
    files["out"] = str(tmp_path / "out" / "o.csv")

    @settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
    @given(argv=hostile_argv(files, str(trained_bundle)))
    def check(argv: list[str]) -> None:
        with deadline(60):
            code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if code != 0 and not (argv[0] == "data" and code == 1):  # validate lists problems
            lines = [line for line in err.splitlines() if line.startswith("error: ")]
            assert len(lines) == 1, (argv, err)

    check()


def test_a_half_written_history_line_does_not_break_the_registry(home, capsys):
    from sw_nlp.registry import Registry

    registry = Registry.at(home / "models")
    registry.record("rollback", "shipped", previous="shipped")
    with open(registry.history_file, "a", encoding="utf-8") as handle:
        handle.write('{"when": "2026-01-01T00:00:00+00:00", "act')  # killed mid-append
    code, out, err = run(capsys, "models", "list")
    assert code == 0 and "* shipped" in out and "Traceback" not in err
    assert [e["action"] for e in registry.history()] == ["rollback"]


def test_a_failed_retrain_quarantines_its_challenger_and_keeps_the_corpus(
    home, capsys, monkeypatch
):
    import importlib

    from sw_nlp.corpus import file_sha256
    from sw_nlp.errors import SwNlpError
    from sw_nlp.registry import Registry

    corpus = home / "data" / "corpus" / "cases.csv"
    before = file_sha256(corpus)

    def fail(*args, **kwargs):
        raise SwNlpError("disk full (simulated)")

    monkeypatch.setattr(importlib.import_module("sw_nlp.workflows"), "run_training", fail)
    code, _, err = run(capsys, "retrain", "--add", str(new_cases(home, "eps")), "--config",
                       str(home / "fast.toml"))  # fmt: skip
    assert code == 1
    warning, error = err.strip().splitlines()
    assert warning.startswith("WARNING") and "quarantined half-made model version" in warning
    one_line_error(error, "disk full (simulated)")
    registry = Registry.at(home / "models")
    assert file_sha256(corpus) == before and registry.versions() == []
    assert len(list((registry.root / ".quarantine").iterdir())) == 1
    assert not list(corpus.parent.glob(".retrain-*"))


def test_trust_records_written_at_once_are_all_kept(tmp_path):
    """Two trainings finishing together read, changed and wrote the trust store unlocked,
    through one shared temporary name: a record was lost and a model refused to load."""
    import os
    import subprocess
    import sys

    store = tmp_path / "trusted.json"
    script = (
        "import sys\n"
        "from sw_nlp.safety import trust\n"
        "for i in range(40):\n"
        "    trust(f'{sys.argv[1]}{i:04d}', '.', 'race')\n"
    )
    env = os.environ | {"SW_NLP_TRUST_FILE": str(store), "PYTHONWARNINGS": "ignore"}
    procs = [
        subprocess.Popen([sys.executable, "-c", script, tag], env=env, stderr=subprocess.PIPE)
        for tag in ("a", "b", "c")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
    import json

    assert len(json.loads(store.read_text())) == 120
