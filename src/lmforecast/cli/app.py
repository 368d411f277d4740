"""The typer application object; command modules attach their commands to it.

The CLI is a thin layer: every command parses options, calls the Python API, and renders the
result with rich. User errors (:class:`lmforecast.core.errors.UserError`) become one line on stderr
and a non-zero exit; see :func:`lmforecast.cli.main`.
"""

from __future__ import annotations

import os

import typer
from rich.console import Console

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def _quiet_libraries() -> None:
    """transformers' own progress bars and warnings would break the one-line error rule."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


_quiet_libraries()

app = typer.Typer(
    name="lmforecast",
    help="Forecast downstream performance of language models from cheap proxy signals.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

console = Console()
err_console = Console(stderr=True)
