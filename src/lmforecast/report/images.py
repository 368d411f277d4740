"""Every chart as PNG and SVG, without a browser: vl-convert renders Vega-Lite in-process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lmforecast.report.charts import Chart


def write_images(charts: Sequence[Chart], directory: Path, scale: float = 2.0) -> list[Path]:
    """``<name>.png`` (at ``scale`` for sharp screens) and ``<name>.svg`` per chart."""
    import vl_convert as vlc

    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for c in charts:
        png = directory / f"{c.name}.png"
        png.write_bytes(vlc.vegalite_to_png(dict(c.spec), scale=scale))
        svg = directory / f"{c.name}.svg"
        svg.write_text(vlc.vegalite_to_svg(dict(c.spec)))
        written += [png, svg]
    return written
