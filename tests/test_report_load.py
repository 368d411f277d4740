"""Result files the report refuses, each with one line naming the file and what was expected:
foreign JSON, an older or newer format, a truncated file, a result missing a table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from report_fixtures import fixture_results

from lmforecast.core.errors import UserError
from lmforecast.experiments.results import RESULT_FORMAT
from lmforecast.report.load import READS_FORMAT, check_result, load_result


def _one_line_naming(err: UserError, name: str) -> str:
    text = str(err)
    assert "\n" not in text and text.startswith(name), text
    return text


def test_reader_reads_what_experiments_write() -> None:
    assert READS_FORMAT == RESULT_FORMAT


def test_fixture_results_load() -> None:
    for source, data in fixture_results():
        assert check_result(data, source).experiment == data["experiment"]


def test_older_result_names_the_file_and_says_rerun(tmp_path: Path) -> None:
    _, data = fixture_results()[0]
    old = {k: v for k, v in data.items() if k != "format"}
    path = tmp_path / "patel-old.json"
    path.write_text(json.dumps(old))
    with pytest.raises(UserError) as e:
        load_result(path)
    text = _one_line_naming(e.value, str(path))
    assert "older lmforecast (format 1); rerun the experiment" in text


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("[1, 2]", "not an lmforecast result (a JSON array)"),
        ('{"model": "x"}', "no 'experiment' key"),
        ('{"experiment": "helm"}', "'experiment': 'helm'"),
        ('{"experiment": "rude", "format": 9}', "newer lmforecast (format 9)"),
        ('{"experiment": "rude", "format": "2"}', "'format' is '2'"),
        ('{"experiment": "rude", "format": 2, "pairs": []}', "without the table 'signals'"),
        ("", "empty"),
        ("\x00\x01", "truncated or not JSON"),
    ],
)
def test_foreign_files_are_one_line_errors(tmp_path: Path, content: str, expected: str) -> None:
    path = tmp_path / "r.json"
    path.write_text(content)
    with pytest.raises(UserError) as e:
        load_result(path)
    assert expected in _one_line_naming(e.value, str(path))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        load_result(tmp_path / "absent.json")


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.floats(0.0, 0.999))
def test_a_truncated_result_is_one_line(tmp_path: Path, cut: float) -> None:
    """Any prefix of a real result file (a write cut short) is refused, never half-drawn."""
    _, data = fixture_results()[2]
    text = json.dumps(data)
    path = tmp_path / "cut.json"
    path.write_text(text[: int(len(text) * cut)])
    with pytest.raises(UserError) as e:
        load_result(path)
    _one_line_naming(e.value, str(path))


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(
    value=JSON,
    experiment=st.sampled_from(["patel", "rbridge", "rude", "probes", "other"]),
    version=st.sampled_from([1, 2, 3, "2", None]),
)
def test_any_json_is_a_result_or_one_line(value: object, experiment: str, version: object) -> None:
    """Whatever a file holds, the reader returns a result or one line naming the file."""
    candidates = [value]
    if isinstance(value, dict):
        candidates.append({**value, "experiment": experiment, "format": version})
    for data in candidates:
        try:
            check_result(data, "f.json")
        except UserError as e:
            _one_line_naming(e, "f.json")
