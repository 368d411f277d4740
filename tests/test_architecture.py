"""The house rules: layers, sizes, and what adding a signal costs.

import-linter checks the layers of DESIGN.md in ``make lint``; these tests check what it cannot:
what a fresh interpreter actually loads, how large modules and functions grow, and that a new
signal is one new file and nothing else.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "lmforecast"
MAX_FILE_LINES = 400
MAX_FUNCTION_LINES = 80


def _fresh_modules(statement: str) -> list[str]:
    code = f"{statement}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return [m for m in json.loads(out.strip().splitlines()[-1]) if m.startswith("lmforecast")]


def test_engine_imports_nothing_above_it() -> None:
    """Backends and the engine know nothing of the testbed, truth, experiments or the CLI."""
    loaded = _fresh_modules("import lmforecast.engine")
    above = ("testbed", "truth", "experiments", "cli", "signals", "report", "api")
    bad = [m for m in loaded if m.split(".")[1:2] and m.split(".")[1] in above]
    assert bad == [], bad
    assert len(loaded) < 30, loaded


def test_tasks_do_not_import_the_testbed_until_asked() -> None:
    """The testbed's tasks are a plug-in: loaded on the first lookup the built-ins cannot serve."""
    assert not any(".testbed" in m for m in _fresh_modules("import lmforecast.tasks"))
    after = _fresh_modules(
        "from lmforecast.tasks import get_task; get_task('testbed-arith:gold', 2)"
    )
    assert "lmforecast.testbed.tasks" in after


def _python_files() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_no_module_over_400_lines() -> None:
    long = {
        str(p.relative_to(SRC)): n
        for p in _python_files()
        if (n := len(p.read_text().splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_no_function_over_80_lines() -> None:
    long = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                start = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                if node.end_lineno is not None and node.end_lineno - start + 1 > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(SRC)}:{node.name}"] = node.end_lineno - start + 1
    assert long == {}


TOY = '''\
"""A toy signal for tests/test_architecture.py (written and removed by the test)."""

import numpy as np

from lmforecast.signals.base import TaskScores, signal


@signal("toy_last_token_xent", higher_is_better=False, description="-log p of the last token")
def toy_last_token_xent(scores: TaskScores) -> np.ndarray:
    return np.array([-r.logprob[-1] for r in scores.records])
'''


@pytest.fixture()
def toy_signal_file() -> Path:
    """The toy signal as one new module of the signals package, removed afterwards."""
    path = SRC / "signals" / "toy_last_token_signal.py"
    path.write_text(TOY)
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
        for cached in (SRC / "signals" / "__pycache__").glob("toy_last_token_signal.*"):
            cached.unlink(missing_ok=True)


def test_a_new_signal_is_one_file(
    toy_signal_file: Path, ci_build: tuple[Path, pd.DataFrame]
) -> None:
    """Drop one module into signals/: `lmforecast signals` lists it and Patel's table of every
    signal against accuracy ranks it, with no other file touched."""
    home, _ = ci_build
    env = {**os.environ, "COLUMNS": "250", "LMFORECAST_HOME": str(home)}
    listed = subprocess.run(
        [sys.executable, "-m", "lmforecast", "signals"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert "toy_last_token_xent" in listed and "top5@freq" in listed
    script = textwrap.dedent(
        """
        import json
        from lmforecast.experiments.patel import PatelConfig, run_patel
        r = run_patel(PatelConfig(preset="ci", docs_per_task=4, n_boot=20, workers=1))
        row = r.signals.set_index("signal").loc["toy_last_token_xent"]
        print(json.dumps({
            "listed": r.signals["signal"].tolist(),
            "spearman": float(row["spearman"]),
            "column": bool(r.proxies["toy_last_token_xent"].notna().all()),
        }))
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    ).stdout
    got = json.loads(out.strip().splitlines()[-1])
    assert "toy_last_token_xent" in got["listed"] and "top5@freq" in got["listed"]
    assert got["column"] and -1.0 <= got["spearman"] <= 1.0
