"""``--executor``: where a command's units of work run (this machine, or a Ray cluster)."""

from __future__ import annotations

from typing import Annotated

import typer

ExecutorOption = Annotated[
    str,
    typer.Option(
        help="where units run: 'local', or 'ray[=HOST:PORT][,cpus=N,gpus=N,memory=SIZE,"
        "retries=N,timeout=S]': a Ray cluster (without an address a local Ray instance), "
        "each unit a task holding those resources; the store (data home) must be on a "
        "filesystem every node shares"
    ),
]
