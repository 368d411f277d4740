"""Results as Parquet shards, one directory per (kind, key), queried with DuckDB.

Layout: ``<root>/<kind>/<key>/<shard>.parquet`` plus ``meta.json``. ``key`` is a fingerprint of
everything that produced the results (model, tokenizer, requests, configuration), so results are
reused only when all of them match. Each shard is written to a temporary file and renamed into
place, so a run killed at any moment leaves only whole shards; a restarted run asks which shards
exist and computes only the rest.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from lmforecast.core.paths import data_home

_NAME = re.compile(r"^[A-Za-z0-9_.:=+-]+$")


def _check_name(what: str, name: str) -> str:
    if not _NAME.match(name) or name.startswith("."):
        raise ValueError(f"store {what} {name!r}: use letters, digits and _.:=+- only")
    return name


class Store:
    """A directory of Parquet results. Safe against SIGKILL at any point (atomic renames)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else data_home() / "store"
        self.root.mkdir(parents=True, exist_ok=True)

    # -- paths ------------------------------------------------------------------------------
    def entry_dir(self, kind: str, key: str) -> Path:
        return self.root / _check_name("kind", kind) / _check_name("key", key)

    # -- writing ----------------------------------------------------------------------------
    def write_shard(self, kind: str, key: str, shard: str, table: pa.Table) -> Path:
        """Write one shard atomically (temporary file in the same directory, then rename)."""
        directory = self.entry_dir(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{_check_name('shard', shard)}.parquet"
        tmp = directory / f".{shard}.{os.getpid()}.tmp"
        pq.write_table(table, tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
        return target

    def write_meta(self, kind: str, key: str, meta: dict[str, Any]) -> None:
        directory = self.entry_dir(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".meta.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
        os.replace(tmp, directory / "meta.json")

    # -- reading ----------------------------------------------------------------------------
    def shards(self, kind: str, key: str) -> set[str]:
        directory = self.entry_dir(kind, key)
        if not directory.is_dir():
            return set()
        return {p.stem for p in directory.glob("*.parquet")}

    def read_meta(self, kind: str, key: str) -> dict[str, Any] | None:
        path = self.entry_dir(kind, key) / "meta.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def read(self, kind: str, key: str, sort_by: str | None = None) -> pa.Table | None:
        """All shards of an entry as one table (None if nothing is stored)."""
        directory = self.entry_dir(kind, key)
        files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
        if not files:
            return None
        table = pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")
        if sort_by is not None:
            table = table.sort_by(sort_by)
        return table

    def keys(self, kind: str) -> list[str]:
        directory = self.root / _check_name("kind", kind)
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if p.is_dir())

    def entries(self, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
        """(key, meta) of every entry of a kind that has a meta.json."""
        for key in self.keys(kind):
            meta = self.read_meta(kind, key)
            if meta is not None:
                yield key, meta

    def delete(self, kind: str, key: str) -> None:
        shutil.rmtree(self.entry_dir(kind, key), ignore_errors=True)

    # -- querying ---------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per kind over all its shards.

        Each view has the shard columns plus ``entry_key`` (the directory key), so results can
        be joined with ``meta.json`` fields read via :meth:`entries`.
        """
        con = duckdb.connect()
        for kind_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            if not any(kind_dir.glob("*/*.parquet")):
                continue
            pattern = str(kind_dir / "*" / "*.parquet").replace("'", "''")
            con.execute(
                f'CREATE VIEW "{kind_dir.name}" AS SELECT *, '
                "split_part(filename, '/', -2) AS entry_key "
                f"FROM read_parquet('{pattern}', union_by_name=true, filename=true)"
            )
        return con

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        with self.connect() as con:
            return con.sql(sql, params=params or None).to_arrow_table()
