"""MBPP degraders: each breaks one criterion of ``rubrics/mbpp.yaml`` by a small code edit.

The edits are the slips a coder makes: a function named otherwise than the tests call it, a
result computed and not returned, a missing ``:``, a debugging ``print``, ``eval`` where
``int`` was meant. All but the ``print`` keep the length within a token or two; the ``print``
adds four tokens, so it fits only solutions of 40 tokens or more (the pairs' 10% rule).
"""

from __future__ import annotations

import random
import re

from lmforecast.core.records import Doc
from lmforecast.signals.rude import checkers_mbpp as c
from lmforecast.signals.rude.degraders import DEGRADERS, CannotDegrade

_HEADER = re.compile(r"^\s*(?:def|if|elif|else|for|while|try|except|finally|with|class)\b")
_TO_NUMBER = re.compile(
    r"(?<![\w.])(?:int|float)(?=\s*\((?!\s*['\"]))|(?<=map\()\s*(?:int|float)\b"
)


def _split(response: str) -> tuple[str, str]:
    """(leading whitespace, code): edits apply to the code and the prefix is put back."""
    body = response.lstrip(" \t")
    return response[: len(response) - len(body)], body


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


@DEGRADERS.register("mbpp.rename_entry")
def rename_entry(response: str, doc: Doc, rng: random.Random) -> str:
    """Name the tested function otherwise (``sort_matrix`` -> ``matrix_sort``, ``square`` ->
    ``get_square``), consistently in the code (recursive calls too): right code, wrong name."""
    prefix, text = _split(response)
    name = c.entry_name(doc)
    if not name or not re.search(rf"(?m)^def\s+{re.escape(name)}\s*\(", text):
        raise CannotDegrade("the tested function is not defined at top level")
    parts = name.split("_")
    options = ["_".join(reversed(parts))] if len(parts) > 1 else []
    options += [f"get_{name}", f"{name}_func"]
    options = [o for o in options if o != name and not re.search(rf"\b{o}\b", text)]
    new = rng.choice(options)
    return prefix + re.sub(rf"\b{re.escape(name)}\b", new, text)


@DEGRADERS.register("mbpp.drop_return")
def drop_return(response: str, doc: Doc, rng: random.Random) -> str:
    """Drop ``return`` from every ``return <value>`` of the tested function: the value is
    computed as an expression statement and thrown away (valid code, returns None)."""
    prefix, text = _split(response)
    block = c.function_block(text, c.entry_name(doc))
    if block is None:
        raise CannotDegrade("no top-level function")
    lines = text.splitlines(keepends=True)
    changed = False
    for i in range(*block):
        new = re.sub(r"\breturn\b[ \t]*(?=[^\s#;])", "", lines[i])
        changed = changed or new != lines[i]
        lines[i] = new
    if not changed:
        raise CannotDegrade("the function returns no value")
    return prefix + "".join(lines)


@DEGRADERS.register("mbpp.drop_colon")
def drop_colon(response: str, doc: Doc, rng: random.Random) -> str:
    """Drop the ``:`` that ends one block header (``def``, ``if``, ``for``, ...): a syntax
    error that leaves every name and statement in place."""
    prefix, text = _split(response)
    lines = text.splitlines(keepends=True)
    headers = [
        i for i, line in enumerate(lines) if _HEADER.match(line) and line.rstrip().endswith(":")
    ]
    if not headers:
        raise CannotDegrade("no block header ending in ':'")
    i = rng.choice(headers)
    body = lines[i].rstrip()
    lines[i] = body[:-1] + lines[i][len(body) :]
    return prefix + "".join(lines)


@DEGRADERS.register("mbpp.add_print")
def add_print(response: str, doc: Doc, rng: random.Random) -> str:
    """Print the tested function's first argument on entry (``print(x)``, a leftover debug
    line, four tokens)."""
    prefix, text = _split(response)
    block = c.function_block(text, c.entry_name(doc))
    if block is None or block[1] - block[0] < 2:
        raise CannotDegrade("no function with a body on its own lines")
    lines = text.splitlines(keepends=True)
    params = re.match(r"def\s+\w+\s*\(\s*([A-Za-z_]\w*)", lines[block[0]])
    body = next((x for x in lines[block[0] + 1 : block[1]] if x.strip()), "")
    if params is None or not body:
        raise CannotDegrade("the function takes no argument")
    indent = body[: len(body) - len(body.lstrip())]
    if not lines[block[0]].endswith(("\n", "\r")):
        lines[block[0]] += _newline(text)
    lines.insert(block[0] + 1, f"{indent}print({params.group(1)}){_newline(text)}")
    return prefix + "".join(lines)


@DEGRADERS.register("mbpp.eval_input")
def eval_input(response: str, doc: Doc, rng: random.Random) -> str:
    """Convert with ``eval`` where the code converts with ``int``/``float`` (same length):
    the classic unsafe shortcut that runs whatever text it is given."""
    prefix, text = _split(response)
    found = list(_TO_NUMBER.finditer(text))
    if not found:
        raise CannotDegrade("no int()/float() conversion to replace")
    m = rng.choice(found)
    lead = m.group(0)[: len(m.group(0)) - len(m.group(0).lstrip())]
    return prefix + text[: m.start()] + lead + "eval" + text[m.end() :]
