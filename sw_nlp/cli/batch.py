"""The case worker's commands: classify a file, predict a few texts, check the install
(doctor), serve the web page."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sw_nlp.cli.common import (
    EscapeFormulas,
    globally_quiet,
    log,
)
from sw_nlp.config import Paths


def predict_cmd(
    ctx: typer.Context,
    texts: Annotated[list[str], typer.Argument(help="One or more case descriptions.")],
    model: Annotated[
        Path | None,
        typer.Option(help="Model bundle folder (default: the current model, else shipped)."),
    ] = None,
    explain: Annotated[int, typer.Option(help="How many driving terms to show (0 or more).")] = 5,
) -> None:
    """Classify case descriptions given on the command line: a header line, then one
    tab-separated line per text with the same columns as classify (review flag included).
    The model that answered is named on stderr (not with -q)."""
    from sw_nlp.bundle import load_model
    from sw_nlp.classify import classify_texts
    from sw_nlp.config import check_count
    from sw_nlp.resolve import resolve_model

    check_count("--explain", explain, low=0, high=1000)
    resolved = resolve_model(model, Paths.discover().models)
    clf = load_model(resolved.path)
    if not globally_quiet(ctx):
        typer.echo(f"model: {resolved.describe()}", err=True)
    # The same step as classify, so that an empty, too short or foreign text is flagged here
    # as it would be in a file, instead of printing a bare level as if it were sure.
    result = classify_texts(clf, texts, explain=explain)
    result["needs_review"] = result["needs_review"].map({True: "yes", False: "no"})
    shown = ["level", "confidence", "needs_review", "review_reason"]
    shown += [c for c in result.columns if c.startswith("proba_")] + ["top_terms", "error"]
    typer.echo("\t".join(shown))
    for _, row in result[shown].iterrows():
        typer.echo("\t".join("" if v != v else str(v) for v in row.tolist()))


def classify_cmd(
    ctx: typer.Context,
    input: Annotated[
        Path,
        typer.Argument(
            help="CSV/TSV, XLSX, JSON(L), Parquet, a note file, a folder of notes, or - for "
            "standard input."
        ),
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
        Path | None,
        typer.Option(help="Model bundle folder (default: the current model, else shipped)."),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Column holding the case text (found by name if not given).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Column to pass through as the case id.")
    ] = None,
    sheet: Annotated[
        str | None,
        typer.Option(
            help="XLSX sheet to read, or '*' for every sheet that is a table of cases, with "
            "a 'sheet' column (default: the first sheet that is one)."
        ),
    ] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Read the input as csv, tsv, xlsx, json, jsonl, parquet, html, txt, docx or pdf, "
            "whatever "
            "its name (default: by its suffix).",
        ),
    ] = None,
    recursive: Annotated[
        bool,
        typer.Option(
            "--recursive",
            help="For a folder of notes: read its subfolders too (ids are paths inside it).",
        ),
    ] = False,
    header_row: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Row holding the column names, counted as the output's row column counts "
            "(default: the first row, or the first of the top 30 naming a text column).",
        ),
    ] = None,
    columns: Annotated[
        str,
        typer.Option(
            help="Input columns written before the results: all, id, or names separated by "
            "commas (e.g. 'No,Tanggal,Deskripsi Kasus').",
        ),
    ] = "all",
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
    exact_path: Annotated[
        bool,
        typer.Option(
            "--exact-path",
            help="Predict with the scikit-learn pipeline itself, not the fast path (same "
            "numbers, slower; for checking and benchmarks).",
        ),
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No progress bar and no summary.")
    ] = False,
    escape_formulas: EscapeFormulas = True,
) -> None:
    """Classify every case in a file or folder: one output row per input row, in order."""
    from sw_nlp.classify import classify_file, terminal_progress
    from sw_nlp.errors import InputError
    from sw_nlp.files import STDIN, stdin_file

    quiet = quiet or globally_quiet(ctx)
    show_progress = not quiet and sys.stderr.isatty()
    piped = str(input) == STDIN
    opened = stdin_file(sys.stdin.buffer, format) if piped else contextlib.nullcontext(input)
    with opened as path:
        try:
            summary = classify_file(
                path,
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
                fast=not exact_path,
                progress=terminal_progress if show_progress else None,
                escape_formulas=escape_formulas,
                format=format,
                header_row=header_row,
                columns=_columns_choice(columns),
                recursive=recursive,
            )
        except InputError as error:
            if not piped or error.path != path:
                raise
            # Named as the user named it, not by the copy in a temporary folder.
            renamed = InputError(
                error.detail, "<stdin>", error.row, error.column, columns=error.columns
            )
            renamed.details = error.details
            raise renamed from None
    if show_progress:
        sys.stderr.write("\n")
    if not piped and input.is_file():
        _remember_classified(
            input,
            text_column=text_column,
            sheet=sheet,
            format=format,
            header_row=header_row,
            rows=summary.rows_in,
        )
    if not quiet:
        where = str(output) if output else "stdout"
        typer.echo(f"classified {'stdin' if piped else input} -> {where}", err=True)
        for line in summary.lines():
            typer.echo(f"  {line}", err=True)


def _remember_classified(path: Path, *, rows: int, **options: Any) -> None:
    """Record in the registry (where one exists) which file was classified and how it was
    read, so ``models promote`` can show what a new model changes on it. Never its text.
    Classifying has already succeeded: a record that cannot be written is only logged."""
    from sw_nlp.registry import record_classified

    try:
        record_classified(Paths.discover().models, path, rows=rows, **options)
    except OSError as error:
        log.info("could not record the classified file for promotion: %s", error)


def doctor_cmd() -> None:
    """Check the install (versions), the current model (format, sha256, loads), the registry
    and the folders sw-nlp writes to; exit 1 when something needs fixing."""
    from sw_nlp.doctor import PROBLEM, run_checks

    findings = run_checks()
    for finding in findings:
        typer.echo(finding.line())
    problems = [f for f in findings if f.status == PROBLEM]
    if problems:
        typer.echo(f"{len(problems)} problem(s) found", err=True)
        raise typer.Exit(1)
    typer.echo("no problems found")


def serve_cmd(
    host: Annotated[
        str, typer.Option(help="Address to listen on; beyond 127.0.0.1 a token is required.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8000,
    model: Annotated[
        Path | None, typer.Option(help="Model bundle folder (default: the current model).")
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="SW_NLP_TOKEN",
            show_envvar=True,
            help="Access token asked of every request (a login form, or Authorization: Bearer).",
        ),
    ] = None,
    corrections: Annotated[
        Path | None,
        typer.Option(
            help="CSV the reviewers' corrections go to (default: models/corrections/corrections.csv)."
        ),
    ] = None,
    max_upload_mb: Annotated[
        int, typer.Option(min=1, help="Largest file a user may upload, in MB.")
    ] = 50,
) -> None:
    """Serve the triage web page and the JSON API (needs the optional web extra)."""
    from sw_nlp.config import ServeConfig

    cfg = ServeConfig(
        host=host,
        port=port,
        model=model,
        token=token,
        corrections=corrections,
        max_upload_bytes=max_upload_mb << 20,
    )
    from sw_nlp.web import serve

    serve(cfg, announce=lambda line: typer.echo(line, err=True))


def _columns_choice(value: str) -> str | list[str]:
    """``--columns``: the words all or id, else a comma-separated list of column names."""
    if value.strip().lower() in ("all", "id"):
        return value.strip().lower()
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise typer.BadParameter("give all, id, or column names separated by commas")
    return names
