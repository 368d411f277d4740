"""``--format``: one option and one way to print for every command that prints tables.

``table`` (the default) is for people: headline sentences and compact tables that fit the
terminal. ``json``, ``csv`` and ``markdown`` are for pipelines: the full tables on stdout,
every column, nothing cut, no colour; whatever else the command says (progress, "wrote …")
goes to stderr, so stdout parses.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Annotated, Any

import pandas as pd
import typer
from rich.console import Console, RenderableType

from lmforecast.cli.app import console, err_console
from lmforecast.core.errors import UserError
from lmforecast.report.formats import FORMATS, MACHINE, frame_text, result_text

FormatOption = Annotated[
    str,
    typer.Option(
        "--format",
        help="table (for people, fits the terminal) or json, csv, markdown: the full tables "
        "on stdout, for pipelines",
    ),
]


def check_format(fmt: str, formats: Iterable[str] = FORMATS) -> str:
    """``fmt`` if this command writes it, else a one-line error (checked before any work)."""
    allowed = list(formats)
    if fmt not in allowed:
        raise UserError(f"--format {fmt!r}: expected {', '.join(allowed[:-1])} or {allowed[-1]}")
    return fmt


def info(fmt: str) -> Console:
    """Where a command's remarks go: the terminal with tables, stderr with a machine format."""
    return err_console if fmt in MACHINE else console


def emit(fmt: str, frame: pd.DataFrame, render: Callable[[], Iterable[RenderableType]]) -> None:
    """Print one table: ``render()`` for people, ``frame`` in full for pipelines."""
    if fmt in MACHINE:
        sys.stdout.write(frame_text(frame, fmt))
        return
    for renderable in render():
        console.print(renderable)


RESULT_FORMATS = ("table", "json", "markdown")  # a result holds several tables: no one CSV


def emit_result(
    fmt: str,
    data: Mapping[str, Any],
    render: Callable[[dict[str, Any]], Iterable[RenderableType]],
) -> None:
    """Print an experiment's result: headlines and compact tables, or all of it as text."""
    if fmt in MACHINE:
        sys.stdout.write(result_text(data, fmt))
        return
    for renderable in render(dict(data)):
        console.print(renderable)
