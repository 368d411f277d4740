"""One resumable sharded job: units of work, each stored as one shard the moment it is done.

Scoring and ground truth both cut their work into units with stable names, and both must
survive being killed at any moment: a unit is written atomically as one shard of a store entry
when it finishes, and a rerun computes only the units whose shards are missing. The plan (the
list of units) must not depend on what is stored, so a resumed run equals an uninterrupted one.

>>> import pyarrow as pa, tempfile
>>> store = Store(tempfile.mkdtemp())
>>> square = lambda u: pa.table({"x": [u * u]})
>>> job = ShardedJob(store, "demo", "k")
>>> job.run([1, 2], lambda u: f"u{u}", square).computed
2
>>> again = ShardedJob(store, "demo", "k").run([1, 2, 3], lambda u: f"u{u}", square)
>>> again.reused, again.computed, again.table().column("x").to_pylist()
(2, 1, [1, 4, 9])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import pyarrow as pa

from lmforecast.store.parquet_store import Store

U = TypeVar("U")


@dataclass(frozen=True)
class ShardedRun:
    """The unit tables of a job, in unit order, and how many were reused or computed."""

    tables: tuple[pa.Table, ...]
    reused: int
    computed: int

    def table(self, sort_by: str | None = None) -> pa.Table:
        """All units as one table (schemas promoted as the store's reader does)."""
        table = pa.concat_tables(self.tables, promote_options="default")
        return table.sort_by(sort_by) if sort_by is not None else table


class ShardedJob(Generic[U]):
    """A store entry filled unit by unit; without a store every unit is computed, nothing kept."""

    def __init__(self, store: Store | None, kind: str, key: str) -> None:
        self.store = store
        self.kind = kind
        self.key = key
        # Read (and verified) once: a damaged or foreign shard is absent, so its unit is redone.
        self._tables = store.verified_shards(kind, key) if store is not None else {}

    def is_stored(self, unit_id: str) -> bool:
        return unit_id in self._tables

    def run(
        self,
        units: Sequence[U],
        unit_id: Callable[[U], str],
        compute: Callable[[U], pa.Table],
        on_reused: Callable[[U, pa.Table], None] | None = None,
    ) -> ShardedRun:
        """Read each stored unit (``on_reused`` sees it), compute and store the others."""
        tables: list[pa.Table] = []
        reused = computed = 0
        for unit in units:
            name = unit_id(unit)
            if name in self._tables:
                table = self._tables[name]
                reused += 1
                if on_reused is not None:
                    on_reused(unit, table)
            else:
                table = compute(unit)
                if self.store is not None:
                    self.store.write_shard(self.kind, self.key, name, table)
                computed += 1
            tables.append(table)
        return ShardedRun(tuple(tables), reused, computed)
