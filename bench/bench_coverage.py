"""Benchmark: do setting (a)'s intervals cover what a rebuilt population gives?

The ``ci`` testbed is built from K seeds (``BENCH_COVERAGE_SEEDS``, default 3; each build takes
minutes) and Patel's experiment runs on each (``docs_per_task=48``, as the golden). For every
named signal of setting (a), each seed's 95% interval is checked against the *other* seeds'
point estimates: a rebuilt population is what a reader of the interval should expect to see.
Example-only intervals (the old ones) and two-way intervals (models and examples, what the
experiment now reports) are measured side by side, with their mean widths.

Reading the shares: even perfectly calibrated 95% intervals contain another independent
estimate of the same quantity less often than 95%, because that estimate has its own noise; with
equal variances the expected share is P(|Z| < 1.96 / sqrt 2) = 0.83 (``REFERENCE_SHARE``).
With K seeds there are K (K - 1) checks per signal, so a share rests on few checks: read it with
its counts.

Writes ``bench/results/coverage.json``. Run: ``.venv/bin/python bench/bench_coverage.py [K]``
(``LMFORECAST_HOME`` chooses where the populations are built).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from scipy.stats import norm

REFERENCE_SHARE = float(2 * norm.cdf(norm.ppf(0.975) / math.sqrt(2)) - 1)
MODES = {"examples": "examples", "two_way": "both"}

Intervals = Mapping[int, Mapping[str, tuple[float, float]]]
Points = Mapping[int, Mapping[str, float]]


def cross_seed_coverage(intervals: Intervals, points: Points) -> dict[str, Any]:
    """Share of other seeds' point estimates inside each seed's interval, overall and per signal.

    ``intervals[seed][signal]`` is ``(low, high)``; ``points[seed][signal]`` the estimate. Only
    pairs of distinct seeds count, and a ``nan`` bound or point is left out (and counted).

    >>> c = cross_seed_coverage({0: {"s": (0.0, 1.0)}, 1: {"s": (0.4, 0.5)}}, {0: {"s": 0.45},
    ...                         1: {"s": 0.8}})
    >>> c["inside"], c["checks"], c["share"]  # 0.8 in [0, 1]; 0.45 in [0.4, 0.5]
    (2, 2, 1.0)
    """
    per_signal: dict[str, list[int]] = {}
    skipped = 0
    widths: list[float] = []
    for seed, by_signal in intervals.items():
        for signal, (lo, hi) in by_signal.items():
            if math.isfinite(lo) and math.isfinite(hi):
                widths.append(hi - lo)
            for other, other_points in points.items():
                value = other_points.get(signal, math.nan)
                if other == seed:
                    continue
                if not all(math.isfinite(v) for v in (lo, hi, value)):
                    skipped += 1
                    continue
                counts = per_signal.setdefault(signal, [0, 0])
                counts[0] += int(lo <= value <= hi)
                counts[1] += 1
    inside = sum(c[0] for c in per_signal.values())
    checks = sum(c[1] for c in per_signal.values())
    return {
        "inside": inside,
        "checks": checks,
        "share": inside / checks if checks else math.nan,
        "skipped_nan": skipped,
        "mean_width": sum(widths) / len(widths) if widths else math.nan,
        "per_signal": {
            s: {"inside": c[0], "checks": c[1], "share": c[0] / c[1]} for s, c in per_signal.items()
        },
    }


def _seed_tables(seed: int) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Setting (a)'s single-signal table of one seed's population for each resampling, and
    how long the build and the experiment took."""
    from lmforecast.experiments.patel import PatelConfig, run_patel
    from lmforecast.experiments.patel.population import load_population, problem_tasks
    from lmforecast.experiments.patel.scoring import score_population
    from lmforecast.experiments.patel.selection import selection_bootstrap
    from lmforecast.store import Store
    from lmforecast.testbed import build

    start = time.perf_counter()
    build("ci", seed)
    built = time.perf_counter()
    config = PatelConfig(preset="ci", seed=seed, docs_per_task=48, workers=2)
    result = run_patel(config)  # scores the population into the store; reports two-way CIs
    ran = time.perf_counter()
    manifest = load_population("ci", seed)
    proxies = score_population(manifest, config, Store())  # read back from the store
    families = problem_tasks(manifest)
    tables = {
        mode: selection_bootstrap(manifest, proxies, families, config, resample=resample)
        for mode, resample in MODES.items()
    }
    meta = {
        "build_s": round(built - start),
        "experiment_s": round(ran - built),
        # The two-way table recomputed here must be the one the experiment reported.
        "two_way_matches_experiment": bool(tables["two_way"].equals(result.selection_bootstrap)),
    }
    print(f"seed {seed}: {meta}", file=sys.stderr, flush=True)
    return tables, meta


def run(seeds: int | None = None) -> dict[str, Any]:
    """Build, run and measure; the JSON that ``bench/results/coverage.json`` holds."""
    k = seeds or int(os.environ.get("BENCH_COVERAGE_SEEDS", 3))
    if k < 2:
        raise ValueError(f"coverage across seeds needs at least 2 seeds, got {k}")
    start = time.perf_counter()
    runs = {seed: _seed_tables(seed) for seed in range(k)}
    tables = {seed: t for seed, (t, _) in runs.items()}
    points = {
        s: dict(zip(t["two_way"]["signal"], t["two_way"]["spearman"], strict=True))
        for s, t in tables.items()
    }
    coverage = {}
    for mode in MODES:
        intervals = {
            s: {
                row.signal: (float(row.ci_low), float(row.ci_high))
                for row in t[mode].itertuples(index=False)
            }
            for s, t in tables.items()
        }
        coverage[mode] = cross_seed_coverage(intervals, points)
    return {
        "preset": "ci",
        "seeds": list(range(k)),
        "docs_per_task": 48,
        "setting": "(a) single signals: Spearman vs accuracy across the final base models",
        "reference_share": REFERENCE_SHARE,
        "coverage": coverage,
        "per_seed": {
            str(s): {**meta, **{mode: t[mode].to_dict("records") for mode in MODES}}
            for s, (t, meta) in runs.items()
        },
        "seconds": round(time.perf_counter() - start),
    }


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    from common import write_result

    out = run(int(sys.argv[1]) if len(sys.argv) > 1 else None)
    print(json.dumps(out["coverage"], indent=1))
    print(f"wrote {write_result('coverage', out)}")
