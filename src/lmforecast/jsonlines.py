"""Reading JSON-lines files with one-line errors that name the file and line.

Task files and ground-truth imports share this reader, so a malformed line reads the same
everywhere: ``<file>:<line>: not valid JSON (...)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lmforecast.errors import UserError


def read_json_lines(
    path: Path, error: type[UserError] = UserError, expected: str = "a JSON object"
) -> Iterator[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for each non-blank line; ``error`` for anything malformed.

    ``expected`` says what a line should hold, for the message when it is not a JSON object.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise error(f"{path}: not UTF-8 text") from None
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise error(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(record, dict):
            raise error(f"{path}:{lineno}: expected {expected}, got {type(record).__name__}")
        yield lineno, record
