"""The ``sw-nlp`` command: parse, call one library function, print a summary.

User errors (``SwNlpError``) become one line on stderr and an exit code; tracebacks are for
bugs. Typer's pretty tracebacks are off because they print local variables: case text.
"""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sw_nlp._version import __version__
from sw_nlp.config import Config, Paths
from sw_nlp.errors import SwNlpError

log = logging.getLogger("sw_nlp")
TRAINING_LOGGERS = ("sw_nlp.train", "sw_nlp.workflows")  # raised to INFO while training

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
    ctx: typer.Context,
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
    ctx.obj = {"quiet": quiet}  # commands read it: -q before the command silences summaries


def _globally_quiet(ctx: typer.Context) -> bool:
    """Whether ``sw-nlp -q`` was given before the command (it applies to every command)."""
    obj = ctx.find_root().obj
    return bool(isinstance(obj, dict) and obj.get("quiet"))


def _show_training_progress() -> None:
    """Training takes a minute or more: say which stage it is in (each fold and grid point,
    the final fit, calibration, the test split, the learning curve) unless the user asked for
    quiet. Only the training stages are raised to INFO."""
    if log.getEffectiveLevel() == logging.WARNING:
        for name in TRAINING_LOGGERS:
            logging.getLogger(name).setLevel(logging.INFO)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


EscapeFormulas = Annotated[
    bool,
    typer.Option(
        "--escape-formulas/--no-escape-formulas",
        help="Prefix text cells starting with = + - @ tab or CR with ' in CSV and XLSX, so a "
        "spreadsheet shows them as text (off only for programs reading the file).",
    ),
]


def _config(path: Path | None) -> Config:
    return Config.from_toml(path) if path else Config()


@data_app.command("validate")
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


@app.command("train")
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
    _show_training_progress()
    manifest = run_training(
        data or paths.corpus, out, _config(config), scheme=scheme, external=external
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
            f"right when not flagged {_pct(e['accuracy_of_rest'])} (n={e['n']})"
        )
    if calibrated := manifest["metrics"].get("calibration"):
        typer.echo(
            f"  temperature {calibrated['temperature']:.3f}, {calibrated['fitted_on']}"
        )


@app.command("evaluate")
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
            f"{_pct(e['at_threshold']['accuracy_of_rest'])}"
        )
    for path in written.values():
        typer.echo(f"wrote {path}")


@app.command("retrain")
def retrain_cmd(
    add: Annotated[
        Path,
        typer.Option(help="CSV of new labelled cases (text, level, method; others optional)."),
    ],
    data: Annotated[
        Path | None, typer.Option(help="Corpus CSV to extend (default: data/corpus/cases.csv).")
    ] = None,
    config: Annotated[Path | None, typer.Option(help="TOML config.")] = None,
) -> None:
    """Add labelled cases, train a challenger, compare it with the current model, register it."""
    from sw_nlp.workflows import retrain

    paths = Paths.discover()
    _show_training_progress()
    result = retrain(add, data or paths.corpus, paths.models, _config(config))
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


@app.command("audit")
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
    found = audit(load_corpus(data or paths.corpus), _config(config))
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


@app.command("suggest")
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


@models_app.command("list")
def models_list_cmd() -> None:
    """Model versions, the current one marked with *."""
    from sw_nlp.registry import Registry

    for row in Registry.at(Paths.discover().models).listing():
        mark = "*" if row["current"] else " "
        f1 = f"{row['test_macro_f1']:.4f}" if row["test_macro_f1"] is not None else "-"
        typer.echo(
            f"{mark} {row['version']:<22} created {row['created']}  test macro-F1 {f1}  corpus rows {row['corpus_rows']}"
        )


@models_app.command("show")
def models_show_cmd(
    version: Annotated[str, typer.Argument(help="A version from `models list`.")],
) -> None:
    """A version's manifest (JSON)."""
    import json

    from sw_nlp.bundle import read_manifest
    from sw_nlp.registry import Registry

    manifest = read_manifest(Registry.at(Paths.discover().models).path(version))
    manifest.get("metrics", {}).get("cv", {}).pop("grid", None)
    typer.echo(json.dumps(manifest, indent=2, ensure_ascii=False))


@models_app.command("promote")
def models_promote_cmd(
    version: Annotated[str, typer.Argument(help="The challenger to make current.")],
    data: Annotated[Path | None, typer.Option(help="Corpus whose test split decides.")] = None,
    force: Annotated[
        bool, typer.Option(help="Promote even if the gate refuses (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option(help="Why (recorded in the history).")] = None,
) -> None:
    """Make a version current if its macro-F1 is not worse than the current model's beyond noise."""
    from sw_nlp.workflows import promote

    paths = Paths.discover()
    entry = promote(version, data or paths.corpus, paths.models, force=force, reason=reason)
    g, effect = entry["gate"], entry["effect"]
    typer.echo(
        f"{entry['action']}: {version} is current (was {entry['previous']}); macro-F1 "
        f"{g['challenger_macro_f1']:.4f} vs {g['champion_macro_f1']:.4f}, difference {g['difference']:+.4f} "
        f"[{g['low']:+.4f}, {g['high']:+.4f}], better in {g['share_b_better']:.1%} of resamples"
    )
    # What users will notice: how many of their cases now go to a person for review.
    typer.echo(
        f"  needs review on the test split ({effect['n']} cases): "
        f"{_pct(effect['review_share_before'])} with {entry['previous']}, "
        f"{_pct(effect['review_share_after'])} with {version}"
    )
    typer.echo(f"  {_last_file_line(effect.get('last_file'), entry['previous'], version)}")
    changed = effect["settings_changed"]
    if changed:
        typer.echo("  settings changed:")
        for key, (before, after) in changed.items():
            typer.echo(f"    {key}: {before} -> {after}")
    else:
        typer.echo("  settings changed: none")


def _last_file_line(last: dict[str, Any] | None, before: str, after: str) -> str:
    """The promotion's effect on the last classified file, or why it is not shown."""
    if last is None:
        return "needs review on the last classified file: not shown (no file classified since the registry was made)"
    if "why" in last:
        return f"needs review on the last classified file ({last['path']}): not shown ({last['why']})"
    return (
        f"needs review on the last classified file ({last['path']}, {last['n']} rows): "
        f"{_pct(last['review_share_before'])} with {before}, "
        f"{_pct(last['review_share_after'])} with {after}"
    )


@models_app.command("rollback")
def models_rollback_cmd(
    reason: Annotated[str, typer.Option(help="Why (required; recorded in the history).")],
) -> None:
    """Undo the last promotion still in force: each rollback goes one step further back along
    the history (never back and forth)."""
    from sw_nlp.registry import Registry

    entry = Registry.at(Paths.discover().models).rollback(reason)
    typer.echo(f"rolled back: {entry['version']} is current (was {entry['previous']})")


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


@models_app.command("upgrade")
def upgrade_cmd(
    bundle: Annotated[Path, typer.Argument(help="A format-1 bundle folder (model.pkl.gz).")],
) -> None:
    """Convert a format-1 bundle (a pickle) to format 2 (numbers and text), in place, once."""
    from sw_nlp.bundle import upgrade_bundle

    manifest = upgrade_bundle(bundle)
    typer.echo(
        f"upgraded {bundle} to bundle format {manifest['format_version']} "
        f"(model.json sha256 {manifest['files']['model.json']['sha256'][:12]}…)"
    )


@app.command("predict")
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
    if not _globally_quiet(ctx):
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


@app.command("classify")
def classify_cmd(
    ctx: typer.Context,
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
        Path | None,
        typer.Option(help="Model bundle folder (default: the current model, else shipped)."),
    ] = None,
    text_column: Annotated[
        str | None, typer.Option(help="Column holding the case text (found by name if not given).")
    ] = None,
    id_column: Annotated[
        str | None, typer.Option(help="Column to pass through as the case id.")
    ] = None,
    sheet: Annotated[str | None, typer.Option(help="XLSX sheet (default: the first).")] = None,
    format: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="Read the input as csv, tsv, xlsx, jsonl, parquet, txt, docx or pdf, whatever "
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

    quiet = quiet or _globally_quiet(ctx)
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
        fast=not exact_path,
        progress=terminal_progress if show_progress else None,
        escape_formulas=escape_formulas,
        format=format,
        header_row=header_row,
        columns=_columns_choice(columns),
        recursive=recursive,
    )
    if show_progress:
        sys.stderr.write("\n")
    if input.is_file():
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
        typer.echo(f"classified {input} -> {where}", err=True)
        for line in summary.lines():
            typer.echo(f"  {line}", err=True)


def _remember_classified(path: Path, *, rows: int, **options: Any) -> None:
    """Record in the registry (where one exists) which file was classified and how it was
    read, so ``models promote`` can show what a new model changes on it. Never its text.
    Classifying has already succeeded: a record that cannot be written is only logged."""
    from sw_nlp.corpus import file_sha256
    from sw_nlp.registry import record_classified

    record = {"path": str(path.resolve()), "sha256": file_sha256(path), "rows": rows, **options}
    try:
        record_classified(Paths.discover().models, record)
    except OSError as error:
        log.info("could not record the classified file for promotion: %s", error)


@app.command("doctor")
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


@app.command("serve")
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


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the app and turn user errors into one line and an exit code.

    Usage errors (a bad option value, a missing argument: exit 2) are one line too, with a
    pointer to ``--help``, rather than click's boxed block. Only our own errors and click's
    usage errors are caught here, so a bug still shows its traceback. SIGTERM unwinds like
    Ctrl-C while a command runs, so temporary files are removed.
    """
    previous = _stop_cleanly_on_sigterm()
    # the command's handler writes to this run's stderr; a caller that goes on in the same
    # process (a notebook, a test, a server) gets its own logging back afterwards
    stage_logs = [logging.getLogger(n) for n in TRAINING_LOGGERS]
    logging_before = (log.handlers[:], log.level, log.propagate, [s.level for s in stage_logs])
    try:
        result = typer.main.get_command(app).main(
            args=argv, prog_name="sw-nlp", standalone_mode=False
        )
    except SwNlpError as exc:
        typer.echo(f"error: {exc}", err=True)
        for line in exc.details:
            typer.echo(f"  {line}", err=True)
        return exc.exit_code
    except _CLICK_ERROR as exc:  # a usage error: one line, as for every other error
        if type(exc).__name__ == "NoArgsIsHelpError" and getattr(exc, "ctx", None):
            typer.echo(exc.ctx.get_help())
            return exc.exit_code
        command = exc.ctx.command_path if getattr(exc, "ctx", None) else "sw-nlp"
        message = " ".join(exc.format_message().split())
        typer.echo(f"error: {message} (see {command} --help)", err=True)
        return exc.exit_code
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        return 1
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        handlers, level, propagate, stage_levels = logging_before
        log.handlers[:] = handlers
        log.setLevel(level)
        log.propagate = propagate
        for stage_log, stage_level in zip(stage_logs, stage_levels, strict=True):
            stage_log.setLevel(stage_level)
    return result if isinstance(result, int) else 0


# Click's base of usage errors, as Typer bundles it (Typer exports only some subclasses).
_CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


class Terminated(SystemExit):
    """SIGTERM, raised where the program is so that every ``with`` block cleans up (temporary
    files removed, the previous output left in place), as Ctrl-C does."""


def _stop_cleanly_on_sigterm() -> Any:
    """Turn SIGTERM into an exception in the main thread; returns the handler it replaced
    (None when not in the main thread, where handlers cannot be set)."""

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:
        return None
