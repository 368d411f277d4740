"""``lmforecast store check [--repair]``: verify every file of a results store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforecast.cli.app import app, console
from lmforecast.core.errors import UserError
from lmforecast.store import Store, default_root

store_app = typer.Typer(help="The results store: verify it, move damaged files aside.")
app.add_typer(store_app, name="store")


def count(n: int, noun: str, plural: str = "") -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def say(line: str) -> None:
    """One line, never wrapped or styled (paths stay whole and copyable)."""
    console.print(line, soft_wrap=True, markup=False, highlight=False)


@store_app.command("check")
def check_cmd(
    repair: Annotated[
        bool, typer.Option("--repair", help="move damaged files aside into <store>/quarantine/")
    ] = False,
    delete: Annotated[
        bool, typer.Option("--delete", help="with --repair: delete damaged files instead")
    ] = False,
    store_dir: Annotated[
        Path | None, typer.Option(help="results store (default: data home)")
    ] = None,
) -> None:
    """Verify every shard and meta.json; --repair moves damaged ones aside.

    A shard must read cleanly, match its checksum, be the unit it was written for and repeat no
    request_index. One line per problem (path: cause); exit status 1 if any, 0 if none.
    """
    if delete and not repair:
        raise UserError("--delete only applies with --repair (it deletes instead of moving aside)")
    root = store_dir if store_dir is not None else default_root()
    if not root.is_dir():
        raise UserError(f"store {root}: no such directory")
    store = Store(root)
    reports = store.verify()
    found = 0
    for report in reports:
        for problem in report.problems:
            say(str(problem))
        found += len(report.problems)
        if repair:
            for path, dest in store.repair(report, delete=delete):
                say(f"deleted {path}" if dest is None else f"moved {path} to {dest}")
    shards = sum(r.checked for r in reports)
    checked = f"{count(shards, 'shard')} in {count(len(reports), 'entry', 'entries')}"
    if not found:
        say(f"{checked} under {root}: no problems")
        return
    if repair:
        then = "the next run recomputes what was " + ("deleted" if delete else "moved aside")
    else:
        then = "`lmforecast store check --repair` moves the damaged files aside"
    say(f"{count(found, 'problem')} in {root} ({checked} checked); {then}")
    raise typer.Exit(1)
