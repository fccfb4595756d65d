"""The ``sw-nlp`` command: parse, call one library function, print a summary.

User errors (``SwNlpError``) become one line on stderr and an exit code; tracebacks are for
bugs. Typer's pretty tracebacks are off because they print local variables: case text.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated, Any

import typer

from sw_nlp._version import __version__
from sw_nlp.cli import analyst, batch, models
from sw_nlp.cli.common import TRAINING_LOGGERS, log
from sw_nlp.errors import SwNlpError

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


# Every command, in the order --help lists them.
data_app.command("validate")(analyst.validate_cmd)
app.command("train")(analyst.train_cmd)
app.command("evaluate")(analyst.evaluate_cmd)
app.command("retrain")(analyst.retrain_cmd)
app.command("audit")(analyst.audit_cmd)
app.command("suggest")(analyst.suggest_cmd)
models_app.command("list")(models.models_list_cmd)
models_app.command("show")(models.models_show_cmd)
models_app.command("promote")(models.models_promote_cmd)
models_app.command("rollback")(models.models_rollback_cmd)
models_app.command("trust")(models.trust_cmd)
models_app.command("upgrade")(models.upgrade_cmd)
app.command("predict")(batch.predict_cmd)
app.command("classify")(batch.classify_cmd)
app.command("doctor")(batch.doctor_cmd)
app.command("serve")(batch.serve_cmd)


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
    except SystemError as exc:
        # SIGTERM landing in Python code that compiled code called back (Numba loading its
        # cached kernels) comes out as a SystemError chained to ours: still a clean stop
        stopped = _terminated(exc)
        if stopped is None:
            raise
        return int(stopped.code)  # type: ignore[arg-type]
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


def _terminated(exc: BaseException) -> Terminated | None:
    """The ``Terminated`` an exception was raised from, if any (a cycle-safe walk)."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        if isinstance(link, Terminated):
            return link
        seen.add(id(link))
        link = link.__cause__ or link.__context__
    return None


def _stop_cleanly_on_sigterm() -> Any:
    """Turn SIGTERM into an exception in the main thread; returns the handler it replaced
    (None when not in the main thread, where handlers cannot be set)."""

    def terminate(signum: int, frame: Any) -> None:
        raise Terminated(128 + signum)

    try:
        return signal.signal(signal.SIGTERM, terminate)
    except ValueError:
        return None
