"""Readers of lm-evaluation-harness and OLMES / olmo-eval result files (see
:mod:`lmforecast.truth.importers`)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import read_json_lines
from lmforecast.truth.import_common import (
    _aggregate,
    _examples,
    _load_json,
    _model_from_args,
    _need,
    _number,
    _require,
)

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
