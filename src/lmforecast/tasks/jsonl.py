"""A user task from a JSONL file: one object per line with ``context`` and ``continuation``.

Optional fields: ``doc_id`` (defaults to the line number), ``answer`` (gold answer, enables a
grader), ``choice`` (for multiple-choice docs spread over several lines).
"""

from __future__ import annotations

from pathlib import Path

from lmforecast.core.errors import TaskError
from lmforecast.core.jsonlines import read_json_lines
from lmforecast.core.records import Doc, GenerationSpec, Request, Task


def load_jsonl_task(path: str | Path, grader: str | None = None) -> Task:
    path = Path(path)
    if not path.is_file():
        raise TaskError(f"{path}: task file not found")
    docs: dict[str, Doc] = {}
    requests: list[Request] = []
    lines = read_json_lines(path, TaskError, "a JSON object with context and continuation")
    for lineno, obj in lines:
        where = f"{path}:{lineno}"
        for key in ("context", "continuation"):
            if not isinstance(obj.get(key), str):
                raise TaskError(f"{where}: field {key!r} missing or not a string")
        if not obj["continuation"]:
            raise TaskError(f"{where}: field 'continuation' is empty (nothing to score)")
        doc_id = str(obj.get("doc_id", lineno))
        choice = obj.get("choice")
        if choice is not None and not isinstance(choice, int):
            raise TaskError(f"{where}: field 'choice' must be an integer")
        if doc_id not in docs:
            answer = obj.get("answer")
            docs[doc_id] = Doc(
                doc_id=doc_id,
                prompt=obj["context"],
                solution=obj["continuation"] if choice is None else None,
                answer=None if answer is None else str(answer),
            )
        requests.append(Request(len(requests), doc_id, obj["context"], obj["continuation"], choice))
    if not requests:
        raise TaskError(f"{path}: no requests (expected JSON lines with context and continuation)")
    return Task(
        name=str(path),
        kind="gold",
        description=f"user task from {path.name} ({len(requests)} requests)",
        docs=tuple(docs.values()),
        requests=tuple(requests),
        generation=GenerationSpec(stop=("\n\n",), max_tokens=256),
        grader=grader,
        source=f"file:{path.resolve()}",
    )
