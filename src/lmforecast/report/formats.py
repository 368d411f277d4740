"""Tables for pipelines: JSON, CSV and Markdown text with every column, nothing cut, no colour.

The terminal shows a compact table that fits its width (:mod:`lmforecast.report.fit`); these
are the full tables the same commands write with ``--format``. JSON is strict (a missing number
is ``null``, never ``NaN``), so ``jq`` and browsers read it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from lmforecast.report.tables import cell, strict_json

MACHINE = ("json", "csv", "markdown")
FORMATS = ("table", *MACHINE)


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """``frame``'s rows as JSON-ready dicts (every column, missing numbers as ``None``)."""
    return [strict_json(r) for r in frame.to_dict("records")]


def markdown(frame: pd.DataFrame) -> str:
    """A GitHub-style Markdown table: a header row, numbers right-aligned, cells as the HTML
    report writes them (:func:`cell`). Written here rather than with ``DataFrame.to_markdown``,
    which needs the ``tabulate`` package the project does not depend on.

    >>> print(markdown(pd.DataFrame({"name": ["a|b"], "x": [0.5]})), end="")
    | name | x |
    |---|---:|
    | a\\|b | 0.500 |
    """

    def esc(text: object) -> str:
        return str(text).replace("|", "\\|").replace("\n", " ")

    align = ["---:" if frame[c].dtype.kind in "fiu" else "---" for c in frame.columns]
    lines = ["| " + " | ".join(esc(c) for c in frame.columns) + " |", "|" + "|".join(align) + "|"]
    lines += [
        "| " + " | ".join(esc(cell(v)) for v in row) + " |" for row in frame.itertuples(index=False)
    ]
    return "\n".join(lines) + "\n"


def frame_text(frame: pd.DataFrame, fmt: str) -> str:
    """One table in a machine format (``json``: a list of row objects)."""
    if fmt == "json":
        return json.dumps(records(frame), indent=1, ensure_ascii=False) + "\n"
    if fmt == "csv":
        return str(frame.to_csv(index=False))
    if fmt == "markdown":
        return markdown(frame)
    raise ValueError(f"not a machine format: {fmt!r}")


def result_text(result: Mapping[str, Any], fmt: str) -> str:
    """An experiment's whole result: JSON as it is (every table and summary); Markdown as one
    section per table, summaries as JSON blocks. CSV holds one table only: the caller refuses
    it for a result of several (:func:`lmforecast.cli.output.check_format`)."""
    if fmt == "json":
        return json.dumps(strict_json(dict(result)), indent=1, ensure_ascii=False) + "\n"
    if fmt != "markdown":
        raise ValueError(f"a result has several tables: {fmt!r} holds one")
    parts = [f"# {result.get('experiment', 'result')}\n"]
    for key, value in result.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            parts.append(f"## {key}\n\n{markdown(pd.DataFrame.from_records(value))}")
        elif isinstance(value, dict | list) and value:
            text = json.dumps(strict_json(value), indent=1, ensure_ascii=False)
            parts.append(f"## {key}\n\n```json\n{text}\n```\n")
    return "\n".join(parts)
