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


def ci_text(value: float, low: float, high: float, digits: int = 2) -> str:
    """A value with its interval, as every headline and compact table writes it.

    >>> ci_text(0.7912, 0.72, 0.834)
    '0.79 [0.72, 0.83]'
    """
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def ratio_text(ratio: float) -> str:
    """Compute against direct evaluation's (``ratio`` = direct / this) in words.

    >>> ratio_text(110.0), ratio_text(1.46), ratio_text(0.8)
    ('1/110 of', '1/1.5 of', '1.2x')
    """
    if ratio >= 1:
        return f"1/{ratio:.0f} of" if ratio >= 10 else f"1/{ratio:.1f} of"
    return f"{1 / ratio:.1f}x"


def strict_json(value: Any) -> Any:
    """``value`` with every NaN or infinity as ``None`` and numpy scalars as Python's: a
    browser's ``JSON.parse`` (and ``jq``) reject NaN, and a missing number should read as
    missing, not stop the reader.

    >>> strict_json({"a": [1.0, float("nan")], "b": float("inf")})
    {'a': [1.0, None], 'b': None}
    """
    if hasattr(value, "item") and not isinstance(value, list | tuple | dict):
        value = value.item()  # a numpy scalar
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: strict_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strict_json(v) for v in value]
    return value


def html_table(frame: pd.DataFrame) -> str:
    """An HTML table of ``frame`` (header and cells escaped)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = [
        "<tr>" + "".join(f"<td>{html.escape(cell(v))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    ]
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
