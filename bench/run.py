"""``make bench``: every benchmark, each writing JSON under bench/results/."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from common import write_result

BENCHMARKS = [
    "bench_engine",
    "bench_packing",
    "bench_generation",
    "bench_testbed",
    "bench_coverage",
    "bench_probes",
    "bench_bf16",
    "bench_ray",
    "bench_lm_eval",
]


def main() -> None:
    only = sys.argv[1:]
    for name in BENCHMARKS:
        if only and name not in only:
            continue
        module = importlib.import_module(name)
        print(f"== {name}", flush=True)
        result = module.run()
        path = write_result(name.removeprefix("bench_"), result)
        print(json.dumps(result, indent=1))
        print(f"wrote {path}", flush=True)


if __name__ == "__main__":
    main()
