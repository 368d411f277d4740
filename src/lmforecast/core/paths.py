"""Where lmforecast keeps what it computes: one data directory, overridable by LMFORECAST_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def data_home() -> Path:
    """Root of the store, the model cache and the testbed (default ``~/.cache/lmforecast``)."""
    root = os.environ.get("LMFORECAST_HOME")
    path = Path(root) if root else Path.home() / ".cache" / "lmforecast"
    path.mkdir(parents=True, exist_ok=True)
    return path
