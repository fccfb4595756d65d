"""The CLI through its real entry point: exit codes, one-line errors, files written."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from sw_nlp.cli import main

SECRET = "Ibu Wartini NIK 3201012345678901"


def run(args: list[str], capsys) -> tuple[int, str, str]:
    code = main(args)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_version(capsys):
    code, out, _ = run(["--version"], capsys)
    assert code == 0 and out.startswith("sw-nlp ")


def test_validate_ok_and_bad(tmp_path: Path, tiny_corpus_path: Path, capsys):
    code, out, _ = run(["data", "validate", str(tiny_corpus_path)], capsys)
    assert code == 0 and "levels: mikro 10, mezzo 10, makro 10, global 10" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(
        tiny_corpus_path.read_text(encoding="utf-8").replace("T-002", "T-001"), encoding="utf-8"
    )
    code, _, err = run(["data", "validate", str(bad)], capsys)
    assert code == 1
    assert f"{bad}:3:case_id: error: duplicate id 'T-001' (first at row 2)" in err


def test_train_then_classify(tmp_path: Path, tiny_corpus_path: Path, capsys):
    config = tmp_path / "fast.toml"
    config.write_text("[search]\nfolds = 2\nC = [10.0]\nstem = [false]\n")
    bundle = tmp_path / "model"
    code, out, _ = run(
        ["train", "--data", str(tiny_corpus_path), "--config", str(config), "--out", str(bundle)],
        capsys,
    )
    assert code == 0 and "test macro-F1" in out and (bundle / "model.npz").is_file()

    cases = tmp_path / "cases.csv"
    pd.DataFrame(
        {"id": ["a", "b"], "teks": [SECRET + " tinggal sendiri, perlu rujukan panti", ""]}
    ).to_csv(cases, index=False)
    result = tmp_path / "out.csv"
    code, out, err = run(
        ["classify", str(cases), "-o", str(result), "--model", str(bundle)], capsys
    )
    assert code == 0
    frame = pd.read_csv(result, keep_default_na=False)
    assert frame["id"].tolist() == ["a", "b"] and frame["error"].tolist() == ["", "empty text"]
    assert "rows: 2" in err and "errors: 1" in err
    assert "Wartini" not in err + out and "3201012345678901" not in frame.to_csv()

    code, out, _ = run(
        ["predict", "--model", str(bundle), "Negara ASEAN sepakati konvensi"], capsys
    )
    header, line = out.splitlines()
    assert code == 0 and line.split("\t")[0] in {"mikro", "mezzo", "makro", "global"}
    assert header.split("\t")[:4] == ["level", "confidence", "needs_review", "review_reason"]


def test_predict_shows_the_review_flag_and_why(trained_bundle: Path, capsys):
    code, out, _ = run(
        ["predict", "--model", str(trained_bundle), "", "tolong", "The committee met today"],
        capsys,
    )
    lines = [dict(zip(out.splitlines()[0].split("\t"), ln.split("\t"), strict=True))
             for ln in out.splitlines()[1:]]  # fmt: skip
    assert code == 0 and len(lines) == 3
    assert lines[0]["level"] == "" and lines[0]["needs_review"] == "yes"
    assert lines[0]["review_reason"] == "error" and lines[0]["error"] == "empty text"
    assert lines[1]["needs_review"] == "yes" and "too short" in lines[1]["review_reason"]
    assert lines[2]["needs_review"] == "yes" and lines[2]["review_reason"]


def test_user_errors_are_one_line(tmp_path: Path, capsys):
    code, _, err = run(["classify", str(tmp_path / "none.csv"), "--model", str(tmp_path)], capsys)
    assert code == 4 and err.count("\n") == 1 and err.startswith("error: ")
    code, _, err = run(["train", "--config", str(tmp_path / "none.toml")], capsys)
    assert code == 2 and "config file not found" in err and "Traceback" not in err


def test_usage_error_exit_code(capsys):
    code, _, _ = run(["classify"], capsys)
    assert code == 2


def test_python_dash_m_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "sw_nlp", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0 and "classify" in done.stdout


@pytest.mark.slow
def test_audit_and_suggest_commands(
    tmp_path: Path, tiny_corpus_path: Path, trained_bundle: Path, capsys
):
    out = tmp_path / "audit.csv"
    config = tmp_path / "fast.toml"
    config.write_text("[search]\nfolds = 2\nC = [10.0]\n")
    assert (
        main(
            ["audit", "--data", str(tiny_corpus_path), "--config", str(config), "--out", str(out)]
        )
        == 0
    )
    found = pd.read_csv(out)
    assert {"case_id", "level", "suggested", "reason", "excerpt"} <= set(found.columns)
    assert "case(s) to review" in capsys.readouterr().out

    pool = tmp_path / "pool.csv"
    pd.DataFrame(
        {
            "no": range(6),
            "uraian": [
                "Seorang anak butuh pendampingan",
                "Rapat desa soal posko",
                "Perda provinsi baru",
                "Konvensi PBB antarnegara",
                "Kelompok ibu di kelurahan",
                "Program kota untuk lansia",
            ],
        }
    ).to_csv(pool, index=False)
    picked = tmp_path / "to_label.csv"
    assert (
        main(
            [
                "suggest",
                "--pool",
                str(pool),
                "-n",
                "3",
                "--model",
                str(trained_bundle),
                "--out",
                str(picked),
            ]
        )
        == 0
    )
    frame = pd.read_csv(picked, keep_default_na=False)
    assert len(frame) == 3 and (frame["level"] == "").all() and "method" in frame.columns
    assert set(frame["no"].astype(int)) <= set(range(6))
    assert "sw-nlp retrain --add" in capsys.readouterr().out


def test_evaluate_scores_any_labelled_file_beside_the_test_split(
    trained_bundle, tmp_path, capsys, monkeypatch, tiny_corpus_path
):
    import json

    import pandas as pd

    corpus = pd.read_csv(tiny_corpus_path, dtype=str, keep_default_na=False)
    labelled = tmp_path / "nyata.csv"
    pd.DataFrame(
        {"Text": corpus["text"].head(12), "Label": corpus["level"].head(12).str.upper()}
    ).to_csv(labelled, index=False)
    monkeypatch.setenv("SW_NLP_HOME", str(tmp_path))
    (tmp_path / "data" / "corpus").mkdir(parents=True)
    (tmp_path / "data" / "corpus" / "cases.csv").write_bytes(tiny_corpus_path.read_bytes())
    out = tmp_path / "rep"
    code = main(
        ["evaluate", "--model", str(trained_bundle), "--data", str(labelled), "--out", str(out),
         "--no-learning-curve"]
    )
    printed = capsys.readouterr().out
    assert code == 0
    assert "nyata: macro-F1" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["external"]["nyata"]["n"] == 12
    assert "Beside the test split" in (out / "report.md").read_text()
    # figures only: no text of the scored file reaches the report
    assert corpus["text"].iloc[0][:60] not in (out / "report.html").read_text()


def test_evaluate_names_the_row_of_a_bad_label(trained_bundle, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("text,level\nsatu kasus,mikro\ndua kasus,regional\n", encoding="utf-8")
    code = main(["evaluate", "--model", str(trained_bundle), "--data", str(bad)])
    err = capsys.readouterr().err
    assert code == 3
    assert "bad.csv:3" in err and "regional" in err and "Traceback" not in err


def test_quiet_before_or_after_the_command_silences_the_summary(
    tmp_path: Path, trained_bundle: Path, capsys
):
    cases = tmp_path / "c.csv"
    cases.write_text("teks\nSeorang ibu butuh bantuan sembako untuk anaknya\n")
    for argv in (
        ["-q", "classify", str(cases), "--model", str(trained_bundle), "-o", str(tmp_path / "o.csv")],
        ["classify", "-q", str(cases), "--model", str(trained_bundle), "-o", str(tmp_path / "o.csv")],
    ):
        code, out, err = run(argv, capsys)
        assert code == 0 and out == "" and err == "", argv
    code, _, err = run(
        ["classify", str(cases), "--model", str(trained_bundle), "-o", str(tmp_path / "o.csv")],
        capsys,
    )
    assert code == 0 and "rows in: 1, rows out: 1" in err


def test_validate_takes_data_like_the_other_commands(tiny_corpus_path: Path, capsys):
    for argv in (["data", "validate", "--data", str(tiny_corpus_path)],
                 ["data", "validate", str(tiny_corpus_path)]):  # fmt: skip
        code, out, _ = run(argv, capsys)
        assert code == 0 and "ok: no problems" in out and str(tiny_corpus_path) in out
    code, _, err = run(
        ["data", "validate", str(tiny_corpus_path), "--data", "other.csv"], capsys
    )
    assert code == 2 and err.count("\n") == 1


def test_models_upgrade_command(tmp_path: Path, trained_bundle: Path, capsys):
    """A format-1 bundle: predict names the command, the command converts, predict works;
    a second upgrade is a one-line error."""
    import hashlib
    import json
    import shutil

    from sw_nlp.bundle import load_pipeline
    from sw_nlp.safety import safe_dump, trust

    pipeline, _ = load_pipeline(trained_bundle)
    bundle = Path(shutil.copytree(trained_bundle, tmp_path / "old"))
    for name in ("model.json", "model.npz"):
        (bundle / name).unlink()
    safe_dump(pipeline, bundle / "model.pkl.gz")
    sha = hashlib.sha256((bundle / "model.pkl.gz").read_bytes()).hexdigest()
    manifest = json.loads((bundle / "manifest.json").read_text())
    manifest.update(format_version=1, files={"model.pkl.gz": {"sha256": sha}})
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    trust(sha, bundle, "test")

    code, _, err = run(["predict", "--model", str(bundle), "Lansia sendiri"], capsys)
    assert code == 4 and err.count("\n") == 1
    assert f"`sw-nlp models upgrade {bundle}`" in err
    code, out, _ = run(["models", "upgrade", str(bundle)], capsys)
    assert code == 0 and "upgraded" in out and "format 2" in out
    code, out, _ = run(["predict", "--model", str(bundle), "Lansia sendiri"], capsys)
    header, row = out.splitlines()[:2]  # predict prints a header line, then one row per text
    assert header.startswith("level\t")
    assert code == 0 and row.split("\t")[0] in {"mikro", "mezzo", "makro", "global"}
    code, _, err = run(["models", "upgrade", str(bundle)], capsys)
    assert code == 4 and "already bundle format 2" in err and err.count("\n") == 1


def test_train_says_which_stage_it_is_in(tiny_corpus_path: Path, tmp_path: Path, capsys):
    import logging

    config = tmp_path / "fast.toml"
    config.write_text("[search]\nfolds = 2\nn_jobs = 1\n")
    code, _, err = run(
        ["train", "--data", str(tiny_corpus_path), "--config", str(config), "--out",
         str(tmp_path / "m")],
        capsys,
    )
    for name in ("sw_nlp.train", "sw_nlp.workflows"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    assert code == 0
    assert "cross-validation: 2 folds and the final model" in err
    assert "fold 1/2 done: macro-F1" in err and "fold 2/2 done: macro-F1" in err
    assert "final model fitted" in err and "calibration: temperature" in err
    assert "learning curve:" in err and "test split: macro-F1" in err
    code, _, err = run(
        ["-q", "train", "--data", str(tiny_corpus_path), "--config", str(config), "--out",
         str(tmp_path / "m2")],
        capsys,
    )
    assert code == 0 and err == ""  # -q: no progress


def test_a_command_gives_the_callers_logging_back(trained_bundle, capsys):
    """The CLI's handler writes to the stderr of its own run; in-process callers (notebooks,
    tests, the web server) must not inherit it, or later log lines go to a closed stream."""
    import logging

    package_log = logging.getLogger("sw_nlp")
    before = (package_log.handlers[:], package_log.level, package_log.propagate)
    assert main(["-v", "predict", "--model", str(trained_bundle), "anak terlantar"]) == 0
    assert (package_log.handlers[:], package_log.level, package_log.propagate) == before
    assert all(logging.getLogger(n).level == logging.NOTSET for n in ("sw_nlp.train", "sw_nlp.workflows"))


def test_sigterm_inside_compiled_code_is_still_a_clean_stop(
    tmp_path: Path, trained_bundle: Path, monkeypatch
):
    """SIGTERM's exception raised in Python code that compiled code called (Numba loading its
    cached kernels) reaches us as a SystemError chained to it: exit 143, no traceback; a
    SystemError of any other cause is a bug and keeps its traceback."""
    import sw_nlp.classify as classify
    from sw_nlp.cli.app import Terminated

    src = tmp_path / "cases.csv"
    src.write_text("id,text\n1,anak terlantar butuh bantuan\n", encoding="utf-8")
    args = ["classify", str(src), "-o", str(tmp_path / "out.csv"), "--model", str(trained_bundle)]

    def stopped_in_c(*_args, **_kwargs):
        try:
            raise Terminated(143)
        except Terminated as exc:
            raise SystemError(
                "<built-in function> returned a result with an exception set"
            ) from exc

    monkeypatch.setattr(classify, "classify_file", stopped_in_c)
    assert main(args) == 143

    def broken(*_args, **_kwargs):
        raise SystemError("a bug")

    monkeypatch.setattr(classify, "classify_file", broken)
    with pytest.raises(SystemError, match="a bug"):
        main(args)


class _Stdin:
    """What ``sys.stdin`` is to a command in a pipe: text, over a binary buffer."""

    def __init__(self, data: bytes) -> None:
        import io

        self.buffer = io.BytesIO(data)


@pytest.mark.parametrize(
    "data",
    [
        b"no,uraian\n1,Seorang lansia tinggal sendiri dan butuh pendampingan\n",
        b'{"no": 1, "uraian": "Seorang lansia tinggal sendiri dan butuh pendampingan"}\n',
    ],
)
def test_classify_reads_a_pipe_given_as_dash(
    trained_bundle: Path, tmp_path: Path, capsys, monkeypatch, data: bytes
):
    """``… | sw-nlp classify - > hasil.csv``, as batch jobs chain commands: "input not
    found". The pipe is read as the file it holds; nothing of it is left on disk."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(sys, "stdin", _Stdin(data))
    code = main(["classify", "-", "--model", str(trained_bundle)])
    out, err = capsys.readouterr()
    assert code == 0, err
    frame = pd.read_csv(__import__("io").StringIO(out))
    assert frame["no"].tolist() == [1] and frame["level"].notna().all()
    assert "classified stdin -> stdout" in err and "rows in: 1, rows out: 1" in err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(sys, "stdin", _Stdin(b"nama,umur\nA,3\n"))
    code = main(["classify", "-", "--model", str(trained_bundle)])
    _, err = capsys.readouterr()
    assert code == 3 and err.startswith("error: <stdin>:1: no text column found")
    assert list(tmp_path.iterdir()) == []
