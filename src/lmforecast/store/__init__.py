"""The results store: Parquet shards keyed by fingerprints, queried with DuckDB."""

from lmforecast.store.jobs import ShardedJob, ShardedRun
from lmforecast.store.parquet_store import Store

__all__ = ["ShardedJob", "ShardedRun", "Store"]
