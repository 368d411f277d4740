"""The results store: Parquet shards keyed by fingerprints, verified on read, queried with
DuckDB; and one resumable sharded-job helper on top of it."""

from lmforecast.store.integrity import EntryReport, Problem
from lmforecast.store.jobs import ShardedJob, ShardedRun
from lmforecast.store.parquet_store import Store, default_root

__all__ = ["EntryReport", "Problem", "ShardedJob", "ShardedRun", "Store", "default_root"]
