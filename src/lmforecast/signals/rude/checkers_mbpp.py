"""MBPP checkers: static checks of a Python solution (nothing is run: signals have no sandbox).

``mbpp:gold`` solutions are MBPP's reference code (``\\r\\n`` line ends, one leading space from
the continuation); the prompt shows one test ``assert name(...) == ...``, which names the
function the tests call. Every check but "it parses" reads the text with regular expressions,
not the syntax tree, so each criterion holds or fails on its own: code with a syntax error
still defines (or not) its function, returns (or not) a value, prints (or not).
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Iterable

from lmforecast.core.records import Doc
from lmforecast.signals.rude.checkers import CHECKERS

_CALL = re.compile(r"(?<![\w.])([A-Za-z_]\w*)\s*\(")
_NOT_ENTRY = frozenset(
    [
        "assert",
        "set",
        "sorted",
        "list",
        "tuple",
        "dict",
        "str",
        "int",
        "float",
        "abs",
        "round",
        "len",
        "frozenset",
        "sum",
        "max",
        "min",
        "isclose",
        "any",
        "all",
        "not",
    ]
)
_RETURN_VALUE = re.compile(r"\breturn\b[ \t]*(?=[^\s#;])")
_PRINT = re.compile(r"(?<![\w.])print\s*\(")
UNSAFE = re.compile(
    r"(?<![\w.])(?:eval|exec|__import__)\b|\bos\.(?:system|remove|popen)\b|"
    r"\bsubprocess\b|\bshutil\.rmtree\b|\bpickle\.loads?\b"
)


def code(response: str) -> str:
    """The Python in a response: a markdown fence and the continuation's leading space off."""
    text = re.sub(r"^\s*```(?:python)?[ \t]*\r?\n", "", response)
    text = text.split("```", 1)[0]
    return text.lstrip(" \t") if not text.startswith((" \r", " \n")) else text.lstrip()


def entry_name(doc: Doc) -> str | None:
    """The function the tests call: the first non-builtin call in the prompt's (or the doc's)
    ``assert`` lines."""
    tests: Iterable[str] = [
        line for line in doc.prompt.splitlines() if line.lstrip().startswith("assert")
    ]
    tests = [*tests, *doc.extra.get("test_list", [])]
    for line in tests:
        for m in _CALL.finditer(line):
            if m.group(1) not in _NOT_ENTRY:
                return m.group(1)
    return None


def function_block(text: str, name: str | None) -> tuple[int, int] | None:
    """Line range ``[first, last)`` of top-level ``def name`` (else the last top-level ``def``).

    The block ends at the next code line indented no deeper than the ``def`` (a comment at
    column 0 does not end it); read by indentation,
    not parsed, so it is found in code that does not parse.
    """
    lines = text.splitlines()
    defs = [i for i, line in enumerate(lines) if re.match(r"def\s+\w+\s*\(", line)]
    named = [i for i in defs if name and re.match(rf"def\s+{re.escape(name)}\s*\(", lines[i])]
    if not (named or defs):
        return None
    first = (named or defs)[-1]
    last = first + 1
    while last < len(lines) and (not lines[last].strip() or lines[last][:1] in " \t#"):
        last += 1
    return first, last


@CHECKERS.register("mbpp.parses")
def parses(response: str, doc: Doc) -> bool:
    """The code is valid Python (``ast.parse``; nothing is executed)."""
    try:
        with warnings.catch_warnings():  # "invalid escape sequence" in old reference code
            warnings.simplefilter("ignore")
            ast.parse(code(response))
    except (SyntaxError, ValueError):
        return False
    return True


@CHECKERS.register("mbpp.defines_entry")
def defines_entry(response: str, doc: Doc) -> bool:
    """The code defines, at top level, the function the tests call (``def name(``)."""
    name = entry_name(doc)
    pattern = rf"(?m)^def\s+{re.escape(name)}\s*\(" if name else r"(?m)^def\s"
    return re.search(pattern, code(response)) is not None


@CHECKERS.register("mbpp.returns_value")
def returns_value(response: str, doc: Doc) -> bool:
    """The tested function (else the last top-level function) has a ``return <value>``.

    The tests compare what it returns; a function that computes and drops its result fails
    them all.
    """
    text = code(response)
    block = function_block(text, entry_name(doc))
    if block is None:
        return False
    lines = text.splitlines()[block[0] : block[1]]
    return any(_RETURN_VALUE.search(line.split("#", 1)[0]) for line in lines)


@CHECKERS.register("mbpp.no_print")
def no_print(response: str, doc: Doc) -> bool:
    """The code prints nothing: no debugging output mixed into a function the tests call."""
    return _PRINT.search(code(response)) is None


@CHECKERS.register("mbpp.no_unsafe_calls")
def no_unsafe_calls(response: str, doc: Doc) -> bool:
    """No ``eval``/``exec``/``__import__``, shell, file-removal or ``pickle`` loading: a
    solution to a pure function has no reason to run text as code or touch the system."""
    return UNSAFE.search(code(response)) is None
