"""Reading user files (text, JSON lines) with one-line errors that name the file and line.

Task files and ground-truth imports share these readers, so a malformed file reads the same
everywhere: ``<file>: no such file``, ``<file>: not UTF-8 text``, ``<file>:<line>: not valid
JSON (...)``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError


def read_user_text(path: Path, error: type[UserError] = UserError, encoding: str = "utf-8") -> str:
    """The text of a user file, or ``error`` naming the file when missing or not UTF-8."""
    try:
        return path.read_text(encoding=encoding)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None


def read_json_lines(
    path: Path, error: type[UserError] = UserError, expected: str = "a JSON object"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; ``error`` for anything malformed.

    ``expected`` says what a line should hold, for the message when it is not a JSON object.
    """
    text = read_user_text(path, error)
    # Only "\n" ends a record: str.splitlines() also splits at U+2028, U+2029 and U+0085, which
    # are legal raw inside JSON strings. A "\r" before the "\n" (Windows files) is dropped.
    for lineno, line in enumerate(text.split("\n"), 1):
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        record = parse_json(line, path, error, lineno)
        if not isinstance(record, dict):
            raise error(f"{path}:{lineno}: expected {expected}, got {type(record).__name__}")
        yield lineno, record


def parse_json(
    text: str, path: Path | str, error: type[UserError] = UserError, lineno: int | None = None
) -> Any:
    """One JSON document (a whole file, or line ``lineno`` of one); ``error`` when malformed.

    Besides JSONDecodeError, json raises ValueError for an integer past Python's digit limit
    and RecursionError for nesting past the recursion limit; a ``\\ud800``-style escape
    decodes to a lone surrogate, which no UTF-8 writer (Arrow, hashing, a tokenizer) accepts
    later. All four become ``error`` here, so no input escapes as a traceback downstream.
    """
    where = f"{path}:{lineno}" if lineno is not None else str(path)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        raise error(f"{path}:{lineno or e.lineno}: not valid JSON ({e.msg})") from None
    except ValueError as e:
        raise error(f"{where}: not valid JSON ({e})") from None
    except RecursionError:
        raise error(f"{where}: not valid JSON (nested too deeply)") from None
    if _SURROGATE_ESCAPE.search(text) and _holds_lone_surrogate(value):
        raise error(f"{where}: a string holds a lone surrogate escape (\\ud800-\\udfff)")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _holds_lone_surrogate(value: Any) -> bool:
    """Whether any string (key or value) in a parsed document is not encodable Unicode."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
    return False


def write_json_lines(path: Path, records: Iterable[Any], ensure_ascii: bool = False) -> int:
    """Write one JSON value per line (``\n`` endings, what :func:`read_json_lines` splits on);
    returns how many. The caller makes the directory."""
    count = 0
    with path.open("w", encoding="utf-8", newline="\n") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=ensure_ascii) + "\n")
            count += 1
    return count
