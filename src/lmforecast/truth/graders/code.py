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


def humaneval_parts(doc: Doc, completion: str) -> tuple[str, str]:
    """(program, tests): prompt + completion; then the problem's tests and ``check(entry_point)``.

    The tests first run the prompt again around the candidate: tests of HumanEval/32, /38 and /50
    call helpers the prompt defines (``poly``, ``encode_cyclic``, ``encode_shift``), and a
    completion that redefined them (``poly`` always 0, the encoding the identity) would
    otherwise be tested against its own. The candidate keeps its own globals.
    """
    extra = doc.extra
    try:
        prompt, test, entry = extra["prompt"], extra["test"], extra["entry_point"]
    except KeyError as e:
        raise UserError(f"doc {doc.doc_id}: HumanEval doc lacks field {e.args[0]!r}") from None
    program = f"{prompt}{completion.split('```')[0]}\n"
    tests = (
        f"_lmforecast_candidate = {entry}\n{prompt}\n{entry} = _lmforecast_candidate\n"
        f"{test}\ncheck({entry})\n"
    )
    return program, tests


def humaneval_program(doc: Doc, completion: str) -> str:
    """Program then tests as one text, for reading; grading runs them apart (so that no text
    of the completion can swallow the tests, see :mod:`~lmforecast.truth.sandbox_harness`)."""
    return "".join(humaneval_parts(doc, completion))


def mbpp_parts(doc: Doc, completion: str) -> tuple[str, str]:
    """(program, tests): the cleaned completion; then ``test_setup_code`` and the asserts."""
    extra = doc.extra
    tests = extra.get("test_list")
    if not isinstance(tests, list | tuple) or not tests:
        raise UserError(f"doc {doc.doc_id}: MBPP doc lacks a non-empty 'test_list'")
    setup = extra.get("test_setup_code") or ""
    return f"{clean_code(completion)}\n", f"{setup}\n" + "\n".join(tests) + "\n"


def mbpp_program(doc: Doc, completion: str) -> str:
    """Program then tests as one text, for reading; grading runs them apart."""
    return "".join(mbpp_parts(doc, completion))


def _run(parts: tuple[str, str]) -> GradeResult:
    """Correct only on the sandbox's proof that every test ran and passed, not on exit status
    0 alone (which ``sys.exit()`` before the tests also gives)."""
    program, tests = parts
    result = run_program(program, Limits(timeout_s=CODE_TIMEOUT_S), tests=tests)
    lines = [ln for ln in result.stderr_tail.strip().splitlines() if ln.strip()]
    detail = lines[-1][:300] if lines else None
    if result.status == "incomplete":
        detail = "exited with status 0 before its tests ran to the end"
    return GradeResult(result.passed, result.status, detail)


@register_grader("humaneval")
def grade_humaneval(doc: Doc, completion: str) -> GradeResult:
    return _run(humaneval_parts(doc, completion))


@register_grader("mbpp")
def grade_mbpp(doc: Doc, completion: str) -> GradeResult:
    return _run(mbpp_parts(doc, completion))
