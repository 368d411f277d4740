"""run_truth end to end on a tiny real model: labels, metrics, cost, store and resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from lmforecast.core.errors import UserError
from lmforecast.engine.generate import GenerationConfig
from lmforecast.models import LoadedModel, load_model
from lmforecast.store import Store
from lmforecast.tasks import Doc, GenerationSpec, Task, get_task
from lmforecast.truth.graders import GRADERS, GradeResult, get_grader, register_grader
from lmforecast.truth.multiple_choice import mc_truth
from lmforecast.truth.passk import pass_at_k
from lmforecast.truth.run import KIND, TruthProgress, run_truth, sequence_flops

GRADER = "test_truth_run_has_letter_e"
if GRADER not in GRADERS:

    @register_grader(GRADER)
    def _has_e(doc: Doc, completion: str) -> GradeResult:
        """Arbitrary but deterministic: enough to check bookkeeping on a random tiny model."""
        return GradeResult("e" in completion, completion[:5])


@pytest.fixture(scope="module")
def tiny(tiny_llama_dir: Path) -> LoadedModel:
    return load_model(str(tiny_llama_dir))


def make_task(n: int = 7) -> Task:
    docs = tuple(
        Doc(doc_id=f"d{i}", prompt=f"Question: what is {i} + {i}?\nAnswer:", answer=str(2 * i))
        for i in range(n)
    )
    return Task(
        name="tiny:letters",
        kind="text",
        description="synthetic",
        docs=docs,
        requests=(),
        generation=GenerationSpec(stop=("\n\n",), max_tokens=6),
        grader=GRADER,
    )


def test_labels_metrics_and_cost(tiny: LoadedModel) -> None:
    task = make_task()
    seen: list[TruthProgress] = []
    cfg = GenerationConfig(temperature=1.0, seed=1, n_samples=3)
    result = run_truth(tiny, task, cfg, None, seen.append, shard_size=3)
    rows = result.samples.to_pylist()
    assert len(rows) == 7 * 3 and result.num_problems == 7
    grade = get_grader(GRADER)
    for row, doc in zip(rows, [d for d in task.docs for _ in range(3)], strict=True):
        assert row["doc_id"] == doc.doc_id
        assert row["correct"] == grade(doc, row["text"]).correct
    counts = [(3, sum(r["correct"] for r in rows if r["doc_id"] == d.doc_id)) for d in task.docs]
    assert result.accuracy.value == pytest.approx(sum(c for _, c in counts) / 21)
    assert sorted(result.pass_at_k) == [1, 2, 3]
    expected = sum(pass_at_k(n, c, 2) for n, c in counts) / 7
    assert result.pass_at_k[2].value == pytest.approx(expected)
    assert result.config.max_tokens == 6 and result.config.stop == ("\n\n",)
    assert result.tokens_generated == sum(r["num_tokens"] for r in rows)
    assert result.flops == pytest.approx(
        sum(sequence_flops(tiny, r["prompt_tokens"], r["num_tokens"]) for r in rows)
    )
    assert seen[0].problems_done == 0 and seen[-1].problems_done == 7
    assert seen[-1].tokens_generated == result.tokens_generated


def test_store_and_resume(tiny: LoadedModel, tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    task = make_task()
    cfg = GenerationConfig(max_tokens=5)
    first = run_truth(tiny, task, cfg, store, shard_size=3)
    assert (first.shards_computed, first.shards_reused) == (3, 0)
    assert first.key is not None and store.shards(KIND, first.key) == {"00000", "00001", "00002"}
    meta = store.read_meta(KIND, first.key)
    assert meta is not None and meta["task"] == "tiny:letters"
    assert meta["summary"]["accuracy"]["value"] == first.accuracy.value

    again = run_truth(tiny, task, cfg, store, shard_size=3)
    assert (again.shards_computed, again.shards_reused) == (0, 3)
    assert again.samples.drop(["seconds"]).equals(first.samples.drop(["seconds"]))
    assert again.seconds == pytest.approx(first.seconds)  # cost is the stored compute's

    (store.entry_dir(KIND, first.key) / "00001.parquet").unlink()  # as if killed mid-run
    resumed = run_truth(tiny, task, cfg, store, shard_size=3)
    assert (resumed.shards_computed, resumed.shards_reused) == (1, 2)
    assert resumed.samples.column("text").equals(first.samples.column("text"))

    other = run_truth(tiny, task, GenerationConfig(max_tokens=4), store, shard_size=3)
    assert other.key != first.key


def test_real_gsm8k_docs_are_truncated_to_the_window(tiny: LoadedModel) -> None:
    task = get_task("gsm8k:gold", 2)
    result = run_truth(tiny, task, GenerationConfig(max_tokens=4), None)
    assert tiny.max_length < 800  # the few-shot prompts are longer than the tiny window
    assert result.truncated_prompts == 2
    assert all(r["prompt_tokens"] + 4 == tiny.max_length for r in result.samples.to_pylist())


def test_multiple_choice_truth_from_loglikelihoods() -> None:
    task = get_task("arc_easy:rc", 6)
    labels = {d.doc_id: d.label for d in task.docs}
    # Favour the right answer in total; favour the longest choice per character.
    lls = [
        -1.0 if r.choice == labels[r.doc_id] else -2.0 * max(len(r.continuation), 1)
        for r in task.requests
    ]
    result = mc_truth(task, lls)
    assert result.num_problems == 6 and result.acc.value == 1.0 and result.acc_norm.value == 1.0
    inverted = mc_truth(task, [-x for x in lls])
    assert inverted.acc.value == 0.0
    with pytest.raises(UserError, match="log-likelihoods"):
        mc_truth(task, lls[:-1])
    with pytest.raises(UserError, match="multiple-choice"):
        run_truth(None, task, GenerationConfig(), None)  # type: ignore[arg-type]
