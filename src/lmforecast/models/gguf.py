"""Backend for GGUF files, dequantised to float32 by transformers (needs ``gguf``, ``accelerate``).

Dequantising takes 25–80 s here, so the float32 result is saved once as a safetensors directory
under the data home, keyed by the GGUF file's hash, and later loads read that (a second or two).
The score is of that float32 model, and ``source`` says so.

transformers reads the file's metadata three times while loading it (the config, the
tokenizer's config, then the tensors), each time building a ``gguf.GGUFReader`` whose field
parsing is pure Python over every vocabulary entry: 13 s each for Gemma 3's 262k tokens, two
thirds of its dequantisation. :func:`_one_reader_per_file` hands those calls one reader per file
(a reader is a read-only view of a memory map, so sharing it changes nothing they read).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lmforecast.core.errors import ModelLoadError
from lmforecast.core.fingerprint import hash_file
from lmforecast.core.paths import data_home
from lmforecast.models.base import LoadedModel
from lmforecast.models.hf import load_pretrained, max_context
from lmforecast.models.options import LoadOptions
from lmforecast.models.registry import BACKENDS

_GGUF_MAGIC = b"GGUF"


def _check_gguf(path: Path) -> None:
    if not path.is_file():
        raise ModelLoadError(f"{path}: GGUF file not found")
    with path.open("rb") as f:
        if f.read(4) != _GGUF_MAGIC:
            raise ModelLoadError(f"{path}: not a GGUF file (bad magic bytes)")


@contextmanager
def _one_reader_per_file() -> Iterator[None]:
    """While open, ``gguf.GGUFReader(path)`` returns one shared reader per (path, mode)."""
    import gguf

    original = gguf.GGUFReader
    readers: dict[tuple[str, str], Any] = {}

    def shared(path: Any, mode: str = "r") -> Any:
        key = (os.fspath(path), mode)
        if key not in readers:
            readers[key] = original(path, mode)  # type: ignore[arg-type]
        return readers[key]

    gguf.GGUFReader = shared  # type: ignore[assignment,misc]
    try:
        yield
    finally:
        gguf.GGUFReader = original  # type: ignore[misc]


def dequantised_dir(path: Path, digest: str) -> Path:
    """Directory holding the float32 safetensors copy of a GGUF file (made on first use)."""
    target = data_home() / "models" / f"gguf-{digest[:16]}"
    if (target / "lmforecast.json").is_file():
        return target
    try:
        with _one_reader_per_file():
            module, tokenizer = load_pretrained(
                str(path.parent), LoadOptions(dtype="float32", device="cpu"), gguf_file=path.name
            )
    except Exception as e:
        raise ModelLoadError(f"{path}: cannot read GGUF ({type(e).__name__}: {e})") from None
    tmp = target.with_name(target.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    # The weights are plain float32 tensors now; drop the GGUF quantizer marker so transformers
    # saves them as an ordinary safetensors checkpoint.
    module.hf_quantizer = None
    if hasattr(module.config, "quantization_config"):
        del module.config.quantization_config
    try:
        module.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        (tmp / "lmforecast.json").write_text(json.dumps({"gguf": str(path), "sha256": digest}))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(tmp, target)
    except OSError as e:
        raise ModelLoadError(
            f"{target}: cannot write the dequantised copy of {path.name} "
            f"({e.strerror or e}); free space or set LMFORECAST_HOME elsewhere"
        ) from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # a failed write leaves no half copy behind
    return target


@BACKENDS.register("gguf")
def load_gguf(spec: str, options: LoadOptions) -> LoadedModel:
    path = Path(spec).expanduser().resolve()
    _check_gguf(path)
    digest = hash_file(path)
    directory = dequantised_dir(path, digest)
    try:
        module, tokenizer = load_pretrained(str(directory), options)
    except Exception as e:
        raise ModelLoadError(
            f"{directory}: cached dequantised copy of {path.name} is unreadable ({e}); "
            "delete that directory to rebuild it"
        ) from None
    return LoadedModel(
        name=spec,
        module=module,
        tokenizer=tokenizer,
        fingerprint=digest[:16],
        source=f"GGUF {path.name} (sha256 {digest[:12]}), dequantised to float32",
        max_length=max_context(module, tokenizer),
    )
