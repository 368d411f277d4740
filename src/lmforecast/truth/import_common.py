"""What every ground-truth importer shares: the two table shapes and strict field readers.

See :mod:`lmforecast.truth.importers` for the formats and the entry point.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import parse_json, read_user_text

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
