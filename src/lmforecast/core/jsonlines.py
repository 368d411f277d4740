"""Reading user files (text, JSON lines) with one-line errors that name the file and line.

Task files and ground-truth imports share these readers, so a malformed file reads the same
everywhere: ``<file>: no such file``, ``<file>: not UTF-8 text``, ``<file>:<line>: not valid
JSON (...)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
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
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise error(f"{path}:{lineno}: expected {expected}, got {type(record).__name__}")
        yield lineno, record
