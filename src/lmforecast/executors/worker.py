"""What a worker process keeps between jobs: the model it loaded last.

A sweep sends a worker many units of the same model (one per task shard); loading a checkpoint
takes far longer than scoring a shard, so the worker loads it once. One model is kept (a GPU
holds one large model): a unit of another model replaces it.

>>> ModelRef("smollm2-135m", dtype="float32").load_options()
{'dtype': 'float32', 'device': 'auto', 'trust_remote_code': False, 'revision': None}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lmforecast.executors.base import Executor


@dataclass(frozen=True)
class ModelRef:
    """How a worker loads a model: the spec (alias, path, hub id) and its load options.

    Paths must mean the same files on every node (a shared filesystem or the same layout);
    the scoring unit checks the loaded model's fingerprint against the driver's.
    """

    spec: str
    dtype: str = "auto"
    device: str = "auto"
    trust_remote_code: bool = False
    revision: str | None = None

    def load_options(self) -> dict[str, Any]:
        options = asdict(self)
        del options["spec"]
        return options


@dataclass(frozen=True)
class Elsewhere:
    """Where a job's missing units run: ``executor``'s jobs, each loading ``model`` itself
    (once per worker process) and writing its own shard into a store every node shares."""

    executor: Executor
    model: ModelRef


_CACHE: dict[ModelRef, Any] = {}


def worker_model(ref: ModelRef) -> Any:
    """The :class:`~lmforecast.models.LoadedModel` for ``ref``, loaded once per process."""
    if ref not in _CACHE:
        from lmforecast.models import LoadOptions, load_model

        _CACHE.clear()  # free the previous model before loading the next
        _CACHE[ref] = load_model(ref.spec, LoadOptions(**ref.load_options()))
    return _CACHE[ref]
