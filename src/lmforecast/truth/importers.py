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
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.jsonlines import parse_json, read_json_lines, read_user_text
from lmforecast.store import Store

KIND = "truth_imported"
Format = Literal["auto", "lm-eval", "olmes", "csv"]
Shape = Literal["aggregate", "examples"]

AGGREGATE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("task", pa.string()),
        ("metric", pa.string()),
        ("value", pa.float64()),
    ]
)
EXAMPLE_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("task", pa.string()),
        ("doc_id", pa.string()),
        ("sample_index", pa.int32()),
        ("metric", pa.string()),
        ("value", pa.float64()),
        ("correct", pa.bool_()),
    ]
)
CSV_COLUMNS = ("model", "task", "metric", "value")


@dataclass(frozen=True, eq=False)
class ImportResult:
    """What one file yielded."""

    path: Path
    format: str  # "lm-eval", "olmes" or "csv"
    shape: Shape
    table: pa.Table = field(repr=False)
    key: str | None = None  # store key, when written to a store

    @property
    def models(self) -> list[str]:
        return sorted(set(self.table.column("model").to_pylist()))

    @property
    def tasks(self) -> list[str]:
        return sorted(set(self.table.column("task").to_pylist()))


# ---------------------------------------------------------------------------------------------
# Reading helpers


def _number(value: Any) -> float | None:
    """A JSON number (bools count as 0/1, as per-example metrics often are), else None."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float) and math.isfinite(float(value)):
        return float(value)
    return None


def _load_json(path: Path) -> Any:
    return parse_json(read_user_text(path), path)


def _require(record: dict[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> Any:
    if key not in record:
        raise UserError(f"{where}: field {key!r} is missing")
    value = record[key]
    accepted = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(value, accepted) or (isinstance(value, bool) and bool not in accepted):
        names = " or ".join(k.__name__ for k in accepted)
        raise UserError(f"{where}: field {key!r} should be {names}, got {value!r:.60}")
    return value


def _model_from_args(model_args: Any) -> str | None:
    if isinstance(model_args, dict):
        for k in ("pretrained", "model", "path"):
            if isinstance(model_args.get(k), str):
                return str(model_args[k])
        return None
    if isinstance(model_args, str):
        m = re.search(r"(?:^|,)\s*(?:pretrained|model|path)=([^,]+)", model_args)
        return m.group(1).strip() if m else None
    return None


def _need(value: str | None, what: str, path: Path) -> str:
    if not value:
        raise UserError(f"{path}: cannot tell the {what} from the file; pass --{what}")
    return value


# ---------------------------------------------------------------------------------------------
# lm-evaluation-harness


def read_lm_eval_results(path: Path, model: str | None = None, task: str | None = None) -> pa.Table:
    """``results_<date>.json``: ``results`` -> task -> ``"metric,filter": value``."""
    data = _load_json(path)
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object with a 'results' field")
    results = _require(data, "results", str(path), dict)
    model = model or lm_eval_model_name(data)
    model = _need(model, "model", path)
    rows: list[tuple[str, str, str, float]] = []
    for task_name, metrics in results.items():
        where = f"{path}: field 'results.{task_name}"
        if not isinstance(metrics, dict):
            raise UserError(f"{where}' should be an object of metrics, got {metrics!r:.60}")
        for metric, value in metrics.items():
            if metric == "alias" or metric == "samples":
                continue
            if value == "N/A" or value is None:  # lm-eval writes N/A for undefined stderrs
                continue
            number = _number(value)
            if number is None:
                raise UserError(f"{where}.{metric}': expected a number, got {value!r:.60}")
            rows.append((model, task or task_name, metric, number))
    if not rows:
        raise UserError(f"{path}: 'results' holds no numeric metrics")
    return _aggregate(rows)


def lm_eval_model_name(data: dict[str, Any]) -> str | None:
    """The model an lm-eval results file is about: ``model_name``, else ``model_args``."""
    name = data.get("model_name")
    if isinstance(name, str) and name:
        return name
    config = data.get("config")
    return _model_from_args(config.get("model_args")) if isinstance(config, dict) else None


_SAMPLES_NAME = re.compile(r"^samples_(.+)_(\d{4}-\d{2}-\d{2}T[\d.\-]+)\.jsonl$")


def read_lm_eval_samples(path: Path, model: str | None = None, task: str | None = None) -> pa.Table:
    """``samples_<task>_<date>.jsonl``: one line per doc and filter, metrics as fields."""
    match = _SAMPLES_NAME.match(path.name)
    task = task or (match.group(1) if match else None)
    task = _need(task, "task", path)
    if model is None:  # the results file written beside it names the model
        for sibling in sorted(path.parent.glob("results_*.json")):
            data = _load_json(sibling)
            if isinstance(data, dict):
                model = lm_eval_model_name(data)
                if model:
                    break
    model = _need(model, "model", path)
    rows = []
    for lineno, rec in read_json_lines(path):
        where = f"{path}:{lineno}"
        doc_id = _require(rec, "doc_id", where, (int, str))
        filt = _require(rec, "filter", where, str)
        names = _require(rec, "metrics", where, list)
        for name in names:
            if not isinstance(name, str):
                raise UserError(f"{where}: field 'metrics' should list metric names")
            value = _number(_require(rec, name, where, (int, float, bool)))
            if value is None:
                raise UserError(f"{where}: field {name!r} is not a finite number")
            rows.append((model, task, str(doc_id), 0, f"{name},{filt}", value))
    return _examples(rows, path)


# ---------------------------------------------------------------------------------------------
# OLMES / olmo-eval


def _flatten(metrics: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    for k, v in metrics.items():
        if isinstance(v, dict):
            yield from _flatten(v, f"{prefix}{k}.")
        else:
            number = _number(v)
            if number is not None:
                yield f"{prefix}{k}", number


def _olmes_model(record: dict[str, Any]) -> str | None:
    config = record.get("model_config")
    if isinstance(config, dict):
        for k in ("model", "model_path"):
            if isinstance(config.get(k), str) and config[k]:
                return str(config[k])
    return None


def _olmes_metrics_rows(
    record: dict[str, Any], where: str, path: Path, model: str | None, task: str | None
) -> list[tuple[str, str, str, float]]:
    metrics = _require(record, "metrics", where, dict)
    name = task or record.get("task_name")
    if not isinstance(name, str) or not name:
        config = record.get("task_config")
        name = config.get("task_name") if isinstance(config, dict) else None
    name = _need(name if isinstance(name, str) else None, "task", path)
    who = _need(model or _olmes_model(record), "model", path)
    rows = [(who, name, metric, value) for metric, value in _flatten(metrics)]
    if not rows:
        raise UserError(f"{where}: field 'metrics' holds no numeric values")
    return rows


def read_olmes_metrics(path: Path, model: str | None = None, task: str | None = None) -> pa.Table:
    """``task-NNN-<task>-metrics.json`` (one object) or ``metrics-all.jsonl`` (one per line)."""
    rows = []
    if path.suffix == ".jsonl":
        for lineno, rec in read_json_lines(path):
            rows += _olmes_metrics_rows(rec, f"{path}:{lineno}", path, model, task)
    else:
        data = _load_json(path)
        if not isinstance(data, dict):
            raise UserError(f"{path}: expected a JSON object with a 'metrics' field")
        rows = _olmes_metrics_rows(data, str(path), path, model, task)
    if not rows:
        raise UserError(f"{path}: no metrics found")
    return _aggregate(rows)


_PREDICTIONS_NAME = re.compile(r"^task-\d+-(.+)-predictions\.jsonl$")


def read_olmes_predictions(
    path: Path, model: str | None = None, task: str | None = None
) -> pa.Table:
    """``task-NNN-<task>-predictions.jsonl``: per-doc ``metrics`` (numeric ones are kept)."""
    match = _PREDICTIONS_NAME.match(path.name)
    task = task or (match.group(1) if match else None)
    task = _need(task, "task", path)
    if model is None:  # the metrics file written beside it names the model
        sibling = path.with_name(path.name.replace("-predictions.jsonl", "-metrics.json"))
        if sibling != path and sibling.is_file():
            data = _load_json(sibling)
            model = _olmes_model(data) if isinstance(data, dict) else None
    model = _need(model, "model", path)
    rows = []
    for lineno, rec in read_json_lines(path):
        where = f"{path}:{lineno}"
        doc_id = rec.get("native_id", _require(rec, "doc_id", where, (int, str)))
        if not isinstance(doc_id, int | str) or isinstance(doc_id, bool):
            raise UserError(f"{where}: field 'native_id' should be int or str, got {doc_id!r:.60}")
        metrics = _require(rec, "metrics", where, dict)
        found = list(_flatten(metrics))
        if not found:
            raise UserError(f"{where}: field 'metrics' holds no numeric values")
        for metric, value in found:
            rows.append((model, task, str(doc_id), 0, metric, value))
    return _examples(rows, path)


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


# ---------------------------------------------------------------------------------------------
# Tables, detection, entry point


def _aggregate(rows: list[tuple[str, str, str, float]]) -> pa.Table:
    return pa.table(
        {name: [r[i] for r in rows] for i, name in enumerate(AGGREGATE_SCHEMA.names)},
        schema=AGGREGATE_SCHEMA,
    )


def _examples(rows: list[tuple[str, str, str, int, str, float]], path: Path) -> pa.Table:
    if not rows:
        raise UserError(f"{path}: no examples found")
    columns: dict[str, list[Any]] = {
        n: [r[i] for r in rows] for i, n in enumerate(EXAMPLE_SCHEMA.names[:-1])
    }
    columns["correct"] = [abs(v - 1.0) < 1e-9 for v in columns["value"]]
    return pa.table(columns, schema=EXAMPLE_SCHEMA)


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
