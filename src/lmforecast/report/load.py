"""Reading result files for a report: ours, of this version, whole — or one line saying why not.

A report draws what the experiments wrote (``to_dict()`` JSON), so a file that is not one of
ours, was written before the tables the report draws existed, or was cut off mid-write would
give a wrong or empty picture. Each is refused with one :class:`UserError` naming the file and
what was expected, before anything is drawn.

The report reads plain dicts and never imports the experiments (they are siblings); the format
it reads is :data:`READS_FORMAT`, which a test keeps equal to the version experiments write.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError

READS_FORMAT = 2

# What each experiment's JSON must hold for the report: tables (lists of records) and
# summaries (objects). A key missing here means a truncated, edited or foreign file.
TABLES: dict[str, tuple[str, ...]] = {
    "patel": (
        "proxies", "selection", "selection_bootstrap", "data_selection", "extrapolation",
        "cost", "truth", "maps", "trajectories", "run_forecasts",
    ),
    "rbridge": ("bridge", "bridge_points", "ranking", "selection", "cost"),
    "rude": ("pairs", "signals", "correlations", "breakdown"),
    "probes": ("evaluation", "transfer", "latency"),
}  # fmt: skip
SUMMARIES: dict[str, tuple[str, ...]] = {
    "patel": ("data_selection_summary",),
    "rbridge": ("ranking_summary",),
    "rude": (),
    "probes": (),
}
EXPECTED = "a result JSON written by `lmforecast experiment {patel,rbridge,rude,probes} --output`"


@dataclass(frozen=True)
class ResultFile:
    """One experiment's result as the report reads it, with the name of where it came from."""

    source: str
    experiment: str
    data: Mapping[str, Any]


def load_result(path: Path) -> ResultFile:
    """Read and check one result file (see :func:`check_result`)."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file; expected {EXPECTED}") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not text; expected {EXPECTED}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        what = "empty" if not text.strip() else f"truncated or not JSON ({e.msg}, line {e.lineno})"
        raise UserError(f"{path}: {what}; expected {EXPECTED}") from None
    return check_result(data, str(path))


def check_result(data: Any, source: str) -> ResultFile:
    """``data`` as a :class:`ResultFile` if it is a whole result of this version.

    >>> try:
    ...     check_result([], "x.json")
    ... except UserError as e:
    ...     print(str(e)[:50])
    x.json: not an lmforecast result (a JSON array); e
    """
    if not isinstance(data, dict):
        kinds: dict[type, str] = {list: "a JSON array", str: "a JSON string"}
        kind = kinds.get(type(data), "not a JSON object")
        raise UserError(f"{source}: not an lmforecast result ({kind}); expected {EXPECTED}")
    name = data.get("experiment")
    if name not in TABLES:
        got = "no 'experiment' key" if name is None else f"'experiment': {name!r}"
        raise UserError(f"{source}: not an lmforecast result ({got}); expected {EXPECTED}")
    version = data.get("format", 1)
    if not isinstance(version, int) or isinstance(version, bool):
        raise UserError(f"{source}: 'format' is {version!r}; expected the integer {READS_FORMAT}")
    if version < READS_FORMAT:
        raise UserError(
            f"{source}: written by an older lmforecast (format {version}); rerun the experiment "
            f"(this version reads format {READS_FORMAT})"
        )
    if version > READS_FORMAT:
        raise UserError(
            f"{source}: written by a newer lmforecast (format {version}); this version reads "
            f"format {READS_FORMAT}: upgrade lmforecast"
        )
    for key in TABLES[name]:
        value = data.get(key)
        if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
            raise UserError(
                f"{source}: {name} result without the table {key!r} (a list of records); "
                "truncated or edited? rerun the experiment"
            )
    for key in SUMMARIES[name]:
        if not isinstance(data.get(key), dict):
            raise UserError(
                f"{source}: {name} result without the summary {key!r} (an object); "
                "truncated or edited? rerun the experiment"
            )
    return ResultFile(source=source, experiment=name, data=data)
