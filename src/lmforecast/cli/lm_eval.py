"""``lmforecast lm-eval ARGS...``: lm-evaluation-harness's CLI with ``--model lmforecast``."""

from __future__ import annotations

import typer

from lmforecast.cli.app import app


@app.command(
    "lm-eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def lm_eval_cmd(ctx: typer.Context) -> None:
    """Run lm-eval with lmforecast's engine as a model; every argument goes to lm-eval.

    Example: lmforecast lm-eval --model lmforecast --model_args pretrained=smollm2-135m
    --tasks arc_easy (see lm-eval --help; model_args: pretrained, dtype, prefix_sharing, ...).
    """
    from lmforecast.integrations.lm_eval_cli import run_cli

    run_cli(list(ctx.args))  # a UserError is printed by lmforecast.cli.main (markup escaped)
