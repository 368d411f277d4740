"""A trained probe on disk: the fitted probe and everything needed to use it again.

A probe is only meaningful on the features it was trained on: the same layers of a model with
the same depth and width, pooled the same way, and (for ``attention`` and ``submodel``) with
per-token states. :class:`SavedProbe` keeps those facts beside the fitted object, and
:func:`load_probe` refuses a file that is not one of ours, is from another format, or is cut
short, with one line naming the file.

The fitted object is pickled (scikit-learn pipelines and torch modules have no portable format
of their own that also covers our option dataclasses); as with any pickle, load only files you
trust. The header is checked before the object is unpickled.
"""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lmforecast.core.errors import UserError
from lmforecast.engine.features import PromptFeatures
from lmforecast.signals.probes.probes import FloatArray, Probe

MAGIC = b"LMFORECAST-PROBE\n"
FORMAT = 1


class ProbeFileError(UserError):
    """A probe file that cannot be read, or a probe that cannot read these features."""


@dataclass(frozen=True)
class ProbeSpecs:
    """What a saved probe was trained on and needs again (all plain data, kept in the header).

    ``layers`` are absolute (transformers numbering) of a ``num_layers``-block model of width
    ``hidden_size``; ``keep_tokens``: the probe reads per-token states; ``labels``: how the
    pass@1 labels were made (samples, temperature, seed); ``training``: out-of-fold metrics on
    the training problems and their count."""

    architecture: str
    model: str
    fingerprint: str
    tasks: tuple[str, ...]
    layers: tuple[int, ...]
    num_layers: int
    hidden_size: int
    keep_tokens: bool
    labels: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)

    def check_shape(self, num_layers: int, hidden_size: int, source: str) -> None:
        """Raise :class:`ProbeFileError` unless a model of this depth and width fits."""
        if (num_layers, hidden_size) != (self.num_layers, self.hidden_size):
            raise ProbeFileError(
                f"{source}: the probe reads a {self.num_layers}-block model of width "
                f"{self.hidden_size} (trained on {self.model}); this model has {num_layers} "
                f"blocks of width {hidden_size}"
            )

    def check_features(self, features: PromptFeatures, source: str) -> None:
        """Raise :class:`ProbeFileError` unless ``features`` are what the probe reads."""
        self.check_shape(features.num_layers, features.hidden_size, source)
        if tuple(features.layers) != self.layers:
            raise ProbeFileError(
                f"{source}: the probe reads layers {list(self.layers)}, the features hold "
                f"{list(features.layers)}"
            )
        if self.keep_tokens and features.tokens is None:
            raise ProbeFileError(f"{source}: the {self.architecture} probe needs per-token states")


@dataclass(frozen=True, eq=False)
class SavedProbe:
    """A fitted probe and its :class:`ProbeSpecs`."""

    specs: ProbeSpecs
    probe: Probe

    def predict(self, features: PromptFeatures, source: str = "probe") -> FloatArray:
        """P(success) per prompt, after checking the features are the probe's kind."""
        self.specs.check_features(features, source)
        return self.probe.predict_proba(features)


def save_probe(saved: SavedProbe, path: Path) -> Path:
    """Write ``saved``: a magic line, a JSON header line, then the pickled probe. The file is
    written to a sibling and renamed, so a crash never leaves half a probe under the name."""
    header = json.dumps({"format": FORMAT, "specs": asdict(saved.specs)}, sort_keys=True)
    body = io.BytesIO()
    body.write(MAGIC)
    body.write(header.encode() + b"\n")
    pickle.dump(saved.probe, body, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(body.getvalue())
    tmp.replace(path)
    return path


def read_header(path: Path) -> tuple[ProbeSpecs, int]:
    """The specs of a probe file and the byte offset of its pickled body."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProbeFileError(f"{path}: no such probe file") from None
    if not data.startswith(MAGIC):
        raise ProbeFileError(
            f"{path}: not an lmforecast probe file (expected one written by "
            "`lmforecast probe train`)"
        )
    end = data.find(b"\n", len(MAGIC))
    try:
        header = json.loads(data[len(MAGIC) : end])
        if header.get("format") != FORMAT:
            raise ProbeFileError(
                f"{path}: probe file format {header.get('format')!r}; this version reads "
                f"format {FORMAT}: train the probe again"
            )
        raw = header["specs"]
        specs = ProbeSpecs(
            **{
                **raw,
                "tasks": tuple(raw["tasks"]),
                "layers": tuple(int(x) for x in raw["layers"]),
            }
        )
    except (ValueError, KeyError, TypeError) as e:
        raise ProbeFileError(f"{path}: unreadable probe header ({e})") from None
    return specs, end + 1


def load_probe(path: Path) -> SavedProbe:
    """Read a file written by :func:`save_probe` (one-line errors for anything else)."""
    specs, offset = read_header(path)
    try:
        probe = pickle.loads(path.read_bytes()[offset:])
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as e:
        raise ProbeFileError(f"{path}: the probe body is truncated or corrupt ({e})") from None
    if not callable(getattr(probe, "predict_proba", None)):
        raise ProbeFileError(f"{path}: the body holds no probe")
    return SavedProbe(specs, probe)
