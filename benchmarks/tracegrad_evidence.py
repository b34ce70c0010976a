"""Evidence from a finished (or partly finished) TraceGrad ablation: statistics, orbitals, SCF.

Run it in the folder the ablation ran in (its recipes name the data file relative to it):

    python benchmarks/tracegrad_evidence.py --ablation ablations/tracegrad_water \\
        --out docs/results/tracegrad_water --xc pbe

It writes into ``--out``:

* ``results.md`` / ``results.csv`` / ``runs.csv`` / ``plots/metrics.png``: hamkit's own ablation
  report (``hamkit ablate --report-only``: mean ± std over seeds, paired t-tests on every metric).
* ``orbitals.json`` / ``orbitals.md`` / ``plots/orbitals.png``: the test error of each occupied
  orbital energy (lowest first), and core vs valence, per variant (mean ± std over seeds, paired
  against the first variant).
* ``per_molecule.md``: the same comparison paired over test molecules (Wilcoxon signed-rank).
* ``plots/training_loss.png``: the H MSE term of the training loss, mean over seeds.
* ``scf.json`` / ``scf.md``: ``hamkit scf`` on the test split with each variant's best seed
  (lowest test H MAE): SCF cycles from the predicted H vs PySCF's 'minao' guess.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
from pathlib import Path

import numpy as np
from scipy import stats

from hamkit.ablation.manifest import MANIFEST_FILE
from hamkit.ablation.report import paired_comparison, write_reports
from hamkit.ablation.runner import is_finished, run_dir_of
from hamkit.ablation.spec import load_ablation
from hamkit.cli.scf_cmd import compare_cycles, cycle_summary, split_structures
from hamkit.engine.inference import predict_matrices
from hamkit.engine.plots import _pyplot, save_png
from hamkit.engine.prepare import prepare_data
from hamkit.engine.restore import TrainedModel, load_trained_model
from hamkit.engine.run_layout import RunLayout
from hamkit.physics.eigen import occupied_count
from hamkit.physics.orbital_breakdown import occupied_energy_errors

H_LOSS_COLUMN = "loss/0:h_mse"


def finished_runs(ablation: Path) -> tuple[list[str], list[int], dict[str, list[int]]]:
    """Variants and seeds of the ablation (from its manifest) and the seeds finished per variant."""
    manifest = json.loads((ablation / MANIFEST_FILE).read_text())
    spec = load_ablation(manifest["ablation"], manifest["set"])
    variants, seeds = spec.variants, list(spec.spec.seeds)
    done = {v: [s for s in seeds if is_finished(run_dir_of(ablation, v, s))] for v in variants}
    return variants, seeds, done


def test_orbital_errors(trained: TrainedModel) -> list[tuple[np.ndarray, int]]:
    """Per-orbital occupied energy errors (µHa) of every test structure of a run, lowest first.

    Returns:
        One ``(errors, n_core)`` per test structure: the (n_occupied,) errors, lowest orbital
        first, and how many of them are core orbitals (water: 1).
    """
    data = prepare_data(trained.recipe)
    records = [data.dataset[int(i)] for i in data.splits["test"]]
    graphs = [trained.graph(record.structure, str(record.key)) for record in records]
    predicted = predict_matrices(trained, graphs)
    errors = []
    for record, h_pred in zip(records, predicted):
        numbers = record.structure.numbers
        n_occupied = occupied_count(numbers, record.structure.charge)
        result = occupied_energy_errors(h_pred, record.hamiltonian, record.overlap, numbers, n_occupied)
        errors.append((result.per_orbital, result.n_core))
    return errors


def orbital_summary(errors: list) -> dict[str, object]:
    """Mean over structures: per orbital index (same-size molecules only), core and valence MAE."""
    sizes = {len(e) for e, _ in errors}
    per_orbital = np.mean([e for e, _ in errors], axis=0).tolist() if len(sizes) == 1 else None
    core = [float(e[:c].mean()) for e, c in errors if c]
    valence = [float(e[c:].mean()) for e, c in errors if len(e) > c]
    return {"per_orbital": per_orbital, "core_mae": float(np.mean(core)) if core else math.nan,
            "valence_mae": float(np.mean(valence)) if valence else math.nan, "structures": len(errors)}


def paired(results: dict, reference: str, variant: str, key: str) -> str:
    """``diff ± std (relative, p)`` of paired seeds (:func:`paired_comparison`), or a note."""
    c = paired_comparison(results, reference, variant, key)
    if c["n"] < 2:
        return f"{c['n']} paired seed(s)"
    return f"{c['mean']:+.1f} ± {c['std']:.1f} ({c['relative']:+.0f}%, p = {c['p']:.3f})"


def orbital_report(ablation: Path, out: Path, variants: list[str], done: dict[str, list[int]]) -> dict:
    """Compute, save and plot the per-orbital breakdown of every finished run."""
    results: dict[str, dict[int, dict]] = {}
    for variant in variants:
        results[variant] = {}
        for seed in done[variant]:
            trained = load_trained_model(run_dir_of(ablation, variant, seed))
            results[variant][seed] = orbital_summary(test_orbital_errors(trained))
            print(f"orbitals: {variant} seed {seed}: core {results[variant][seed]['core_mae']:.0f} µHa, "
                  f"valence {results[variant][seed]['valence_mae']:.0f} µHa", flush=True)
    (out / "orbitals.json").write_text(json.dumps(results, indent=2))
    reference = variants[0]
    lines = ["# Occupied orbital-energy errors, core vs valence (test set, µHa)", "",
             f"Mean ± std over seeds; paired differences against {reference} (p: paired t-test, two-sided).", "",
             "| variant | seeds | core MAE | valence MAE | core vs base | valence vs base "
             "| per orbital (lowest first) |",
             "|---|---|---|---|---|---|---|"]
    for variant in variants:
        runs = results[variant]
        if not runs:
            lines.append(f"| {variant} | 0 | - | - | - | - | - |")
            continue
        cells = []
        for key in ("core_mae", "valence_mae"):
            vals = [r[key] for r in runs.values()]
            cells.append(f"{np.mean(vals):.0f} ± {np.std(vals, ddof=1) if len(vals) > 1 else 0:.0f}")
        for key in ("core_mae", "valence_mae"):
            cells.append("-" if variant == reference else paired(results, reference, variant, key))
        orbitals = [r["per_orbital"] for r in runs.values() if r["per_orbital"] is not None]
        per = " / ".join(f"{v:.0f}" for v in np.mean(orbitals, axis=0)) if orbitals else "-"
        lines.append(f"| {variant} | {len(runs)} | " + " | ".join(cells) + f" | {per} |")
    (out / "orbitals.md").write_text("\n".join(lines) + "\n")
    _plot_orbitals(out, variants, results)
    return results


def _plot_orbitals(out: Path, variants: list[str], results: dict) -> None:
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 4))
    shown = [v for v in variants if any(r["per_orbital"] for r in results[v].values())]
    width = 0.8 / max(len(shown), 1)
    for k, variant in enumerate(shown):
        per = np.array([r["per_orbital"] for r in results[variant].values() if r["per_orbital"]])
        x = np.arange(per.shape[1]) + k * width
        ax.bar(x, per.mean(axis=0), width, yerr=per.std(axis=0, ddof=1) if len(per) > 1 else None,
               capsize=3, label=f"{variant} ({len(per)} seeds)")
    ax.set(xlabel="occupied orbital (lowest first)", ylabel="test |eps error| (µHa)",
           title="orbital-energy error per occupied orbital")
    ax.legend(fontsize=8)
    figure.tight_layout()
    save_png(figure, out / "plots" / "orbitals.png", dpi=110)
    plt.close(figure)


def plot_training_loss(ablation: Path, out: Path, variants: list[str], done: dict[str, list[int]]) -> None:
    """The H MSE term of the training loss over steps, mean over the finished seeds, smoothed."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7, 4.5))
    for variant in variants:
        curves = []
        for seed in done[variant]:
            with RunLayout(run_dir_of(ablation, variant, seed)).csv_log("train").open() as handle:
                rows = list(csv.DictReader(handle))
            curves.append([(int(r["step"]), float(r[H_LOSS_COLUMN])) for r in rows if r.get(H_LOSS_COLUMN)])
        if not curves:
            continue
        length = min(len(c) for c in curves)
        steps = np.array([s for s, _ in curves[0][:length]])
        mean = np.mean([[v for _, v in c[:length]] for c in curves], axis=0)
        window = 10
        smooth = np.convolve(mean, np.ones(window) / window, mode="valid")
        ax.plot(steps[window - 1:], smooth, label=f"{variant} ({len(curves)} seeds)")
    ax.set(xlabel="step", ylabel="training H MSE term (Ha², unweighted)", yscale="log",
           title="training loss: H MSE term (mean over seeds, 10-point moving average)")
    ax.legend(fontsize=8)
    figure.tight_layout()
    save_png(figure, out / "plots" / "training_loss.png", dpi=110)
    plt.close(figure)


def per_structure(ablation: Path, variant: str, seeds: list[int], key: str) -> np.ndarray:
    """A metric's per-test-structure values averaged over ``seeds``, shape (n_test,)."""
    rows = []
    for seed in seeds:
        test = json.loads(RunLayout(run_dir_of(ablation, variant, seed)).test_metrics.read_text())
        rows.append(np.asarray(test["test"][key]["per_structure"], dtype=float))
    return np.mean(rows, axis=0)


def per_molecule_report(ablation: Path, out: Path, variants: list[str], done: dict[str, list[int]]) -> None:
    """Paired over test molecules (each averaged over the seeds both variants have): Wilcoxon tests.

    The seed test (``results.md``) asks whether a variant wins again with a new initialisation
    and batch order; this one asks whether it wins on most molecules of this test set.
    """
    reference = variants[0]
    lines = [f"# Per-molecule comparison against {reference} (test set)", "",
             "Each molecule's error averaged over the seeds both variants finished; difference = variant - "
             f"{reference}; Wilcoxon signed-rank test over molecules, two-sided.", "",
             "| variant | metric | seeds | median difference | molecules better | p |", "|---|---|---|---|---|---|"]
    for variant in variants[1:]:
        seeds = sorted(set(done[variant]) & set(done[reference]))
        if not seeds:
            continue
        for key in ("h_mae", "eps_occ_mae", "homo_mae", "lumo_mae", "gap_mae", "psi_cos"):
            diff = per_structure(ablation, variant, seeds, key) - per_structure(ablation, reference, seeds, key)
            diff = diff[np.isfinite(diff)]
            better = int(np.sum(diff > 0)) if key == "psi_cos" else int(np.sum(diff < 0))
            p = float(stats.wilcoxon(diff).pvalue) if np.any(diff != 0) else 1.0
            lines.append(f"| {variant} | {key} | {len(seeds)} | {np.median(diff):+.3g} | "
                         f"{better}/{diff.size} | {p:.2g} |")
    (out / "per_molecule.md").write_text("\n".join(lines) + "\n")


def best_seed(ablation: Path, variant: str, seeds: list[int]) -> int:
    """The seed with the lowest test H MAE."""
    def h_mae(seed: int) -> float:
        test = json.loads(RunLayout(run_dir_of(ablation, variant, seed)).test_metrics.read_text())
        return float(test["test"]["h_mae"]["mean"])
    return min(seeds, key=h_mae)


def scf_report(ablation: Path, out: Path, variants: list[str], done: dict[str, list[int]], xc: str,
               limit: int | None) -> dict:
    """SCF cycles from each variant's best model on the test split vs 'minao'.

    Variants measured before (in ``scf.json``) and not asked for again are kept.
    """
    previous = out / "scf.json"
    results = json.loads(previous.read_text()) if previous.is_file() else {}
    for variant in variants:
        if not done[variant]:
            continue
        seed = best_seed(ablation, variant, done[variant])
        trained = load_trained_model(run_dir_of(ablation, variant, seed))
        structures = split_structures(trained, "test")[:limit]
        rows = compare_cycles(trained, structures, xc, conv_tol=1e-9, max_cycle=100)
        summary = cycle_summary(rows)
        results[variant] = {
            "seed": seed, "structures": len(rows), "xc": xc,
            "cycles_predicted": summary["cycles_predicted"], "cycles_minao": summary["cycles_minao"],
            "ratio_mean": summary["ratio"], "ratio_std": summary["ratio_std"],
            "ratio_median": summary["ratio_median"], "not_converged": summary["not_converged"],
            "max_energy_difference_ha": float(max(abs(r.result.energy_guess - r.result.energy_minao) for r in rows)),
        }
        print(f"scf: {variant} seed {seed}: ratio {summary['ratio']:.3f} ± {summary['ratio_std']:.3f}", flush=True)
    results = {v: results[v] for v in [*variants, *results] if v in results}
    (out / "scf.json").write_text(json.dumps(results, indent=2))
    lines = ["# SCF cycles from the predicted H vs 'minao' (test split)", "",
             "Each variant's best seed (lowest test H MAE); conv_tol 1e-9 Ha; ratio = cycles from the "
             "prediction / cycles from minao, per molecule, then mean ± std over molecules.", "",
             "| variant | seed | molecules | cycles (predicted) | cycles (minao) | ratio | median | not converged |",
             "|---|---|---|---|---|---|---|---|"]
    for variant, r in results.items():
        lines.append(f"| {variant} | {r['seed']} | {r['structures']} | {r['cycles_predicted']:.1f} | "
                     f"{r['cycles_minao']:.1f} | {r['ratio_mean']:.3f} ± {r['ratio_std']:.3f} | "
                     f"{r['ratio_median']:.3f} | {r['not_converged']} |")
    (out / "scf.md").write_text("\n".join(lines) + "\n")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ablation", type=Path, required=True, help="The ablation's output folder.")
    parser.add_argument("--out", type=Path, required=True, help="Where the evidence goes.")
    parser.add_argument("--xc", default="pbe", help="Functional of the SCF runs (the labels' one).")
    parser.add_argument("--scf-limit", type=int, default=None, help="Only the first N test molecules in SCF.")
    parser.add_argument("--scf-variants", nargs="*", default=None, help="Variants to run SCF for (default all).")
    parser.add_argument("--skip-scf", action="store_true")
    args = parser.parse_args()
    variants, seeds, done = finished_runs(args.ablation)
    (args.out / "plots").mkdir(parents=True, exist_ok=True)
    write_reports(args.ablation, variants, seeds, title=f"ablation: {args.ablation.name}")
    for name in ("results.md", "results.csv", "runs.csv"):
        shutil.copy(args.ablation / name, args.out / name)
    shutil.copy(args.ablation / "plots" / "metrics.png", args.out / "plots" / "metrics.png")
    plot_training_loss(args.ablation, args.out, variants, done)
    per_molecule_report(args.ablation, args.out, variants, done)
    orbital_report(args.ablation, args.out, variants, done)
    if not args.skip_scf:
        chosen = [v for v in variants if args.scf_variants is None or v in args.scf_variants]
        scf_report(args.ablation, args.out, chosen, done, args.xc, args.scf_limit)


if __name__ == "__main__":
    main()
