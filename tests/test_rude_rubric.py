"""RuDE rubrics as data: the shipped rubrics load, and malformed ones fail in one line naming
the file and the key (misspelled key, unknown category, unknown checker, a category neither
covered nor declared not applicable, a criterion id used twice)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from lmforecast.core.errors import UserError
from lmforecast.signals.rude.rubric import RUBRICS_DIR, load_rubric, shipped_rubrics


def _base() -> dict[str, Any]:
    data = yaml.safe_load((RUBRICS_DIR / "testbed-arith.yaml").read_text())
    assert isinstance(data, dict)
    return data


def _error(tmp_path: Path, data: object) -> str:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(UserError) as e:
        load_rubric(path)
    message = str(e.value)
    assert "\n" not in message and str(path) in message
    return message


def test_shipped_rubrics_load_and_cover_every_category() -> None:
    testbed = ["testbed-arith", "testbed-list", "testbed-trace"]
    assert shipped_rubrics() == sorted(["gsm8k", "math500", "mbpp", *testbed])
    for name in testbed:  # the real-benchmark rubrics: tests/test_rude_real_rubrics.py
        rubric = load_rubric(name)
        assert rubric.task == f"{name}:gold"
        covered = {c.category for c in rubric.criteria}
        assert covered == {"competence", "content", "control"}
        assert [n.category for n in rubric.not_applicable] == ["compliance"]


def test_misspelled_key_names_the_key_path(tmp_path: Path) -> None:
    data = _base()
    data["criteria"][1]["chekcer"] = data["criteria"][1].pop("checker")
    assert "criteria[1].chekcer: unknown key (did you mean 'checker'?)" in _error(tmp_path, data)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    data = _base()
    data["critera"] = data.pop("criteria")
    assert "bad.yaml: critera: unknown key (did you mean 'criteria'?)" in _error(tmp_path, data)
    data = _base()
    data["extra"] = 1
    assert _error(tmp_path, data).endswith("bad.yaml: extra: unknown key")


def test_unknown_category_and_wrong_subcategory(tmp_path: Path) -> None:
    data = _base()
    data["criteria"][0]["category"] = "competance"
    assert "criteria[0].category" in _error(tmp_path, data)
    data = _base()
    data["criteria"][0]["subcategory"] = "format"
    message = _error(tmp_path, data)
    assert "criteria[0]" in message and "'format' is not one of competence's" in message


def test_unknown_checker_and_degrader(tmp_path: Path) -> None:
    data = _base()
    data["criteria"][2]["checker"] = "arith.steps_compleat"
    message = _error(tmp_path, data)
    assert "criteria[2].checker: unknown checker 'arith.steps_compleat'" in message
    data = _base()
    data["criteria"][2]["degrader"] = "nope"
    assert "criteria[2].degrader: unknown degrader 'nope'" in _error(tmp_path, data)


def test_category_neither_covered_nor_not_applicable(tmp_path: Path) -> None:
    data = _base()
    data["not_applicable"] = []
    message = _error(tmp_path, data)
    assert "not_applicable: category compliance has no criterion" in message
    data = _base()
    data["not_applicable"].append({"category": "control", "reason": "x"})
    assert "not_applicable[1].category: control is covered" in _error(tmp_path, data)


def test_duplicate_id_and_bad_yaml(tmp_path: Path) -> None:
    data = _base()
    dup = copy.deepcopy(data["criteria"][0])
    data["criteria"].append(dup)
    assert "criteria[4].id: criterion id 'final-answer' is used twice" in _error(tmp_path, data)
    path = tmp_path / "broken.yaml"
    path.write_text("domain: [unclosed\n")
    with pytest.raises(UserError, match=r"broken.yaml:\d+: not valid YAML"):
        load_rubric(path)
    with pytest.raises(UserError, match="no such file"):
        load_rubric(tmp_path / "missing.yaml")
