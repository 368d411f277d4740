"""Helpers shared by the benchmarks: peak memory of a worker subprocess, matmul peak, JSON out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

RESULTS = Path(__file__).parent / "results"


def matmul_peak_gflops(dtype: str = "float32", n: int = 2048, seconds: float = 3.0) -> float:
    """Best sustained GFLOP/s of a square matmul on this machine, measured now."""
    import torch

    dt = getattr(torch, dtype)
    a, b = torch.randn(n, n, dtype=dt), torch.randn(n, n, dtype=dt)
    torch.matmul(a, b)
    best = 0.0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t = time.perf_counter()
        for _ in range(4):
            torch.matmul(a, b)
        best = max(best, 4 * 2 * n**3 / (time.perf_counter() - t) / 1e9)
    return best


def run_worker(args: list[str], cap_gib: float, timeout_s: float = 3600) -> dict[str, Any]:
    """Run ``python <bench script> --worker ...`` and return its JSON plus peak RSS (GiB).

    RSS is polled every 20 ms over the worker and its children; a worker over ``cap_gib`` is
    killed (the machine has 24 GiB) and reported as such, so an out-of-memory reference does
    not take the benchmark down with it.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    peak = 0
    killed = False
    ps = psutil.Process(proc.pid)

    def poll() -> None:
        nonlocal peak, killed
        while proc.poll() is None:
            try:
                rss = ps.memory_info().rss + sum(
                    c.memory_info().rss for c in ps.children(recursive=True)
                )
            except psutil.Error:
                break
            peak = max(peak, rss)
            if rss > cap_gib * 2**30:
                killed = True
                proc.kill()
                break
            time.sleep(0.02)

    watcher = threading.Thread(target=poll, daemon=True)
    watcher.start()
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    watcher.join()
    result: dict[str, Any] = {"peak_rss_gib": peak / 2**30, "killed_at_cap": killed}
    if killed:
        result["cap_gib"] = cap_gib
        return result
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} failed ({proc.returncode}): {err[-2000:]}")
    result.update(json.loads(lines[-1]))
    return result


def cpuinfo() -> dict[str, str]:
    """``/proc/cpuinfo``'s fields for the first CPU (empty where there is no such file)."""
    found: dict[str, str] = {}
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return found
    for line in lines:
        key, _, value = line.partition(":")
        found.setdefault(key.strip(), value.strip())
    return found


def cpu_identity() -> dict[str, str]:
    """Which CPU measured a result: figures (and float32's last bits, through MKL's code paths)
    differ between vendors and models reporting the same capability."""
    info = cpuinfo()
    fields = {"vendor_id": "cpu_vendor", "model name": "cpu_model"}
    return {name: info[key] for key, name in fields.items() if key in info}


def write_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    data = {
        "benchmark": name,
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "machine": {
            "cpus": os.cpu_count(),
            "memory_gib": psutil.virtual_memory().total / 2**30,
            **cpu_identity(),
        },
        **data,
    }
    path.write_text(json.dumps(data, indent=1))
    return path
