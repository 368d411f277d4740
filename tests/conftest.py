from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tiny_models import build_gemma3, build_llama


def write_task_file(path: Path, n: int) -> Path:
    """A JSONL task of ``n`` one-line questions (``i plus one?`` -> ``i + 1``)."""
    rows = [
        {"context": f"Question: {i} plus one?\nAnswer:", "continuation": f" {i + 1}"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_llama(tmp_path_factory.mktemp("tiny-llama"))


@pytest.fixture(scope="session")
def tiny_gemma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_gemma3(tmp_path_factory.mktemp("tiny-gemma3"))


@pytest.fixture()
def lmf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An isolated data home (store, caches) for one test; real model caches stay shared."""
    home = tmp_path / "home"
    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def ci_build(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, pd.DataFrame]:
    """The ``ci`` preset, built once under a temporary data home (returned with its manifest)."""
    from lmforecast.testbed import build, load_manifest

    home = tmp_path_factory.mktemp("testbed-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMFORECAST_HOME", str(home))
        build("ci", seed=0)
        return home, load_manifest("ci", seed=0)
