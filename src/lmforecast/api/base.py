"""What every API function starts from: a model spec loaded, a task spec resolved, and where
missing units run (here, or as jobs of an executor)."""

from __future__ import annotations

from typing import Literal

from lmforecast.core.errors import UserError
from lmforecast.executors import (
    Elsewhere,
    Executor,
    ExecutorSpec,
    ModelRef,
    make_executor,
    parse_executor_spec,
)
from lmforecast.models import LoadedModel, LoadOptions, load_model
from lmforecast.store import Store
from lmforecast.tasks import Task, get_task

ModelSpec = str | LoadedModel
TaskSpec = str | Task


def load(
    model: ModelSpec,
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto",
    device: Literal["auto", "cpu", "cuda"] = "auto",
    trust_remote_code: bool = False,
) -> LoadedModel:
    """A loaded model (an alias, a ``.gguf`` file, a model directory or a hub id)."""
    if isinstance(model, LoadedModel):
        return model
    return load_model(
        model, LoadOptions(dtype=dtype, device=device, trust_remote_code=trust_remote_code)
    )


def task(spec: TaskSpec, limit: int | None = None) -> Task:
    """A registered task or a ``.jsonl`` file, keeping the first ``limit`` docs."""
    if limit is not None and limit < 1:
        raise UserError(f"--limit {limit}: expected a positive number of docs")
    return spec.limited(limit) if isinstance(spec, Task) else get_task(spec, limit)


def elsewhere(
    executor: str | ExecutorSpec | Executor | None,
    model: ModelSpec,
    lm: LoadedModel,
    store: Store,
    dtype: str,
    device: str,
    trust_remote_code: bool,
) -> tuple[Elsewhere | None, Executor | None]:
    """Where missing units run (None: here), and the executor to close if made here.

    Workers load the model in the driver's dtype: ``auto`` is resolved here (float32 on a CPU
    driver), because the store key does not hold the dtype and a GPU worker's ``auto`` would
    be bfloat16. Ask for ``bfloat16`` explicitly to score in it on GPUs."""
    owned = None
    if executor is None or isinstance(executor, str | ExecutorSpec):
        spec = parse_executor_spec(executor)
        if spec.kind == "local":
            return None, None
        executor = owned = make_executor(
            1, spec=spec, shared_dirs=(store.root,), retry_exceptions=(OSError,)
        )
    resolved = str(lm.dtype).removeprefix("torch.") if dtype == "auto" else dtype
    spec_name = model if isinstance(model, str) else lm.name
    ref = ModelRef(spec_name, resolved, device, trust_remote_code)
    return Elsewhere(executor, ref), owned
