"""The results store: Parquet shards keyed by fingerprints, queried with DuckDB."""

from lmforecast.store.integrity import EntryReport, Problem
from lmforecast.store.parquet_store import Store, default_root

__all__ = ["EntryReport", "Problem", "Store", "default_root"]
