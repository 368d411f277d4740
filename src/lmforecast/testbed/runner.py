"""One run of the grid, end to end: pretrain, post-train, ground truth, records.

Called in a worker process by :mod:`lmforecast.testbed.builder`. A run whose ``record.json``
exists is done and is only read back; otherwise it is redone from the start (deterministically,
so a resumed build produces the same models as an uninterrupted one).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch

from lmforecast.core.fingerprint import hash_json
from lmforecast.testbed import architectures, groundtruth, posttrain, tasks
from lmforecast.testbed.manifest import ModelRecord
from lmforecast.testbed.presets import Preset, RunSpec
from lmforecast.testbed.tokenizer import EOS, load_tokenizer
from lmforecast.testbed.train import Checkpoint, atomic_save, pretrain
from lmforecast.testbed.training_signals import CheckpointSignals

_FAMILY_OF_TASK = {name: fam for fam, name in tasks.PROBLEM_TASKS.items()}


def corpus_path(root: Path, family: str, recipe: str, tokens: int) -> Path:
    """Where a corpus of ``tokens`` tokens lives (the token count is in the name: the frontier
    trains on a longer corpus of the same recipe)."""
    return root / "corpora" / f"{family}-{recipe}-{tokens}.npy"


def init_seed(seed: int, run: RunSpec) -> int:
    """Weight-init seed: the same for every recipe at one (family, size), as in DataDecide (the
    frontier draws its own)."""
    key: dict[str, object] = {"seed": seed, "family": run.family, "size": run.size}
    if run.role != "population":
        key["role"] = run.role
    return int(hash_json(key, 8), 16)


def _load_records(path: Path) -> list[ModelRecord]:
    return [ModelRecord(**r) for r in json.loads(path.read_text())]


def _save_fn(tok_dir: Path) -> Any:
    def save(model: Any, directory: Path) -> None:
        model.save_pretrained(str(directory))
        for f in tok_dir.iterdir():
            shutil.copy(f, directory / f.name)

    return save


def _truth(path: str, plan: groundtruth.EvalPlan) -> groundtruth.ModelTruth:
    from lmforecast.models import load_model

    return groundtruth.evaluate(load_model(path), plan)


def _record(
    run: RunSpec,
    preset: Preset,
    seed: int,
    counts: tuple[int, int],
    stage: str,
    ck: Checkpoint,
    final: bool,
    truth: groundtruth.ModelTruth,
    path: str,
    post: tuple[int, float] = (0, 0.0),
    base_model: str = "",
    train_loss: float | None = None,
) -> ModelRecord:
    family = architectures.FAMILIES[run.family]
    suffix = f"step{ck.step}" if stage == "base" else stage
    return ModelRecord(
        model_id=f"{run.run_id}-{suffix}",
        run_id=run.run_id,
        family=run.family,
        arch=family.arch,
        size=run.size,
        params=counts[0],
        params_total=counts[1],
        vocab_size=family.vocab_size,
        recipe=run.recipe,
        seed=seed,
        stage=stage,
        step=ck.step,
        final=final,
        tokens=ck.tokens,
        flops=ck.flops,
        posttrain_tokens=post[0],
        posttrain_flops=post[1],
        base_model=base_model,
        path=path,
        train_loss=ck.train_loss if train_loss is None else train_loss,
        generic_ce=truth.generic_ce,
        generic_bpb=truth.generic_bpb,
        eval_flops=truth.eval_flops,
        role=run.role,
        acc={_FAMILY_OF_TASK[s.task]: s.greedy_acc for s in truth.scores},
        pass1={_FAMILY_OF_TASK[s.task]: s.pass1 for s in truth.scores},
        n_eval={_FAMILY_OF_TASK[s.task]: s.n_greedy for s in truth.scores},
    )


def _rl_pairs(sft_path: Path, preset: Preset, seed: int) -> tuple[list[tuple[str, str]], int]:
    """Sample from the SFT model, keep correct completions. Returns (pairs, tokens generated)."""
    from lmforecast.engine.generate import GenerationConfig, generate
    from lmforecast.models import load_model

    cfg = preset.post
    probs = posttrain.rl_problems(seed, cfg.rl_prompts)
    model = load_model(str(sft_path))
    prompts = [tasks.problems.prompt_text(p) for p in probs]
    gens = generate(
        model,
        prompts,
        GenerationConfig(
            temperature=cfg.rl_temperature,
            seed=seed,
            n_samples=cfg.rl_samples,
            max_tokens=cfg.max_tokens,
            stop=tasks.STOP,
            batch_size=256,
        ),
    )
    pairs: list[tuple[str, str]] = []
    tokens = 0
    for p, prompt, samples in zip(probs, prompts, gens, strict=True):
        seen: set[str] = set()
        for g in samples:
            tokens += g.num_tokens + g.prompt_tokens
            if g.text not in seen and tasks.is_correct(p.answer, g.text)[0]:
                seen.add(g.text)
                pairs.append((prompt, g.text + tasks.STOP[0]))
    return pairs, tokens


def execute_run(root: Path, preset: Preset, seed: int, run: RunSpec) -> list[ModelRecord]:
    """Do (or read back) one run; returns the manifest records of all its models."""
    run_dir = root / "runs" / run.run_id
    done = run_dir / "record.json"
    if done.is_file():
        return _load_records(done)
    if run_dir.exists():
        shutil.rmtree(run_dir)  # a half-done run restarts from scratch (deterministic)
    run_dir.mkdir(parents=True)
    tok_dir = root / "tokenizers" / run.family
    tok = load_tokenizer(tok_dir)
    eos = tok.token_to_id(EOS)
    family = architectures.FAMILIES[run.family]
    config = architectures.build_config(family, family.size(run.size), preset.max_length, eos)
    torch.manual_seed(init_seed(seed, run))
    model = architectures.build_model(config)
    counts = architectures.count_params(model)
    per_token = architectures.train_flops_per_token(config, counts[0], preset.train.seq_len)
    train = preset.train_config(run)
    rows = np.load(corpus_path(root, run.family, run.recipe, train.tokens))
    save = _save_fn(tok_dir)
    with CheckpointSignals(run_dir, run.run_id) as record_signals:
        checkpoints = pretrain(model, rows, train, per_token, save, run_dir, None, record_signals)

    records: list[ModelRecord] = []
    examples: list[tuple[str, groundtruth.ModelTruth]] = []
    for ck in checkpoints:
        final = ck is checkpoints[-1]
        plan = preset.final if final else preset.mid
        truth = _truth(ck.path, plan)
        rec = _record(run, preset, seed, counts, "base", ck, final, truth, ck.path)
        records.append(rec)
        examples.append((rec.model_id, truth))
    last = checkpoints[-1]
    base_id = records[-1].model_id

    # Post-training: SFT from the final base model, then RL (rejection sampling) from SFT.
    cfg = preset.post
    sft_stats = posttrain.finetune(
        model,
        tok,
        eos,
        posttrain.sft_pairs(seed, cfg.sft_steps * cfg.sft_batch),
        cfg.sft_steps,
        cfg.sft_batch,
        cfg.sft_lr,
    )
    sft_path = run_dir / "sft"
    atomic_save(lambda d: save(model, d), sft_path)
    sft_flops = per_token * sft_stats.tokens
    truth = _truth(str(sft_path), preset.final)
    sft_rec = _record(
        run, preset, seed, counts, "sft", last, True, truth, str(sft_path),
        (sft_stats.tokens, sft_flops), base_id, sft_stats.mean_loss,
    )  # fmt: skip
    records.append(sft_rec)
    examples.append((sft_rec.model_id, truth))

    pairs, sampled_tokens = _rl_pairs(sft_path, preset, seed)
    rl_stats = posttrain.finetune(
        model, tok, eos, pairs, posttrain.rl_steps(len(pairs), cfg), cfg.rl_batch, cfg.rl_lr
    )
    rl_path = run_dir / "rl"
    atomic_save(lambda d: save(model, d), rl_path)
    # RL cost: sampling (2·N per token) plus its fine-tuning, on top of SFT's.
    rl_flops = sft_flops + 2.0 * counts[0] * sampled_tokens + per_token * rl_stats.tokens
    truth = _truth(str(rl_path), preset.final)
    rl_rec = _record(
        run, preset, seed, counts, "rl", last, True, truth, str(rl_path),
        (sft_stats.tokens + sampled_tokens + rl_stats.tokens, rl_flops), base_id,
        rl_stats.mean_loss,
    )  # fmt: skip
    records.append(rl_rec)
    examples.append((rl_rec.model_id, truth))

    _write_outputs(run_dir, examples, records, done)
    return records


def _write_outputs(
    run_dir: Path,
    examples: list[tuple[str, groundtruth.ModelTruth]],
    records: list[ModelRecord],
    done: Path,
) -> None:
    """Per-example truth, then the run's records (last: their presence marks the run done)."""
    table = pa.Table.from_pylist(
        [{"model_id": mid, **ex.__dict__} for mid, t in examples for ex in t.examples]
    )
    tmp = run_dir / f".truth.{os.getpid()}.tmp"
    pq.write_table(table, tmp)
    os.replace(tmp, run_dir / "truth.parquet")
    payload = [r.__dict__ for r in records]
    tmp = run_dir / f".record.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(payload, indent=1, default=str))
    os.replace(tmp, done)
