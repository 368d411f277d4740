"""Model backends behind one protocol (:class:`LoadedModel`).

``load_model(spec)`` accepts a built-in alias (``smollm2-135m``, ``gemma3-270m``), a ``.gguf``
file, a local transformers directory, or a hub id (``org/name``).
"""

from __future__ import annotations

from pathlib import Path

from lmforecast.core.errors import ModelLoadError
from lmforecast.models import aliases as _aliases  # noqa: F401  (registers aliases)
from lmforecast.models import gguf as _gguf  # noqa: F401  (registers the gguf backend)
from lmforecast.models import hf as _hf  # noqa: F401  (registers the hf backend)
from lmforecast.models.base import LoadedModel
from lmforecast.models.options import LoadOptions
from lmforecast.models.registry import ALIASES, BACKENDS

__all__ = ["ALIASES", "BACKENDS", "LoadOptions", "LoadedModel", "load_model", "resolve_backend"]


def resolve_backend(spec: str) -> tuple[str, str]:
    """(backend name, location) for a model spec."""
    if spec in ALIASES:
        spec = ALIASES.get(spec)()
    path = Path(spec).expanduser()
    if spec.endswith(".gguf"):
        return "gguf", spec
    if path.is_dir():
        return "hf", spec
    if path.exists():
        raise ModelLoadError(f"{spec}: not a model (expected a .gguf file or a model directory)")
    looks_like_path = spec.startswith((".", "/", "~")) or spec.count("/") != 1
    if looks_like_path:
        known = ", ".join(ALIASES.names())
        raise ModelLoadError(
            f"{spec}: no such model file or directory, and not an alias ({known}) or hub id"
        )
    return "hf", spec


def load_model(spec: str, options: LoadOptions | None = None, **kwargs: object) -> LoadedModel:
    """Load any supported model; ``kwargs`` are :class:`LoadOptions` fields.

    A model cast to another dtype than float32 has that dtype in its fingerprint
    (:meth:`LoadedModel.label_dtype`), so its stored results are its own.
    """
    opts = options or LoadOptions(**kwargs)  # type: ignore[arg-type]
    backend, location = resolve_backend(spec)
    model = BACKENDS.get(backend)(location, opts)
    model.name = spec
    return model.label_dtype()
