"""The ``sw-nlp`` command: parse, call one library function, print a summary.

User errors (``SwNlpError``) become one line on stderr and an exit code; tracebacks are for
bugs. Typer's pretty tracebacks are off because they print local variables: case text.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from sw_nlp import __version__
from sw_nlp.config import Config, Paths
from sw_nlp.errors import SwNlpError

log = logging.getLogger("sw_nlp")

app = typer.Typer(
    help="Triage Indonesian social-work case descriptions by intervention level.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Work with the labelled corpus.", no_args_is_help=True)
app.add_typer(data_app, name="data")
models_app = typer.Typer(help="Manage model bundles.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sw-nlp {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v info, -vv debug.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    level = (
        logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    log.handlers[:] = [handler]
    log.setLevel(level)
    log.propagate = False


def _config(path: Path | None) -> Config:
    return Config.from_toml(path) if path else Config()


@data_app.command("validate")
def validate_cmd(
    path: Annotated[
        Path | None, typer.Argument(help="Corpus CSV (default: data/corpus/cases.csv).")
    ] = None,
) -> None:
    """Check a labelled corpus against the label contract; exit 1 on any problem."""
    from sw_nlp.validate import validate_corpus

    path = path or Paths.discover().corpus
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


@app.command("train")
def train_cmd(
    data: Annotated[Path | None, typer.Option(help="Labelled corpus CSV.")] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config (see docs/config.md).")] = None,
    out: Annotated[
        Path | None, typer.Option(help="Bundle folder to write (default models/default).")
    ] = None,
    scheme: Annotated[int, typer.Option(help="4 levels, or 3 with global merged into makro.")] = 4,
) -> None:
    """Select settings by cross-validation on the train split, fit, test once, write a bundle."""
    from sw_nlp.train import run_training

    paths = Paths.discover()
    out = out or paths.models / "default"
    manifest = run_training(data or paths.corpus, out, _config(config), scheme=scheme)
    cv, test = manifest["metrics"]["cv"], manifest["metrics"].get("test")
    typer.echo(f"wrote {out}")
    typer.echo(
        f"  cross-validated macro-F1 ({cv['folds']} folds): {cv['macro_f1_mean']:.4f} ± {cv['macro_f1_sd']:.4f}"
    )
    if test:
        typer.echo(
            f"  test macro-F1: {test['macro_f1']:.4f}  accuracy: {test['accuracy']:.4f}  (n={test['n']})"
        )


@app.command("evaluate")
def evaluate_cmd(
    model: Annotated[
        Path | None, typer.Option(help="Model bundle folder (default: shipped model).")
    ] = None,
    data: Annotated[
        Path | None, typer.Option(help="Labelled corpus CSV (default: data/corpus/cases.csv).")
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
    """Write report.html, report.md and metrics.json for a model on the corpus's test split."""
    from sw_nlp.bundle import default_bundle_dir, load_model
    from sw_nlp.corpus import load_corpus
    from sw_nlp.report import build_report, write_report

    paths = Paths.discover()
    model_dir = model or default_bundle_dir()
    clf = load_model(model_dir)
    other = load_model(compare) if compare else None
    cfg = Config.from_dict(clf.manifest["config"], source=str(model_dir))  # type: ignore[attr-defined]
    report = build_report(
        clf,
        load_corpus(data or paths.corpus),
        cfg=cfg,
        other=other,
        other_name=compare.name if compare else "other",
        with_learning_curve=learning_curve,
    )
    out = out or paths.reports / Path(model_dir).name
    written = write_report(report, out, title=f"sw-nlp evaluation report: {Path(model_dir).name}")
    t = report["test"]
    typer.echo(
        f"test macro-F1 {t['macro_f1']:.4f} [{t['ci95']['macro_f1'][0]:.3f}, {t['ci95']['macro_f1'][1]:.3f}], accuracy {t['accuracy']:.4f}"
    )
    for path in written.values():
        typer.echo(f"wrote {path}")


@models_app.command("trust")
def trust_cmd(
    bundle: Annotated[Path, typer.Argument(help="A bundle folder received from elsewhere.")],
    reason: Annotated[
        str, typer.Option(help="Why you trust it (recorded).")
    ] = "trusted by the user",
) -> None:
    """Allow a bundle trained elsewhere to be loaded (recorded outside the bundle)."""
    from sw_nlp.bundle import trust_bundle

    path = trust_bundle(bundle, reason)
    typer.echo(f"trusted {bundle} (recorded in {path})")


@app.command("predict")
def predict_cmd(
    texts: Annotated[list[str], typer.Argument(help="One or more case descriptions.")],
    model: Annotated[
        Path | None, typer.Option(help="Model bundle folder (default: shipped model).")
    ] = None,
    explain: Annotated[int, typer.Option(help="How many driving terms to show.")] = 5,
) -> None:
    """Classify case descriptions given on the command line."""
    from sw_nlp.bundle import load_model

    clf = load_model(model)
    proba = clf.predict_proba(texts)
    for text, row in zip(texts, proba, strict=True):
        best = int(row.argmax())
        terms = ", ".join(f"{t} {w:+.2f}" for t, w in clf.explain(text, explain))
        probs = " ".join(f"{lv}={p:.2f}" for lv, p in zip(clf.classes_, row, strict=True))
        typer.echo(f"{clf.classes_[best]}\t{row[best]:.2f}\t{probs}\t{terms}")


@app.command("classify")
def classify_cmd(
    input: Annotated[
        Path,
        typer.Argument(help="CSV/TSV, XLSX, JSONL, Parquet, a note file, or a folder of notes."),
    ],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Result file (.csv .xlsx .jsonl .parquet); default CSV to stdout.",
        ),
    ] = None,
    model: Annotated[
        Path | None, typer.Option(help="Model bundle folder (default: shipped model).")
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Column holding the case text (found by name if not given).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Column to pass through as the case id.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    review_threshold: Annotated[
        float | None,
        typer.Option(min=0.0, max=1.0, help="Confidence below which a case needs review."),
    ] = None,
    explain: Annotated[
        int, typer.Option(min=0, help="How many driving terms per case (0: none, faster).")
    ] = 3,
    workers: Annotated[int, typer.Option(min=1, help="Local processes.")] = 1,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per chunk.")] = 2000,
    engine: Annotated[
        str, typer.Option(help="local, or dask (a local Dask cluster, or --scheduler).")
    ] = "local",
    scheduler: Annotated[
        str | None, typer.Option(help="Address of a running Dask scheduler.")
    ] = None,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="No progress bar and no summary.")
    ] = False,
) -> None:
    """Classify every case in a file or folder: one output row per input row, in order."""
    from sw_nlp.classify import classify_file, terminal_progress

    show_progress = not quiet and sys.stderr.isatty()
    summary = classify_file(
        input,
        output,
        model=model,
        text_column=text_column,
        id_column=id_column,
        sheet=sheet,
        review_threshold=review_threshold,
        explain=explain,
        workers=workers,
        chunk_size=chunk_size,
        engine=engine,
        scheduler=scheduler,
        progress=terminal_progress if show_progress else None,
    )
    if show_progress:
        sys.stderr.write("\n")
    if not quiet:
        where = str(output) if output else "stdout"
        typer.echo(f"classified {input} -> {where}", err=True)
        for line in summary.lines():
            typer.echo(f"  {line}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn user errors into one line and an exit code.

    Typer's standalone mode handles usage errors (exit 2) and ``--help``; only our own
    errors are caught here, so a bug still shows its traceback.
    """
    try:
        app(args=argv, prog_name="sw-nlp")
    except SwNlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0
