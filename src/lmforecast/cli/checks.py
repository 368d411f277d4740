"""Checks of where results will go, made before any compute (a bad path found after an hour of
scoring loses the hour)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lmforecast.core.errors import UserError


def writable_directory(directory: Path, option: str) -> None:
    """Create ``directory`` if needed and prove a file can be written there (root ignores
    permission bits, so only a real write tells)."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".lmforecast-check-"):
            pass
    except OSError as e:
        raise UserError(f"{option} {directory}: cannot write there ({e.strerror or e})") from None


def output_file(path: Path | None, suffixes: tuple[str, ...], option: str = "--output") -> None:
    """A results file the command will write: the right suffix, a writable place, not a dir."""
    if path is None:
        return
    if path.suffix not in suffixes:
        raise UserError(f"{option} {path}: expected a {' or '.join(suffixes)} file name")
    if path.is_dir():
        raise UserError(f"{option} {path}: is a directory, expected a file name")
    writable_directory(path.parent, option)
