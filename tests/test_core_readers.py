"""The user-file readers: JSON-lines splitting, and fuzzing with arbitrary bytes.

Every reader of a user file (text, JSON lines, the JSONL task loader, the ground-truth imports
of lm-eval / OLMES / CSV files) must either return or raise :class:`UserError` naming the file:
the CLI prints a ``UserError`` as one line and treats anything else as a bug with a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import read_json_lines
from lmforecast.tasks import load_jsonl_task

# ---------------------------------------------------------------------------------------------
# Line splitting


def test_json_lines_keep_unicode_line_separators_inside_strings(tmp_path: Path) -> None:
    """U+2028 / U+2029 / U+0085 are legal raw inside a JSON string; only ``\\n`` ends a line."""
    path = tmp_path / "x.jsonl"
    records = [{"a": "one\u2028two"}, {"b": "x\u2029y\x85z"}, {"c": 3}]
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", "utf-8")
    assert list(read_json_lines(path)) == [(1, records[0]), (2, records[1]), (3, records[2])]


def test_json_lines_crlf_and_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\r\n  \n{"b": "\xe2\x80\xa8"}\r\n{"c": 3}')
    assert list(read_json_lines(path)) == [(1, {"a": 1}), (4, {"b": "\u2028"}), (5, {"c": 3})]
    path.write_bytes(b'{"a": 1}\r\n\n[1]\r\n')
    with pytest.raises(UserError, match=r"x\.jsonl:3: expected a JSON object, got list"):
        list(read_json_lines(path))


def test_task_loader_reads_a_context_holding_a_line_separator(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    line = {"context": "Q:\u2028A:", "continuation": " 1\u2029"}
    path.write_text(json.dumps(line, ensure_ascii=False) + "\n", "utf-8")
    (request,) = load_jsonl_task(path).requests
    assert (request.context, request.continuation) == (line["context"], line["continuation"])
