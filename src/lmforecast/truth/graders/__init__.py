"""Graders, one module per family; the registry is in :mod:`lmforecast.truth.graders.base`."""

from lmforecast.truth.graders.base import (
    GRADERS,
    Grader,
    GradeResult,
    answer_reader,
    get_grader,
    register_grader,
)
from lmforecast.truth.graders.choice import ChoiceGrade, grade_choice
from lmforecast.truth.graders.code import clean_code, humaneval_program, mbpp_program
from lmforecast.truth.graders.gsm8k import extract_gsm8k, parse_number
from lmforecast.truth.graders.math_answers import extract_math, math_equivalent, math_gold

__all__ = [
    "GRADERS",
    "ChoiceGrade",
    "GradeResult",
    "Grader",
    "answer_reader",
    "clean_code",
    "extract_gsm8k",
    "extract_math",
    "get_grader",
    "grade_choice",
    "humaneval_program",
    "math_equivalent",
    "math_gold",
    "mbpp_program",
    "parse_number",
    "register_grader",
]
