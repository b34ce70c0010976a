"""hamkit ablate reporting: paired significance table, runs.csv, unfinished runs, --report-only."""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

import pytest
import yaml

from hamkit.ablation import load_ablation
from hamkit.ablation.manifest import MANIFEST_FILE, manifest_of
from hamkit.ablation.report import (
    RUN_KEYS,
    Results,
    collect,
    paired_comparison,
    significance_lines,
    verdict,
    write_reports,
)
from hamkit.ablation.runner import RUN_INFO, run_dir_of
from hamkit.cli import ablate_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.cli.main import main
from hamkit.engine.run_layout import RunLayout
from hamkit.errors import HamkitError
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.safe_output import OutputExistsError

ROOT = Path(__file__).resolve().parents[2]
SEEDS = [0, 1, 2]

REFERENCE = {key: [10.0 + 10 * s for s in SEEDS] for key in METRIC_KEYS}
"""The reference variant ``a``: 10, 20, 30 for every metric (mean 20)."""
REFERENCE["psi_cos"] = [90.0, 91.0, 92.0]

DIFFERENCES = {key: [0.0, 0.0, 0.0] for key in METRIC_KEYS}
"""Variant ``b`` minus ``a``, per seed."""
DIFFERENCES.update({
    "h_mae": [1.0, 2.0, 3.0],  # mean 2, std 1, t = 2 sqrt(3), p = 0.0742: not significant
    "h_mae_diag": [-5.0, -6.0, -7.0],  # mean -6, std 1, t = -6 sqrt(3), p = 0.00913: lower, better
    "h_mae_offdiag": [5.0, 6.0, 7.0],  # the same size upwards: higher, worse
    "psi_cos": [5.0, 6.0, 7.0],  # higher psi_cos is better
    "eps_occ_mae": [-5.0, -6.0, 9.0],  # mean -2/3, std 8.39: not significant
})


def _ablate(argv: list[str]) -> int:
    """Run ``hamkit ablate ARGV`` through its command entry (errors raise, as in test_ablate.py)."""
    registrar = CommandRegistrar()
    ablate_cmd.add_commands(registrar)
    command = registrar.commands["ablate"]
    parser = argparse.ArgumentParser(prog="hamkit ablate")
    command.configure(parser)
    return command.run(parser.parse_args(argv))


def _p_df2(t: float) -> float:
    """Two-sided p of Student's t with 2 degrees of freedom, in closed form."""
    return 1.0 - abs(t) / math.sqrt(t * t + 2.0)


def _write_run(out: Path, variant: str, seed: int, metrics: dict[str, float], step_time: float | None) -> None:
    run_dir = run_dir_of(out, variant, seed)
    run_dir.mkdir(parents=True)
    test = {"test": {key: {"mean": value} for key, value in metrics.items()}, "n_parameters": 1000 + seed}
    RunLayout(run_dir).test_metrics.write_text(json.dumps(test))
    if step_time is not None:
        info = {"step_time": step_time, "peak_memory_bytes": 2**20 * (seed + 1)}
        (run_dir / RUN_INFO).write_text(json.dumps(info))


def _fake_ablation(out: Path) -> None:
    """Variants a (reference), b (known differences), c (a copy of a) and d (only seed 0 finished)."""
    for i, seed in enumerate(SEEDS):
        reference = {key: REFERENCE[key][i] for key in METRIC_KEYS}
        variant = {key: REFERENCE[key][i] + DIFFERENCES[key][i] for key in METRIC_KEYS}
        _write_run(out, "a", seed, reference, step_time=0.01 * (i + 1))
        _write_run(out, "b", seed, variant, step_time=None if seed == 2 else 0.02)
        if seed != 1:
            _write_run(out, "c", seed, reference, step_time=0.01)
    _write_run(out, "d", 0, {key: REFERENCE[key][0] for key in METRIC_KEYS}, step_time=0.01)


def _table(markdown: str) -> dict[tuple[str, str], list[str]]:
    """Significance table rows by (``b vs a``, metric): the remaining cells."""
    rows = {}
    for line in markdown.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 9 and " vs " in cells[0]:
            rows[(cells[0], cells[1])] = cells[2:]
    return rows


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("fake_ablation")
    _fake_ablation(out)
    write_reports(out, ["a", "b", "c", "d"], SEEDS, title="fake")
    return out


def _results(out: Path) -> Results:
    return collect(out, ["a", "b", "c", "d"], SEEDS)


def test_paired_comparison_matches_hand_computation(report):
    results = _results(report)
    h_mae = paired_comparison(results, "a", "b", "h_mae")
    t = 2.0 * math.sqrt(3.0)
    assert h_mae["n"] == 3 and h_mae["mean"] == pytest.approx(2.0) and h_mae["std"] == pytest.approx(1.0)
    assert h_mae["t"] == pytest.approx(t) and h_mae["p"] == pytest.approx(_p_df2(t))
    assert h_mae["p"] == pytest.approx(0.0742, abs=1e-4)
    assert h_mae["reference_mean"] == pytest.approx(20.0) and h_mae["relative"] == pytest.approx(10.0)
    diag = paired_comparison(results, "a", "b", "h_mae_diag")
    assert diag["t"] == pytest.approx(-6.0 * math.sqrt(3.0)) and diag["p"] == pytest.approx(_p_df2(diag["t"]))
    assert diag["relative"] == pytest.approx(-30.0)
    eps = paired_comparison(results, "a", "b", "eps_occ_mae")
    std = math.sqrt(((-5 + 2 / 3) ** 2 + (-6 + 2 / 3) ** 2 + (9 + 2 / 3) ** 2) / 2)
    assert eps["mean"] == pytest.approx(-2 / 3) and eps["std"] == pytest.approx(std)
    assert eps["t"] == pytest.approx(-2 / 3 / (std / math.sqrt(3)))
    partial = paired_comparison(results, "a", "c", "h_mae")
    assert partial["n"] == 2 and partial["mean"] == 0.0 and partial["t"] == 0.0 and partial["p"] == 1.0


def test_significance_table_numbers_and_wording(report):
    rows = _table((report / "results.md").read_text())
    assert {metric for variant, metric in rows if variant == "b vs a"} == set(METRIC_KEYS)
    p_h = _p_df2(2.0 * math.sqrt(3.0))
    assert rows[("b vs a", "h_mae")] == ["3", "+2 ± 1", "+10.0", "3.46", f"{p_h:.3g}", "no",
                                         "no significant difference"]
    p_diag = _p_df2(6.0 * math.sqrt(3.0))
    assert rows[("b vs a", "h_mae_diag")] == ["3", "-6 ± 1", "-30.0", "-10.39", f"{p_diag:.3g}", "yes", "better"]
    assert rows[("b vs a", "h_mae_offdiag")][4:] == [f"{p_diag:.3g}", "yes", "worse"]
    psi = rows[("b vs a", "psi_cos")]
    assert psi[1] == "+6 ± 1" and psi[5:] == ["yes", "better"]
    assert rows[("b vs a", "eps_occ_mae")][5:] == ["no", "no significant difference"]
    assert rows[("b vs a", "gap_mae")][1:] == ["+0 ± 0", "+0.0", "0.00", "1", "no", "no significant difference"]


def test_psi_cos_direction():
    lower = {"n": 3, "mean": -6.0, "std": 1.0, "t": -10.4, "p": 0.009}
    higher = {**lower, "mean": 6.0, "t": 10.4}
    assert verdict("psi_cos", lower) == "worse" and verdict("psi_cos", higher) == "better"
    assert verdict("h_mae", lower) == "better" and verdict("h_mae", higher) == "worse"
    assert verdict("psi_cos", {**higher, "p": 0.2}) == "no significant difference"
    assert verdict("psi_cos", {**higher, "n": 1}) == "not enough seeds"


def test_identical_variants_show_no_significant_difference(report):
    rows = _table((report / "results.md").read_text())
    for key in METRIC_KEYS:
        assert rows[("c vs a", key)] == ["2", "+0 ± 0", "+0.0", "0.00", "1", "no", "no significant difference"]


def test_noisy_identical_distribution_is_not_significant():
    results = {"a": {s: {"h_mae": v} for s, v in enumerate([10.0, 12.0, 11.0, 13.0])},
               "b": {s: {"h_mae": v} for s, v in enumerate([10.5, 11.0, 11.5, 13.0])}}
    comparison = paired_comparison(results, "a", "b")
    assert comparison["p"] > 0.05 and verdict("h_mae", comparison) == "no significant difference"


def test_not_enough_seeds_per_variant(report):
    lines = significance_lines(_results(report), ["a", "b", "c", "d"])
    assert lines[0] == "- d vs a: not enough seeds (paired runs: 1)"
    assert not any(line.startswith("| d vs a") for line in lines)
    one = {"a": {0: {"h_mae": 1.0}}, "b": {0: {"h_mae": 2.0}}}
    assert significance_lines(one, ["a", "b"]) == ["- b vs a: not enough seeds (paired runs: 1)"]
    assert significance_lines(one, ["a"]) == []


def test_runs_csv_has_one_row_per_finished_run(report):
    rows = list(csv.DictReader((report / "runs.csv").open()))
    assert list(rows[0]) == ["variant", "seed", *RUN_KEYS]
    assert [(row["variant"], int(row["seed"])) for row in rows] == [
        ("a", 0), ("a", 1), ("a", 2), ("b", 0), ("b", 1), ("b", 2), ("c", 0), ("c", 2), ("d", 0)]
    b1 = rows[4]
    for key in METRIC_KEYS:
        assert float(b1[key]) == REFERENCE[key][1] + DIFFERENCES[key][1]
    assert float(b1["step_time"]) == 0.02 and b1["n_parameters"] == "1001"
    assert rows[5]["step_time"] == ""  # b seed 2 has no ablation_run.json
    assert float(rows[2]["step_time"]) == pytest.approx(0.03)


def test_unfinished_runs_are_listed(report):
    markdown = (report / "results.md").read_text()
    assert "9 of 12 runs finished" in markdown
    assert "- c: not finished for seed 1 (2 of 3 finished)" in markdown
    assert "- d: not finished for seeds 1, 2 (1 of 3 finished)" in markdown
    assert "- a: not finished" not in markdown and "- b: not finished" not in markdown
    summary = {row["variant"]: row for row in csv.DictReader((report / "results.csv").open())}
    assert summary["c"]["seeds"] == "2" and summary["d"]["seeds"] == "1"
    assert (report / "plots" / "metrics.png").stat().st_size > 0


@pytest.fixture
def ablation_file(tmp_path) -> Path:
    spec = {"base": str(ROOT / "recipes" / "quickstart.yaml"), "budget": {"steps": 3}, "seeds": SEEDS,
            "variants": {"a": [], "b": ["train.batch_size=2"], "c": ["train.batch_size=3"],
                         "d": ["train.batch_size=4"]}}
    path = tmp_path / "fake.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_report_only_reports_finished_runs_and_trains_nothing(ablation_file, tmp_path, capsys):
    out = tmp_path / "out"
    _fake_ablation(out)
    (out / MANIFEST_FILE).write_text(json.dumps(manifest_of(load_ablation(ablation_file))))
    before = sorted(path.relative_to(out) for path in out.rglob("*"))
    assert _ablate([str(ablation_file), "--out", str(out), "--report-only"]) == 0
    markdown = (out / "results.md").read_text()
    assert "- d: not finished for seeds 1, 2" in markdown and "| b vs a | h_mae_diag |" in markdown
    assert "not finished for seeds 1, 2" in capsys.readouterr().out
    after = {path.relative_to(out) for path in out.rglob("*")}
    new = after - set(before)
    assert {path.parts[0] for path in new} == {"results.csv", "runs.csv", "results.md", "plots"}
    assert not run_dir_of(out, "d", 1).exists()


def test_report_only_refuses_another_ablations_folder(ablation_file, tmp_path):
    out = tmp_path / "out"
    _fake_ablation(out)
    manifest = manifest_of(load_ablation(ablation_file))
    (out / MANIFEST_FILE).write_text(json.dumps({**manifest, "digest": "0" * 64}))
    with pytest.raises(OutputExistsError, match="holds another ablation"):
        _ablate([str(ablation_file), "--out", str(out), "--report-only"])
    (out / MANIFEST_FILE).write_text(json.dumps(manifest))
    with pytest.raises(OutputExistsError, match="other --set/--variants"):  # the manifest covers --variants
        _ablate([str(ablation_file), "--out", str(out), "--report-only", "--variants", "2"])
    (out / MANIFEST_FILE).unlink()
    with pytest.raises(HamkitError, match="is not an ablation folder"):
        _ablate([str(ablation_file), "--out", str(out), "--report-only"])
    assert not (out / "results.md").exists()
    with pytest.raises(HamkitError, match="leave out --overwrite"):
        _ablate([str(ablation_file), "--out", str(out), "--report-only", "--overwrite"])


def test_report_only_on_a_missing_folder_exits_2_without_traceback(ablation_file, tmp_path, capsys):
    missing = tmp_path / "missing"
    assert main(["ablate", str(ablation_file), "--report-only", "--out", str(missing)]) == 2
    captured = capsys.readouterr()
    assert "no such folder" in captured.err and str(missing) in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert not missing.exists()
