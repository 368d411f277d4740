"""Build a population: tokenizers, corpora, training runs, post-training, ground truth, manifest.

Layout under ``data_home()/testbed/<fingerprint>/``::

    preset.json               what was built (preset, seed, versions) — the fingerprint's input
    tokenizers/<family>/      one trained tokenizer per model family
    corpora/<family>-<recipe>-<tokens>.npy   packed training rows
    runs/<run_id>/step-NNNNNN/      base checkpoints (transformers directories); the frontier's
                                    run is ``frontier-<family>-<size>-<recipe>``
    runs/<run_id>/sft/, rl/         post-trained models
    runs/<run_id>/record.json       the run's manifest records: written last, marks it done
    runs/<run_id>/truth.parquet     per-example ground truth of every model of the run
    manifest.parquet          rewritten after every finished run (status.json says how many)

Runs are independent jobs spread over worker processes (one thread each: tiny models scale
poorly with threads, and single-threaded float32 is bit-for-bit deterministic). A run is done
when its ``record.json`` exists, so a killed build resumes run by run. ``index.json`` beside the
fingerprint directories maps ``<preset>:<seed>`` to the latest fingerprint built for it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError
from lmforecast.core.fingerprint import hash_json
from lmforecast.core.paths import data_home
from lmforecast.executors import Executor, ExecutorSpec, ProcessPoolExecutor, make_executor
from lmforecast.executors.spec import parse_executor_spec
from lmforecast.testbed import architectures, generic
from lmforecast.testbed.manifest import ModelRecord, write_manifest
from lmforecast.testbed.presets import Preset, RunSpec, get_preset

# Bump when a change to the code changes what a build produces. 2: the qwen2 tokenizer is
# pre-tokenized as transformers loads it (Qwen2Tokenizer), so its models are graded as trained.
# 3: a frontier model (rBridge's trace writer) and the manifest's ``role`` column.
# 4: the decoder's counter-based random numbers: the RL stage samples other completions, so
# its models (and the population's accuracies) differ from a version-3 build.
FORMAT_VERSION = 4


@dataclass(frozen=True)
class ProgressEvent:
    """What the build reports: a phase, how far it is, and a line saying what just happened."""

    phase: str  # "tokenizers" | "corpora" | "runs" | "manifest" | "done"
    done: int
    total: int
    message: str = ""


Progress = Callable[[ProgressEvent], None]


def testbed_root() -> Path:
    return data_home() / "testbed"


def fingerprint(preset: Preset, seed: int) -> str:
    """Hash of everything that decides the population."""
    import tokenizers
    import torch
    import transformers

    _, _, generic_hash = generic.pool()
    return hash_json(
        {
            "preset": preset.spec(),
            "seed": seed,
            "format": FORMAT_VERSION,
            "generic": generic_hash,
            "versions": [torch.__version__, transformers.__version__, tokenizers.__version__],
        }
    )


def population_dir(preset: str | Preset = "full", seed: int = 0) -> Path:
    """Directory of a built population (from ``index.json``; raises if never built)."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    index = _read_index()
    key = f"{p.name}:{seed}"
    if key not in index:
        raise UserError(
            f"testbed preset {p.name!r} (seed {seed}) is not built under {testbed_root()}; "
            f"run `lmforecast testbed build --preset {p.name} --seed {seed}`"
        )
    return testbed_root() / index[key]


def _read_index() -> dict[str, str]:
    path = testbed_root() / "index.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _write_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(obj, indent=1, sort_keys=True, default=str))
    os.replace(tmp, path)


def _update_index(preset: Preset, seed: int, fp: str) -> None:
    index = _read_index()
    index[f"{preset.name}:{seed}"] = fp
    _write_json(testbed_root() / "index.json", index)


# -- worker-side jobs (top-level functions: they are pickled by name) ---------------------------
def _init_worker(threads: int) -> None:
    import torch
    import transformers

    torch.set_num_threads(threads)
    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _corpus_job(root: str, preset: Preset, seed: int, family: str, recipe: str, tokens: int) -> str:
    import numpy as np

    from lmforecast.testbed import corpora
    from lmforecast.testbed.runner import corpus_path
    from lmforecast.testbed.tokenizer import EOS, load_tokenizer

    target = corpus_path(Path(root), family, recipe, tokens)
    if target.is_file():
        return str(target)
    tok = load_tokenizer(Path(root) / "tokenizers" / family)
    eos = tok.token_to_id(EOS)
    rows = corpora.build_corpus(
        corpora.RECIPES[recipe], seed, tok, eos, tokens, preset.train.seq_len
    )
    tmp = target.with_name(f".{target.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, rows)
    os.replace(tmp, target)
    return str(target)


def _run_job(root: str, preset: Preset, seed: int, run: RunSpec) -> list[dict[str, Any]]:
    from lmforecast.testbed.runner import execute_run

    return [asdict(r) for r in execute_run(Path(root), preset, seed, run)]


# -- the build --------------------------------------------------------------------------------
def _tokenizers(root: Path, preset: Preset, seed: int, progress: Progress) -> None:
    from lmforecast.testbed import corpora
    from lmforecast.testbed.tokenizer import (
        EOS,
        check_loads_as_trained,
        save_tokenizer,
        train_tokenizer,
    )

    families = sorted({r.family for r in preset.runs})
    texts: list[str] | None = None
    for i, name in enumerate(families):
        target = root / "tokenizers" / name
        if not (target / "tokenizer.json").is_file():
            if texts is None:
                texts = corpora.tokenizer_texts(seed, preset.tokenizer_problems)
            family = architectures.FAMILIES[name]
            tok = train_tokenizer(texts, family.vocab_size, family.pretokenizer)
            config = architectures.build_config(
                family, family.sizes[0], preset.max_length, tok.token_to_id(EOS)
            )
            check_loads_as_trained(tok, config, texts[::10], preset.max_length, name)
            tmp = target.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            save_tokenizer(tok, tmp, preset.max_length)
            os.replace(tmp, target)
        progress(ProgressEvent("tokenizers", i + 1, len(families), f"tokenizer {name}"))


def run_order(preset: Preset) -> list[RunSpec]:
    """The frontier first (the longest job: started last, it alone would set the build's wall
    time), then the cheapest size first, across every recipe and family, so a build cut short
    leaves whole sub-grids (every recipe at the small sizes) rather than a few large runs."""
    runs = preset.runs
    first = [preset.frontier.run] if preset.frontier else []
    by_size = sorted({architectures.FAMILIES[r.family].size(r.size) for r in runs}, key=_cost)
    rank = {s: i for i, s in enumerate(by_size)}
    fam_rank = {f: i for i, f in enumerate(dict.fromkeys(r.family for r in runs))}

    def key(r: RunSpec) -> tuple[int, int]:
        return rank[architectures.FAMILIES[r.family].size(r.size)], fam_rank[r.family]

    return first + sorted(runs, key=key)


def _cost(size: architectures.SizeSpec) -> float:
    return float(size.hidden**2 * size.layers)


def _pool(spec: ExecutorSpec, workers: int, threads: int, root: Path) -> Executor:
    if spec.kind == "local":
        return ProcessPoolExecutor(workers, _init_worker, (threads,))
    return make_executor(workers, initializer=_init_worker, initargs=(threads,), spec=spec,
                         shared_dirs=(root,))  # fmt: skip


def build(
    preset: str | Preset = "ci",
    seed: int = 0,
    progress: Progress | None = None,
    workers: int | None = None,
    executor: str | ExecutorSpec | None = None,
) -> Path:
    """Build (or finish building) a population; returns its directory. Idempotent.

    ``executor`` ``ray[=ADDRESS]``: each corpus and each training run is one Ray task holding
    as many CPUs as a local worker has threads (the same thread count, so the same models);
    the data home must then be on a filesystem every node shares."""
    p = get_preset(preset) if isinstance(preset, str) else preset
    report: Progress = progress or (lambda e: None)
    fp = fingerprint(p, seed)
    root = testbed_root() / fp
    (root / "corpora").mkdir(parents=True, exist_ok=True)
    (root / "runs").mkdir(parents=True, exist_ok=True)
    (root / "tokenizers").mkdir(parents=True, exist_ok=True)
    _write_json(root / "preset.json", {"preset": p.spec(), "seed": seed, "fingerprint": fp})
    _update_index(p, seed, fp)
    _tokenizers(root, p, seed, report)

    n_workers = max(1, workers or p.workers)
    threads = max(1, (os.cpu_count() or 1) // n_workers)
    records: list[ModelRecord] = []
    # Always worker processes, even for one worker: training then runs with the same thread
    # count whatever the machine, so a population is the same on every build.
    spec = parse_executor_spec(executor).with_resources(cpus=threads)
    with _pool(spec, n_workers, threads, root) as pool:
        specs = sorted({(r.family, r.recipe, p.train_config(r).tokens) for r in p.all_runs()})
        corpus_jobs = [(str(root), p, seed, f, r, t) for f, r, t in specs]
        for i, (_, corpus) in enumerate(pool.imap_unordered(_corpus_job, corpus_jobs)):
            report(ProgressEvent("corpora", i + 1, len(specs), f"corpus {Path(corpus).stem}"))
        runs = run_order(p)
        run_jobs = [(str(root), p, seed, run) for run in runs]
        for i, (k, rows) in enumerate(pool.imap_unordered(_run_job, run_jobs)):
            records.extend(ModelRecord(**r) for r in rows)
            # The manifest grows with every finished run: a build cut short is usable as it is.
            write_manifest(records, root / "manifest.parquet")
            _write_json(root / "status.json", {"runs_done": i + 1, "runs_total": len(runs)})
            report(ProgressEvent("runs", i + 1, len(runs), f"run {runs[k].run_id}"))
    write_manifest(records, root / "manifest.parquet")
    report(ProgressEvent("manifest", 1, 1, f"{len(records)} models"))
    report(ProgressEvent("done", 1, 1, str(root)))
    return root
