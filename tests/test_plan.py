"""``lmforecast plan``: the cost arithmetic on hand-checked numbers, the measured/extrapolated
labels against a store filled by really scoring (and sampling from) a tiny model, and the CLI."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pyarrow.compute as pc
import pytest

from lmforecast import api
from lmforecast.api.plan import plan
from lmforecast.cli import main
from lmforecast.cli.app import console
from lmforecast.core.errors import UserError
from lmforecast.engine.generate import GenerationConfig
from lmforecast.forecast.planning import (
    DEVICES,
    DIRECT,
    Measurement,
    TaskProfile,
    format_size,
    parse_size,
    plan_row,
    summarise,
    wall_seconds,
    workload,
)
from lmforecast.signals import scored
from lmforecast.store import Store
from lmforecast.truth.run import KIND as TRUTH_KIND

TASK = "testbed-arith:gold"  # 500 problems with gold solutions and a RuDE rubric
GOLD = TaskProfile("g", 10, 10, 1000.0, 500.0, 500.0, 60.0, generative=True, rubric=True)
CHOICE = TaskProfile("c", 10, 40, 1000.0, 80.0, 0.0, 0.0, generative=False, rubric=False)


# -- the arithmetic, by hand --------------------------------------------------------------------
def test_sizes_parse_and_bad_ones_say_what_is_expected() -> None:
    assert [parse_size(s) for s in ("135m", "1.5B", "7b", "340k", "2000")] == [
        135e6, 1.5e9, 7e9, 340e3, 2000.0,
    ]  # fmt: skip
    for bad in ("7x", "", "b", "-1b", "0"):
        with pytest.raises(UserError, match=r"expected e\.g\. 135m, 1\.5b, 7b"):
            parse_size(bad)
    assert format_size(7e9) == "7B" and format_size(1.35e8) == "135M"


def test_each_family_makes_the_pass_it_is_defined_by() -> None:
    # patel: every request after its prompt (choices share the prompt): 1,000 + 80 tokens
    assert workload("patel", CHOICE, 1).tokens == 1080.0
    # a choice task's direct evaluation *is* that scoring pass; nothing generated
    assert workload(DIRECT, CHOICE, 8) == workload("patel", CHOICE, 8)
    assert workload("rbridge", CHOICE, 1) is None and workload("rude", CHOICE, 1) is None
    ungraded = TaskProfile("t", 10, 10, 1000.0, 500.0, 0.0, 0.0, False, False, gradable=False)
    assert workload(DIRECT, ungraded, 1) is None and workload("patel", ungraded, 1) is not None
    # probes: prompts only; rBridge: one trace (gold-solution length) per problem
    assert workload("probes", GOLD, 1).tokens == 1000.0
    assert workload("rbridge", GOLD, 1).tokens == 1500.0
    # direct: 8 samples x (1,000 prompt + 10 problems x 60 generated)
    assert workload(DIRECT, GOLD, 8).tokens == 8 * 1600.0
    assert workload(DIRECT, GOLD, 8).units == 80.0


def test_measured_costs_scale_by_parameters_and_units() -> None:
    # 2e9 FLOPs for 5 requests of a 1M model: 400 FLOPs per request per parameter
    m = Measurement("patel", "g", "m", 1e6, units=5, flops=2e9, seconds=4.0, kind="scoring")
    same = plan_row("patel", GOLD, 1e6, 3, 1, m, None, m)
    assert same.flops == 400 * 1e6 * 10 * 3  # 10 requests, 3 checkpoints
    assert same.seconds == same.flops / 5e8  # at the measured 5e8 FLOP/s
    assert (same.flops_from, same.time_from) == ("measured (g)", "measured at 1M (g)")
    big = plan_row("patel", GOLD, 7e9, 1, 1, m, DEVICES["h100"].rate("scoring"), m)
    assert big.flops == pytest.approx(400 * 7e9 * 10)
    assert big.seconds == pytest.approx(big.flops / (989e12 * 0.40))
    assert (big.flops_from, big.time_from) == ("extrapolated from 1M (g)", "declared")
    # rBridge without a measurement of its own: Patel's, x 1,500 / 1,500 text tokens
    rb = plan_row("rbridge", GOLD, 1e6, 1, 1, m, None, m)
    assert rb.flops == 400 * 1e6 * 10 and "patel x text tokens" in rb.flops_from


def test_estimates_wall_time_and_ratios() -> None:
    est = plan_row("probes", GOLD, 1e9, 2, 1, None, 1e12, DEVICES["h100"])
    assert est.flops == 2 * 1e9 * 1000 * 2 and est.flops_from == "estimated (text)"
    assert est.unit_seconds == 2.0  # 2e12 FLOPs at 1e12 FLOP/s, per checkpoint
    assert wall_seconds([2.0, 5.0], [2, 1], workers=1) == 9.0
    assert wall_seconds([2.0, 5.0], [2, 1], workers=8) == 5.0  # the longest unit bounds it
    rows = [plan_row(f, GOLD, 1e9, 2, 8, None, 1e12, DEVICES["h100"]) for f in ("probes", DIRECT)]
    cost = {c.signal: c for c in summarise(rows, workers=2)}
    assert cost["probes"].flops_ratio == pytest.approx(1000 / (8 * 1600))
    assert cost[DIRECT].wall_hours * 3600 == pytest.approx(2 * 2 * 1e9 * 8 * 1600 / 1e12 / 2)


# -- against a store filled by real runs -------------------------------------------------------
@pytest.fixture(scope="module")
def measured(tiny_llama_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """A store holding real scorings of TASK (3 and 8 problems) and a real sampled ground truth
    (4 problems x 2 samples) by the tiny Llama; with its parameter count."""
    store = tmp_path_factory.mktemp("plan-store")
    api.score(str(tiny_llama_dir), TASK, limit=3, store_dir=store)
    api.score(str(tiny_llama_dir), TASK, limit=8, store_dir=store)
    gen = GenerationConfig(temperature=0.8, n_samples=2, max_tokens=12)
    api.truth(str(tiny_llama_dir), TASK, gen, limit=4, store_dir=store)
    return store, api.load(str(tiny_llama_dir)).num_parameters


def _stored(store: Path, kind: str, flops: str, seconds: str) -> tuple[float, float, int]:
    """The cost of the stored entry of ``kind`` over the most problems."""
    key = max(Store(store).entries(kind), key=lambda e: int(e[1].get("num_requests", 0)))[0]
    table = Store(store).read(kind, key)
    assert table is not None
    return (float(pc.sum(table.column(flops)).as_py()),
            float(pc.sum(table.column(seconds)).as_py()), table.num_rows)  # fmt: skip


def test_measured_at_the_stored_size_extrapolated_elsewhere(measured: tuple[Path, int]) -> None:
    store, n = measured
    result = plan([str(n), "1b"], [TASK], checkpoints=3, samples=4, store_dir=store)
    rows = result.rows.set_index(["signal", "params"])
    flops, seconds, requests = _stored(store, scored.KIND, "cost_flops", "cost_seconds")
    assert requests == 8  # the run over 8 problems, not the one over 3
    assert list(result.measurements.query("family == 'patel'")["units"]) == [8.0]
    patel = rows.loc[("patel", float(n))]
    assert patel["flops"] == pytest.approx(flops / 8 * 500 * 3)  # per request x 500 x 3
    assert patel["seconds"] == pytest.approx(patel["flops"] / (flops / seconds))
    assert patel["flops_from"] == f"measured ({TASK})"
    assert patel["time_from"] == f"measured at {format_size(n)} ({TASK})"
    big = rows.loc[("patel", 1e9)]
    assert big["flops"] == pytest.approx(patel["flops"] * 1e9 / n)
    assert big["flops_from"] == f"extrapolated from {format_size(n)} ({TASK})"
    assert big["time_from"].startswith("extrapolated from")
    # the direct evaluation: per sample generated, 4 samples x 500 problems x 3 checkpoints
    t_flops, _, t_rows = _stored(store, TRUTH_KIND, "flops", "seconds")
    direct = rows.loc[(DIRECT, float(n))]
    assert direct["flops"] == pytest.approx(t_flops / t_rows * 4 * 500 * 3)
    assert direct["flops_from"] == f"measured ({TASK})"
    assert rows.loc[("rbridge", float(n)), "flops_from"].endswith("patel x text tokens)")
    assert rows.loc[("probes", float(n)), "flops_from"] == "estimated (text)"
    assert set(result.measurements["params"]) == {float(n)}  # learnt by loading the model
    assert any("bytes/token (measured on" in note for note in result.notes)
    summary = result.summary.set_index(["model", "signal"])
    assert summary.loc[("all", DIRECT), "flops_ratio"] == 1.0
    assert 0 < summary.loc[("all", "patel"), "flops_ratio"] < 1


def test_an_empty_store_is_assumed_or_an_error(tmp_path: Path) -> None:
    result = plan(["1b"], [TASK], ["patel"], store_dir=tmp_path)
    assert set(result.rows["time_from"]) == {"assumed"}
    assert set(result.rows["flops_from"]) == {"estimated (text)"}
    with pytest.raises(UserError, match="lmforecast score --model"):
        plan(["1b"], [TASK], ["patel"], require_measured=True, store_dir=tmp_path)
    declared = plan(["1b"], [TASK], ["patel"], gpu="h100", require_measured=True,
                    store_dir=tmp_path)  # fmt: skip
    assert set(declared.rows["time_from"]) == {"declared"}


# -- the command ------------------------------------------------------------------------------
def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["lmforecast", *args])
    monkeypatch.setattr(console, "width", 200)
    try:
        main()
    except SystemExit as e:
        return int(e.code or 0)
    return 0


def test_cli_table_and_json(measured: tuple[Path, int], monkeypatch, capsys) -> None:
    store, n = measured
    args = ["plan", "--models", f"{n},7b", "--tasks", TASK, "--checkpoints", "20",
            "--samples", "4", "--gpus", "8", "--store-dir", str(store)]  # fmt: skip
    assert run_cli(args, monkeypatch) == 0
    out = capsys.readouterr().out
    for text in ("patel", "rbridge", "rude", "probes", "direct", "measured at",
                 f"extrapolated from {format_size(n)}", "8 worker(s)"):  # fmt: skip
        assert text in out, text
    assert run_cli([*args, "--format", "json", "--gpu", "h100"], monkeypatch) == 0
    captured = capsys.readouterr()
    rows = json.loads(captured.out)
    assert {r["signal"] for r in rows} == {"patel", "rbridge", "rude", "probes", "direct"}
    assert all(r["time_from"] == "declared" for r in rows)
    assert all(math.isfinite(r["flops"]) and r["flops"] > 0 for r in rows)
    assert run_cli([*args, "--detail", "--format", "csv"], monkeypatch) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("signal,task,model,params") and len(lines) == 1 + 5 * 2


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--models", "7x"], "--models '7x': expected e.g. 135m, 1.5b, 7b"),
        (["--tasks", "gsm8k:gld"], "unknown task 'gsm8k:gld'"),
        (["--signals", "patel,foo"], "--signals 'foo': expected some of patel"),
        (["--gpu", "tpu9"], "--gpu 'tpu9': expected one of h100"),
        (["--require-measured"], "lmforecast score --model"),
    ],
)
def test_cli_errors_are_one_line(args, expected, tmp_path: Path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    base = {"--models": "1b", "--tasks": TASK, "--store-dir": str(tmp_path)}
    flags = [a for a in args if a.startswith("--") and a in base]
    full = [x for k, v in base.items() if k not in flags for x in (k, v)] + args
    assert run_cli(["plan", *full], monkeypatch) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert expected in err, err
