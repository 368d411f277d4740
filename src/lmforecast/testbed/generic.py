"""Generic (non-reasoning) text: docstrings of the standard library and of pinned packages.

The Python environment ships tens of MB of English prose about software in its docstrings: real,
varied, human-written text that needs no network. A fixed-size pool is taken from it
deterministically (sources in a fixed order, files in sorted order, docstrings deduplicated),
split into a training part and a held-out part by a hash of each docstring, and cached under the
data directory.

The sources are named (:data:`SOURCES`): the standard library, then runtime packages pinned in
``requirements.txt``. Walking all of site-packages made the population depend on whatever else
was installed: adding a test tool changed every model of the testbed. The pool's content hash
still enters the testbed fingerprint, so a different Python or a different pin gives a different
population id rather than silently different models.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
from functools import lru_cache
from pathlib import Path

from lmforecast.core.paths import data_home

POOL_CHARS = 12_000_000  # enough that the most generic-heavy full-preset recipe never repeats
_DOCSTRING = re.compile(r'"""(.*?)"""', re.S)
_MIN_CHARS = 200
_HELDOUT_MOD = 40  # 1 docstring in 40 is held out


SOURCES = ("stdlib", "numpy", "scipy", "pandas", "sklearn")
"""Where the pool comes from, in order (about 14 MB of docstrings; the pool takes 12)."""


def _roots() -> list[Path]:
    roots = []
    for source in SOURCES:
        if source == "stdlib":
            roots.append(Path(os.__file__).parent)
            continue
        spec = importlib.util.find_spec(source)
        if spec is not None and spec.submodule_search_locations:
            roots.append(Path(next(iter(spec.submodule_search_locations))))
    return [r for r in roots if r.is_dir()]


def _clean(text: str) -> str:
    lines = [ln.strip() for ln in text.strip().splitlines()]
    out = "\n".join(ln for ln in lines)
    return re.sub(r"\n{3,}", "\n\n", out)


def _collect(limit: int) -> list[str]:
    seen: set[str] = set()
    docs: list[str] = []
    total = 0
    for root in _roots():
        for dirpath, dirnames, filenames in os.walk(root):
            # The standard library's folder holds the base interpreter's site-packages: skip it.
            dirnames[:] = sorted(d for d in dirnames if d != "site-packages")
            for name in sorted(filenames):
                if not name.endswith(".py"):
                    continue
                try:
                    source = (Path(dirpath) / name).read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    continue
                for m in _DOCSTRING.finditer(source):
                    doc = _clean(m.group(1))
                    if len(doc) < _MIN_CHARS or not doc.isascii() or doc in seen:
                        continue
                    seen.add(doc)
                    docs.append(doc)
                    total += len(doc)
                    if total >= limit:
                        return docs
    return docs


def _is_heldout(doc: str) -> bool:
    return int(hashlib.sha256(doc.encode()).hexdigest()[:8], 16) % _HELDOUT_MOD == 0


@lru_cache(maxsize=4)
def pool(limit: int = POOL_CHARS) -> tuple[tuple[str, ...], tuple[str, ...], str]:
    """(train docs, held-out docs, content hash), cached on disk after the first call."""
    tag = f"py{sys.version_info.major}{sys.version_info.minor}-{'+'.join(SOURCES)}-{limit}"
    cache = data_home() / "testbed" / f"generic-{tag}.json"
    if cache.is_file():
        data = json.loads(cache.read_text())
    else:
        docs = _collect(limit)
        digest = hashlib.sha256("\x00".join(docs).encode()).hexdigest()[:16]
        data = {
            "train": [d for d in docs if not _is_heldout(d)],
            "heldout": [d for d in docs if _is_heldout(d)],
            "hash": digest,
        }
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, cache)
    return tuple(data["train"]), tuple(data["heldout"]), str(data["hash"])


def heldout_chunks(n: int = 200, chars: int = 400) -> list[str]:
    """Held-out generic passages of at most ``chars`` characters (cut at a line end)."""
    _, held, _ = pool()
    out: list[str] = []
    for doc in held:
        text = doc[:chars]
        if len(doc) > chars and "\n" in text:
            text = text[: text.rindex("\n")]
        if len(text) >= 100:
            out.append(text)
        if len(out) == n:
            break
    return out
