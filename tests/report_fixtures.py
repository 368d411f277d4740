"""The committed results the report tests draw: written by the real experiments on the `ci`
testbed at demo size (``python tests/report_fixtures.py DIR`` after running them), gzipped.

patel / rbridge: ``docs_per_task=48`` (as ``make demo``); rude: also ``pairs_per_difficulty=40``;
probes: as ``make demo`` (40 problems per task, one run, two checkpoints, logreg), ``n_boot=50``.
Rerun the experiments and this script when the result format changes.
"""

from __future__ import annotations

import gzip
import json
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data" / "report"
NAMES = ("patel", "rbridge", "rude", "probes")


@lru_cache(maxsize=1)
def _load() -> tuple[tuple[str, dict[str, Any]], ...]:
    out = []
    for name in NAMES:
        path = DATA / f"{name}-ci.json.gz"
        out.append((path.name.removesuffix(".gz"), json.loads(gzip.decompress(path.read_bytes()))))
    return tuple(out)


def fixture_results() -> list[tuple[str, dict[str, Any]]]:
    """``(source, result dict)`` per experiment; fresh copies, safe to edit."""
    return [(s, json.loads(json.dumps(d))) for s, d in _load()]


def write_fixture_files(directory: Path) -> list[Path]:
    """The fixtures as plain JSON files, as ``experiment --output`` writes them."""
    paths = []
    for source, data in fixture_results():
        path = directory / source
        path.write_text(json.dumps(data))
        paths.append(path)
    return paths


if __name__ == "__main__":
    DATA.mkdir(parents=True, exist_ok=True)
    for name in NAMES:
        data = json.loads((Path(sys.argv[1]) / f"{name}-ci.json").read_text())
        packed = gzip.compress(json.dumps(data, separators=(",", ":")).encode(), mtime=0)
        (DATA / f"{name}-ci.json.gz").write_bytes(packed)
        print(name, len(packed))
