"""Results as Parquet shards, one directory per (kind, key), queried with DuckDB.

Layout: ``<root>/<kind>/<key>/<shard>.parquet`` plus ``meta.json``. ``key`` is a fingerprint of
everything that produced the results (model, tokenizer, requests, configuration), so results are
reused only when all of them match. Each shard is written to a temporary file and renamed into
place, so a run killed at any moment leaves only whole shards; a restarted run asks which shards
exist and computes only the rest.

Nothing read back is trusted blindly. Each shard carries, in its Parquet metadata, a checksum of
its content and the (kind, key, shard) it was written for (:mod:`lmforecast.store.integrity`).
:meth:`Store.shards`, :meth:`Store.read` and the DuckDB views see only shards that verify. A
truncated, garbage, altered or foreign shard (another unit's file copied over), shards that
repeat a ``request_index`` (see :func:`_duplicates`), and a ``meta.json`` that is not a JSON
object are left out, logged once per store object as one line with the path and the cause, and
collected in :attr:`Store.problems`. A run that asks :meth:`Store.shards` what is done therefore
recomputes whatever was damaged. :meth:`Store.verify` checks a whole store and
:meth:`Store.repair` moves damaged files aside into ``<root>/quarantine/`` (``lmforecast store
check [--repair]``). Shards written before there were checksums are accepted if they read.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from lmforecast.core.paths import data_home
from lmforecast.store.integrity import RECORD_KEY, EntryReport, Problem, check_stamp, stamp

log = logging.getLogger("lmforecast.store")

_NAME = re.compile(r"^[A-Za-z0-9_.:=+-]+$")
QUARANTINE = "quarantine"  # <root>/quarantine/<kind>/<key>/<file>: damaged files moved aside
UNIQUE_COLUMN = "request_index"  # where an entry has this column, no value may repeat


def _check_name(what: str, name: str) -> str:
    if not _NAME.match(name) or name.startswith("."):
        raise ValueError(f"store {what} {name!r}: use letters, digits and _.:=+- only")
    if what == "kind" and name == QUARANTINE:
        raise ValueError(f"store kind {name!r} is reserved for damaged files moved aside")
    return name


def _is_name(name: str) -> bool:
    return bool(_NAME.match(name)) and not name.startswith(".")


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    line = text[0] if text else type(e).__name__
    return line if len(line) <= 200 else line[:197] + "..."


def default_root() -> Path:
    """Where a store lives when no directory is given."""
    return data_home() / "store"


class Store:
    """A directory of Parquet results. Safe against SIGKILL at any point (atomic renames).

    ``problems`` collects every damaged or untrusted file this object has met (and skipped).
    """

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else default_root()
        self.root.mkdir(parents=True, exist_ok=True)
        self.problems: list[Problem] = []

    # -- paths ------------------------------------------------------------------------------
    def entry_dir(self, kind: str, key: str) -> Path:
        return self.root / _check_name("kind", kind) / _check_name("key", key)

    # -- writing ----------------------------------------------------------------------------
    def write_shard(self, kind: str, key: str, shard: str, table: pa.Table) -> Path:
        """Write one shard atomically (temporary file in the same directory, then rename).

        The shard carries its integrity record and is read back and verified before the rename,
        so a shard in place always verifies unless something changed it afterwards.
        """
        directory = self.entry_dir(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        target = directory / f"{_check_name('shard', shard)}.parquet"
        tmp = directory / f".{shard}.{os.getpid()}.tmp"
        try:
            pq.write_table(stamp(table, kind, key, shard), tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            _, problem, _ = _load_shard(tmp, kind, key, shard)
            if problem is not None:
                raise OSError(f"store: {target} did not read back as written: {problem.reason}")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
        return target

    def write_meta(self, kind: str, key: str, meta: dict[str, Any]) -> None:
        directory = self.entry_dir(kind, key)
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".meta.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(meta, indent=1, sort_keys=True, default=str))
        os.replace(tmp, directory / "meta.json")

    # -- reading ----------------------------------------------------------------------------
    def shards(self, kind: str, key: str) -> set[str]:
        """Names of the entry's shards that verify (a damaged one is absent, so it is redone)."""
        report, _ = self._scan(kind, key, keep_tables=False)
        self._note(report.problems)
        return set(report.good)

    def read_meta(self, kind: str, key: str) -> dict[str, Any] | None:
        """The entry's meta.json (None if missing, or if damaged: then it is also reported)."""
        meta, problem = self._load_meta(kind, key)
        if problem is not None:
            self._note([problem])
        return meta

    def verified_shards(self, kind: str, key: str) -> dict[str, pa.Table]:
        """The entry's shards that verify, by name, read once (damaged ones are reported)."""
        report, tables = self._scan(kind, key, keep_tables=True)
        self._note(report.problems)
        return {name: tables[name] for name in report.good}

    def read(self, kind: str, key: str, sort_by: str | None = None) -> pa.Table | None:
        """The entry's shards that verify, as one table (None if none is stored).

        Damaged shards are left out and reported (see :attr:`problems`).
        """
        tables = self.verified_shards(kind, key)
        if not tables:
            return None
        table = pa.concat_tables(list(tables.values()), promote_options="default")
        if sort_by is not None:
            table = table.sort_by(sort_by)
        return table

    def kinds(self) -> list[str]:
        """The kinds stored (the quarantine is not one)."""
        return sorted(
            p.name
            for p in self.root.iterdir()
            if p.is_dir() and _is_name(p.name) and p.name != QUARANTINE
        )

    def keys(self, kind: str) -> list[str]:
        directory = self.root / _check_name("kind", kind)
        if not directory.is_dir():
            return []
        return sorted(p.name for p in directory.iterdir() if p.is_dir() and _is_name(p.name))

    def entries(self, kind: str) -> Iterable[tuple[str, dict[str, Any]]]:
        """(key, meta) of every entry of a kind with a readable meta.json (others are reported)."""
        for key in self.keys(kind):
            meta = self.read_meta(kind, key)
            if meta is not None:
                yield key, meta

    def delete(self, kind: str, key: str) -> None:
        shutil.rmtree(self.entry_dir(kind, key), ignore_errors=True)

    # -- verifying --------------------------------------------------------------------------
    def verify_entry(self, kind: str, key: str) -> EntryReport:
        """Check every shard and the meta.json of one entry (reports; logs nothing)."""
        report, _ = self._scan(kind, key, keep_tables=False)
        _, meta_problem = self._load_meta(kind, key)
        if meta_problem is None:
            return report
        return EntryReport(kind, key, report.good, report.checked, (*report.problems, meta_problem))

    def verify(self) -> list[EntryReport]:
        """:meth:`verify_entry` for every entry of every kind."""
        return [self.verify_entry(k, key) for k in self.kinds() for key in self.keys(k)]

    def repair(self, report: EntryReport, delete: bool = False) -> list[tuple[Path, Path | None]]:
        """Move each damaged file of ``report`` into the quarantine (or delete it).

        Returns (path, where it went; None when deleted). The next run that needs the entry
        recomputes what went (a missing meta.json is rewritten by the next run too).
        """
        done: list[tuple[Path, Path | None]] = []
        for problem in report.problems:
            path = problem.path
            if not path.exists():
                continue
            if delete:
                path.unlink()
                done.append((path, None))
            else:
                done.append((path, self._quarantine(path)))
        return done

    def _quarantine(self, path: Path) -> Path:
        dest = self.root / QUARANTINE / path.relative_to(self.root)
        n = 0
        while dest.exists():  # never overwrite what an earlier repair moved aside
            n += 1
            dest = dest.with_name(f"{path.name}.{n}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        return dest

    def _note(self, problems: Iterable[Problem]) -> None:
        """Record and log each problem once per store object."""
        for problem in problems:
            if problem not in self.problems:
                self.problems.append(problem)
                log.warning("store: ignoring %s", problem)

    def _load_meta(self, kind: str, key: str) -> tuple[dict[str, Any] | None, Problem | None]:
        path = self.entry_dir(kind, key) / "meta.json"
        if not path.is_file():
            return None, None
        try:
            meta = json.loads(path.read_bytes())
        except (OSError, ValueError, RecursionError) as e:
            return None, Problem(path, f"not valid JSON ({_first_line(e)})")
        if not isinstance(meta, dict):
            return None, Problem(path, f"not a JSON object (a {type(meta).__name__})")
        return meta, None

    def _scan(
        self, kind: str, key: str, keep_tables: bool
    ) -> tuple[EntryReport, dict[str, pa.Table]]:
        """Verify every shard of an entry; the tables that verify when ``keep_tables``."""
        directory = self.entry_dir(kind, key)
        files = sorted(p for p in directory.glob("*.parquet") if p.is_file())
        problems: list[Problem] = []
        tables: dict[str, pa.Table] = {}
        ids: dict[str, pa.Array] = {}
        stamped: set[str] = set()
        good: list[str] = []
        for path in files:
            name = path.stem
            if not _is_name(name):
                problems.append(Problem(path, "not a shard name (letters, digits and _.:=+-)"))
                continue
            table, problem, has_record = _load_shard(path, kind, key, name)
            if problem is not None or table is None:
                problems.append(problem or Problem(path, "unreadable"))
                continue
            good.append(name)
            if has_record:
                stamped.add(name)
            if UNIQUE_COLUMN in table.column_names:
                ids[name] = pc.drop_null(table.column(UNIQUE_COLUMN)).combine_chunks()
            if keep_tables:
                tables[name] = table
        for name, reason in _duplicates(ids, stamped).items():
            good.remove(name)
            problems.append(Problem(directory / f"{name}.parquet", reason))
        report = EntryReport(kind, key, tuple(good), len(files), tuple(problems))
        return report, tables

    # -- querying ---------------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per kind over all its shards that verify.

        Each view has the shard columns plus ``entry_key`` (the directory key), so results can
        be joined with ``meta.json`` fields read via :meth:`entries`.
        """
        con = duckdb.connect()
        for kind in self.kinds():
            files: list[Path] = []
            for key in self.keys(kind):
                report, _ = self._scan(kind, key, keep_tables=False)
                self._note(report.problems)
                files += [self.entry_dir(kind, key) / f"{n}.parquet" for n in report.good]
            if not files:
                continue
            listed = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(
                f'CREATE VIEW "{kind}" AS SELECT *, '
                "split_part(filename, '/', -2) AS entry_key "
                f"FROM read_parquet([{listed}], union_by_name=true, filename=true)"
            )
        return con

    def query(self, sql: str, params: list[Any] | None = None) -> pa.Table:
        with self.connect() as con:
            return con.sql(sql, params=params or None).to_arrow_table()


def _load_shard(
    path: Path, kind: str, key: str, shard: str
) -> tuple[pa.Table | None, Problem | None, bool]:
    """Read one shard and check it against the place it was written for.

    Returns the table (None if not trusted), the problem, and whether the shard carried an
    integrity record (False: written before there were records).
    """
    try:
        with pq.ParquetFile(path) as f:
            table = f.read()
    except Exception as e:  # a damaged file can fail in any layer of the reader
        return None, Problem(path, f"unreadable ({_first_line(e)})"), False
    stamped = RECORD_KEY in (table.schema.metadata or {})
    clean, reason = check_stamp(table, kind, key, shard)
    if reason is not None:
        return None, Problem(path, reason), stamped
    return clean, None, stamped


def _duplicates(ids: dict[str, pa.Array], stamped: set[str]) -> dict[str, str]:
    """Shards to distrust because a ``request_index`` repeats, and why.

    A shard is distrusted when it repeats a value within itself, or shares one with another
    shard, except that a shard whose integrity record verified (so it is this unit's own file)
    yields only to another such shard: next to an old shard without a record, the old one goes.
    """
    if not ids:
        return {}
    names = list(ids)
    values = np.concatenate([ids[n].to_numpy(zero_copy_only=False) for n in names])
    owner = np.repeat(np.arange(len(names)), [len(ids[n]) for n in names])
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    repeated = counts[inverse] > 1
    holders: dict[Any, list[int]] = {}
    for value, i in zip(values[repeated].tolist(), owner[repeated].tolist(), strict=True):
        holders.setdefault(value, []).append(i)
    blamed: dict[int, tuple[list[Any], set[int]]] = {}
    for value, shards in holders.items():
        for i in set(shards):
            others = set(shards) - {i}
            within = shards.count(i) > 1
            trusted = names[i] in stamped
            if within or any(not trusted or names[j] in stamped for j in others):
                vals, where = blamed.setdefault(i, ([], set()))
                vals.append(value)
                where |= others
    out: dict[str, str] = {}
    for i, (vals, where) in sorted(blamed.items()):
        vals = sorted(vals)
        shown = ", ".join(str(v) for v in vals[:5]) + (", ..." if len(vals) > 5 else "")
        also = ", ".join(sorted(f"{names[j]}.parquet" for j in where))
        out[names[i]] = f"duplicate {UNIQUE_COLUMN} {shown} (" + (
            f"also in {also})" if also else "repeated within this shard)"
        )
    return out
