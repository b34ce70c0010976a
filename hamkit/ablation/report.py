"""Collecting an ablation's runs into results.csv, runs.csv, results.md, plots and a significance table."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
from scipy import stats

from hamkit.ablation.runner import RUN_INFO, run_dir_of
from hamkit.engine.run_layout import RunLayout
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.safe_output import atomic_file

EXTRA_KEYS = ("n_parameters", "step_time", "peak_memory_mb")

RUN_KEYS = (*METRIC_KEYS, "step_time", "n_parameters")
"""Columns of ``runs.csv`` after ``variant`` and ``seed``."""

HIGHER_IS_BETTER = frozenset({"psi_cos"})
"""Metrics where a larger value is better; for every other metric lower is better."""

SIGNIFICANCE_LEVEL = 0.05
"""Two-sided p-values below this count as significant."""

Results = dict[str, dict[int, dict[str, float]]]
"""``{variant: {seed: {key: value}}}`` of the finished runs."""


def _mean_std(values: list[float]) -> tuple[float, float]:
    if not values:
        return math.nan, math.nan
    array = np.asarray(values, dtype=float)
    return float(array.mean()), float(array.std(ddof=1)) if len(array) > 1 else 0.0


def collect(out: Path, variants: list[str], seeds: list[int]) -> Results:
    """``{variant: {seed: {metric: value}}}`` for the finished runs."""
    results: Results = {}
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


def _paired_values(results: Results, reference: str, variant: str, key: str) -> tuple[list[float], list[float]]:
    """Reference and variant values of ``key`` over the seeds where both runs have a finite value."""
    pairs = [(results[reference][s].get(key, math.nan), results[variant][s].get(key, math.nan))
             for s in sorted(set(results[reference]) & set(results[variant]))]
    finite = [(r, v) for r, v in pairs if math.isfinite(r) and math.isfinite(v)]
    return [r for r, _ in finite], [v for _, v in finite]


def _t_statistic(mean: float, std: float, n: int) -> float:
    """Paired t of ``n`` differences; differences that are all equal give 0 (all zero) or ±inf."""
    if std > 0:
        return mean / (std / math.sqrt(n))
    return 0.0 if mean == 0 else math.copysign(math.inf, mean)


def p_value(t: float, n: int) -> float:
    """Two-sided p-value of a paired t over ``n`` pairs (``n - 1`` degrees of freedom); nan when n < 2."""
    if n < 2 or math.isnan(t):
        return math.nan
    return float(min(1.0, 2.0 * stats.t.sf(abs(t), n - 1)))


def paired_comparison(results: Results, reference: str, variant: str, key: str = "h_mae") -> dict[str, float]:
    """Paired differences (variant - reference) of one metric over the seeds both have.

    Seeds where either run lacks the metric, or has a non-finite value, are left out.

    Args:
        results: :func:`collect` output.
        reference: The variant compared against (usually the first one).
        variant: The variant compared.
        key: The metric.

    Returns:
        ``n`` (paired seeds), ``mean`` and ``std`` (ddof=1) of the differences, paired ``t``,
        two-sided ``p``, ``reference_mean`` over the paired seeds and ``relative`` (mean
        difference in % of ``reference_mean``). With fewer than two pairs ``std``, ``t`` and
        ``p`` are nan.
    """
    reference_values, variant_values = _paired_values(results, reference, variant, key)
    n = len(reference_values)
    diffs = np.asarray(variant_values, dtype=float) - np.asarray(reference_values, dtype=float)
    mean = float(diffs.mean()) if n else math.nan
    reference_mean = float(np.mean(reference_values)) if n else math.nan
    relative = 100.0 * mean / abs(reference_mean) if n and reference_mean != 0 else math.nan
    if n < 2:
        return {"n": n, "mean": mean, "std": math.nan, "t": math.nan, "p": math.nan,
                "reference_mean": reference_mean, "relative": relative}
    std = float(diffs.std(ddof=1))
    t = _t_statistic(mean, std, n)
    return {"n": n, "mean": mean, "std": std, "t": t, "p": p_value(t, n),
            "reference_mean": reference_mean, "relative": relative}


def is_significant(comparison: dict[str, float]) -> bool:
    """The comparison's two-sided p-value is below :data:`SIGNIFICANCE_LEVEL`."""
    return comparison["p"] < SIGNIFICANCE_LEVEL


def verdict(key: str, comparison: dict[str, float]) -> str:
    """``better``, ``worse`` or ``no significant difference`` for the variant, by the metric's direction.

    Args:
        key: The metric; higher is better for :data:`HIGHER_IS_BETTER`, lower for the rest.
        comparison: :func:`paired_comparison` of that metric.

    Returns:
        The wording for the significance table (``not enough seeds`` with fewer than two pairs).
    """
    if comparison["n"] < 2:
        return "not enough seeds"
    if not is_significant(comparison):
        return "no significant difference"
    increased = comparison["mean"] > 0
    return "better" if increased == (key in HIGHER_IS_BETTER) else "worse"


def _number(value: float, spec: str) -> str:
    return "-" if math.isnan(value) else format(value, spec)


def _significance_row(variant: str, reference: str, key: str, comparison: dict[str, float]) -> str:
    if comparison["n"] < 2:
        cells = [str(comparison["n"]), "-", "-", "-", "-", "-", verdict(key, comparison)]
    else:
        cells = [str(comparison["n"]), f"{comparison['mean']:+.3g} ± {comparison['std']:.2g}",
                 _number(comparison["relative"], "+.1f"), _number(comparison["t"], ".2f"),
                 _number(comparison["p"], ".3g"), "yes" if is_significant(comparison) else "no",
                 verdict(key, comparison)]
    return f"| {variant} vs {reference} | {key} | " + " | ".join(cells) + " |"


SIGNIFICANCE_HEADER = (
    "| variant | metric | paired seeds | difference (mean ± std) | relative (%) | paired t | "
    "p (two-sided) | significant at 5% | variant is |",
    "|---|---|---|---|---|---|---|---|---|",
)


def significance_lines(results: Results, variants: list[str]) -> list[str]:
    """Markdown lines comparing every variant with the first one, metric by metric.

    Variants without two paired seeds for any metric get one ``not enough seeds`` line each
    (first); the others share one table with a row per (variant, metric) of :data:`METRIC_KEYS`.

    Args:
        results: :func:`collect` output.
        variants: The variants in report order; the first is the reference.

    Returns:
        The lines (empty with a single variant).
    """
    reference = variants[0]
    notes: list[str] = []
    rows: list[str] = []
    for variant in variants[1:]:
        comparisons = {key: paired_comparison(results, reference, variant, key) for key in METRIC_KEYS}
        paired = max(int(c["n"]) for c in comparisons.values())
        if paired < 2:
            notes.append(f"- {variant} vs {reference}: not enough seeds (paired runs: {paired})")
            continue
        rows += [_significance_row(variant, reference, key, c) for key, c in comparisons.items()]
    if rows:
        return [*notes, *([""] if notes else []), *SIGNIFICANCE_HEADER, *rows]
    return notes


def missing_seeds(results: Results, variants: list[str], seeds: list[int]) -> dict[str, list[int]]:
    """``{variant: seeds without a finished run}`` for the variants that miss any."""
    missing = {v: [s for s in seeds if s not in results.get(v, {})] for v in variants}
    return {v: m for v, m in missing.items() if m}


def unfinished_lines(results: Results, variants: list[str], seeds: list[int]) -> list[str]:
    """Markdown lines listing, per variant, the seeds whose run is not finished."""
    missing = missing_seeds(results, variants, seeds)
    total = len(variants) * len(seeds)
    if not missing:
        return [f"All {total} runs finished."]
    done = total - sum(len(m) for m in missing.values())
    lines = [f"{done} of {total} runs finished; this report covers only those. Not finished:", ""]
    for variant, absent in missing.items():
        lines.append(f"- {variant}: not finished for seed{'s' if len(absent) > 1 else ''} "
                     f"{', '.join(str(s) for s in absent)} ({len(seeds) - len(absent)} of {len(seeds)} finished)")
    return lines


def _csv_value(key: str, value: float | None) -> str:
    """Full precision (round-trip) text of one value; empty when absent or nan."""
    if value is None or math.isnan(value):
        return ""
    return str(int(value)) if key == "n_parameters" else repr(float(value))


def write_runs_csv(path: Path, results: Results, variants: list[str]) -> None:
    """One row per finished (variant, seed) with :data:`RUN_KEYS`; an absent value is an empty cell."""
    with atomic_file(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seed", *RUN_KEYS])
        for variant in variants:
            for seed, row in sorted(results.get(variant, {}).items()):
                writer.writerow([variant, seed, *[_csv_value(k, row.get(k)) for k in RUN_KEYS]])


def _summary(results: Results, variants: list[str], keys: list[str]) -> dict[str, dict[str, tuple[float, float]]]:
    return {v: {k: _mean_std([r[k] for r in results[v].values() if k in r]) for k in keys} for v in variants}


def _write_results_csv(path: Path, results: Results, variants: list[str], keys: list[str],
                       summary: dict[str, dict[str, tuple[float, float]]]) -> None:
    with atomic_file(path) as temporary, temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["variant", "seeds", *[f"{k}_{s}" for k in keys for s in ("mean", "std")]])
        for v in variants:
            writer.writerow([v, len(results[v]), *[f"{x:.6g}" for k in keys for x in summary[v][k]]])


def _markdown(out: Path, results: Results, variants: list[str], seeds: list[int], keys: list[str],
              summary: dict[str, dict[str, tuple[float, float]]], title: str) -> list[str]:
    md = [f"# {title}", "", f"Mean ± std over seeds (runs in {out}); H errors in µHa, psi_cos in %.", "",
          "| variant | seeds | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for v in variants:
        cells = [_cell(*summary[v][k], k) for k in keys]
        md.append(f"| {v} | {len(results[v])} | " + " | ".join(cells) + " |")
    md += ["", "## Runs", "", *unfinished_lines(results, variants, seeds), "",
           f"## Significance (paired over seeds, vs {variants[0]})", "",
           "Difference = variant - reference per seed; relative = mean difference in % of the reference's "
           f"mean over the same seeds; two-sided paired t-test, df = paired seeds - 1. Higher is better for "
           f"{', '.join(sorted(HIGHER_IS_BETTER))}, lower for the rest.", "",
           *significance_lines(results, variants), "",
           "Per-run values: runs.csv. Plots: plots/metrics.png, plots/learning_curves.png", ""]
    return md


def write_reports(out: Path, variants: list[str], seeds: list[int], title: str = "ablation") -> Results:
    """Write ``results.csv``, ``runs.csv``, ``results.md`` and ``plots/`` from the finished runs.

    Args:
        out: The ablation folder.
        variants: The variants to report, the first being the reference of the significance table.
        seeds: The seeds the ablation runs; those without a finished run are listed as not finished.
        title: The heading of ``results.md``.

    Returns:
        The collected results (:func:`collect`).
    """
    results = collect(out, variants, seeds)
    keys = [*METRIC_KEYS, *EXTRA_KEYS]
    summary = _summary(results, variants, keys)
    _write_results_csv(out / "results.csv", results, variants, keys, summary)
    write_runs_csv(out / "runs.csv", results, variants)
    with atomic_file(out / "results.md") as temporary:
        temporary.write_text("\n".join(_markdown(out, results, variants, seeds, keys, summary, title)))
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
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8)
    figure.tight_layout()
    save_png(figure, plots / "learning_curves.png", dpi=110)
    plt.close(figure)
