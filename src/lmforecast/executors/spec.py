"""Which executor a sweep runs on, as one option string the CLI and the API share.

``local`` is this machine (in process, or a pool of ``workers`` processes); ``ray`` starts a
local Ray instance (or joins the one ``RAY_ADDRESS`` names); ``ray=ADDRESS`` joins a running
cluster (``ray=HOST:6379``, ``ray=auto``). Options follow after commas and apply to every unit:
``cpus``, ``gpus``, ``memory`` (bytes, or ``16GiB`` / ``16GB``), ``retries`` (how often a unit
whose node or worker died, or that raised a retryable error, is run again) and ``timeout``
(seconds a unit may wait for a node that has its resources before the sweep fails).

>>> parse_executor_spec("ray=10.0.0.5:6379,gpus=1,memory=16GiB")
ExecutorSpec(kind='ray', address='10.0.0.5:6379', resources=UnitResources(cpus=1.0, gpus=1.0, memory_bytes=17179869184), max_retries=3, timeout_s=60.0)
>>> parse_executor_spec("local").kind
'local'
>>> parse_executor_spec("slurm")
Traceback (most recent call last):
...
lmforecast.core.errors.UserError: --executor 'slurm': expected 'local', 'ray' or 'ray=HOST:PORT', optionally followed by ,cpus=N ,gpus=N ,memory=SIZE ,retries=N ,timeout=SECONDS
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from lmforecast.core.errors import UserError

EXPECTED = (
    "expected 'local', 'ray' or 'ray=HOST:PORT', optionally followed by "
    ",cpus=N ,gpus=N ,memory=SIZE ,retries=N ,timeout=SECONDS"
)


@dataclass(frozen=True)
class UnitResources:
    """What one unit of work holds while it runs: CPUs, GPUs (fractions allowed) and memory.

    A unit is scheduled only on a node with this much free; ``memory_bytes = 0`` reserves none.
    """

    cpus: float = 1.0
    gpus: float = 0.0
    memory_bytes: int = 0

    def __post_init__(self) -> None:
        if self.cpus < 0 or self.gpus < 0 or self.memory_bytes < 0:
            raise UserError(f"unit resources {self.describe()}: must not be negative")

    def ray_options(self) -> dict[str, float | int]:
        """As Ray's task options (``num_cpus``, ``num_gpus``, ``memory``)."""
        options: dict[str, float | int] = {"num_cpus": self.cpus, "num_gpus": self.gpus}
        if self.memory_bytes:
            options["memory"] = self.memory_bytes
        return options

    def fits(self, node: Mapping[str, float]) -> bool:
        """Whether a node with these *total* resources (Ray's names) could ever run the unit.

        >>> UnitResources(gpus=1).fits({"CPU": 8.0})
        False
        >>> UnitResources(cpus=2, memory_bytes=2**30).fits({"CPU": 4.0, "memory": 2.0**31})
        True
        """
        need = {"CPU": self.cpus, "GPU": self.gpus, "memory": float(self.memory_bytes)}
        return all(node.get(name, 0.0) >= amount for name, amount in need.items() if amount > 0)

    def describe(self) -> str:
        """``1 CPU, 1 GPU, 16.0 GiB`` (what a message shows)."""
        parts = [f"{self.cpus:g} CPU"]
        if self.gpus:
            parts.append(f"{self.gpus:g} GPU")
        if self.memory_bytes:
            parts.append(f"{self.memory_bytes / 2**30:.1f} GiB")
        return ", ".join(parts)


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` value (see the module docstring)."""

    kind: Literal["local", "ray"] = "local"
    address: str | None = None
    resources: UnitResources = field(default_factory=UnitResources)
    max_retries: int = 3
    timeout_s: float = 60.0

    def with_resources(self, **defaults: float) -> ExecutorSpec:
        """This spec with the caller's default resources where the user set none.

        >>> parse_executor_spec("ray").with_resources(cpus=4).resources.describe()
        '4 CPU'
        >>> parse_executor_spec("ray,cpus=2").with_resources(cpus=4).resources.describe()
        '2 CPU'
        """
        if self.resources != UnitResources():
            return self
        return replace(self, resources=UnitResources(**defaults))  # type: ignore[arg-type]


def _number(name: str, value: str, text: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise UserError(f"--executor {text!r}: {name}={value!r} is not a number") from None
    if number < 0:
        raise UserError(f"--executor {text!r}: {name}={value!r} must not be negative")
    return number


def _bytes(value: str, text: str) -> int:
    from pydantic import ByteSize, TypeAdapter, ValidationError

    try:
        return int(TypeAdapter(ByteSize).validate_python(value))
    except ValidationError:
        raise UserError(
            f"--executor {text!r}: memory={value!r} is not a size (bytes, or e.g. 16GiB, 500MB)"
        ) from None


def parse_executor_spec(text: str | ExecutorSpec | None) -> ExecutorSpec:
    """Parse ``local`` | ``ray`` | ``ray=ADDRESS``, each ray form with ``,key=value`` options."""
    if isinstance(text, ExecutorSpec):
        return text
    if text is None or text.strip() == "local":
        return ExecutorSpec()
    head, *options = [part.strip() for part in text.strip().split(",")]
    name, _, address = head.partition("=")
    if name != "ray" or ("=" in head and not address):
        raise UserError(f"--executor {text!r}: {EXPECTED}")
    values: dict[str, str] = {}
    for option in options:
        key, eq, value = option.partition("=")
        if not eq or key not in ("cpus", "gpus", "memory", "retries", "timeout") or not value:
            raise UserError(f"--executor {text!r}: option {option!r}: {EXPECTED}")
        values[key] = value
    resources = UnitResources(
        cpus=_number("cpus", values.get("cpus", "1"), text),
        gpus=_number("gpus", values.get("gpus", "0"), text),
        memory_bytes=_bytes(values["memory"], text) if "memory" in values else 0,
    )
    retries = _number("retries", values.get("retries", "3"), text)
    if retries != int(retries):
        raise UserError(
            f"--executor {text!r}: retries={values['retries']!r}: expected a whole number"
        )
    return ExecutorSpec(
        kind="ray",
        address=address or None,
        resources=resources,
        max_retries=int(retries),
        timeout_s=_number("timeout", values.get("timeout", "60"), text),
    )
