"""bfloat16 is a labelled approximation: its own store keys, its dtype in every result, and
log-probabilities within a sane distance of float64 (float32 much closer).

Reference values come from a plain float64 forward pass of the same checkpoint (no engine).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from rich.console import Console
from tiny_models import TEXT

from lmforecast.cli import main
from lmforecast.cli.app import console, err_console
from lmforecast.core.errors import UserError
from lmforecast.core.records import Request, Task
from lmforecast.engine import ScoreConfig, ScoringEngine, encode_requests
from lmforecast.experiments.patel import PatelConfig, PatelResult
from lmforecast.experiments.patel.scoring import score_model
from lmforecast.models import load_model
from lmforecast.models.hf import directory_fingerprint
from lmforecast.report.patel import patel_renderables
from lmforecast.signals import scored
from lmforecast.store import Store


def _requests() -> tuple[Request, ...]:
    """Each text split after its first quarter: long continuations, where rounding adds up."""
    out = []
    for i, text in enumerate(TEXT * 2):
        cut = len(text) // 4 + 3 * (i // len(TEXT))
        out.append(Request(i, str(i), text[:cut], text[cut:]))
    return tuple(out)


def _task() -> Task:
    reqs = _requests()
    return Task("bf16-test", "gold", "tiny texts", (), reqs, source="tests/test_bf16.py")


def _float64_reference(path: Path) -> np.ndarray:
    """Sum of log p(continuation) per request from one float64 forward pass each."""
    model = load_model(str(path), dtype="float32")
    module = model.module.double()
    values = []
    for enc in encode_requests(model, _requests()):
        with torch.inference_mode():
            logits = module(torch.tensor([list(enc.input_ids)])).logits[0]
        logp = torch.log_softmax(logits[enc.score_start :].double(), -1)
        t = torch.tensor(enc.targets)
        values.append(float(logp[torch.arange(len(t)), t].sum()))
    return np.array(values)


def _engine_sums(path: Path, dtype: str) -> np.ndarray:
    model = load_model(str(path), dtype=dtype)
    scores = ScoringEngine(model, ScoreConfig(batch_size=4)).score(_requests())
    return np.array([s.logprob_sum for s in scores])


def test_bf16_logprobs_near_float64_and_fp32_closer(tiny_llama_dir: Path) -> None:
    """bf16 keeps 8 significant bits (relative rounding 2^-9 per value), so a token's log-prob,
    a difference of logits of order 10, may be off by about 0.01 nats: 0.02 nats per token is
    a sane bound. fp32 stays within the engine's 1e-4 nats per request, and far closer."""
    model = load_model(str(tiny_llama_dir))
    tokens = np.array([len(e.targets) for e in encode_requests(model, _requests())])
    reference = _float64_reference(tiny_llama_dir)
    fp32 = np.abs(_engine_sums(tiny_llama_dir, "float32") - reference)
    bf16 = np.abs(_engine_sums(tiny_llama_dir, "bfloat16") - reference)
    assert fp32.max() < 1e-4
    assert (bf16 / tokens).max() < 0.02
    assert bf16.max() > 1e-3  # the weights really were bfloat16 (not a float32 pass again)
    assert fp32.max() * 100 < bf16.max()


def test_store_keys_and_meta_say_the_dtype(tiny_llama_dir: Path, lmf_home: Path) -> None:
    """The same checkpoint in float32 and bfloat16: two store entries, neither reused for the
    other; float32 keeps the plain directory hash, so results stored before stay found."""
    store = Store()
    task = _task()
    fp32_model = load_model(str(tiny_llama_dir), dtype="float32")
    bf16_model = load_model(str(tiny_llama_dir), dtype="bfloat16")
    assert fp32_model.fingerprint == directory_fingerprint(tiny_llama_dir)
    assert bf16_model.fingerprint == f"{fp32_model.fingerprint}-bfloat16"
    assert (fp32_model.dtype_name, bf16_model.dtype_name) == ("float32", "bfloat16")

    fp32 = scored.score_task(fp32_model, task, ScoreConfig(batch_size=4), store)
    bf16 = scored.score_task(bf16_model, task, ScoreConfig(batch_size=4), store)
    assert fp32.key != bf16.key
    assert bf16.computed_units == bf16.total_units > 0  # nothing of float32's was reused
    a = np.array(fp32.table.column("logprob").to_pylist())
    b = np.array(bf16.table.column("logprob").to_pylist())
    assert np.abs(a - b).max() > 1e-3

    meta = store.read_meta(scored.KIND, bf16.key)
    assert meta is not None
    assert meta["model_fingerprint"].endswith("-bfloat16")
    assert "cast to bfloat16" in meta["model_source"]
    fp32_meta = store.read_meta(scored.KIND, fp32.key)
    assert fp32_meta is not None and "bfloat16" not in json.dumps(fp32_meta)
    # Loading again in bf16 finds its own entry: reuse works within one dtype.
    again = scored.score_task(
        load_model(str(tiny_llama_dir), dtype="bfloat16"), task, ScoreConfig(), store
    )
    assert again.key == bf16.key and again.computed_units == 0


def test_patel_scoring_stores_under_the_configured_dtype(
    tiny_llama_dir: Path, lmf_home: Path
) -> None:
    """The experiment's own scoring worker: every entry it writes says bfloat16."""
    store = Store()
    config = PatelConfig(dtype="bfloat16", docs_per_task=3, batch_size=8)
    rows = score_model("m", str(tiny_llama_dir), ["arith"], config, store.root)
    assert len(rows) == 1 and np.isfinite(rows[0]["xent@uniform"])
    metas = [json.loads(p.read_text()) for p in (store.root / scored.KIND).glob("*/meta.json")]
    assert len(metas) == 2  # the gold solutions and the multiple-choice baseline
    for meta in metas:
        assert meta["model_fingerprint"] == directory_fingerprint(tiny_llama_dir) + "-bfloat16"


def _render(items: list) -> str:  # type: ignore[type-arg]
    out = Console(width=100, record=True, file=io.StringIO())
    for item in items:
        out.print(item)
    return out.export_text()


def test_patel_result_dtype_round_trip_and_header() -> None:
    config = PatelConfig(dtype="bfloat16")
    assert config.approximate and not PatelConfig().approximate
    result = PatelResult.from_dict({"experiment": "patel", "config": {"dtype": "bfloat16"}})
    back = PatelResult.from_dict(json.loads(json.dumps(result.to_dict())))
    assert back.dtype == "bfloat16" and back.to_dict()["config"]["dtype"] == "bfloat16"
    assert PatelResult.from_dict({"experiment": "patel"}).dtype == "float32"  # older results

    text = _render(patel_renderables(back.to_dict()))
    assert text.startswith("dtype: bfloat16 (approximate")
    assert "dtype:" not in _render(patel_renderables({"config": {"dtype": "float32"}}))
    with pytest.raises(UserError, match="dtype 'fp8'"):
        PatelConfig(dtype="fp8")


def test_experiment_dtype_bad_value_is_one_line(monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    """Checked before the testbed is looked for: --no-build on a missing home would fail later."""
    monkeypatch.setenv("LMFORECAST_HOME", "/nonexistent/lmforecast-home")
    monkeypatch.setattr(err_console, "width", 300)
    monkeypatch.setattr(console, "width", 300)
    with pytest.raises(SystemExit) as e:
        main(["experiment", "patel", "--preset", "ci", "--no-build", "--dtype", "fp8"])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2, err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "--dtype 'fp8': expected float32, bfloat16, float16" in err
