"""Terminal rendering of the probes experiment: the headline in words, then its tables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from rich.console import RenderableType
from rich.text import Text

from lmforecast.report.fit import FitTable, fit_frame
from lmforecast.report.patel import FULL_TABLES, headline
from lmforecast.report.tables import ci_text
from lmforecast.report.terminal import frame_table

PROBLEM_ONLY = "baseline: problem-only features"


def _frames(result: dict[str, Any]) -> dict[str, pd.DataFrame]:
    return {
        k: pd.DataFrame.from_records(result.get(k) or [])
        for k in ("evaluation", "transfer", "latency")
    }


def final_checkpoints(ev: pd.DataFrame) -> list[str]:
    """Each run's last base checkpoint (the one every probe is evaluated on)."""
    base = ev[ev["stage"] == "base"]
    last = base["step"] == base.groupby("recipe")["step"].transform("max")
    return list(dict.fromkeys(base[last]["model_id"]))


def probes_headline(result: dict[str, Any]) -> list[str]:
    """Best probe on the final checkpoints against the problem-only baseline, transfer to later
    checkpoints, and the speed-up, in words."""
    f = _frames(result)
    ev = f["evaluation"]
    if ev.empty:
        return []
    lines = []
    final_ids = final_checkpoints(ev)
    table = ev[ev["model_id"].isin(final_ids)].groupby("probe")[["auroc", "accuracy_error"]].mean()
    probes = table.drop(index=[i for i in table.index if i.startswith("baseline")], errors="ignore")
    if not probes.empty:
        best = probes["auroc"].idxmax()
        base = table["auroc"].get(PROBLEM_ONLY, float("nan"))
        lines.append(
            f"on {len(final_ids)} final checkpoint{'s' if len(final_ids) > 1 else ''}, probe "
            f"{best} reaches {_auroc_text(ev, final_ids, best, probes.loc[best, 'auroc'])} "
            f"(problem-only baseline {base:.2f}); task accuracy forecast off by "
            f"{probes.loc[best, 'accuracy_error']:+.3f} on average"
        )
    tr = f["transfer"]
    later = tr[(tr["kind"] == "same run") & (tr["train"] != tr["test"])] if not tr.empty else tr
    if not later.empty:
        lines.append(
            f"earlier -> later checkpoint transfer: mean AUROC {later['auroc'].mean():.2f}"
        )
    lat = f["latency"]
    if not lat.empty:
        lines.append(
            f"probe path {lat['speedup'].mean():.0f}x faster than the generative evaluation "
            f"({lat['flops_ratio'].mean():.0f}x fewer FLOPs)"
        )
    return lines


def _auroc_text(ev: pd.DataFrame, final_ids: list[str], probe: str, mean: float) -> str:
    """AUROC with its 95% interval on one checkpoint; on several, their mean (each has its
    own interval, in the table)."""
    if len(final_ids) > 1 or "auroc_ci" not in ev:
        return f"mean AUROC {mean:.2f}"
    row = ev[(ev["model_id"] == final_ids[0]) & (ev["probe"] == probe)].iloc[0]
    return f"AUROC {ci_text(row['auroc'], *row['auroc_ci'])}"


def transfer_matrix(transfer: pd.DataFrame) -> pd.DataFrame:
    """AUROC as a train (rows) x test (columns) matrix of checkpoints."""
    return transfer.pivot_table(index="train", columns="test", values="auroc", aggfunc="first")


def _evaluation_table(title: str, ev: pd.DataFrame, with_model: bool) -> FitTable:
    """Probes and baselines on checkpoints: AUROC with its interval, then calibration."""
    rows = [
        {**({"model": m["model_id"]} if with_model else {}), **_metrics_row(m["probe"], m)}
        for m in ev.to_dict("records")
    ]
    view = pd.DataFrame(rows)
    return fit_frame(title, view, right=set(view.columns) - {"model", "probe"})


def probes_renderables(result: dict[str, Any], compact: bool = False) -> list[RenderableType]:
    """The headline, then out-of-fold quality per final checkpoint (compact) or per model,
    transfer between checkpoints and the latency (full)."""
    f = _frames(result)
    out: list[RenderableType] = [headline("probes", line) for line in probes_headline(result)]
    ev = f["evaluation"]
    if not ev.empty and compact:
        for model_id in final_checkpoints(ev):
            title = f"probes on {model_id}: out of fold, split by problem"
            out.append(_evaluation_table(title, ev[ev["model_id"] == model_id], False))
        return [*out, Text(FULL_TABLES, style="dim")]
    if not ev.empty:
        out.append(_evaluation_table("probes: out of fold, split by problem", ev, True))
    tr = f["transfer"]
    if not tr.empty:
        same = tr[tr["kind"] == "same run"]
        out.append(
            frame_table(
                "probes: transfer AUROC (train row -> test column)",
                transfer_matrix(same).reset_index(),
            )
        )
    if not f["latency"].empty:
        out.append(
            fit_frame(
                "probes: latency, probe path vs generative evaluation",
                f["latency"],
                priority=["model_id", "speedup", "flops_ratio", "probe_seconds"],
            )
        )
    out += [Text(f"note: {note}", style="dim") for note in result.get("notes", [])]
    return out


SHORT_NAMES = {PROBLEM_ONLY: "problem-only", "baseline: prompt cross-entropy": "prompt CE"}


def _metrics_row(name: str, m: dict[str, Any]) -> dict[str, Any]:
    """One compact row (fits 80 columns): AUROC with its interval in one cell (the interval
    is ``intervals.auroc`` in a trained probe, ``auroc_ci`` in the experiment's rows)."""
    lo, hi = m.get("intervals", {}).get("auroc", m.get("auroc_ci", [float("nan")] * 2))
    return {
        "probe": SHORT_NAMES.get(name, name),
        "AUROC [95% CI]": ci_text(m["auroc"], lo, hi, 3) if np.isfinite(m["auroc"]) else "-",
        "Brier": m["brier"],
        "ECE": m["ece"],
        "pred acc": m["predicted_accuracy"],
        "true acc": m["true_accuracy"],
    }


def training_renderables(trained: dict[str, Any]) -> list[RenderableType]:
    """``lmforecast probe train``: the headline, then the probe against the baselines."""
    specs = trained["specs"]
    evs = trained["evaluations"]
    probe, baselines = evs[0], evs[1:]
    best_base = max(baselines, key=lambda e: e["auroc"]) if baselines else None
    lines = [
        f"[bold]{specs['architecture']}[/] on {specs['model']} "
        f"({', '.join(specs['tasks'])}; {probe['n']} problems, pass@1 of "
        f"{specs['labels']['n_samples']} samples): out-of-fold AUROC {probe['auroc']:.2f}"
        + (f" against {best_base['auroc']:.2f} for the best baseline" if best_base else "")
        + f"; task accuracy forecast {probe['predicted_accuracy']:.3f} "
        f"(true {probe['true_accuracy']:.3f})",
        _latency_line(trained),
    ]
    table = pd.DataFrame([_metrics_row(e["probe"], e) for e in evs])
    return [*lines, frame_table("out-of-fold, split by problem", table)]


def _latency_line(trained: dict[str, Any]) -> str:
    t_s, f_s = trained["truth_seconds"], trained["feature_seconds"]
    t_f, f_f = trained["truth_flops"], trained["feature_flops"]
    return (
        f"latency: the probe path (one forward pass over the prompts) {f_s:.1f} s, {f_f:.3g} "
        f"FLOPs; the generative evaluation it replaces (sampling and grading) {t_s:.1f} s, "
        f"{t_f:.3g} FLOPs: {t_s / max(f_s, 1e-9):.0f}x faster, {t_f / max(f_f, 1.0):.0f}x "
        "fewer FLOPs"
    )


def prediction_renderables(found: dict[str, Any]) -> list[RenderableType]:
    """``lmforecast probe predict``: predicted (and, with truth, true) accuracy per task."""
    specs = found["specs"]
    out: list[RenderableType] = [
        f"[bold]{specs['architecture']}[/] probe (trained on {specs['model']}): "
        f"{found['problems']} problems in {found['probe_seconds']:.1f} s"
    ]
    m = found.get("metrics")
    if m:
        truth_s = found.get("truth_seconds") or float("nan")
        out.append(
            f"against {specs['labels']['n_samples']} graded samples per problem: AUROC "
            f"{m['auroc']:.2f}, Brier {m['brier']:.3f}, accuracy off by {m['accuracy_error']:+.3f}"
            f"; sampling and grading took {truth_s:.1f} s"
        )
    out.append(frame_table("predicted pass@1 per task", pd.DataFrame(found["by_task"])))
    return out
