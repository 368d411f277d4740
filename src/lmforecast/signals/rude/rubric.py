"""Rubrics as data: the YAML schema (pydantic, no unknown keys) and its loader.

A rubric is one domain's criteria, each tagged with a 4C category and sub-category and naming
a checker and a degrader by registered name. Every 4C category is either covered by a criterion
or declared not applicable with a reason, so a rubric says explicitly what it does not test. A
malformed file is one :class:`UserError` line naming the file and the key path.

Schema (see ``rubrics/testbed-arith.yaml``)::

    domain: str                 # a name for reports
    task: str                   # the task whose docs the rubric judges (e.g. testbed-arith:gold)
    description: str
    criteria:                   # at least one
      - id: str                 # unique within the rubric
        category: competence | content | control | compliance
        subcategory: str        # one of the category's three (CATEGORIES)
        text: str               # the criterion in words
        checker: str            # a name in checkers.CHECKERS
        degrader: str           # a name in degraders.DEGRADERS
    not_applicable:             # optional
      - category: str
        reason: str
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lmforecast.core.errors import UserError
from lmforecast.core.jsonlines import read_user_text
from lmforecast.signals.rude.checkers import CHECKERS
from lmforecast.signals.rude.degraders import DEGRADERS

Category = Literal["competence", "content", "control", "compliance"]
CATEGORIES: dict[str, tuple[str, ...]] = {
    "competence": ("factuality", "logic", "procedure"),
    "content": ("completeness", "coherence", "relevance"),
    "control": ("format", "length", "scope"),
    "compliance": ("safety", "persona", "utility"),
}
RUBRICS_DIR = Path(__file__).parent / "rubrics"


class RubricError(UserError):
    """A rubric file is malformed: the message names the file and the key."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Criterion(_Strict):
    """One rubric item: what is required, how to check it, how to violate it."""

    id: str = Field(min_length=1)
    category: Category
    subcategory: str
    text: str = Field(min_length=1)
    checker: str
    degrader: str

    @model_validator(mode="after")
    def _subcategory_of_category(self) -> Criterion:
        if self.subcategory not in CATEGORIES[self.category]:
            known = ", ".join(CATEGORIES[self.category])
            raise ValueError(
                f"subcategory {self.subcategory!r} is not one of {self.category}'s ({known})"
            )
        return self


class NotApplicable(_Strict):
    """A 4C category with no meaning in this domain, and why."""

    category: Category
    reason: str = Field(min_length=1)


class Rubric(_Strict):
    """One domain's rubric; see the module docstring for the YAML it is read from."""

    domain: str = Field(min_length=1)
    task: str = Field(min_length=1)
    description: str = ""
    criteria: tuple[Criterion, ...] = Field(min_length=1)
    not_applicable: tuple[NotApplicable, ...] = ()

    def criterion(self, criterion_id: str) -> Criterion:
        """The criterion with this id (KeyError if none)."""
        for c in self.criteria:
            if c.id == criterion_id:
                return c
        raise KeyError(criterion_id)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _first_problem(e: ValidationError) -> str:
    """``key.path: message`` for the error a user should fix first.

    A misspelled key shows as an unknown key *and* a missing one; the unknown key is the one
    the user typed, so it comes first, with the missing key beside it as the likely intent.
    """
    errors = sorted(e.errors(), key=lambda err: err["type"] != "extra_forbidden")
    err = errors[0]
    where = _loc(tuple(err["loc"]))
    if err["type"] == "extra_forbidden":
        parent = tuple(err["loc"][:-1])
        missing = [
            str(x["loc"][-1])
            for x in errors
            if x["type"] == "missing" and tuple(x["loc"][:-1]) == parent
        ]
        hint = f" (did you mean {missing[0]!r}?)" if missing else ""
        return f"{where}: unknown key{hint}"
    return f"{where}: {err['msg'].lower()}"


def _check_semantics(rubric: Rubric) -> None:
    """Cross-field rules pydantic's per-field types cannot say; raises ValueError(key, msg)."""
    seen: set[str] = set()
    for i, c in enumerate(rubric.criteria):
        if c.id in seen:
            raise _KeyProblem(f"criteria[{i}].id", f"criterion id {c.id!r} is used twice")
        seen.add(c.id)
        if c.checker not in CHECKERS:
            raise _KeyProblem(f"criteria[{i}].checker", f"unknown checker {c.checker!r}")
        if c.degrader not in DEGRADERS:
            raise _KeyProblem(f"criteria[{i}].degrader", f"unknown degrader {c.degrader!r}")
    covered = {c.category for c in rubric.criteria}
    for i, na in enumerate(rubric.not_applicable):
        if na.category in covered:
            raise _KeyProblem(
                f"not_applicable[{i}].category",
                f"{na.category} is covered by a criterion and declared not applicable",
            )
    declared = {na.category for na in rubric.not_applicable}
    for category in CATEGORIES:
        if category not in covered | declared:
            raise _KeyProblem(
                "not_applicable",
                f"category {category} has no criterion and is not declared not applicable",
            )


class _KeyProblem(Exception):
    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def parse_rubric(data: object, source: str) -> Rubric:
    """A validated rubric from parsed YAML; ``source`` names the file in errors."""
    try:
        rubric = Rubric.model_validate(data)
    except ValidationError as e:
        raise RubricError(f"{source}: {_first_problem(e)}") from None
    try:
        _check_semantics(rubric)
    except _KeyProblem as e:
        raise RubricError(f"{source}: {e.key}: {e}") from None
    return rubric


def load_rubric(path: Path | str) -> Rubric:
    """A rubric from a YAML file, or from a shipped one by name (``testbed-arith``)."""
    p = Path(path)
    if not p.exists() and (RUBRICS_DIR / f"{path}.yaml").exists():
        p = RUBRICS_DIR / f"{path}.yaml"
    text = read_user_text(p, RubricError)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise RubricError(f"{p}{where}: not valid YAML ({e.__class__.__name__})") from None
    return parse_rubric(data, str(p))


def shipped_rubrics() -> list[str]:
    """Names of the rubrics shipped with lmforecast."""
    return sorted(f.stem for f in RUBRICS_DIR.glob("*.yaml"))
