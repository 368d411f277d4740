"""``lmforecast score --traces``: rBridge from the command line, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import write_task_file
from test_cli import run_cli, user_error


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_task_file(tmp_path / "t.jsonl", 5)


def _trace(doc_id: str, text: str) -> dict[str, object]:
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    return {"doc_id": doc_id, "text": text, "tokens": [[p, -0.2 * (k % 4)] for k, p in
                                                       enumerate(pieces)]}  # fmt: skip


@pytest.fixture()
def traces_file(tmp_path: Path) -> Path:
    path = tmp_path / "traces.jsonl"
    rows = [_trace(str(i), f" {i - 1} + 1 = {i}, so the answer is {i}.") for i in (1, 2, 4)]
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def test_score_with_traces_prints_rbridge_and_writes_rows(
    tiny_llama_dir: Path, task_file: Path, traces_file: Path, tmp_path: Path, lmf_home: Path,
    monkeypatch, capsys,
) -> None:  # fmt: skip
    out = tmp_path / "out.parquet"
    args = ["score", "--model", str(tiny_llama_dir), "--task", str(task_file),
            "--traces", str(traces_file), "--store-dir", str(tmp_path / "store")]  # fmt: skip
    assert run_cli([*args, "--output", str(out), "--per-token"], monkeypatch) == 0
    printed = capsys.readouterr().out
    assert "3 traces · 2 docs without a trace skipped" in printed
    for name in ("rbridge ↓", "rbridge@task ↓", "rbridge_plain_nll ↓"):
        assert name in printed
    table = pq.read_table(out)
    assert table.column("doc_id").to_pylist() == ["1", "2", "4"]
    for col in ("rbridge", "rbridge@task", "rbridge_plain_nll", "tok_weight", "cross_entropy"):
        assert col in table.column_names
    assert run_cli([*args, "--limit", "2"], monkeypatch) == 0  # trace "4" is left aside
    assert "2 traces · 0 docs without a trace skipped" in capsys.readouterr().out
    spaced = [*args, "--limit", "2", "--trace-separator", " "]
    assert run_cli(spaced, monkeypatch) == 0
    assert "1/1 units computed" in capsys.readouterr().out  # other requests: not reused
    assert run_cli(spaced, monkeypatch) == 0
    assert "0/1 units computed" in capsys.readouterr().out  # the same again: reused


def test_traces_for_unknown_docs_are_one_line_errors(
    tiny_llama_dir: Path, task_file: Path, tmp_path: Path, lmf_home: Path, monkeypatch, capsys
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps(_trace("99", "hello")) + "\n")
    err = user_error(["score", "--model", str(tiny_llama_dir), "--task", str(task_file),
                      "--traces", str(path)], monkeypatch, capsys)  # fmt: skip
    assert "name doc_ids that task" in err and "'99'" in err


def test_a_malformed_trace_file_fails_before_the_model_loads(
    task_file: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"doc_id": "1", "text": "ab", "tokens": [["a", -1.0]]}) + "\n")
    err = user_error(["score", "--model", str(tmp_path / "no-such-model"), "--task",
                      str(task_file), "--traces", str(path)], monkeypatch, capsys)  # fmt: skip
    assert err.endswith(f"{path}:1: field 'tokens': tokens concatenate to 'a' but text is 'ab', "
                        "first difference at character 1")  # fmt: skip
