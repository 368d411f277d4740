"""Signals inside training loops: the live model scores as its saved checkpoint does, training
state is left as it was, the Trainer callback logs and stores, the testbed records at its
checkpoints without changing a weight."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from lmforecast.core.errors import UserError
from lmforecast.core.records import Request, Task
from lmforecast.engine import ScoreConfig
from lmforecast.integrations.training import (
    evaluate_in_training,
    load_training_signals,
)
from lmforecast.models import load_model
from lmforecast.signals import scored
from lmforecast.signals.base import TaskScores, compute_signals, get_signal
from lmforecast.store import Store

SIGNALS = ("xent@uniform", "top1@uniform", "top5@freq", "recip_rank@uniform", "bits_per_byte")
TEXT = "Question: {i} plus {j}?\nAnswer: {i} + {j} = {k}. So the answer is {k}."


def arithmetic_task(n: int = 6) -> Task:
    requests = tuple(
        Request(
            i,
            f"d{i}",
            f"Question: {i} plus {i + 2}?\nAnswer:",
            f" {i} + {i + 2} = {2 * i + 2}. So the answer is {2 * i + 2}.",
        )
        for i in range(n)
    )
    return Task("toy:gold", "gold", "toy sums", (), requests)


def load_live(directory: Path) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(directory), dtype=torch.float32)
    return model, AutoTokenizer.from_pretrained(str(directory))


def train_steps(model: Any, tokenizer: Any, steps: int) -> None:
    opt = torch.optim.AdamW(model.parameters(), lr=1e-2)
    model.train()
    for s in range(steps):
        ids = torch.tensor([tokenizer(TEXT.format(i=s, j=3, k=s + 3))["input_ids"]])
        model(input_ids=ids, labels=ids).loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)


def reference_values(directory: Path, task: Task, store_dir: Path) -> dict[str, float]:
    """The signals as lmforecast computes them for any saved model: load, score through the
    store, signals from the stored table (as the Patel experiment does)."""
    model = load_model(str(directory))
    result = scored.score_task(model, task, ScoreConfig(), Store(store_dir))
    signals = [get_signal(n) for n in SIGNALS]
    per_request = compute_signals(TaskScores(result.table, model.vocab_size), signals)
    return {s.name: s.task_value(per_request[s.name]) for s in signals}


def save_dir(model: Any, tokenizer: Any, directory: Path) -> Path:
    model.save_pretrained(str(directory))
    tokenizer.save_pretrained(str(directory))
    return directory


def test_live_model_scores_as_saved_checkpoint_and_is_left_untouched(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    model, tok = load_live(tiny_llama_dir)
    train_steps(model, tok, 2)  # weights now differ from the directory's
    model.model.embed_tokens.eval()  # a submodule kept in eval mode while training
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    task = arithmetic_task()
    store = Store(tmp_path / "store")

    live = evaluate_in_training(model, tok, task, SIGNALS, step=2, run="r", store=store)

    assert model.training and not model.model.embed_tokens.training
    assert model.model.layers[0].training
    assert all(p.grad is None for p in model.parameters())
    assert all(p.requires_grad for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    ref = reference_values(save_dir(model, tok, tmp_path / "ckpt"), task, tmp_path / "ref")
    assert set(live) == set(SIGNALS)
    for name in SIGNALS:
        assert live[name] == pytest.approx(ref[name], abs=1e-5), name
    # The untrained directory scores differently: the comparison above can fail.
    untrained = reference_values(tiny_llama_dir, task, tmp_path / "ref0")
    assert abs(untrained["xent@uniform"] - live["xent@uniform"]) > 1e-3

    stored = load_training_signals(store)
    assert list(stored["step"].unique()) == [2] and set(stored["signal"]) == set(SIGNALS)
    got = dict(zip(stored["signal"], stored["value"], strict=True))
    assert got == live
    assert (stored["requests"] == len(task.requests)).all() and (stored["seconds"] > 0).all()


def test_steps_append_and_a_failure_restores_train_mode(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    model, tok = load_live(tiny_llama_dir)
    model.train()
    store = Store(tmp_path)
    requests = list(arithmetic_task(3).requests)
    for step in (10, 20):
        evaluate_in_training(model, tok, requests, ["top1"], step=step, run="a", store=store)
    evaluate_in_training(model, tok, requests, ["top1"], step=10, run="b", store=store)
    table = load_training_signals(store)
    assert list(zip(table["run"], table["step"], strict=True)) == [("a", 10), ("a", 20), ("b", 10)]
    assert list(load_training_signals(store, run="b")["step"]) == [10]

    too_long = [Request(0, "x", "Q:", " 1 +" * 2000)]  # longer than the 512-token window
    with pytest.raises(UserError):
        evaluate_in_training(model, tok, too_long, ["top1"], step=30, run="a", store=store)
    assert model.training and model.model.layers[0].training
    assert all(p.grad is None for p in model.parameters())


def test_unknown_signal_is_one_line_error_naming_it(tiny_llama_dir: Path, tmp_path: Path) -> None:
    from lmforecast.integrations.training import SignalCallback

    model, tok = load_live(tiny_llama_dir)
    for call in (
        lambda: evaluate_in_training(
            model, tok, arithmetic_task(2), ["xent@unifrom"], store=Store(tmp_path)
        ),
        lambda: SignalCallback(arithmetic_task(2), ["xent@unifrom"]),
    ):
        with pytest.raises(UserError) as err:
            call()
        assert "xent@unifrom" in str(err.value) and "\n" not in str(err.value)
    assert not any(tmp_path.iterdir())  # nothing stored, nothing scored


def test_trainer_callback_logs_at_its_steps_and_stores(
    tiny_llama_dir: Path, tmp_path: Path
) -> None:
    from transformers import Trainer, TrainingArguments

    from lmforecast.integrations.training import SignalCallback

    model, tok = load_live(tiny_llama_dir)
    rows = [tok(TEXT.format(i=i, j=i, k=2 * i))["input_ids"] for i in range(10, 26)]
    width = min(len(r) for r in rows)
    data = [{"input_ids": r[:width], "labels": r[:width]} for r in rows]
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"),
        run_name="tiny-run",
        max_steps=4,
        per_device_train_batch_size=4,
        learning_rate=5e-3,
        logging_steps=2,
        save_strategy="steps",
        save_steps=3,
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tok)
    store = Store(tmp_path / "store")
    callback = SignalCallback(arithmetic_task(), SIGNALS, every_steps=2, store=store).attach(
        trainer
    )
    trainer.train()

    key = "toy:gold/xent@uniform"
    logged = {e["step"]: e for e in trainer.state.log_history if key in e}
    assert sorted(logged) == [2, 3, 4]  # every 2 steps, and at the save of step 3
    losses = [e["step"] for e in trainer.state.log_history if "loss" in e]
    assert losses == [2, 4]  # the Trainer's own logging is untouched
    assert logged[2][key] != logged[4][key]
    stored = load_training_signals(store, run="tiny-run")
    assert sorted(stored["step"].unique()) == [2, 3, 4]
    at4 = stored[stored["step"] == 4].set_index("signal")["value"]
    for name in SIGNALS:
        assert logged[4][f"toy:gold/{name}"] == at4[name]
    assert callback.seconds > 0 and len(callback.history) == 3
    # Step 4 is the final model: it scores as the saved final weights do.
    trainer.save_model(str(tmp_path / "final"))
    ref = reference_values(tmp_path / "final", arithmetic_task(), tmp_path / "ref")
    for name in SIGNALS:
        assert at4[name] == pytest.approx(ref[name], abs=1e-5), name


def test_callback_needs_the_trainer(tiny_llama_dir: Path, tmp_path: Path) -> None:
    from transformers import Trainer, TrainingArguments

    from lmforecast.integrations.training import SignalCallback

    model, tok = load_live(tiny_llama_dir)
    ids = tok("Question: 1 plus 1?")["input_ids"]
    args = TrainingArguments(output_dir=str(tmp_path), max_steps=1, report_to="none", use_cpu=True)
    callback = SignalCallback(arithmetic_task(2), ["top1"], every_steps=1)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=[{"input_ids": ids, "labels": ids}],
        processing_class=tok,
        callbacks=[callback],
    )
    with pytest.raises(UserError, match="attach"):
        trainer.train()


def tiny_pretrain(tmp_path: Path, hook: Any) -> tuple[dict[str, torch.Tensor], list[Any]]:
    from lmforecast.testbed import architectures
    from lmforecast.testbed.train import TrainConfig, pretrain

    family = architectures.FAMILIES["llama"]
    config = architectures.build_config(family, family.sizes[0], 256, 2)
    torch.manual_seed(0)
    model = architectures.build_model(config)
    rows = np.random.default_rng(0).integers(3, family.vocab_size, size=(16, 32))
    cfg = TrainConfig(tokens=8 * 4 * 32, seq_len=32, batch_size=4, n_checkpoints=3)
    checkpoints = pretrain(
        model, rows, cfg, 1.0, lambda m, d: m.save_pretrained(str(d)), tmp_path, None, hook
    )
    return {k: v.clone() for k, v in model.state_dict().items()}, checkpoints


def test_testbed_pretraining_records_signals_without_changing_weights(
    tmp_path: Path, tiny_llama_dir: Path
) -> None:
    """The hook the testbed's runs use: the same weights with and without it, bit for bit
    (already-built populations stay valid), and one record per checkpoint per task."""
    from transformers import AutoTokenizer

    from lmforecast.testbed import training_signals as ts

    plain, _ = tiny_pretrain(tmp_path / "plain", None)
    recorder = ts.CheckpointSignals(tmp_path / "run", "llama-test")
    recorder.tokenizer = AutoTokenizer.from_pretrained(str(tiny_llama_dir))  # same vocabulary
    with recorder:
        recorded, checkpoints = tiny_pretrain(tmp_path / "rec", recorder)
    assert plain.keys() == recorded.keys()
    assert all(torch.equal(plain[k], recorded[k]) for k in plain)
    assert recorder.evaluations == len(checkpoints) == 3

    (tmp_path / "run" / "record.json").write_text("[]")
    (tmp_path / "old" / "record.json").parent.mkdir()
    (tmp_path / "old" / "record.json").write_text("[]")
    root = tmp_path / "population"
    (root / "runs").mkdir(parents=True)
    for name in ("run", "old"):
        (tmp_path / name).rename(root / "runs" / name)
    df = ts.read_training_signals(root)
    assert sorted(df["step"].unique()) == [c.step for c in checkpoints]
    assert set(df["task"]) == {f"testbed-{f}:gold" for f in ("arith", "list", "trace")}
    assert set(df["model_id"]) == {f"llama-test-step{c.step}" for c in checkpoints}
    assert df.attrs["runs_without_records"] == ["old"]
    times = ts.read_training_time(root)
    assert times["checkpoints"].tolist() == [3]
    saved = json.loads((root / "runs" / "run" / ts.TIME_FILE).read_text())
    assert saved["signal_seconds"] == pytest.approx(recorder.seconds)
    assert 0 < ts.time_share(times) == saved["share"]


def test_population_built_before_records_says_so(tmp_path: Path) -> None:
    from lmforecast.testbed import training_signals as ts

    (tmp_path / "runs" / "llama-xs-pure").mkdir(parents=True)
    (tmp_path / "runs" / "llama-xs-pure" / "record.json").write_text("[]")
    for read in (ts.read_training_signals, ts.read_training_time):
        with pytest.raises(UserError, match="built before they were recorded"):
            read(tmp_path)


def test_ci_build_records_proxies_at_every_base_checkpoint(
    ci_build: tuple[Path, Any], tmp_path: Path
) -> None:
    """The built population carries the records: every base checkpoint, every problem task,
    every proxy; the final checkpoint's equal those of its saved directory scored as usual."""
    from lmforecast import testbed
    from lmforecast.testbed import training_signals as ts
    from lmforecast.testbed.tasks import problem_task

    home, _ = ci_build
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMFORECAST_HOME", str(home))
        records = testbed.load_training_signals("ci")
        times = testbed.training_time("ci")
        everything = testbed.load_manifest("ci", role=None)
    base = everything[everything["stage"] == "base"]
    assert set(records["model_id"]) == set(base["model_id"])
    assert records.attrs["runs_without_records"] == []
    counts = records.groupby("model_id").size()
    assert (counts == 3 * len(ts.SIGNALS)).all()
    assert set(times["run_id"]) == set(everything["run_id"])
    assert (times["checkpoints"] == base.groupby("run_id").size().loc[times["run_id"]].values).all()
    assert 0 < ts.time_share(times) < 1
    final = base[base["final"] & (base["role"] == "population")].iloc[0]
    task = problem_task("arith", ts.SIGNAL_DOCS)
    ref = reference_values(Path(final["path"]), task, tmp_path)
    got = records[(records["model_id"] == final["model_id"]) & (records["task"] == task.name)]
    for name, value in zip(got["signal"], got["value"], strict=True):
        assert value == pytest.approx(ref[name], abs=1e-5), name
