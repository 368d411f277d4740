"""GGUF dequantisation reads the file's metadata once, and what it saves is what transformers'
three separate reads save, byte for byte."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest


def _dequantise(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from lmforecast.core.fingerprint import hash_file
    from lmforecast.models.aliases import smollm2_135m
    from lmforecast.models.gguf import dequantised_dir

    monkeypatch.setenv("LMFORECAST_HOME", str(home))
    path = Path(smollm2_135m())
    return dequantised_dir(path, hash_file(path))


@pytest.mark.slow
def test_one_reader_per_file_saves_the_same_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gguf

    from lmforecast.models import gguf as backend

    original = gguf.GGUFReader
    built: list[str] = []

    class Counting(original):  # type: ignore[misc,valid-type]
        def __init__(self, path: str, mode: str = "r") -> None:
            built.append(str(path))
            super().__init__(path, mode)

    monkeypatch.setattr(gguf, "GGUFReader", Counting)
    shared = _dequantise(tmp_path / "shared", monkeypatch)
    assert len(built) == 1  # config, tokenizer config and tensors from one reader
    assert gguf.GGUFReader is Counting  # restored after the load

    @contextlib.contextmanager
    def separate_reads() -> Iterator[None]:
        yield

    monkeypatch.setattr(backend, "_one_reader_per_file", separate_reads)
    separate = _dequantise(tmp_path / "separate", monkeypatch)
    assert len(built) == 4  # transformers on its own reads the file three times
    names = sorted(p.name for p in shared.iterdir())
    assert names == sorted(p.name for p in separate.iterdir())
    for name in ("model.safetensors", "tokenizer.json", "config.json"):
        assert (shared / name).read_bytes() == (separate / name).read_bytes(), name
