"""Ground truth for one (model, task): generate, grade, aggregate, record the cost.

Per-sample labels go to the store (kind ``truth_samples``) in shards of ``shard_size`` docs, so a
killed run resumes where it stopped: shards already stored are read back, not recomputed. The
entry key hashes everything that decides the labels: the model fingerprint, the task name and
source, the docs (prompts, gold answers, tests), the grader and the generation config.

Multiple-choice tasks have no generation: their truth is the accuracy of the argmax of the
per-choice log-likelihoods, computed by :func:`mc_truth` from scores the engine provides.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.engine.generate import RNG_VERSION, Generation, GenerationConfig, generate
from lmforecast.executors import Elsewhere, make_executor
from lmforecast.executors.shared import mark_shared
from lmforecast.models import LoadedModel
from lmforecast.store import ShardedJob, ShardedRun, Store
from lmforecast.tasks import Doc, Task
from lmforecast.truth.graders import GradeResult, get_grader
from lmforecast.truth.passk import Estimate, aggregate_pass_at_k, default_ks

KIND = "truth_samples"
KIND_MC = "truth_mc"
SCHEMA_VERSION = 1

SAMPLE_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("doc_index", pa.int32()),
        ("sample_index", pa.int32()),
        ("correct", pa.bool_()),
        ("extracted", pa.string()),
        ("detail", pa.string()),
        ("text", pa.string()),
        ("num_tokens", pa.int32()),
        ("finish_reason", pa.string()),
        ("prompt_tokens", pa.int32()),
        ("truncated_tokens", pa.int32()),
        ("cost_tokens", pa.int32()),  # tokens actually generated for this row (0: greedy copy)
        ("flops", pa.float64()),
        ("seconds", pa.float64()),  # the shard's compute seconds, apportioned to its rows
    ]
)


@dataclass(frozen=True)
class TruthProgress:
    """Where a run stands, for a progress bar."""

    problems_done: float
    problems_total: int
    tokens_generated: int
    seconds: float


@dataclass(frozen=True, eq=False)
class TruthResult:
    """Accuracy (= mean pass@1) with its interval, pass@k, per-sample labels and the cost."""

    model: str
    fingerprint: str
    task: str
    key: str | None
    config: GenerationConfig
    num_problems: int
    accuracy: Estimate
    pass_at_k: dict[int, Estimate]
    seconds: float  # compute seconds (generation + grading), summed over all shards
    wall_seconds: float  # this call, including reading stored shards
    tokens_generated: int
    prompt_tokens: int
    flops: float
    truncated_prompts: int
    shards_reused: int
    shards_computed: int
    samples: pa.Table = field(repr=False)

    @property
    def seconds_per_problem(self) -> float:
        return self.seconds / max(self.num_problems, 1)

    def summary(self) -> dict[str, Any]:
        """JSON-able figures (what meta.json and the CLI report)."""
        return {
            "num_problems": self.num_problems,
            "n_samples": self.config.n_samples,
            "accuracy": self.accuracy.as_dict(),
            "pass_at_k": {str(k): e.as_dict() for k, e in self.pass_at_k.items()},
            "seconds": self.seconds,
            "seconds_per_problem": self.seconds_per_problem,
            "tokens_generated": self.tokens_generated,
            "prompt_tokens": self.prompt_tokens,
            "flops": self.flops,
            "truncated_prompts": self.truncated_prompts,
        }


def effective_config(task: Task, config: GenerationConfig) -> GenerationConfig:
    """The task's stop sequences added to the config's; ``max_tokens`` from the task unless
    the config sets it (an explicit override, which may also lengthen the budget)."""
    if task.generation is None:
        raise UserError(f"task {task.name}: has no generation settings (kind {task.kind})")
    stop = tuple(dict.fromkeys((*task.generation.stop, *config.stop)))
    max_tokens = config.max_tokens or task.generation.max_tokens
    return config.model_copy(update={"stop": stop, "max_tokens": max_tokens})


def docs_hash(docs: Sequence[Doc]) -> str:
    """Hash of what grading depends on: ids, prompts, gold answers/solutions and raw fields."""
    return hash_json([[d.doc_id, d.prompt, d.solution, d.answer, dict(d.extra)] for d in docs])


# Generation settings that do not change the completions, left out of the store key.
KEY_EXCLUDED = {"batch_size", "share_prompt_cache", "logprobs"}


def truth_key(model: LoadedModel, task: Task, config: GenerationConfig) -> str:
    """Store key of a run. What does not change the completions is left out: the batch size
    (each sequence draws its own counter-based random numbers), sharing a prompt's prefill
    among its samples, and recording log-probabilities; so a run resumed with other such
    settings reuses shards."""
    return hash_json(
        {
            "v": SCHEMA_VERSION,
            "model": model.fingerprint,
            "task": task.name,
            "source": task.source,
            "grader": task.grader,
            "docs": docs_hash(task.docs),
            "config": config.model_dump(mode="json", exclude=KEY_EXCLUDED),
            **({} if config.greedy else {"rng": RNG_VERSION}),  # samples of one generator only
        }
    )


def sequence_flops(model: LoadedModel, prompt_tokens: int, generated: int) -> float:
    """Forward FLOPs to generate ``generated`` tokens after a prompt with a KV cache.

    Every token fed is processed once (the last generated one is never fed); the token at
    position i attends over i earlier keys: sum of ``flops_per_token(i)``, in closed form.
    """
    fed = prompt_tokens + max(generated - 1, 0)
    base = model.flops_per_token(0)
    per_key = model.flops_per_token(1) - base
    return fed * base + per_key * fed * (fed - 1) / 2


def _shard_table(
    model: LoadedModel,
    docs: Sequence[Doc],
    start: int,
    gens: list[list[Generation]],
    grades: list[list[GradeResult]],
    greedy: bool,
    seconds: float,
) -> pa.Table:
    rows: dict[str, list[Any]] = {name: [] for name in SAMPLE_SCHEMA.names}
    for i, (doc, doc_gens, doc_grades) in enumerate(zip(docs, gens, grades, strict=True)):
        for s, (g, r) in enumerate(zip(doc_gens, doc_grades, strict=True)):
            real = not greedy or s == 0
            rows["doc_id"].append(doc.doc_id)
            rows["doc_index"].append(start + i)
            rows["sample_index"].append(s)
            rows["correct"].append(bool(r.correct))
            rows["extracted"].append(r.extracted)
            rows["detail"].append(r.detail)
            rows["text"].append(g.text)
            rows["num_tokens"].append(g.num_tokens)
            rows["finish_reason"].append(g.finish_reason)
            rows["prompt_tokens"].append(g.prompt_tokens)
            rows["truncated_tokens"].append(g.truncated_tokens)
            rows["cost_tokens"].append(g.num_tokens if real else 0)
            rows["flops"].append(
                sequence_flops(model, g.prompt_tokens, g.num_tokens) if real else 0
            )
    n = len(rows["doc_id"])
    rows["seconds"] = [seconds / max(n, 1)] * n
    return pa.table(rows, schema=SAMPLE_SCHEMA)


def _metrics(table: pa.Table, n_samples: int) -> tuple[Estimate, dict[int, Estimate]]:
    counts: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for idx, correct in zip(
        table.column("doc_index").to_pylist(), table.column("correct").to_pylist(), strict=True
    ):
        counts[idx][0] += 1
        counts[idx][1] += int(correct)
    nc = [(n, c) for n, c in counts.values()]
    pass_k = {k: aggregate_pass_at_k(nc, k) for k in default_ks(n_samples)}
    return pass_k[1], pass_k


class Tracker:
    """Problems done and tokens generated so far, reported to a progress callback."""

    def __init__(self, total: int, progress: Callable[[TruthProgress], None] | None) -> None:
        self.total = total
        self.progress = progress
        self.done = 0.0
        self.tokens = 0
        self.started = time.perf_counter()

    def report(self) -> None:
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            self.progress(TruthProgress(self.done, self.total, self.tokens, elapsed))

    def add_tokens(self, n: int) -> None:
        self.tokens += n


def _check_generative(task: Task) -> str:
    """The task's grader name, or a one-line error saying why the task cannot be generated."""
    if task.kind in ("rc", "mc"):
        raise UserError(
            f"task {task.name} is multiple-choice: its truth is the accuracy of the argmax "
            "log-likelihood over choices (mc_truth), not generation"
        )
    if task.grader is None:
        raise UserError(f"task {task.name}: has no grader, so it cannot be graded")
    if not task.docs:
        raise UserError(f"task {task.name}: no docs")
    return task.grader


def compute_shard(
    model: LoadedModel,
    task: Task,
    cfg: GenerationConfig,
    start: int,
    shard_size: int,
    workers: int,
    track: Tracker,
) -> pa.Table:
    """Generate and grade the docs of one shard."""
    grader = get_grader(_check_generative(task))
    docs = task.docs[start : start + shard_size]
    shard_started, base = time.perf_counter(), track.done

    def on_seq(finished: int, of: int) -> None:
        track.done = base + len(docs) * finished / max(of, 1)
        track.report()

    gens = generate(
        model,
        [d.prompt for d in docs],
        cfg,
        on_seq,
        prompt_indices=range(start, start + len(docs)),
        on_tokens=track.add_tokens,
    )
    pairs = [(d, g.text) for d, gs in zip(docs, gens, strict=True) for g in gs]
    with make_executor(workers, kind="thread") as pool:
        flat = pool.map(grader, pairs)
    per = cfg.n_samples
    grades = [flat[i * per : (i + 1) * per] for i in range(len(docs))]
    seconds = time.perf_counter() - shard_started
    track.done = base + len(docs)
    track.report()
    return _shard_table(model, docs, start, gens, grades, cfg.greedy, seconds)


def run_truth(
    model: LoadedModel,
    task: Task,
    config: GenerationConfig,
    store: Store | None = None,
    progress: Callable[[TruthProgress], None] | None = None,
    *,
    shard_size: int = 16,
    workers: int = 2,
    elsewhere: Elsewhere | None = None,
) -> TruthResult:
    """Generate for every doc of ``task``, grade, aggregate and (with a store) record.

    ``workers`` graders run at once (code execution waits on sandboxed child processes). With
    ``elsewhere`` each missing shard is a job of its executor that loads the model itself,
    generates, grades and writes its shard into the (shared) store.
    """
    get_grader(_check_generative(task))  # an unknown grader fails before anything runs
    cfg = effective_config(task, config)
    key = truth_key(model, task, cfg)
    track = Tracker(len(task.docs), progress)

    def reused(start: int, table: pa.Table) -> None:
        track.done += len(task.docs[start : start + shard_size])
        track.add_tokens(int(pc.sum(table.column("cost_tokens")).as_py() or 0))
        track.report()

    def compute(start: int) -> pa.Table:
        return compute_shard(model, task, cfg, start, shard_size, workers, track)

    track.report()
    job: ShardedJob[int] = ShardedJob(store, KIND, key)
    starts = range(0, len(task.docs), shard_size)
    if elsewhere is None or store is None:
        run = job.run(starts, lambda s: f"{s // shard_size:05d}", compute, reused)
    else:
        from lmforecast.truth.remote import truth_shard  # it imports this module

        at = (str(store.root), mark_shared(store.root))

        def compute_missing(missing: list[int]) -> Iterator[int]:
            todo = [(elsewhere.model, task, cfg, at, key, s, shard_size, workers) for s in missing]
            for i, (docs, tokens) in elsewhere.executor.imap_unordered(truth_shard, todo):
                track.done += docs
                track.add_tokens(tokens)
                track.report()
                yield missing[i]

        run = job.run_elsewhere(starts, lambda s: f"{s // shard_size:05d}", compute_missing, reused)
    result = _result(model, task, cfg, key if store is not None else None, run, track.started)
    if store is not None:
        store.write_meta(KIND, key, _meta(model, task, result))
    return result


def _result(
    model: LoadedModel,
    task: Task,
    cfg: GenerationConfig,
    key: str | None,
    run: ShardedRun,
    started: float,
) -> TruthResult:
    samples = pa.concat_tables(list(run.tables)).cast(SAMPLE_SCHEMA)
    accuracy, pass_k = _metrics(samples, cfg.n_samples)
    real = pc.greater(samples.column("cost_tokens"), 0)  # rows that cost a generation
    prompt_tok = pc.sum(pc.filter(samples.column("prompt_tokens"), real)).as_py() or 0
    truncated = {
        i
        for i, t in zip(
            samples.column("doc_index").to_pylist(),
            samples.column("truncated_tokens").to_pylist(),
            strict=True,
        )
        if t
    }
    return TruthResult(
        model=model.name,
        fingerprint=model.fingerprint,
        task=task.name,
        key=key,
        config=cfg,
        num_problems=len(task.docs),
        accuracy=accuracy,
        pass_at_k=pass_k,
        seconds=float(pc.sum(samples.column("seconds")).as_py() or 0.0),
        wall_seconds=time.perf_counter() - started,
        tokens_generated=int(pc.sum(samples.column("cost_tokens")).as_py() or 0),
        prompt_tokens=int(prompt_tok),
        flops=float(pc.sum(samples.column("flops")).as_py() or 0.0),
        truncated_prompts=len(truncated),
        shards_reused=run.reused,
        shards_computed=run.computed,
        samples=samples,
    )


def _meta(model: LoadedModel, task: Task, result: TruthResult) -> dict[str, Any]:
    return {
        "model": model.name,
        "fingerprint": model.fingerprint,
        "model_source": model.source,
        "dtype": model.dtype_name,
        "task": task.name,
        "task_source": task.source,
        "grader": task.grader,
        "config": result.config.model_dump(mode="json"),
        "summary": result.summary(),
        "seconds": result.seconds,
        "flops": result.flops,
        "created": time.time(),
    }
