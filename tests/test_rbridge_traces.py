"""The trace format users bring: reading, writing, and one-line errors for every bad line."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from lmforecast.signals.rbridge import Trace, TraceError, read_traces, write_traces
from lmforecast.signals.rbridge.traces import first_difference


def _line(**fields: object) -> str:
    return json.dumps(fields, ensure_ascii=False)


GOOD = {
    "doc_id": "7",
    "text": "Café → 3\nso 4.",
    "tokens": [["Caf", -0.1], ["é", -2.0], [" →", 0.0], [" 3", -0.5], ["\nso 4.", -0.25]],
}


def _write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_reads_a_good_file_in_order_and_round_trips(tmp_path: Path) -> None:
    second = {"doc_id": "8", "text": "ok", "tokens": [["o", -1], ["k", -0.5]], "extra": 1}
    path = _write(tmp_path, _line(**GOOD), "", _line(**second))
    traces = read_traces(path)
    assert [t.doc_id for t in traces] == ["7", "8"]
    assert traces[0].text == "Café → 3\nso 4."
    assert traces[0].tokens[1] == ("é", -2.0)
    assert traces[1].tokens == (("o", -1.0), ("k", -0.5))  # ints read as floats
    out = tmp_path / "again.jsonl"
    write_traces(traces, out)
    assert read_traces(out) == traces
    assert "→" in out.read_text(encoding="utf-8")  # written as UTF-8, not escaped


def test_unicode_line_separators_inside_text_do_not_split_records(tmp_path: Path) -> None:
    trace = Trace("1", "a\u2028b", (("a\u2028", -0.1), ("b", -0.2)))
    path = tmp_path / "t.jsonl"
    write_traces([trace], path)
    assert read_traces(path) == [trace]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"text": "a", "tokens": [["a", -1]]}, "field 'doc_id': missing"),
        ({"doc_id": 3, "text": "a", "tokens": [["a", -1]]}, "field 'doc_id': expected a string"),
        ({"doc_id": "1", "tokens": [["a", -1]]}, "field 'text': missing"),
        ({"doc_id": "1", "text": "", "tokens": []}, "field 'text': empty trace"),
        ({"doc_id": "1", "text": "a", "tokens": "a"}, "field 'tokens': expected a list"),
        ({"doc_id": "1", "text": "a", "tokens": [["a"]]}, "field 'tokens'[0]: expected a ["),
        ({"doc_id": "1", "text": "a", "tokens": [[1, -1]]}, "'tokens'[0]: token text must be"),
        ({"doc_id": "1", "text": "a", "tokens": [["a", "x"]]}, "'tokens'[0]: logprob must be"),
        ({"doc_id": "1", "text": "a", "tokens": [["a", True]]}, "'tokens'[0]: logprob must be"),
        ({"doc_id": "1", "text": "a", "tokens": [["a", 0.5]]}, "not a finite number <= 0"),
    ],
)
def test_malformed_lines_are_one_line_errors_naming_file_line_and_field(
    tmp_path: Path, record: dict[str, object], message: str
) -> None:
    path = _write(tmp_path, _line(**GOOD), _line(**record))
    with pytest.raises(TraceError) as err:
        read_traces(path)
    text = str(err.value)
    assert text.startswith(f"{path}:2: ") and message in text, text
    assert "\n" not in text


def test_non_finite_logprob_from_json_infinity_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"doc_id": "1", "text": "a", "tokens": [["a", -Infinity]]}')
    with pytest.raises(TraceError, match=r":1: field 'tokens'\[0\]: logprob -inf is not a finite"):
        read_traces(path)


def test_tokens_that_do_not_concatenate_to_the_text_name_the_first_difference(
    tmp_path: Path,
) -> None:
    record = {
        "doc_id": "1",
        "text": "The café\nis open",
        "tokens": [["The cafe", -1], ["\nis open", -1]],
    }
    path = _write(tmp_path, _line(**record))
    with pytest.raises(TraceError) as err:
        read_traces(path)
    text = str(err.value)
    assert text.startswith(f"{path}:1: field 'tokens': tokens concatenate to ")
    assert "but text is " in text and text.endswith("first difference at character 7")
    assert "\n" not in text  # the snippets are repr()s: a newline in the text stays one line
    short = {"doc_id": "1", "text": "abc", "tokens": [["ab", -1]]}
    with pytest.raises(TraceError, match="first difference at character 2"):
        read_traces(_write(tmp_path, _line(**short)))


def test_duplicate_doc_ids_name_both_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, _line(**GOOD), _line(**GOOD))
    with pytest.raises(TraceError, match=r":2: field 'doc_id': duplicate '7' \(first at line 1\)"):
        read_traces(path)


def test_file_level_errors(tmp_path: Path) -> None:
    with pytest.raises(TraceError, match="no such file"):
        read_traces(tmp_path / "missing.jsonl")
    with pytest.raises(TraceError, match="no traces"):
        read_traces(_write(tmp_path, "", ""))
    with pytest.raises(TraceError, match=r":1: not valid JSON"):
        read_traces(_write(tmp_path, "{nope"))
    with pytest.raises(TraceError, match=r":1: expected a trace object, got list"):
        read_traces(_write(tmp_path, "[1, 2]"))
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe")
    with pytest.raises(TraceError, match="not UTF-8"):
        read_traces(tmp_path / "bin.jsonl")


def test_a_trace_built_in_code_is_checked_too() -> None:
    with pytest.raises(ValueError, match="first difference at character 1"):
        Trace("1", "ab", (("a", -1.0), ("c", -1.0)))
    with pytest.raises(ValueError, match="not a finite number"):
        Trace("1", "a", (("a", math.nan),))
    empty_piece = Trace("1", "é", (("", -3.0), ("é", -0.1)))  # a byte piece with no text
    assert empty_piece.tokens[0] == ("", -3.0)


def test_first_difference() -> None:
    assert first_difference("", "") == 0
    assert first_difference("abc", "abc") == 3
    assert first_difference("x", "") == 0


def test_the_readme_and_docstring_examples_are_valid_traces(tmp_path: Path) -> None:
    from lmforecast.signals.rbridge import traces

    readme = Path(__file__).resolve().parents[1] / "README.md"
    lines = [ln for ln in readme.read_text().splitlines() if ln.startswith('{"doc_id": "17"')]
    doc = traces.__doc__ or ""
    start = doc.index('{"doc_id": "17"')
    example = " ".join(doc[start : doc.index("}", doc.index("]]", start)) + 1].split())
    assert len(lines) == 1
    path = _write(tmp_path, lines[0], example.replace('"17"', '"18"'))
    assert [t.text for t in read_traces(path)] == [" 3 + 4 = 7.", "3 + 4 = 7."]
