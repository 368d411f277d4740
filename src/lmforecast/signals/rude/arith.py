"""Plain arithmetic for RuDE's checkers and degraders: evaluating and perturbing numbers.

Checkers must judge written computations (``16 - 3 - 4 = 9``, ``2\\cdot 12\\cdot20=480``)
without running anything: :func:`evaluate` walks the syntax tree of an expression made of
numbers, ``+ - * / **`` and brackets only, so no text from a response is ever executed.
"""

from __future__ import annotations

import ast
import random

_MAX_EXPONENT = 64


def _value(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        v = _value(node.operand)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        a, b = _value(node.left), _value(node.right)
        if isinstance(node.op, ast.Add):
            return a + b
        if isinstance(node.op, ast.Sub):
            return a - b
        if isinstance(node.op, ast.Mult):
            return a * b
        if isinstance(node.op, ast.Div):
            return a / b
        if isinstance(node.op, ast.Pow) and abs(b) <= _MAX_EXPONENT and abs(a) < 1e6:
            return float(a**b)
    raise ValueError("not plain arithmetic")


def evaluate(expr: str) -> float | None:
    """The value of an arithmetic expression in Python syntax; None if it is anything else.

    >>> evaluate("16 - 3 - 4")
    9.0
    >>> evaluate("1 / 0") is None, evaluate("x + 1") is None, evaluate("2 ** 3")
    (True, True, 8.0)
    """
    try:
        tree = ast.parse(expr.strip(), mode="eval")
        value = _value(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    return value if isinstance(value, float) and value == value else None


def format_like(value: float, template: str) -> str:
    """``value`` written like ``template``: its decimals, thousands commas and ``$``.

    >>> format_like(1201.0, "$1,200"), format_like(2.75, "2.5"), format_like(7.0, "6")
    ('$1,201', '2.75', '7')
    """
    digits = template.lstrip("-").lstrip("$ ")
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    if round(value, decimals) != value:  # never round the value away: 2.75 stays 2.75
        decimals = len(repr(value).split(".")[1])
    body = f"{abs(value):,.{decimals}f}" if "," in digits else f"{abs(value):.{decimals}f}"
    sign = "-" if value < 0 else ""
    return f"{sign}${body}" if "$" in template else f"{sign}{body}"


def nudge(value: int, rng: random.Random, keep_sign: bool = True) -> int:
    """A different integer off by 1–3 (never crossing zero when ``keep_sign``)."""
    options = [value + d for d in (-3, -2, -1, 1, 2, 3)]
    if keep_sign:
        options = [v for v in options if (v >= 0) == (value >= 0) and (v != 0 or value == 0)]
    return rng.choice(options or [value + 1])
