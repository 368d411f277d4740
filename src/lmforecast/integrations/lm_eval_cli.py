"""Run lm-evaluation-harness's own command line with lmforecast's model registered.

lm-eval 0.4.13's CLI builds its model from its registry and cannot load a third-party model,
so ``lmforecast lm-eval ARGS...`` registers ``lmforecast`` and then hands ``ARGS`` untouched to
lm-eval's entry point: every lm-eval option, task and output format works as documented there.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from lmforecast.core.errors import UserError
from lmforecast.integrations.lm_eval_args import INSTALL_HINT


def run_cli(argv: Sequence[str]) -> None:
    """``lm-eval ARGV...`` in this process, after :func:`register` (lm-eval may exit itself:
    ``--help`` and argument errors raise ``SystemExit`` as its own CLI does)."""
    try:
        from lm_eval.__main__ import cli_evaluate
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("lm_eval"):
            raise
        raise UserError(f"lm-eval is not installed: {INSTALL_HINT}") from None
    from lmforecast.integrations.lm_eval import register

    register()
    saved = sys.argv
    sys.argv = ["lm-eval", *argv]  # lm-eval's parser reads (and edits) sys.argv
    try:
        cli_evaluate()
    finally:
        sys.argv = saved
