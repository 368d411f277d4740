"""Patel et al.'s three settings in words, then compact tables.

Each setting's headline sentence (who wins, how sure, at what cost) is written here once: the
terminal prints it above the setting's table and the HTML report (``charts/patel.py``) puts the
same sentences at the top of its section. The compact tables fit an 80-column terminal; every
table in full is in the result's JSON, ``--format json|markdown`` and the HTML report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from rich.console import RenderableType
from rich.text import Text

from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.tables import ci_text, ratio_text

FULL_TABLES = "every table in full: the HTML report, or --format json|markdown"


def _frame(result: Mapping[str, Any], key: str) -> pd.DataFrame:
    return pd.DataFrame.from_records(result.get(key) or [])


def resampled(label: str, units: str) -> str:
    """What a bootstrap resampled, in words: ``resampled("models+examples", "recipes")`` is
    "recipes and expert solutions". Results written before the two-way bootstrap have no label
    and resampled expert solutions only."""
    words = {"examples": "expert solutions", "models": units}
    return " and ".join(words.get(part, part) for part in label.split("+"))


def selection_headline(result: Mapping[str, Any]) -> str | None:
    """(a): the single signal that ranks the models best, its interval, and its cost."""
    boot, cost = _frame(result, "selection_bootstrap"), _frame(result, "cost")
    if boot.empty or "ci_low" not in boot:
        return None
    ratio = float(cost["flops_ratio_direct_over_proxy"].iloc[0]) if not cost.empty else None
    row = boot.loc[boot["spearman"].idxmax()]
    name = str(row["signal"]).removeprefix("proxy ")
    at = f" at {ratio_text(ratio)} direct evaluation's compute" if ratio else ""
    return (
        f"{name} ranks the {int(row['models'])} models with Spearman "
        f"{ci_text(row['spearman'], row['ci_low'], row['ci_high'])}{at}."
    )


def data_selection_headline(result: Mapping[str, Any]) -> str | None:
    """(b): the cheapest proxy that matches direct evaluation's corpus ranking, and how much
    compute it saves; its interval where the bootstrap covered it."""
    summary = result.get("data_selection_summary") or {}
    if not summary:
        return None
    if not summary.get("compute_ratio"):
        return (
            f"Choosing among {summary.get('recipes')} corpora: no proxy matches direct "
            f"evaluation's best decision accuracy "
            f"({summary.get('direct_best_decision_accuracy', float('nan')):.2f})."
        )
    name = str(summary["proxy_matching_signal"])
    line = (
        f"Choosing among {summary['recipes']} corpora for size {summary['large_size']}: "
        f"{name} at {summary['proxy_matching_at']} matches direct evaluation's best decision "
        f"accuracy ({summary['direct_best_decision_accuracy']:.2f}, {summary['direct_best_at']})"
        f" with {summary['compute_ratio']:.0f}x less compute"
    )
    boot = (summary.get("bootstrap") or {}).get(name.removeprefix("proxy "))
    if boot:
        line += (
            f"; at the final {summary.get('small_size', 'small')} checkpoints it scores "
            f"{ci_text(boot['decision_accuracy'], *boot['ci'])} (95% CI)"
        )
    return line + "."


def extrapolation_headline(result: Mapping[str, Any]) -> str | None:
    """(c): the forecast of final accuracy with the smallest error, from how much training."""
    extra = _frame(result, "extrapolation")
    if extra.empty:
        return None
    best = extra.loc[extra["mae"].idxmin()]
    return (
        f"Forecasting final accuracy from the first {best['fit_fraction']:.0%} of training: "
        f"{best['method'].replace('_', ' ')} ({best['signal']}) is off by "
        f"{best['mae']:.3f} on average over {int(best['runs'])} runs."
    )


def patel_headlines(result: Mapping[str, Any]) -> list[str]:
    """Who wins each setting, how sure, at what cost, in words (one sentence per setting)."""
    made = (selection_headline(result), data_selection_headline(result),
            extrapolation_headline(result))  # fmt: skip
    return [line for line in made if line]


def headline(label: str, line: str) -> Text:
    """A section's sentence with its label in bold (plain text: no markup is parsed)."""
    return Text.assemble((label, "bold"), ": ", line)


def _ci_column(frame: pd.DataFrame, value: str, low: str, high: str) -> list[str]:
    values = zip(frame[value], frame[low], frame[high], strict=True)
    return [ci_text(v, lo, hi) for v, lo, hi in values]


def scorers_table(title: str, selection: pd.DataFrame) -> FitTable:
    """Setting (a)'s scorers and baselines: Spearman with its interval, and the kind."""
    view = pd.DataFrame(
        {
            "scorer": selection["scorer"],
            "Spearman [95% CI]": _ci_column(selection, "spearman", "ci_low", "ci_high"),
            "kind": selection["kind"],
        }
    )
    return fit_frame(title, view, right={"Spearman [95% CI]"})


def _signals_table(boot: pd.DataFrame) -> FitTable:
    label = str(boot["resampling"].iloc[0]) if "resampling" in boot else "examples"
    view = pd.DataFrame({"signal": boot["signal"]})
    if "ci_low" in boot:
        view["Spearman [95% CI]"] = _ci_column(boot, "spearman", "ci_low", "ci_high")
    else:
        view["Spearman"] = boot["spearman"]
    if "decision_accuracy" in boot:
        view["dec acc"] = boot["decision_accuracy"]
    return fit_frame(
        "(a) each signal vs accuracy, 95% CI resampling " + resampled(label, "models"),
        view,
        right=set(view.columns[1:]),
    )


def selection_tables(result: Mapping[str, Any]) -> list[RenderableType]:
    out: list[RenderableType] = []
    boot, sel = _frame(result, "selection_bootstrap"), _frame(result, "selection")
    if not boot.empty:
        out.append(_signals_table(boot))
    if not sel.empty:
        out.append(scorers_table("(a) scorers on unseen families, leave-two-tasks-out", sel))
    return out


def data_selection_pivot(data: pd.DataFrame) -> pd.DataFrame:
    """Setting (b) as signal x (size, checkpoint): decision accuracy, plus a row of compute.

    Three checkpoints per size (first, middle, final) keep the table readable; the JSON output
    has every checkpoint.
    """
    columns: list[tuple[str, int]] = []
    for size, group in data.groupby("size", sort=False):
        steps = sorted(group["step"].unique())
        for step in dict.fromkeys((steps[0], steps[len(steps) // 2], steps[-1])):
            columns.append((str(size), int(step)))
    out: dict[str, list[Any]] = {"signal": []}
    labels = [f"{size} @{step}" for size, step in columns]
    for label in labels:
        out[label] = []
    keyed = data.set_index(["signal", "size", "step"])
    for signal in dict.fromkeys(data["signal"]):
        out["signal"].append(signal)
        for label, (size, step) in zip(labels, columns, strict=True):
            out[label].append(float(keyed.loc[(signal, size, step), "decision_accuracy"]))
    direct = data[data["signal"].str.startswith("direct")].set_index(["size", "step"])
    out["signal"].append(COMPUTE_ROW)
    for label, key in zip(labels, columns, strict=True):
        out[label].append(float(direct.loc[key, "compute_fraction"]))
    return pd.DataFrame(out)


COMPUTE_ROW = "compute (share of target training)"


def pivot_table(title: str, data: pd.DataFrame) -> FitTable:
    """The pivot at any width: each size's final checkpoint kept first, the first ones last;
    the compute row in two significant digits (its values span orders of magnitude)."""
    pivot = data_selection_pivot(data)
    cols = list(pivot.columns[1:])
    by_size: dict[str, list[str]] = {}
    for c in cols:
        by_size.setdefault(c.split(" @")[0], []).append(c)
    ranks = sorted(cols, key=lambda c: -by_size[c.split(" @")[0]].index(c))
    last = len(pivot) - 1
    text = pivot.astype(object)
    for c in cols:
        text[c] = [f"{v:.2g}" if i == last else f"{v:.2f}" for i, v in enumerate(pivot[c])]
    return fit_frame(title, text, priority=["signal", *ranks], right=set(cols))


def data_selection_tables(result: Mapping[str, Any]) -> list[RenderableType]:
    out: list[RenderableType] = []
    data = _frame(result, "data_selection")
    summary = result.get("data_selection_summary") or {}
    if not data.empty:
        title = (
            f"(b) decision accuracy ranking {summary.get('recipes')} corpora at size "
            f"{summary.get('large_size')}, from smaller models' checkpoints"
        )
        out.append(pivot_table(title, data))
    return out


def extrapolation_tables(result: Mapping[str, Any]) -> list[RenderableType]:
    out: list[RenderableType] = []
    extra = _frame(result, "extrapolation")
    if not extra.empty:
        view = pd.DataFrame(
            {
                "forecast": [
                    f"{m.replace('_', ' ')} ({s})"
                    for m, s in zip(extra["method"], extra["signal"], strict=True)
                ],
                "MAE": extra["mae"],
                "RMSE": extra["rmse"],
                "runs": extra["runs"],
            }
        )
        fit = float(extra["fit_fraction"].iloc[0])
        title = f"(c) error of final-accuracy forecasts from {fit:.0%} of training"
        out.append(fit_frame(title, view))
    return out


Setting = tuple[
    str,
    Callable[[Mapping[str, Any]], str | None],
    Callable[[Mapping[str, Any]], list[RenderableType]],
]
SETTINGS: tuple[Setting, ...] = (
    ("(a) model selection", selection_headline, selection_tables),
    ("(b) data selection", data_selection_headline, data_selection_tables),
    ("(c) extrapolation", extrapolation_headline, extrapolation_tables),
)


def dtype_header(result: Mapping[str, Any]) -> Text | None:
    """A population scored in another dtype than float32 says so before any figure: its proxies
    approximate the float32 ones (the README gives the measured deviation)."""
    dtype = (result.get("config") or {}).get("dtype", "float32")
    if dtype == "float32":
        return None
    return Text(f"dtype: {dtype} (approximate: scored with {dtype} weights, not float32)")


def patel_renderables(result: dict[str, Any]) -> list[RenderableType]:
    """The dtype when not float32; each setting: its headline sentence, then a compact table;
    then the notes."""
    header = dtype_header(result)
    out: list[RenderableType] = [header] if header is not None else []
    for label, sentence, tables in SETTINGS:
        line = sentence(result)
        if line:
            out.append(headline(f"Patel {label}", line))
        out += tables(result)
    out += [Text(f"note: {note}", style="dim") for note in result.get("notes", [])]
    out.append(Text(FULL_TABLES, style="dim"))
    return out
