"""Testbed: the ``ci`` population is built once per session and checked for what it promises."""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from lmforecast.testbed import problems
from lmforecast.testbed.manifest import columns
from lmforecast.testbed.presets import PRESETS, RunSpec
from lmforecast.testbed.train import checkpoint_steps


def test_problems_have_verifiable_gold_solutions() -> None:
    from lmforecast.testbed.tasks import is_correct

    for family in problems.FAMILIES:
        held = problems.heldout(family)
        assert len(held) >= 500
        assert len({p.question for p in held}) == len(held)
        for p in held[:50]:
            assert is_correct(p.answer, problems.solution_text(p))[0]
        questions = {p.question for p in held}
        stream = problems.train_stream(family, seed=0)
        assert all(next(stream).question not in questions for _ in range(2000))


def test_corrupted_problems_change_steps_and_follow_answer() -> None:
    rng = random.Random(0)
    p = problems.heldout("arith")[0]
    bad = problems.corrupted(p, 1.0, rng)
    assert all(a.result != b.result for a, b in zip(p.steps, bad.steps, strict=True))
    assert bad.answer == bad.steps[-1].result


def test_tasks_are_registered_with_grader() -> None:
    from lmforecast.tasks import get_task
    from lmforecast.testbed import TASK_NAMES
    from lmforecast.truth.graders import get_grader

    for name in TASK_NAMES:
        task = get_task(name)
        if task.kind == "text":
            assert len(task.docs) >= 100 and task.requests[0].context == ""
            continue
        if task.kind == "rc":
            check_choice_task(task)
            continue
        assert len(task.docs) >= 500 and task.generation is not None
        doc = task.docs[0]
        assert task.requests[0].context == doc.prompt
        assert task.requests[0].continuation == doc.solution
        grader = get_grader(task.grader or "")
        assert grader(doc, doc.solution or "").correct
        assert not grader(doc, " 1 + 1 = 2.\nAnswer: -1").correct


def check_choice_task(task) -> None:  # type: ignore[no-untyped-def]
    """4 distinct choices per held-out problem, the gold answer at ``label``, all graded by
    log-likelihood: the gold choice scored highest must grade correct, any other wrong."""
    from lmforecast.truth.multiple_choice import mc_truth

    assert len(task.docs) >= 500 and len(task.requests) == 4 * len(task.docs)
    labels = []
    for doc in task.docs:
        assert len(set(doc.choices)) == 4 and doc.choices[doc.label] == doc.answer
        labels.append(doc.label)
    assert len(set(labels)) == 4  # the gold position varies
    gold = {d.doc_id: d.label for d in task.docs}
    right = [0.0 if r.choice == gold[r.doc_id] else -1.0 for r in task.requests]
    assert mc_truth(task, right).acc.value == 1.0
    wrong = [-1.0 if r.choice == gold[r.doc_id] else 0.0 for r in task.requests]
    assert mc_truth(task, wrong).acc.value == 0.0


def test_checkpoints_dense_in_first_eighteenth() -> None:
    train = PRESETS["full"].train
    steps = checkpoint_steps(train.steps, train.n_checkpoints, train.first_checkpoint)
    assert len(steps) >= 8 and steps[-1] == train.steps
    assert sum(s <= train.steps / 18 for s in steps) >= 3


def test_full_preset_grid_shape() -> None:
    runs = PRESETS["full"].runs
    llama = [r for r in runs if r.family == "llama"]
    assert len({r.recipe for r in llama}) >= 12 and len({r.size for r in llama}) >= 4
    assert len(llama) == len({r.recipe for r in llama}) * len({r.size for r in llama})
    others = {r.family for r in runs} - {"llama"}
    assert len(others) >= 2
    for fam in others:
        assert len({r.size for r in runs if r.family == fam}) >= 2


def test_checkpoint_tokenizer_splits_text_as_trained() -> None:
    """Every family's tokenizer, loaded back from a checkpoint by ``AutoTokenizer`` (as grading
    and scoring load it), splits held-out problems exactly as the corpora were split.

    transformers 5 loads any ``qwen2`` checkpoint as ``Qwen2Tokenizer``, which rebuilds its own
    pre-tokenizer: the shared digit pattern (" 27" -> " 2", "7") came back as " ", "2", "7", and
    every qwen2 model was graded on token sequences it never saw (accuracy at chance).
    """
    from lmforecast.testbed import architectures, tasks
    from lmforecast.testbed.tokenizer import EOS, check_loads_as_trained, train_tokenizer

    texts = [
        d.prompt + (d.solution or "")
        for f in tasks.PROBLEM_TASKS
        for d in tasks.problem_task(f).docs[:100]
    ]
    for name, family in architectures.FAMILIES.items():
        tok = train_tokenizer(texts, family.vocab_size, family.pretokenizer)
        config = architectures.build_config(family, family.sizes[0], 256, tok.token_to_id(EOS))
        check_loads_as_trained(tok, config, texts, 256, name)
    # The guard catches the original qwen2 tokenizer (the digit pattern under Qwen2Tokenizer).
    qwen2 = architectures.FAMILIES["qwen2"]
    assert qwen2.pretokenizer != "digits"
    tok = train_tokenizer(texts, qwen2.vocab_size, "digits")
    config = architectures.build_config(qwen2, qwen2.sizes[0], 256, tok.token_to_id(EOS))
    with pytest.raises(RuntimeError, match="qwen2: Qwen2Tokenizer"):
        check_loads_as_trained(tok, config, texts, 256, "qwen2")


def test_manifest_columns_and_population(ci_build: tuple[Path, pd.DataFrame]) -> None:
    from lmforecast.testbed.manifest import population_summary

    _, df = ci_build
    assert population_summary(df)["models"] == len(df)
    assert list(df.columns) == columns()
    assert df["family"].nunique() >= 2 and df["recipe"].nunique() >= 3
    assert df["size"].nunique() >= 2
    base = df[df["stage"] == "base"]
    assert base.groupby("run_id")["step"].nunique().min() >= 4
    assert set(df["stage"]) == {"base", "sft", "rl"}
    post = df[df["stage"] != "base"]
    assert set(post["base_model"]) <= set(base.loc[base["final"], "model_id"])
    assert (post["posttrain_flops"] > 0).all()
    for fam in problems.FAMILIES:
        assert df[f"acc_{fam}"].between(0, 1).all()
        final = df[df["final"]]
        assert final[f"pass1_{fam}"].notna().all()
    assert (df["generic_bpb"] > 0).all()
    home, _ = ci_build
    assert any((home / "store" / "truth_samples").iterdir())  # labels stored via the Truth layer
    ordered = base.sort_values(["run_id", "step"])
    assert (ordered.groupby("run_id")["flops"].diff().dropna() > 0).all()


def test_frontier_is_built_outside_the_population(ci_build: tuple[Path, pd.DataFrame]) -> None:
    from lmforecast import testbed

    home, population = ci_build
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("LMFORECAST_HOME", str(home))
        everything = testbed.load_manifest("ci", role=None)
        frontier = testbed.load_manifest("ci", role="frontier")
    assert (population["role"] == "population").all()
    assert len(everything) == len(population) + len(frontier)
    assert set(frontier["stage"]) == {"base", "sft", "rl"}
    spec = PRESETS["ci"].frontier
    assert (
        spec is not None
        and (frontier["run_id"] == f"frontier-{spec.family}-{spec.size}-clean").all()
    )
    # Longer-trained than any population model of its family, and stronger after SFT.
    assert frontier["tokens"].max() >= 1.99 * population["tokens"].max()
    acc = [f"acc_{f}" for f in problems.FAMILIES]
    sft = frontier[frontier["stage"] == "sft"][acc].mean(axis=1).iloc[0]
    assert sft > population[population["stage"] == "sft"][acc].mean(axis=1).max()


def test_model_loads_and_grades(ci_build: tuple[Path, pd.DataFrame]) -> None:
    from lmforecast.engine.generate import GenerationConfig, generate
    from lmforecast.models import load_model
    from lmforecast.tasks import get_task
    from lmforecast.truth.graders import get_grader

    _, df = ci_build
    row = df[(df["stage"] == "rl")].iloc[0]
    model = load_model(row["path"])
    assert model.num_parameters == row["params"]
    task = get_task("testbed-trace:gold", limit=3)
    assert task.generation is not None
    gens = generate(
        model,
        [d.prompt for d in task.docs],
        GenerationConfig(max_tokens=task.generation.max_tokens, stop=task.generation.stop),
    )
    grader = get_grader(task.grader or "")
    for doc, g in zip(task.docs, gens, strict=True):
        assert isinstance(grader(doc, g[0].text).correct, bool)


def _weights_hash(root: Path) -> dict[str, str]:
    out = {}
    for f in sorted(root.glob("runs/*/*/model.safetensors")):
        out[str(f.relative_to(root))] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def test_same_seed_same_weights(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two small runs built twice from the same seed give bit-identical checkpoints."""
    from lmforecast.testbed.builder import build

    ci = PRESETS["ci"]
    tiny = replace(
        ci,
        name="determinism",
        runs=(RunSpec("llama", "xxs", "noisy30"), RunSpec("qwen2", "xxs", "clean")),
        train=replace(ci.train, tokens=12_000),
        post=replace(ci.post, sft_steps=2, rl_prompts=2),
        mid=replace(ci.mid, greedy_docs=2, generic_docs=2),
        final=replace(ci.final, greedy_docs=2, sample_docs=1, generic_docs=2),
    )
    hashes = []
    for i in range(2):
        monkeypatch.setenv("LMFORECAST_HOME", str(tmp_path / f"home{i}"))
        root = build(tiny, seed=3, workers=2)
        hashes.append(_weights_hash(root))
    assert hashes[0] and hashes[0] == hashes[1]
    assert len(hashes[0]) >= 2 * (ci.train.n_checkpoints + 2)
    monkeypatch.setenv("LMFORECAST_HOME", str(tmp_path / "home2"))
    other = _weights_hash(build(replace(tiny, runs=tiny.runs[:1]), seed=4, workers=1))
    assert set(other.values()).isdisjoint(hashes[0].values())


def test_cli_show(ci_build: tuple[Path, pd.DataFrame]) -> None:
    from typer.testing import CliRunner

    import lmforecast.cli.testbed  # noqa: F401  (registers the command)
    from lmforecast.cli.app import app

    home, _ = ci_build
    result = CliRunner().invoke(
        app,
        ["testbed", "show", "--preset", "ci", "--final-only", "--family", "qwen2"],
        env={"LMFORECAST_HOME": str(home), "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "qwen2-xxs-clean-rl" in result.output
