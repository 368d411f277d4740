"""The user-file readers: JSON-lines splitting, and fuzzing with arbitrary bytes.

Every reader of a user file (text, JSON lines, the JSONL task loader, the ground-truth imports
of lm-eval / OLMES / CSV files) must either return or raise :class:`UserError` naming the file:
the CLI prints a ``UserError`` as one line and treats anything else as a bug with a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lmforecast.core.errors import TaskError, UserError
from lmforecast.core.jsonlines import read_json_lines, read_user_text
from lmforecast.tasks import load_jsonl_task
from lmforecast.truth.importers import import_file

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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 100_000, r"any\.jsonl:1: not valid JSON \(nested too deeply\)"),
        (b'{"a": ' + b"1" * 5000 + b"}", r"any\.jsonl:1: not valid JSON \(Exceeds the limit"),
        (b'{}\n{"a": "\\ud800"}', r"any\.jsonl:2: a string holds a lone surrogate"),
    ],
)
def test_json_that_json_loads_rejects_otherwise_is_a_user_error(
    tmp_path: Path, data: bytes, message: str
) -> None:
    path = tmp_path / "any.jsonl"
    path.write_bytes(data)
    with pytest.raises(UserError, match=message):
        list(read_json_lines(path))
    path.write_bytes(b'{"a": "\\ud83d\\ude00"}')  # a surrogate pair is one character
    assert list(read_json_lines(path)) == [(1, {"a": "\U0001f600"})]


def test_csv_field_over_the_csv_module_limit_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "r.csv"
    path.write_bytes(b"model,task,metric,value\nm,t,acc,1\nm,t,acc," + b"1" * 200_000 + b"\n")
    with pytest.raises(UserError, match=r"r\.csv:3: not valid CSV \(field larger than"):
        import_file(path)


# ---------------------------------------------------------------------------------------------
# Arbitrary bytes: return or raise UserError, never anything else

# Field names the readers look for, so that generated objects reach past the first check.
FIELDS = [
    "context", "continuation", "doc_id", "choice", "answer", "filter", "metrics", "native_id",
    "task_name", "task_config", "model_config", "model", "results", "model_name", "config",
    "model_args", "pretrained", "acc", "exact_match", "alias",
]  # fmt: skip
# Python's json accepts NaN / Infinity; lone surrogates reach Arrow only through \u escapes.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(10**20), 10**20)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.sampled_from([*FIELDS, "N/A", "\ud800", "a\udfffb", "acc,none"])
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=12,
)
OBJECTS = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6)
# One valid record of each shape the readers accept; mutated below so most inputs are near
# misses (a field dropped or of the wrong type) and some are accepted whole.
TEMPLATES: list[dict[str, Any]] = [
    {"context": "Q: 1+1?", "continuation": " 2", "doc_id": "a", "answer": "2"},
    {"context": "Q", "continuation": " A", "choice": 0},
    {"doc_id": 0, "filter": "none", "metrics": ["acc"], "acc": 1},
    {"task_name": "t", "metrics": {"acc": 0.5, "sub": {"f1": 1}}, "model_config": {"model": "m"}},
    {"native_id": "x", "doc_id": 1, "metrics": {"acc": 1.0}},
    {"results": {"t": {"acc,none": 0.5, "alias": "t", "acc_stderr,none": "N/A"}},
     "model_name": "m", "config": {"model_args": "pretrained=m"}},
]  # fmt: skip


@st.composite
def near_valid(draw: st.DrawFn, template: dict[str, Any]) -> dict[str, Any]:
    """``template`` with each field kept (mostly), dropped, or replaced by any value."""
    out: dict[str, Any] = {}
    for key, value in template.items():
        fate = draw(st.sampled_from(["keep"] * 12 + ["drop", "replace"]))
        if fate == "replace":
            out[key] = draw(JSON_VALUES)
        elif fate == "keep":
            out[key] = value
    if draw(st.integers(0, 3)) == 3:
        out[draw(st.sampled_from(FIELDS))] = draw(JSON_VALUES)
    return out


@st.composite
def json_lines_bytes(draw: st.DrawFn) -> bytes:
    """JSON-lines-like bytes (one line is also a .json file): near-valid records of one shape,
    sometimes a junk line (another value, an object of known fields, text), assorted ends."""
    lines: list[Any] = draw(st.lists(near_valid(draw(st.sampled_from(TEMPLATES))), max_size=3))
    if draw(st.booleans()):
        junk = OBJECTS | JSON_VALUES | st.text(max_size=10)
        lines.insert(draw(st.integers(0, len(lines))), draw(junk))
    parts = []
    for value in lines:
        text = value if isinstance(value, str) and draw(st.booleans()) else json.dumps(value)
        ends = ["\n", "\n", "\r\n", "\n\n", "\u2028", " "]
        parts.append(text + draw(st.sampled_from(ends)))
    return "".join(parts).encode("utf-8", "surrogatepass")


@st.composite
def csv_bytes(draw: st.DrawFn) -> bytes:
    """CSV-like bytes: a header of (mostly) the expected columns, then rows that fit it
    (mostly), sometimes a ragged one."""
    columns = ["model", "task", "metric", "value"]
    name = st.sampled_from(["m", "t", "acc", '"a,b"', '"x\ny"']) | st.text(max_size=6)
    number = st.floats().map(repr) | st.sampled_from(["nan", "-inf", "1e400", "1_0", " 2 ", "x"])
    header = draw(st.permutations(columns)) if draw(st.integers(0, 3)) else draw(st.lists(name))
    rows = []
    for _ in range(draw(st.integers(0, 4))):
        rows.append([draw(number if h == "value" else name) for h in header])
    if draw(st.booleans()):
        rows.insert(draw(st.integers(0, len(rows))), draw(st.lists(name, max_size=5)))
    text = "\n".join(",".join(r) for r in [header, *rows])
    bom = "\ufeff" if draw(st.booleans()) else ""
    return (bom + text).encode("utf-8", "surrogatepass")


ANY_BYTES = st.binary(max_size=200) | st.text(max_size=80).map(str.encode)
INPUTS = ANY_BYTES | json_lines_bytes() | json_lines_bytes() | csv_bytes()
# Hand-picked inputs that once escaped as other exceptions (or could).
NASTY = [
    b"[" * 100_000,  # nesting deeper than the recursion limit
    b'{"a": ' + b"1" * 5000 + b"}",  # an integer past Python's int-from-string digit limit
    b'{"doc_id": "\\ud800", "metrics": {"acc": 1}, "filter": "none", "acc": 1}',
    b'{"model_name": "\\udfff", "results": {"t": {"acc": 1}}}',
    b"model,task,metric,value\nm,t,acc," + b"1" * 200_000 + b"\n",  # a field over csv's limit
    b"model,task,metric,value\n\xef\xbb\xbfm\x00,t,acc,1\r\n",
    b'{"context": "\\ud800", "continuation": "x"}',
    b"\xef\xbb\xbf" + b'{"a": 1}',  # a byte-order mark before JSON
]
# (file name, model, task) for import_file: every format and shape, with and without overrides.
IMPORT_NAMES = [
    ("results_2024-01-01T00-00-00.json", None, None),
    ("samples_gsm8k_2024-01-01T00-00-00.jsonl", "m", None),
    ("samples_gsm8k_2024-01-01T00-00-00.jsonl", None, None),
    ("task-000-gsm8k-metrics.json", None, None),
    ("metrics-all.jsonl", "m", "t"),
    ("metrics-all.jsonl", None, None),
    ("task-000-gsm8k-predictions.jsonl", "m", None),
    ("results.csv", None, None),
    ("results.csv", "m", "t"),
]
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_user_errors(call: Any, path: Path) -> None:
    try:
        call()
    except UserError as e:
        assert str(path) in str(e), e  # the message names the file
    # Anything else propagates: a traceback is the failure this test looks for.


def _add_examples(test: Any) -> Any:
    for data in NASTY:
        test = example(data=data)(test)
    return test


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for all examples (hypothesis does not reset function-scoped fixtures)."""
    return tmp_path_factory.mktemp("fuzz")


@FUZZ
@given(data=INPUTS)
@_add_examples
def test_json_readers_never_crash(fuzz_dir: Path, data: bytes) -> None:
    path = fuzz_dir / "any.jsonl"
    path.write_bytes(data)
    _only_user_errors(lambda: read_user_text(path), path)
    _only_user_errors(lambda: list(read_json_lines(path)), path)
    _only_user_errors(lambda: list(read_json_lines(path, TaskError)), path)
    try:
        load_jsonl_task(path)
    except TaskError as e:
        assert str(path) in str(e), e


@FUZZ
@given(data=INPUTS)
@_add_examples
def test_ground_truth_imports_never_crash(fuzz_dir: Path, data: bytes) -> None:
    for name, model, task in IMPORT_NAMES:
        path = fuzz_dir / name
        path.write_bytes(data)
        _only_user_errors(lambda p=path, m=model, t=task: import_file(p, model=m, task=t), path)
        path.unlink()
