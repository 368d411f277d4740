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

Units computed elsewhere (other processes, other machines) write their own shards;
:meth:`ShardedJob.run_elsewhere` hands the missing units out and reads every shard back:

>>> def elsewhere(missing):
...     for u in missing:
...         store.write_shard("demo", "k", f"u{u}", square(u))
...         yield u
>>> more = ShardedJob(store, "demo", "k").run_elsewhere([1, 2, 3, 4], lambda u: f"u{u}", elsewhere)
>>> more.reused, more.computed, more.table().column("x").to_pylist()
(3, 1, [1, 4, 9, 16])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
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

    def run_elsewhere(
        self,
        units: Sequence[U],
        unit_id: Callable[[U], str],
        compute_missing: Callable[[list[U]], Iterable[U]],
        on_reused: Callable[[U, pa.Table], None] | None = None,
    ) -> ShardedRun:
        """Hand the missing units to ``compute_missing`` (it yields each unit once its shard is
        written, by whoever ran it), then read every unit's shard back from the store.

        A unit whose shard is not in the store afterwards is an error naming the store root:
        a unit that ran where the store is not the driver's wrote it somewhere else.
        """
        if self.store is None:
            raise ValueError("units computed elsewhere need a store to write to")
        missing = [u for u in units if unit_id(u) not in self._tables]
        for unit in units:
            if on_reused is not None and unit_id(unit) in self._tables:
                on_reused(unit, self._tables[unit_id(unit)])
        done = {unit_id(u) for u in compute_missing(missing)}
        stored = self.store.verified_shards(self.kind, self.key)
        lost = [unit_id(u) for u in missing if unit_id(u) not in stored or unit_id(u) not in done]
        if lost:
            raise RuntimeError(
                f"{len(lost)} unit(s) of {self.kind}/{self.key} (e.g. {lost[0]}) finished but "
                f"their shards are not in the store at {self.store.root}: do all nodes share it?"
            )
        self._tables = stored
        tables = tuple(stored[unit_id(u)] for u in units)
        return ShardedRun(tables, len(units) - len(missing), len(missing))
