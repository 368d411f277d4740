"""Import ground truth computed elsewhere: lm-evaluation-harness, OLMES / olmo-eval, plain CSV.

Two shapes come out, as Arrow tables:

- **aggregate** (``model, task, metric, value``): lm-eval ``results_*.json`` (metric names keep
  their filter, ``exact_match,strict-match``), OLMES ``*-metrics.json`` / ``metrics-all.jsonl``
  (numeric entries of ``metrics``; nested ones as ``parent.child``), and CSV files.
- **examples** (``model, task, doc_id, sample_index, metric, value, correct``): lm-eval
  ``samples_<task>_<date>.jsonl`` (one row per metric and filter) and OLMES
  ``*-predictions.jsonl`` (numeric per-example metrics; ``doc_id`` is ``native_id`` when present,
  which is how lmforecast's olmo-eval tasks name docs). ``correct`` is ``value == 1``.

Validation is strict: anything unexpected is a :class:`UserError` naming the file, the line or
field, and what was expected. Results go to the store under kind ``truth_imported``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.jsonlines import read_json_lines, read_user_text
from lmforecast.store import Store
from lmforecast.truth.import_common import (
    CSV_COLUMNS,
    KIND,
    Format,
    ImportResult,
    Shape,
    _aggregate,
    _load_json,
)
from lmforecast.truth.import_readers import (
    read_lm_eval_results,
    read_lm_eval_samples,
    read_olmes_metrics,
    read_olmes_predictions,
)

# ---------------------------------------------------------------------------------------------
# CSV


def read_csv(path: Path, model: str | None = None, task: str | None = None) -> pa.Table:
    """A CSV with exactly the columns ``model, task, metric, value`` (any order)."""
    reader = _csv_records(path, read_user_text(path, encoding="utf-8-sig"))
    header = next(reader, None)
    if header is None:
        raise UserError(f"{path}: empty file; expected a header {','.join(CSV_COLUMNS)}")
    header = [h.strip() for h in header]
    for h in header:
        if h not in CSV_COLUMNS:
            raise UserError(
                f"{path}:1: unknown column {h!r}; expected exactly {', '.join(CSV_COLUMNS)}"
            )
    missing = [c for c in CSV_COLUMNS if c not in header]
    if missing or len(header) != len(CSV_COLUMNS):
        what = f"missing column {missing[0]!r}" if missing else "a column appears twice"
        raise UserError(f"{path}:1: {what}; expected exactly {', '.join(CSV_COLUMNS)}")
    col = {name: header.index(name) for name in CSV_COLUMNS}
    rows = []
    for lineno, fields in enumerate(reader, 2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) != len(header):
            raise UserError(f"{path}:{lineno}: {len(fields)} fields, expected {len(header)}")
        values = {name: fields[i].strip() for name, i in col.items()}
        for name in ("model", "task", "metric"):
            if not values[name]:
                raise UserError(f"{path}:{lineno}: column {name!r} is empty")
        try:
            number = float(values["value"])
        except ValueError:
            raise UserError(f"{path}:{lineno}: value {values['value']!r} is not a number") from None
        if not math.isfinite(number):
            raise UserError(f"{path}:{lineno}: value {values['value']!r} is not finite")
        rows.append((model or values["model"], task or values["task"], values["metric"], number))
    if not rows:
        raise UserError(f"{path}: no data rows after the header")
    return _aggregate(rows)


def _csv_records(path: Path, text: str) -> Iterator[list[str]]:
    """The csv module's records; its own errors (a field over its size limit) as UserError."""
    reader = csv.reader(io.StringIO(text))
    try:
        yield from reader
    except csv.Error as e:
        raise UserError(f"{path}:{reader.line_num}: not valid CSV ({e})") from None


def _first_record(path: Path) -> dict[str, Any] | None:
    for _, rec in read_json_lines(path):
        return rec
    return None


def detect(path: Path) -> tuple[str, Shape]:
    """(format, shape) of a file, from its name and first record."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv", "aggregate"
    if suffix == ".jsonl":
        first = _first_record(path)
        if first is None:
            raise UserError(f"{path}: empty file")
        if "filter" in first and "doc_id" in first:
            return "lm-eval", "examples"
        if "metrics" in first and ("task_name" in first or "task_config" in first):
            return "olmes", "aggregate"
        if "metrics" in first and ("doc_id" in first or "native_id" in first):
            return "olmes", "examples"
    elif suffix == ".json":
        data = _load_json(path)
        if isinstance(data, dict) and "results" in data:
            return "lm-eval", "aggregate"
        if isinstance(data, dict) and "metrics" in data:
            return "olmes", "aggregate"
    raise UserError(
        f"{path}: not a recognised result file (expected an lm-eval results_*.json or "
        "samples_*.jsonl, an OLMES *-metrics.json, metrics-all.jsonl or *-predictions.jsonl, "
        "or a CSV with columns model,task,metric,value)"
    )


def _shape_for(path: Path, fmt: str) -> Shape:
    """Shape of a file whose format the user named (checked against its content)."""
    detected, shape = detect(path)
    if detected != fmt:
        raise UserError(f"{path}: --format {fmt} given, but the file looks like {detected} output")
    return shape


def import_file(
    path: str | Path,
    format: Format = "auto",
    *,
    model: str | None = None,
    task: str | None = None,
    store: Store | None = None,
) -> ImportResult:
    """Read one result file (``model``/``task`` override what the file says) and, with a
    store, record it under kind ``truth_imported``."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path}: no such file")
    if format == "auto":
        fmt, shape = detect(path)
    elif format in ("lm-eval", "olmes", "csv"):
        fmt, shape = format, _shape_for(path, format)
    else:
        raise UserError(f"--format {format!r}: expected auto, lm-eval, olmes or csv")
    readers = {
        ("lm-eval", "aggregate"): read_lm_eval_results,
        ("lm-eval", "examples"): read_lm_eval_samples,
        ("olmes", "aggregate"): read_olmes_metrics,
        ("olmes", "examples"): read_olmes_predictions,
        ("csv", "aggregate"): read_csv,
    }
    table = readers[(fmt, shape)](path, model, task)
    key = None
    if store is not None:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        key = hash_json({"sha256": digest, "format": fmt, "model": model, "task": task})
        store.write_shard(KIND, key, shape, table)
        store.write_meta(
            KIND,
            key,
            {
                "source": str(path.resolve()),
                "sha256": digest,
                "format": fmt,
                "shape": shape,
                "rows": table.num_rows,
                "models": sorted(set(table.column("model").to_pylist())),
                "tasks": sorted(set(table.column("task").to_pylist())),
                "imported": time.time(),
            },
        )
    return ImportResult(path, fmt, shape, table, key)
