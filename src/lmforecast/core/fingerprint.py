"""Content fingerprints: the keys under which results are stored and reused.

A result is reused only when the model, tokenizer, requests and configuration that produced it
all hash the same. File hashes are cached by (path, size, mtime) so a 500 MB checkpoint is read
once, not on every run.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lmforecast.core.paths import data_home

_LOCK = threading.Lock()
_CHUNK = 1 << 22


def hash_json(obj: Any, length: int = 16) -> str:
    """Stable hash of a JSON-able object (keys sorted).

    >>> hash_json({"b": 1, "a": [1, 2]}) == hash_json({"a": [1, 2], "b": 1})
    True
    """
    data = json.dumps(obj, sort_keys=True, separators=(",", ":"), default=str).encode()
    return hashlib.sha256(data).hexdigest()[:length]


def _cache_path() -> Path:
    return data_home() / "file-hashes.json"


def hash_file(path: str | Path) -> str:
    """sha256 of a file's bytes, cached by (resolved path, size, mtime_ns)."""
    path = Path(path).resolve()
    st = path.stat()
    key = f"{path}|{st.st_size}|{st.st_mtime_ns}"
    with _LOCK:
        cache_file = _cache_path()
        try:
            cache = json.loads(cache_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            cache = {}
        if key in cache:
            return str(cache[key])
        h = hashlib.sha256()
        with path.open("rb") as f:
            while block := f.read(_CHUNK):
                h.update(block)
        digest = h.hexdigest()
        cache[key] = digest
        tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, cache_file)
        return digest


def hash_files(paths: Iterable[str | Path], length: int = 16) -> str:
    """Combined hash of several files, independent of their order."""
    parts = sorted(f"{Path(p).name}:{hash_file(p)}" for p in paths)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:length]
