"""Tables as text for every output: cells formatted once, for HTML, CSV, Markdown and the
terminal alike, so a number reads the same wherever it is shown."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd


def cell(value: Any, digits: int = 3) -> str:
    """One value as text: 3 decimals, or 3 significant digits when very large or small; an
    interval (a pair) as ``[lo, hi]``; a missing number as ``-``.

    >>> cell(0.12345), cell(2.5e12), cell(float("nan")), cell([0.1, 0.25]), cell("x")
    ('0.123', '2.5e+12', '-', '[0.100, 0.250]', 'x')
    """
    if isinstance(value, bool) or value is None:
        return "-" if value is None else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        if abs(value) >= 1e4 or (value != 0 and abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.{digits}f}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(cell(v, digits) for v in value) + "]"
    return str(value)


def html_table(frame: pd.DataFrame) -> str:
    """An HTML table of ``frame`` (header and cells escaped)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = [
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    ]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
