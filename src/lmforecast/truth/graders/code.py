"""Code: HumanEval and MBPP programs, built from a completion, run with their tests in the
sandbox."""

from __future__ import annotations

from lmforecast.core.errors import UserError
from lmforecast.core.records import Doc
from lmforecast.truth.graders.base import GradeResult, register_grader
from lmforecast.truth.sandbox import Limits, run_program

CODE_TIMEOUT_S = 5.0


def clean_code(completion: str) -> str:
    """Program text from a completion: cut at a closing code fence and undo the indent of the
    first line (MBPP gold continuations start with a space after the prompt's fence).

    If the first line opens a block (``def f():``) or other lines are indented less, only the
    first line is dedented (its body keeps its own consistent indentation, however deep);
    if every line shares the first line's indentation and it opens no block, all lines are.

    >>> clean_code(" def f():\\n\\treturn 1\\n```\\nmore")
    'def f():\\n\\treturn 1\\n'
    >>> clean_code("    x = 1\\n    y = 2")
    'x = 1\\ny = 2'
    >>> clean_code(" def f():\\n return 1")
    'def f():\\n return 1'
    """
    code = completion.split("```")[0].lstrip("\r\n")
    first = code.split("\n", 1)[0]
    prefix = first[: len(first) - len(first.lstrip(" \t"))]
    if not prefix:
        return code
    lines = code.split("\n")
    opens_block = first.split("#")[0].rstrip().endswith(":")
    if not opens_block and all(line.startswith(prefix) or not line.strip() for line in lines):
        return "\n".join(line[len(prefix) :] for line in lines)
    return code[len(prefix) :]


def humaneval_program(doc: Doc, completion: str) -> str:
    """Prompt + completion + the problem's tests + ``check(entry_point)``."""
    extra = doc.extra
    try:
        return (
            f"{extra['prompt']}{completion.split('```')[0]}\n{extra['test']}\n"
            f"check({extra['entry_point']})\n"
        )
    except KeyError as e:
        raise UserError(f"doc {doc.doc_id}: HumanEval doc lacks field {e.args[0]!r}") from None


def mbpp_program(doc: Doc, completion: str) -> str:
    """Completion + ``test_setup_code`` + the ``test_list`` asserts."""
    extra = doc.extra
    tests = extra.get("test_list")
    if not isinstance(tests, list | tuple) or not tests:
        raise UserError(f"doc {doc.doc_id}: MBPP doc lacks a non-empty 'test_list'")
    setup = extra.get("test_setup_code") or ""
    return f"{clean_code(completion)}\n{setup}\n" + "\n".join(tests) + "\n"


def _run(program: str) -> GradeResult:
    result = run_program(program, Limits(timeout_s=CODE_TIMEOUT_S))
    lines = [ln for ln in result.stderr_tail.strip().splitlines() if ln.strip()]
    return GradeResult(result.passed, result.status, lines[-1][:300] if lines else None)


@register_grader("humaneval")
def grade_humaneval(doc: Doc, completion: str) -> GradeResult:
    return _run(humaneval_program(doc, completion))


@register_grader("mbpp")
def grade_mbpp(doc: Doc, completion: str) -> GradeResult:
    return _run(mbpp_program(doc, completion))
