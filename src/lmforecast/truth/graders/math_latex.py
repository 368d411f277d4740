r"""LaTeX answers of MATH as sympy objects, for symbolic equivalence (no ``eval``, no antlr).

sympy's own ``parse_latex`` needs the antlr4 runtime (not installed), and ``parse_expr``
evaluates Python code; model output is untrusted text. So this is a small recursive-descent
parser for the answer subset MATH uses, building sympy objects directly from tokens: nothing
of the input is ever executed. It covers ``\frac`` (``\dfrac``, ``\tfrac``), ``\sqrt`` and
``\sqrt[n]``, ``\binom``, ``^`` (a braced group or, as in LaTeX, one token), ``\pi``,
``\infty``, ``\cdot``, ``\times``, ``\div``, ``\left``/``\right``, braces, implicit
multiplication, common functions (``\sin x``, ``\log_2 8``, ``\ln``), the imaginary unit
``i``, and, at the top level, tuples, intervals, sets and bare lists (compared element by
element) joined by ``\cup``. Anything else (text, relations, matrices, ``\pm``, subscripts)
is :class:`Unsupported`: the caller keeps the string verdict.

Sizes are bounded before sympy evaluates anything (number literals, exponents, powers of
numbers, binomials), because a huge integer power runs in C and no time limit can stop it in
the calling thread.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TypeAlias

import sympy

MAX_DIGITS = 1000  # longest number literal
MAX_EXPONENT = 1000  # largest numeric exponent
MAX_RESULT_DIGITS = 20_000  # largest exact power of a number (digits of base x exponent)
MAX_LETTER_RUN = 2  # "xy" is a product; three letters in a row are a word


class Unsupported(ValueError):
    """The answer uses LaTeX outside the subset, or sizes beyond the bounds."""


@dataclass(frozen=True)
class Bracketed:
    """A tuple, interval, set or bare list: brackets as written (``""`` when bare)."""

    opening: str
    closing: str
    items: tuple[sympy.Expr, ...]


@dataclass(frozen=True)
class SetUnion:
    """Pieces joined by ``\\cup``, in order."""

    pieces: tuple[sympy.Expr | Bracketed, ...]


Answer: TypeAlias = sympy.Expr | Bracketed | SetUnion

_FUNCTIONS = {
    "sin": sympy.sin, "cos": sympy.cos, "tan": sympy.tan, "sec": sympy.sec, "csc": sympy.csc,
    "cot": sympy.cot, "arcsin": sympy.asin, "arccos": sympy.acos, "arctan": sympy.atan,
    "sinh": sympy.sinh, "cosh": sympy.cosh, "tanh": sympy.tanh, "exp": sympy.exp,
    "ln": sympy.log, "log": sympy.log,
}  # fmt: skip
_CONSTANTS = {"pi": sympy.pi, "infty": sympy.oo}
_OPERATORS = {"cdot", "times", "div", "cup"}
_STRUCTURES = {"frac", "dfrac", "tfrac", "sqrt", "binom", "mathrm", "mathbf", "textbf", "text"}
_SKIPPED = {"left", "right", "displaystyle"}
# Longest first, so "\\pir" reads as \\pi r and "\\infty" is not \\in fty.
_COMMANDS = sorted([*_FUNCTIONS, *_CONSTANTS, *_OPERATORS, *_STRUCTURES, *_SKIPPED], key=len)[::-1]
_SPACING = {"\\!", "\\,", "\\;", "\\:", "\\ ", "\\%", "\\$"}
_TOKEN = re.compile(r"\s+|[0-9]+(?:\.[0-9]*)?|\.[0-9]+|\\[a-zA-Z]+|\\.|[a-zA-Z]|.", re.DOTALL)
_OPENING = {"(": ")", "[": "]", "\\{": "\\}"}
_DIGITS = set("0123456789")
_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_CLOSING = {")", "]", "\\}"}


def tokenize(text: str) -> list[str]:
    r"""Tokens: numbers, single letters, ``\command`` (split at the longest known name),
    ``\{``/``\}``, one-character operators; spacing, ``\left`` and ``\right`` dropped.

    >>> tokenize(r"2\sqrt{8}\pir^2")
    ['2', '\\sqrt', '{', '8', '}', '\\pi', 'r', '^', '2']
    """
    tokens: list[str] = []
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token.isspace() or token in _SPACING:
            continue
        if token.startswith("\\") and len(token) > 1 and _is_letter(token[1]):
            name = token[1:]
            known = next((c for c in _COMMANDS if name.startswith(c)), None)
            if known is None:
                raise Unsupported(f"unknown command {token}")
            if known not in _SKIPPED:
                tokens.append("\\" + known)
            tokens.extend(name[len(known) :])  # letters after the command: one symbol each
        elif token.startswith("\\") and token not in _OPENING and token not in _CLOSING:
            raise Unsupported(f"unknown command {token}")
        else:
            tokens.append(token)
    run = 0
    for token in tokens:
        run = run + 1 if _is_letter(token) else 0
        if run > MAX_LETTER_RUN:
            raise Unsupported("a word, not an expression")
    return tokens


def parse_answer(text: str) -> Answer:
    r"""The answer as a sympy expression, :class:`Bracketed` or :class:`SetUnion`.

    >>> parse_answer(r"\frac{\pi}{2}") == parse_answer(r"\frac12\pi")
    True
    >>> parse_answer(r"(-\infty, 3]")
    Bracketed(opening='(', closing=']', items=(-oo, 3))
    """
    tokens = tokenize(text)
    if not tokens:
        raise Unsupported("empty answer")
    pieces = _split_top_level(tokens, "\\cup")
    items = [_parse_item(piece) for piece in pieces]
    return items[0] if len(items) == 1 else SetUnion(tuple(items))


def _split_top_level(tokens: list[str], separator: str) -> list[list[str]]:
    """``tokens`` cut at ``separator`` outside any bracket or brace."""
    parts: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        if token in _OPENING or token == "{":
            depth += 1
        elif token in _CLOSING or token == "}":
            depth -= 1
            if depth < 0:
                raise Unsupported("unbalanced brackets")
        if token == separator and depth == 0:
            parts.append([])
        else:
            parts[-1].append(token)
    if depth != 0 or any(not part for part in parts):
        raise Unsupported("unbalanced brackets or an empty item")
    return parts


def _parse_item(tokens: list[str]) -> sympy.Expr | Bracketed:
    """A bracketed sequence (one bracket pair around comma-separated items), a bare list, or
    one expression."""
    opening, closing = tokens[0], tokens[-1]
    if opening in _OPENING and closing in _CLOSING and _encloses(tokens):
        inner = _split_top_level(tokens[1:-1], ",")
        if len(inner) > 1 or opening != "(" or closing != ")":
            items = tuple(_parse_expression(part) for part in inner)
            return Bracketed(opening, closing, items)
    parts = _split_top_level(tokens, ",")
    if len(parts) > 1:
        return Bracketed("", "", tuple(_parse_expression(part) for part in parts))
    return _parse_expression(tokens)


def _encloses(tokens: list[str]) -> bool:
    """Whether the first token's bracket closes at the last token (any bracket kinds, as
    intervals mix them)."""
    depth = 0
    for i, token in enumerate(tokens):
        if token in _OPENING or token == "{":
            depth += 1
        elif token in _CLOSING or token == "}":
            depth -= 1
            if depth == 0:
                return i == len(tokens) - 1
    return False


def _parse_expression(tokens: list[str]) -> sympy.Expr:
    parser = _Parser(tokens)
    expr = parser.expression()
    if parser.pos != len(tokens):
        raise Unsupported(f"unexpected {tokens[parser.pos]!r}")
    if expr.has(sympy.nan, sympy.zoo):
        raise Unsupported("undefined value (a division by zero)")
    return expr


class _Parser:
    """Recursive descent over tokens; sympy evaluates as it builds, within the size bounds."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise Unsupported(f"expected {expected or 'more'}, got {token!r}")
        self.pos += 1
        return token

    def expression(self) -> sympy.Expr:
        terms = [self.term()]
        while self.peek() in ("+", "-"):
            sign = self.take()
            term = self.term()
            terms.append(-term if sign == "-" else term)
        return sympy.Add(*terms)

    def term(self) -> sympy.Expr:
        result = self.factor()
        while True:
            token = self.peek()
            if token in ("*", "\\cdot", "\\times", "/", "\\div"):
                self.take()
                operand = self.factor()
                result = result / operand if token in ("/", "\\div") else result * operand
            elif self._starts_factor(token):  # implicit multiplication: 2x, 2\sqrt{2}, x(x+1)
                result = result * self.factor()
            else:
                return result

    def factor(self) -> sympy.Expr:
        if self.peek() in ("-", "+"):
            sign = self.take()
            operand = self.factor()
            return -operand if sign == "-" else operand
        base = self.primary()
        if self.peek() == "^":
            self.take()
            base = _power(base, self.exponent())
            if self.peek() == "^":
                raise Unsupported("double superscript")
        return base

    def exponent(self) -> sympy.Expr:
        """A braced group, else one token as LaTeX reads it (``x^23`` is x squared times 3)."""
        token = self.peek()
        if token == "{":
            return self.group()
        if token is not None and _is_number(token) and token[0] != ".":
            return self.first_digit()
        if token is not None and (_is_letter(token) or token in _CONSTANT_TOKENS):
            return self.primary()
        raise Unsupported(f"exponent {token!r}")

    def group(self) -> sympy.Expr:
        self.take("{")
        expr = self.expression()
        self.take("}")
        return expr

    def argument(self) -> sympy.Expr:
        r"""A ``\frac``/``\sqrt`` argument: a braced group or one token (``\frac12``)."""
        token = self.peek()
        if token == "{":
            return self.group()
        if token is not None and _is_number(token) and token[0] != ".":
            return self.first_digit()
        return self.primary()

    def first_digit(self) -> sympy.Expr:
        """One digit of a number token, the rest left as the next token."""
        token = self.tokens[self.pos]
        if len(token) > 1:
            self.tokens[self.pos : self.pos + 1] = [token[0], token[1:]]
        return _number(self.take())

    def primary(self) -> sympy.Expr:
        token = self.take()
        if _is_number(token):
            return _number(token)
        if _is_letter(token):
            return sympy.I if token == "i" else sympy.Symbol(token)
        if token in ("(", "{"):
            expr = self.expression()
            self.take(")" if token == "(" else "}")
            return expr
        return self.command(token)

    def command(self, token: str) -> sympy.Expr:
        name = token[1:]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in ("frac", "dfrac", "tfrac"):
            numerator = self.argument()
            return numerator / self.argument()
        if name == "sqrt":
            index = None
            if self.peek() == "[":
                self.take("[")
                index = self.expression()
                self.take("]")
            radicand = self.argument()
            return sympy.sqrt(radicand) if index is None else _root(radicand, index)
        if name == "binom":
            n, k = self.argument(), self.argument()
            if any(v.is_Number and abs(v) > MAX_EXPONENT for v in (n, k)):
                raise Unsupported("binomial too large")
            return sympy.binomial(n, k)
        if name in ("mathrm", "mathbf", "textbf", "text"):
            return self.group()
        if name in _FUNCTIONS:
            return self.function(name)
        raise Unsupported(f"{token} here")

    def function(self, name: str) -> sympy.Expr:
        r"""``\sin x``, ``\sin(x)``, ``\sin^2 x``, ``\log_2 8``, ``\ln 2``."""
        base = None
        if name == "log" and self.peek() == "_":
            self.take()
            base = self.argument()
        power = None
        if self.peek() == "^":
            self.take()
            power = self.exponent()
        if self.peek() == "(":
            self.take()
            arg = self.expression()
            self.take(")")
        else:
            arg = self.factor()
        value = _FUNCTIONS[name](arg) if base is None else sympy.log(arg, base)
        return value if power is None else _power(value, power)

    def _starts_factor(self, token: str | None) -> bool:
        if token is None:
            return False
        if _is_number(token) or _is_letter(token) or token in ("(", "{"):
            return True
        return token.startswith("\\") and token[1:] in (*_FUNCTIONS, *_CONSTANTS, *_STRUCTURES)


_CONSTANT_TOKENS = {"\\" + name for name in _CONSTANTS}


def _is_number(token: str) -> bool:
    """ASCII digits only: ``str.isdigit`` also takes "²" and other scripts' digits."""
    return token[:1] in _DIGITS or (token[:1] == "." and len(token) > 1)


def _is_letter(token: str) -> bool:
    return len(token) == 1 and token in _LETTERS


def _number(token: str) -> sympy.Rational:
    """An exact rational: ``0.1`` is 1/10, so decimals compare exactly."""
    if len(token) > MAX_DIGITS:
        raise Unsupported("number too long")
    return sympy.Rational(token)


def _power(base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
    """``base ** exponent``, refused when exact evaluation could run away in C."""
    if exponent.is_Number:
        if abs(exponent) > MAX_EXPONENT:
            raise Unsupported("exponent too large")
        if base.is_Rational and exponent.is_Integer:
            digits = len(str(abs(base.p))) + len(str(base.q))
            if digits * abs(int(exponent)) > MAX_RESULT_DIGITS:
                raise Unsupported("power too large")
    return sympy.Pow(base, exponent)


def _root(radicand: sympy.Expr, index: sympy.Expr) -> sympy.Expr:
    """The n-th root; the real one of a negative number for odd n, as MATH means
    (``\\sqrt[3]{-8}`` is -2, not sympy's principal root)."""
    if not (index.is_Integer and 2 <= index <= MAX_EXPONENT):
        raise Unsupported("root index")
    if radicand.is_negative and index % 2 == 1:
        return -sympy.root(-radicand, index)
    return sympy.root(radicand, index)
