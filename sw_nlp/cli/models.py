"""``sw-nlp models``: list, show, promote, roll back, trust and upgrade model bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from sw_nlp.cli.common import (
    pct,
)
from sw_nlp.config import Paths


def models_list_cmd() -> None:
    """Model versions, the current one marked with *."""
    from sw_nlp.registry import Registry

    for row in Registry.at(Paths.discover().models).listing():
        mark = "*" if row["current"] else " "
        f1 = f"{row['test_macro_f1']:.4f}" if row["test_macro_f1"] is not None else "-"
        typer.echo(
            f"{mark} {row['version']:<22} created {row['created']}  test macro-F1 {f1}  corpus rows {row['corpus_rows']}"
        )


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
        f"{pct(effect['review_share_before'])} with {entry['previous']}, "
        f"{pct(effect['review_share_after'])} with {version}"
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
        f"{pct(last['review_share_before'])} with {before}, "
        f"{pct(last['review_share_after'])} with {after}"
    )


def models_rollback_cmd(
    reason: Annotated[str, typer.Option(help="Why (required; recorded in the history).")],
) -> None:
    """Undo the last promotion still in force: each rollback goes one step further back along
    the history (never back and forth)."""
    from sw_nlp.registry import Registry

    entry = Registry.at(Paths.discover().models).rollback(reason)
    typer.echo(f"rolled back: {entry['version']} is current (was {entry['previous']})")


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
