"""The CLI: real runs, and bad input as one line on stderr with a non-zero exit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import write_task_file

from lmforecast.cli import main
from lmforecast.cli.app import console


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["lmforecast", *args])
    monkeypatch.setattr(console, "width", 400)  # keep whole paths on one line
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def user_error(args: list[str], monkeypatch, capsys) -> str:  # type: ignore[no-untyped-def]
    code = run_cli(args, monkeypatch)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, err
    return err


@pytest.fixture()
def task_file(tmp_path: Path) -> Path:
    return write_task_file(tmp_path / "t.jsonl", 6)


def test_score_writes_parquet_and_show_lists_it(
    tiny_llama_dir: Path, task_file: Path, tmp_path: Path, lmf_home: Path, monkeypatch, capsys
) -> None:
    out = tmp_path / "out.parquet"
    store = str(tmp_path / "store")
    args = ["score", "--model", str(tiny_llama_dir), "--task", str(task_file), "--limit", "4"]
    assert run_cli([*args, "--output", str(out), "--store-dir", store], monkeypatch) == 0
    table = pq.read_table(out)
    for col in ("request_index", "logprob", "num_tokens", "num_bytes", "entropy_mean",
                "logrank_mean", "top1", "top5", "top10"):  # fmt: skip
        assert col in table.column_names
    assert table.column("request_index").to_pylist() == [0, 1, 2, 3]
    jsonl = tmp_path / "out.jsonl"
    assert run_cli([*args, "--output", str(jsonl), "--store-dir", store], monkeypatch) == 0
    assert "0/1 units computed" in capsys.readouterr().out  # reused from the store
    assert len(jsonl.read_text().splitlines()) == 4
    assert run_cli(["show", "--store-dir", store], monkeypatch) == 0
    assert str(tiny_llama_dir) in capsys.readouterr().out.replace("\n", "")


def test_unknown_task(tiny_llama_dir: Path, monkeypatch, capsys) -> None:
    err = user_error(
        ["score", "--model", str(tiny_llama_dir), "--task", "gsm8k:gld"], monkeypatch, capsys
    )
    assert "unknown task 'gsm8k:gld'" in err and "gsm8k:gold" in err


def test_missing_and_corrupted_models(tmp_path: Path, task_file: Path, monkeypatch, capsys) -> None:
    err = user_error(
        ["score", "--model", str(tmp_path / "nope.gguf"), "--task", str(task_file)],
        monkeypatch,
        capsys,
    )
    assert "nope.gguf" in err and "not found" in err
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\x00garbage" * 100)
    err = user_error(["score", "--model", str(bad), "--task", str(task_file)], monkeypatch, capsys)
    assert "bad.gguf" in err and "cannot read GGUF" in err
    not_gguf = tmp_path / "weights.gguf"
    not_gguf.write_text("hello")
    err = user_error(
        ["score", "--model", str(not_gguf), "--task", str(task_file)], monkeypatch, capsys
    )
    assert "not a GGUF file" in err
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    (broken_dir / "config.json").write_text("{not json")
    err = user_error(
        ["score", "--model", str(broken_dir), "--task", str(task_file)], monkeypatch, capsys
    )
    assert "broken" in err and "cannot load model" in err


def test_malformed_jsonl_and_empty_continuation(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"context": "a", "continuation": " b"}\n{"context": "a", "continuation": \n')
    err = user_error(
        ["score", "--model", str(tiny_llama_dir), "--task", str(bad)], monkeypatch, capsys
    )
    assert f"{bad}:2" in err and "not valid JSON" in err
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"context": "a", "continuation": ""}\n')
    err = user_error(
        ["score", "--model", str(tiny_llama_dir), "--task", str(empty)], monkeypatch, capsys
    )
    assert f"{empty}:1" in err and "empty" in err


def test_too_long_request_is_an_error_or_explicit_truncation(
    tiny_llama_dir: Path, tmp_path: Path, lmf_home: Path, monkeypatch, capsys
) -> None:
    store = str(tmp_path / "store")
    ok = tmp_path / "ok.jsonl"
    ok.write_text(json.dumps({"context": "short", "continuation": " one"}) + "\n")
    assert (
        run_cli(
            ["score", "--model", str(tiny_llama_dir), "--task", str(ok), "--store-dir", store],
            monkeypatch,
        )
        == 0
    )
    capsys.readouterr()
    long = tmp_path / "long.jsonl"
    long.write_text(json.dumps({"context": "the dog " * 400, "continuation": " ran"}) + "\n")
    args = ["score", "--model", str(tiny_llama_dir), "--task", str(long), "--store-dir", store]
    err = user_error(args, monkeypatch, capsys)
    assert "exceed the 512-token context window" in err and "--truncate left" in err
    out = tmp_path / "t.parquet"
    assert run_cli([*args, "--truncate", "left", "--output", str(out)], monkeypatch) == 0
    assert pq.read_table(out).column("truncated").to_pylist()[0] > 0
    # Nothing stored before the failed run was lost.
    assert run_cli(["show", "--store-dir", store], monkeypatch) == 0
    assert capsys.readouterr().out.count(str(tiny_llama_dir)) >= 2
