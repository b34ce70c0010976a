"""Collecting an ablation's runs into results.csv, results.md, plots and a significance statement."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from hamkit.ablation.runner import RUN_INFO, run_dir_of
from hamkit.engine.run_layout import RunLayout
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.safe_output import atomic_file

EXTRA_KEYS = ("n_parameters", "step_time", "peak_memory_mb")


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def collect(out: Path, variants: list[str], seeds: list[int]) -> dict[str, dict[int, dict[str, float]]]:
    """``{variant: {seed: {metric: value}}}`` for the finished runs."""
    results: dict[str, dict[int, dict[str, float]]] = {}
    for variant in variants:
        results[variant] = {}
        for seed in seeds:
            run_dir = run_dir_of(out, variant, seed)
            path = RunLayout(run_dir).test_metrics
            if not path.is_file():
                continue
            test = json.loads(path.read_text())
            row = {key: float(test["test"][key]["mean"]) for key in METRIC_KEYS if key in test.get("test", {})}
            row["n_parameters"] = float(test.get("n_parameters", math.nan))
            info_path = run_dir / RUN_INFO
            if info_path.is_file():
                info = json.loads(info_path.read_text())
                row["step_time"] = float(info["step_time"])
                row["peak_memory_mb"] = info["peak_memory_bytes"] / 2**20
            results[variant][seed] = row
    return results


def paired_comparison(results: dict, reference: str, variant: str, key: str = "h_mae") -> dict:
    """Paired differences (variant - reference) over the seeds both have."""
    seeds = sorted(set(results[reference]) & set(results[variant]))
    diffs = [results[variant][s][key] - results[reference][s][key] for s in seeds
             if key in results[variant][s] and key in results[reference][s]]
    if len(diffs) < 2:
        return {"n": len(diffs), "mean": float(np.mean(diffs)) if diffs else math.nan,
                "std": math.nan, "t": math.nan}
    array = np.asarray(diffs)
    std = float(array.std(ddof=1))
    t = float(array.mean() / (std / math.sqrt(len(array)))) if std > 0 else math.inf * np.sign(array.mean())
    return {"n": len(diffs), "mean": float(array.mean()), "std": std, "t": t}


def significance_lines(results: dict, variants: list[str]) -> list[str]:
    reference = variants[0]
    lines = []
    for variant in variants[1:]:
        c = paired_comparison(results, reference, variant)
        if c["n"] < 2:
            lines.append(f"- {variant} vs {reference}: not enough seeds (paired runs: {c['n']})")
            continue
        lines.append(
            f"- {variant} vs {reference}: h_mae difference {c['mean']:+.2f} ± {c['std']:.2f} µHa "
            f"over {c['n']} paired seeds, paired t = {c['t']:.2f} (df = {c['n'] - 1}; "
            f"|t| > {_t_critical(c['n'] - 1):.2f} is significant at 5%, two-sided)")
    return lines


_T95 = {1: 12.71, 2: 4.30, 3: 3.18, 4: 2.78, 5: 2.57, 6: 2.45, 7: 2.36, 8: 2.31, 9: 2.26, 10: 2.23}


def _t_critical(df: int) -> float:
    return _T95.get(df, 2.0)


def write_reports(out: Path, variants: list[str], seeds: list[int], title: str = "ablation") -> dict:
    """Write ``results.csv``, ``results.md`` and ``plots/``; returns the collected results."""
    results = collect(out, variants, seeds)
    keys = [*METRIC_KEYS, *EXTRA_KEYS]
    summary = {v: {k: _mean_std([r[k] for r in results[v].values() if k in r]) for k in keys} for v in variants}
    with atomic_file(out / "results.csv") as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seeds", *[f"{k}_{s}" for k in keys for s in ("mean", "std")]])
        for v in variants:
            writer.writerow([v, len(results[v]), *[f"{x:.6g}" for k in keys for x in summary[v][k]]])
    md = [f"# {title}", "", f"Mean ± std over seeds (runs in {out}); H errors in µHa, psi_cos in %.", "",
          "| variant | seeds | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for v in variants:
        cells = [_cell(*summary[v][k], k) for k in keys]
        md.append(f"| {v} | {len(results[v])} | " + " | ".join(cells) + " |")
    md += ["", f"## Significance (h_mae, paired over seeds, vs {variants[0]})", "",
           *significance_lines(results, variants), "", "Plots: plots/metrics.png, plots/learning_curves.png", ""]
    with atomic_file(out / "results.md") as temporary:
        temporary.write_text("\n".join(md))
    _plots(out, variants, seeds, summary)
    return results


def _cell(mean: float, std: float, key: str) -> str:
    if math.isnan(mean):
        return "-"
    if key == "n_parameters":
        return f"{mean:,.0f}"
    if key == "step_time":
        return f"{mean * 1000:.1f} ± {std * 1000:.1f} ms"
    return f"{mean:.3g} ± {std:.2g}"


def _plots(out: Path, variants: list[str], seeds: list[int], summary: dict) -> None:
    from hamkit.engine.plots import _pyplot, save_png

    plt = _pyplot()
    plots = out / "plots"
    plots.mkdir(exist_ok=True)
    keys = list(METRIC_KEYS)
    columns = 4
    figure, axes = plt.subplots(math.ceil(len(keys) / columns), columns, figsize=(4 * columns, 3.2 * 2))
    for ax, key in zip(np.ravel(axes), keys):
        means = [summary[v][key][0] for v in variants]
        stds = [summary[v][key][1] for v in variants]
        ax.bar(range(len(variants)), means, yerr=stds, capsize=4, color="tab:blue")
        ax.set_xticks(range(len(variants)), variants, rotation=30, ha="right", fontsize=8)
        ax.set_title(key)
    figure.tight_layout()
    save_png(figure, plots / "metrics.png", dpi=110)
    plt.close(figure)

    figure, ax = plt.subplots(figsize=(7, 4.5))
    for v in variants:
        curves: dict[int, list[float]] = {}
        for seed in seeds:
            path = RunLayout(run_dir_of(out, v, seed)).metrics
            if not path.is_file():
                continue
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    if row.get("kind") == "val" and "val_h_mae" in row:
                        curves.setdefault(int(row["step"]), []).append(float(row["val_h_mae"]))
        if curves:
            steps = sorted(curves)
            mean = np.array([np.mean(curves[s]) for s in steps])
            std = np.array([np.std(curves[s]) for s in steps])
            ax.plot(steps, mean, marker="o", label=v)
            ax.fill_between(steps, np.maximum(mean - std, 1e-12), mean + std, alpha=0.2)
    ax.set(xlabel="step", ylabel="validation H MAE (µHa)", title="learning curves (mean ± std over seeds)")
    ax.set_yscale("log")
    ax.legend(fontsize=8)
    figure.tight_layout()
    save_png(figure, plots / "learning_curves.png", dpi=110)
    plt.close(figure)
