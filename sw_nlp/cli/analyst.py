"""The analyst's commands: validate the corpus, train, evaluate, retrain with new cases,
audit labels, suggest what to label next."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sw_nlp.cli.common import (
    EscapeFormulas,
    config_from,
    pct,
    show_training_progress,
)
from sw_nlp.config import Config, Paths


def validate_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="Corpus CSV (default: data/corpus/cases.csv).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(help="Corpus CSV, as the other commands take it (same as the argument)."),
    ] = None,
) -> None:
    """Check a labelled corpus against the label contract; exit 1 on any problem."""
    from sw_nlp.corpus import validate_corpus

    if path is not None and data is not None and path != data:
        raise typer.BadParameter(f"two corpora given ({path} and --data {data}): give one")
    path = path or data or Paths.discover().corpus
    problems, summary = validate_corpus(path)
    if summary:
        typer.echo(f"{path}")
        for line in summary.lines():
            typer.echo(f"  {line}")
    errors = [p for p in problems if p.is_error]
    for problem in problems:
        typer.echo(problem.format(path), err=True)
    if errors:
        typer.echo(f"{len(errors)} problem(s) in {path}", err=True)
        raise typer.Exit(1)
    typer.echo("ok: no problems")


def train_cmd(
    data: Annotated[Path | None, typer.Option(help="Labelled corpus CSV.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config (see docs/config.md).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Bundle folder to write (default models/default).")
    ] = None,
    scheme: Annotated[int, typer.Option(help="4 levels, or 3 with global merged into makro.")] = 4,
    real: Annotated[
        Path | None,
        typer.Option(
            help="A labelled file of texts written by others (e.g. the real-text dev set), "
            "scored beside the test split in the report. Never trained on."
        ),
    ] = None,
) -> None:
    """Select settings by cross-validation on the train split, fit, test once, write a bundle."""
    from sw_nlp.corpus import read_labelled
    from sw_nlp.workflows import run_training

    paths = Paths.discover()
    out = out or paths.root / "models" / "default"  # the checkout's shipped model
    external = {real.stem: read_labelled(real)} if real else None
    show_training_progress()
    manifest = run_training(
        data or paths.corpus, out, config_from(config), scheme=scheme, external=external
    )
    cv, test = manifest["metrics"]["cv"], manifest["metrics"].get("test")
    typer.echo(f"wrote {out}")
    typer.echo(
        f"  cross-validated macro-F1 ({cv['folds']} folds): {cv['macro_f1_mean']:.4f} ± {cv['macro_f1_sd']:.4f}"
    )
    if test:
        typer.echo(
            f"  test macro-F1: {test['macro_f1']:.4f}  accuracy: {test['accuracy']:.4f}  (n={test['n']})"
        )
    for name, e in (manifest["metrics"].get("external") or {}).items():
        typer.echo(
            f"  {name}: macro-F1 {e['macro_f1']:.4f}, flagged {e['to_review']:.0%}, "
            f"right when not flagged {pct(e['accuracy_of_rest'])} (n={e['n']})"
        )
    if calibrated := manifest["metrics"].get("calibration"):
        typer.echo(
            f"  temperature {calibrated['temperature']:.3f}, {calibrated['fitted_on']}"
        )


def evaluate_cmd(
    model: Annotated[
        Path | None, typer.Option(help="Model bundle folder (default: shipped model).")
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            help="A labelled CSV: a corpus with the corpus columns (default: data/corpus/cases.csv), "
            "or any file with text and level columns, scored beside the corpus test split."
        ),
    ] = None,
    compare: Annotated[
        Path | None, typer.Option(help="A second bundle to compare on the same cases.")
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Report folder (default: reports/<model name>).")
    ] = None,
    learning_curve: Annotated[
        bool, typer.Option(help="Retrain on parts of the train split (slower).")
    ] = True,
) -> None:
    """Write report.html, report.md and metrics.json for a model on the corpus's test split,
    and on any other labelled file given with --data."""
    from sw_nlp.bundle import load_model
    from sw_nlp.corpus import file_sha256, load_corpus, read_corpus_frame, read_labelled
    from sw_nlp.labels import COLUMNS
    from sw_nlp.report import write_report
    from sw_nlp.resolve import resolve_model
    from sw_nlp.workflows import evaluation_report

    paths = Paths.discover()
    model_dir = resolve_model(model, paths.models).path
    clf = load_model(model_dir)
    other = load_model(compare) if compare else None
    manifest = clf.manifest
    cfg = Config.from_dict(manifest["config"], source=str(model_dir))
    corpus_path, external = paths.corpus, None
    if data is not None:
        if set(COLUMNS) <= set(read_corpus_frame(data).columns):
            corpus_path = data
        else:
            external = {data.stem: read_labelled(data)}
    # Model selection's own cross-validation (the whole grid) when this is the corpus the model
    # was trained on; on other data the report cross-validates the model's settings afresh.
    same_corpus = manifest.get("corpus", {}).get("sha256") == file_sha256(corpus_path)
    report = evaluation_report(
        clf,
        load_corpus(corpus_path),
        cfg=cfg,
        cv=manifest.get("metrics", {}).get("cv") if same_corpus else None,
        other=other,
        other_name=compare.name if compare else "other",
        with_learning_curve=learning_curve,
        external=external,
    )
    out = out or paths.reports / Path(model_dir).name
    written = write_report(report, out, title=f"sw-nlp evaluation report: {Path(model_dir).name}")
    t = report["test"]
    typer.echo(
        f"test macro-F1 {t['macro_f1']:.4f} [{t['ci95']['macro_f1'][0]:.3f}, {t['ci95']['macro_f1'][1]:.3f}], accuracy {t['accuracy']:.4f}"
    )
    for name, e in (report.get("external") or {}).items():
        typer.echo(
            f"{name}: macro-F1 {e['macro_f1']:.4f} [{e['ci95']['macro_f1'][0]:.3f}, "
            f"{e['ci95']['macro_f1'][1]:.3f}], accuracy {e['accuracy']:.4f} (n={e['n']}); "
            f"flagged {e['at_threshold']['to_review']:.0%}, right when not flagged "
            f"{pct(e['at_threshold']['accuracy_of_rest'])}"
        )
    for path in written.values():
        typer.echo(f"wrote {path}")


def retrain_cmd(
    add: Annotated[
        Path,
        typer.Option(
            help="CSV or XLSX of new labelled cases (text, level, method; others optional)."
        ),
    ],
    data: Annotated[
        Path | None, typer.Option(help="Corpus CSV to extend (default: data/corpus/cases.csv).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config.")] = None,
) -> None:
    """Add labelled cases, train a challenger, compare it with the current model, register it."""
    from sw_nlp.workflows import retrain

    paths = Paths.discover()
    show_training_progress()
    result = retrain(add, data or paths.corpus, paths.models, config_from(config))
    c, d = result["counts"], result["comparison"]
    for note in result["notes"]:
        typer.echo(note, err=True)
    typer.echo(
        f"added {c['added']} case(s); skipped {c['duplicate_id']} with a known id, "
        f"{c['duplicate_text']} with a known text"
    )
    typer.echo(
        f"challenger {result['version']}: test macro-F1 {result['challenger_macro_f1']:.4f} vs "
        f"{result['champion_macro_f1']:.4f} for {result['champion']} "
        f"(difference {d['difference']:+.4f}, 95% interval {d['low']:+.4f} to {d['high']:+.4f})"
    )
    typer.echo(f"report: {result['path'] / 'report' / 'report.html'}")
    typer.echo(f"to use it: sw-nlp models promote {result['version']}")


def audit_cmd(
    data: Annotated[
        Path | None, typer.Option(help="Labelled corpus CSV (default: data/corpus/cases.csv).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config for the audit model.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV to write (default: reports/audit.csv).")
    ] = None,
    escape_formulas: EscapeFormulas = True,
) -> None:
    """Find likely label errors (out-of-fold confident learning) and conflicting near-duplicates."""
    from sw_nlp.corpus import load_corpus
    from sw_nlp.files import ResultWriter
    from sw_nlp.labelling import audit

    paths = Paths.discover()
    found = audit(load_corpus(data or paths.corpus), config_from(config))
    if out is None:  # our own default folder is made; a folder the user names must exist
        paths.reports.mkdir(parents=True, exist_ok=True)
        out = paths.reports / "audit.csv"
    with ResultWriter(out, escape_formulas=escape_formulas) as writer:
        writer.write(found)
    typer.echo(f"{len(found)} case(s) to review, most suspicious first: {out}")
    for _, row in found.head(10).iterrows():
        typer.echo(
            f"  {row['case_id']}: labelled {row['level']}, looks like {row['suggested']} ({row['reason']})"
        )


def suggest_cmd(
    pool: Annotated[Path, typer.Option(help="Unlabelled cases (CSV, XLSX, JSONL, Parquet).")],
    n: Annotated[int, typer.Option("-n", min=1, help="How many cases to pick.")] = 50,
    model: Annotated[
        Path | None, typer.Option(help="Model bundle (default: the current model).")
    ] = None,
    text_column: Annotated[str | None, typer.Option(help="Column holding the case text.")] = None,
    out: Annotated[
        Path | None, typer.Option(help="CSV to write (default: reports/to_label.csv).")
    ] = None,
    escape_formulas: EscapeFormulas = True,
) -> None:
    """Pick the cases whose labels would teach the model most, diverse, ready to label."""
    import pandas as pd

    from sw_nlp.bundle import load_model
    from sw_nlp.files import ResultWriter, open_cases
    from sw_nlp.labelling import suggest
    from sw_nlp.resolve import resolve_model

    paths = Paths.discover()
    source = open_cases(pool, text_column, chunk_size=10_000)
    frame = pd.concat(
        [pd.DataFrame({**chunk.ids, "text": chunk.texts}) for chunk in source.chunks],
        ignore_index=True,
    )
    picked = suggest(load_model(resolve_model(model, paths.models).path), frame, n)
    picked["method"] = ""
    if out is None:
        paths.reports.mkdir(parents=True, exist_ok=True)
        out = paths.reports / "to_label.csv"
    with ResultWriter(out, escape_formulas=escape_formulas) as writer:
        writer.write(picked)
    typer.echo(
        f"picked {len(picked)} of {len(frame)} cases: fill in level and method in {out}, then"
    )
    typer.echo(f"  sw-nlp retrain --add {out}")
