"""``lmforecast report RESULT.json… -o report.html``: the self-contained HTML report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lmforecast import api
from lmforecast.cli import checks
from lmforecast.cli.app import app, console


@app.command()
def report(
    results: Annotated[
        list[Path], typer.Argument(help="result JSON files written by `experiment … --output`")
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="the HTML file to write")] = Path(
        "report.html"
    ),
    png: Annotated[
        Path | None, typer.Option(help="also write every chart as PNG and SVG into this folder")
    ] = None,
) -> None:
    """One HTML file (no network needed to open it) with every experiment's headline, plots
    and tables; with --png, each plot as PNG and SVG too (no browser needed)."""
    checks.output_file(output, (".html", ".htm"), "--output")
    if png is not None:
        checks.writable_directory(png, "--png")
    with console.status("rendering the report"):
        info = api.report(results, output, png_dir=png)
    console.print(
        f"wrote {info.path} ({info.bytes:,} bytes, {info.charts} plots from "
        f"{len(info.sources)} result(s), {info.seconds:.1f} s)",
        soft_wrap=True,
    )
    if info.images:
        console.print(f"wrote {len(info.images)} images to {png}", soft_wrap=True)
