"""What makes a stored shard trustworthy: a checksum of its content and the place it is for.

:func:`stamp` adds one key-value pair to a table's schema metadata (it travels inside the
Parquet footer): the shard's (kind, key, name), its row count and a checksum of its content.
:func:`check_stamp` verifies a table read back against the place it was read from. A shard
without the record (written before there were records) is accepted if it reads cleanly.

The checksum is computed from the values, not from any serialisation, so it does not depend on
how a reader chunks a table, what it leaves in the slots of null values or how it names list
items: for each column, its name and type, then per array its length, validity bits and values
(null slots count as zero or empty), recursing into lists and structs.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

RECORD_KEY = b"lmforecast.shard"
FORMAT = 1


@dataclass(frozen=True)
class Problem:
    """A stored file that is not trusted, and why (one line)."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class EntryReport:
    """The verdict on one entry (``<kind>/<key>``): the shards that verify and the problems."""

    kind: str
    key: str
    good: tuple[str, ...]  # names of the shards that verify, sorted
    checked: int  # shard files looked at
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def content_digest(table: pa.Table) -> str:
    """``sha256:<hex>`` of a table's column names, types and values (not its metadata)."""
    h = hashlib.sha256(f"lmforecast-shard-v{FORMAT} rows={table.num_rows}\n".encode())
    for name, column in zip(table.column_names, table.columns, strict=True):
        h.update(json.dumps([name, _type_tag(column.type)]).encode())
        _feed(h, _one_array(column))
    return "sha256:" + h.hexdigest()


def stamp(table: pa.Table, kind: str, key: str, shard: str) -> pa.Table:
    """``table`` with its integrity record added to the schema metadata."""
    record = {
        "format": FORMAT,
        "kind": kind,
        "key": key,
        "shard": shard,
        "rows": table.num_rows,
        "checksum": content_digest(table),
    }
    metadata = dict(table.schema.metadata or {})
    metadata[RECORD_KEY] = json.dumps(record, sort_keys=True).encode()
    return table.replace_schema_metadata(metadata)


def check_stamp(table: pa.Table, kind: str, key: str, shard: str) -> tuple[pa.Table, str | None]:
    """``table`` without its integrity record, and why it cannot be trusted (None: it can)."""
    metadata = dict(table.schema.metadata or {})
    raw = metadata.pop(RECORD_KEY, None)
    clean = table.replace_schema_metadata(metadata or None)
    if raw is None:
        return clean, None  # written before shards had records: accepted, it read cleanly
    try:
        record = json.loads(raw)
        if not isinstance(record, dict):
            raise ValueError("not an object")
    except ValueError:
        return clean, "its integrity record is unreadable"
    written_for = (record.get("kind"), record.get("key"), record.get("shard"))
    if written_for != (kind, key, shard):
        return clean, "foreign shard: written as {}/{}/{}.parquet".format(*written_for)
    if record.get("rows") != table.num_rows:
        return clean, f"holds {table.num_rows} rows, {record.get('rows')} were written"
    # A newer format's checksum cannot be recomputed here; identity and row count still hold.
    if record.get("format") == FORMAT and record.get("checksum") != content_digest(clean):
        return clean, "content does not match its checksum (changed after it was written)"
    return clean, None


def _type_tag(t: pa.DataType) -> str:
    """The type without the name of list items (Parquet renames ``item`` to ``element``)."""
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        prefix = "large_list" if pa.types.is_large_list(t) else "list"
        return f"{prefix}<{_type_tag(t.value_type)}>"
    if pa.types.is_fixed_size_list(t):
        return f"fixed_size_list<{_type_tag(t.value_type)}>[{t.list_size}]"
    if pa.types.is_struct(t):
        fields = ", ".join(f"{f.name}: {_type_tag(f.type)}" for f in t)
        return f"struct<{fields}>"
    return str(t)


def _one_array(column: pa.ChunkedArray) -> pa.Array:
    if pa.types.is_dictionary(column.type):  # chunks may hold different dictionaries
        chunks = [c.dictionary_decode() for c in column.chunks]
        column = pa.chunked_array(chunks, type=column.type.value_type)
    if column.num_chunks == 1:
        return column.chunk(0)
    return column.combine_chunks()


def _feed(h: Any, arr: pa.Array) -> None:
    """Hash one array's logical content into ``h``."""
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    t, n = arr.type, len(arr)
    h.update(struct.pack("<qq", n, arr.null_count))
    if n == 0 or pa.types.is_null(t):
        return
    valid = None
    if arr.null_count:
        valid = pc.is_valid(arr).to_numpy(zero_copy_only=False)
        h.update(np.packbits(valid).tobytes())
    if pa.types.is_boolean(t):
        h.update(pc.fill_null(arr, False).to_numpy(zero_copy_only=False).tobytes())
    elif _byte_width(t):
        width = _byte_width(t)
        values = np.frombuffer(arr.buffers()[1], np.uint8, count=(arr.offset + n) * width)
        values = values[arr.offset * width :].reshape(n, width)
        if valid is not None:
            values = np.where(valid[:, None], values, 0).astype(np.uint8)
        h.update(np.ascontiguousarray(values).tobytes())
    elif pa.types.is_string(t) or pa.types.is_binary(t) or _is_large_bytes(t):
        if arr.null_count:
            empty = b"" if pa.types.is_binary(t) or pa.types.is_large_binary(t) else ""
            arr = pc.fill_null(arr, pa.scalar(empty, t))
        kind = np.int64 if _is_large_bytes(t) else np.int32
        offsets = np.frombuffer(arr.buffers()[1], kind, count=arr.offset + n + 1)[arr.offset :]
        h.update(np.diff(offsets).astype("<i8").tobytes())
        data = arr.buffers()[2]
        if data is not None:
            h.update(memoryview(data)[int(offsets[0]) : int(offsets[-1])])
    elif pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lengths = pc.fill_null(pc.list_value_length(arr), 0).to_numpy(zero_copy_only=False)
        h.update(lengths.astype("<i8").tobytes())
        _feed(h, arr.flatten())  # flatten honours the offset and skips null lists' values
    elif pa.types.is_struct(t):
        children = arr.flatten()  # honours the offset and the struct's own nulls
        for i, child in enumerate(children):
            h.update(json.dumps([t.field(i).name, _type_tag(child.type)]).encode())
            _feed(h, child)
    else:  # anything rarer: its Python values
        h.update(json.dumps(arr.to_pylist(), default=repr, sort_keys=True).encode())


def _byte_width(t: pa.DataType) -> int:
    """Bytes per value of a fixed-width type (0 for the others, and for bit-packed booleans)."""
    try:
        bits = t.bit_width
    except ValueError:
        return 0
    return bits // 8 if bits % 8 == 0 else 0


def _is_large_bytes(t: pa.DataType) -> bool:
    return pa.types.is_large_string(t) or pa.types.is_large_binary(t)
