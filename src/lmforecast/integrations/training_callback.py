"""A transformers ``TrainerCallback`` that records lmforecast signals while a Trainer trains.

Every ``every_steps`` optimizer steps (and, with ``on_save``, at every checkpoint the Trainer
saves) it calls :func:`lmforecast.integrations.training.evaluate_in_training` on the model the
Trainer hands it, stores the values, and logs them through ``trainer.log`` so every reporter
the Trainer has (W&B, TensorBoard, ``state.log_history``) sees them as ``<task>/<signal>``.

Callbacks are not given the Trainer, and ``trainer.log`` is the one path to its reporters, so
the callback is attached to it::

    trainer = Trainer(model=model, args=args, train_dataset=data, processing_class=tokenizer)
    SignalCallback(task, every_steps=100).attach(trainer)
    trainer.train()

Only the main process evaluates (the others hold the same weights under data parallelism);
models sharded across processes (FSDP, ZeRO-3) are not supported.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback

from lmforecast.core.errors import UserError
from lmforecast.core.records import Task
from lmforecast.engine import ScoreConfig
from lmforecast.integrations.training import (
    DEFAULT_SIGNALS,
    StepSignals,
    TaskLike,
    as_task,
    measure,
    resolve_signals,
    save,
)
from lmforecast.signals.base import SignalOptions
from lmforecast.store import Store


def _tasks(tasks: TaskLike | Sequence[Task]) -> list[Task]:
    if isinstance(tasks, Task):
        return [tasks]
    items = list(tasks)
    if items and all(isinstance(t, Task) for t in items):
        return items  # type: ignore[return-value]
    return [as_task(items)]  # type: ignore[arg-type]


class SignalCallback(TrainerCallback):  # type: ignore[misc]
    """Record chosen signals of the live model on fixed request sets during ``Trainer.train``.

    ``tasks``: one :class:`Task`, several, or a list of requests. ``every_steps``: evaluate
    when ``global_step`` is a multiple of it (0: never by step count); ``on_save``: also at
    each checkpoint save. ``run`` names the records in the store (default: the Trainer's
    ``run_name``, else its output directory's name). ``history`` keeps what was measured and
    ``seconds`` the wall time spent measuring (for the share of training time).
    """

    def __init__(
        self,
        tasks: TaskLike | Sequence[Task],
        signals: Sequence[str] = DEFAULT_SIGNALS,
        *,
        every_steps: int = 0,
        on_save: bool = True,
        run: str | None = None,
        store: Store | None = None,
        tokenizer: Any = None,
        config: ScoreConfig | None = None,
        options: SignalOptions | None = None,
        prefix: str = "",
    ) -> None:
        if every_steps < 0 or not (every_steps or on_save):
            raise UserError(
                f"SignalCallback: every_steps must be >= 1, or 0 with on_save=True "
                f"(got every_steps={every_steps}, on_save={on_save})"
            )
        self.tasks = _tasks(tasks)
        self.signals = resolve_signals(signals)
        self.every_steps = every_steps
        self.on_save_enabled = on_save
        self.run = run
        self.store = store
        self.tokenizer = tokenizer
        self.config = config or ScoreConfig()
        self.options = options or SignalOptions()
        self.prefix = prefix
        self.trainer: Any = None
        self.history: list[StepSignals] = []
        self._last_step: int | None = None

    @property
    def seconds(self) -> float:
        """Wall seconds spent in evaluation so far."""
        return sum(r.seconds for r in self.history)

    def attach(self, trainer: Any) -> SignalCallback:
        """Add this callback to ``trainer`` and log through it; returns the callback."""
        self.trainer = trainer
        trainer.add_callback(self)
        return self

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.trainer is None:
            raise UserError(
                "SignalCallback: call callback.attach(trainer) instead of passing it in "
                "callbacks=[...] (it logs through trainer.log)"
            )

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.every_steps and state.global_step % self.every_steps == 0:
            self._evaluate(args, state, control, kwargs)

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if self.on_save_enabled:
            self._evaluate(args, state, control, kwargs)

    def _evaluate(self, args: Any, state: Any, control: Any, kwargs: dict[str, Any]) -> None:
        step = int(state.global_step)
        if step == self._last_step or not state.is_world_process_zero:
            return
        self._last_step = step
        model = kwargs.get("model")
        if isinstance(model, torch.nn.parallel.DistributedDataParallel | torch.nn.DataParallel):
            model = model.module
        tokenizer = self.tokenizer or kwargs.get("processing_class")
        if model is None or tokenizer is None:
            raise UserError(
                "SignalCallback: the Trainer has no tokenizer; pass processing_class= to the "
                "Trainer or tokenizer= to SignalCallback"
            )
        run = self.run or args.run_name or Path(args.output_dir).name
        store = self.store or Store()
        logs: dict[str, float] = {}
        for task in self.tasks:
            result = measure(
                model, tokenizer, task, self.signals, step, run, self.config, self.options
            )
            save(result, task, self.options, store)
            self.history.append(result)
            logs.update({f"{self.prefix}{task.name}/{k}": v for k, v in result.values.items()})
        # trainer.log runs on_log, which clears should_log: keep the Trainer's own loss log
        # of this step, which it decides after on_step_end.
        keep = self.trainer.control.should_log
        self.trainer.log(logs)
        self.trainer.control.should_log = keep
