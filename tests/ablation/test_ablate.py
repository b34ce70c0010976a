"""hamkit ablate: variants x seeds, resumable runs, results report, file:line errors up front."""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import pytest
import yaml

from hamkit.ablation import load_ablation, validate_variants
from hamkit.ablation.report import paired_comparison, significance_lines
from hamkit.cli import ablate_cmd
from hamkit.cli.commands import CommandRegistrar
from hamkit.errors import HamkitError
from hamkit.recipe import RecipeError

ROOT = Path(__file__).resolve().parents[2]

TINY = [
    "data.dataset.limit=10",
    "model.featurizer.hidden=4", "model.featurizer.num_layers=2", "model.featurizer.sh_lmax=2",
    "model.featurizer.bottleneck=4", "model.featurizer.num_radial=4", "model.featurizer.radial_hidden=8",
    "model.invariant_encoder.num_scalars=8", "model.invariant_encoder.hidden=[8]",
    "train.batch_size=2", "train.device=cpu",
]


def _parse(argv: list[str]) -> argparse.Namespace:
    registrar = CommandRegistrar()
    ablate_cmd.add_commands(registrar)
    command = registrar.commands["ablate"]
    parser = argparse.ArgumentParser(prog="hamkit ablate")
    command.configure(parser)
    args = parser.parse_args(argv)
    args.command_run = command.run
    return args


def _ablate(argv: list[str]) -> int:
    args = _parse(argv)
    return args.command_run(args)


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ablation")
    spec = {
        "base": str(ROOT / "recipes" / "quickstart.yaml"),
        "budget": {"steps": 3},
        "seeds": [0, 1, 2],
        "set": TINY,
        "variants": {
            "base_qhnet": ["model.invariant_encoder=null", "model.inducer={name: none}",
                           "loss=[{name: h_mse}, {name: h_mae}]"],
            "full_tracegrad": [],
            "unused": ["loss.2.weight=1.0"],
        },
    }
    ablation = _write(folder / "tiny.yaml", yaml.safe_dump(spec))
    out = folder / "out"
    assert _ablate([str(ablation), "--out", str(out), "--seeds", "2", "--variants", "2"]) == 0
    return ablation, out


def test_runs_every_variant_and_seed_and_reports(finished):
    _, out = finished
    for variant in ("base_qhnet", "full_tracegrad"):
        for seed in (0, 1):
            run = out / variant / f"seed{seed}"
            assert json.loads((run / "test_metrics.json").read_text())["step"] == 3
            info = json.loads((run / "ablation_run.json").read_text())
            assert info["peak_memory_bytes"] > 0 and info["step_time"] > 0
            assert yaml.safe_load((run / "recipe.yaml").read_text())["train"]["seed"] == seed
    assert not (out / "unused").exists() and not (out / "base_qhnet" / "seed2").exists()
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [row["variant"] for row in rows] == ["base_qhnet", "full_tracegrad"]
    for key in ("h_mae", "h_mae_diag", "h_mae_offdiag", "eps_occ_mae", "psi_cos", "homo_mae", "lumo_mae",
                "gap_mae", "n_parameters", "step_time", "peak_memory_mb"):
        assert float(rows[0][f"{key}_mean"]) >= 0 and f"{key}_std" in rows[0]
    assert float(rows[0]["n_parameters_mean"]) < float(rows[1]["n_parameters_mean"])
    markdown = (out / "results.md").read_text()
    assert "±" in markdown and "full_tracegrad vs base_qhnet" in markdown and "paired t" in markdown
    assert "| full_tracegrad vs base_qhnet | psi_cos | 2 |" in markdown and "All 4 runs finished." in markdown
    runs = list(csv.DictReader((out / "runs.csv").open()))
    assert [(row["variant"], row["seed"]) for row in runs] == [
        ("base_qhnet", "0"), ("base_qhnet", "1"), ("full_tracegrad", "0"), ("full_tracegrad", "1")]
    assert all(float(row["step_time"]) > 0 and int(row["n_parameters"]) > 0 for row in runs)
    assert (out / "plots" / "metrics.png").stat().st_size > 0
    assert (out / "plots" / "learning_curves.png").stat().st_size > 0


def test_second_invocation_skips_finished_runs(finished, capsys):
    ablation, out = finished
    before = (out / "full_tracegrad" / "seed0" / "test_metrics.json").stat().st_mtime_ns
    capsys.readouterr()
    assert _ablate([str(ablation), "--out", str(out), "--seeds", "2", "--variants", "2"]) == 0
    printed = capsys.readouterr().out
    assert printed.count("finished, skipped") == 4
    assert (out / "full_tracegrad" / "seed0" / "test_metrics.json").stat().st_mtime_ns == before


def test_bad_ablation_file_gives_file_line_errors_before_training(tmp_path):
    base = ROOT / "recipes" / "quickstart.yaml"
    bad = _write(tmp_path / "bad.yaml", f"""base: {base}
budget: {{steps: 3}}
seeds: [0]
variant:
  a: []
""")
    with pytest.raises(RecipeError, match=r"bad.yaml:4: variant: unknown key 'variant'; did you mean 'variants'"):
        _ablate([str(bad), "--out", str(tmp_path / "out")])
    bad = _write(tmp_path / "bad2.yaml", f"""base: {base}
budget: {{steps: 3}}
seeds: [0]
variants:
  good: []
  typo:
    - "model.inducer={{name: gradiant}}"
  worse:
    - "train.stepz=3"
""")
    with pytest.raises(RecipeError) as caught:
        _ablate([str(bad), "--out", str(tmp_path / "out")])
    message = str(caught.value)
    assert "2 problems" in message
    assert "bad2.yaml:7: model.inducer" in message and "[variant typo]" in message
    assert "bad2.yaml:9: train.stepz" in message and "[variant worse]" in message
    assert caught.value.exit_code == 2
    assert not (tmp_path / "out").exists()
    with pytest.raises(RecipeError, match=r"budget: give exactly one"):
        load_ablation(_write(tmp_path / "bad3.yaml", f"base: {base}\nbudget: {{}}\nvariants: {{a: []}}\n"))
    with pytest.raises(HamkitError, match="--workers must be at least 1"):
        _ablate([str(bad), "--workers", "0"])


@pytest.mark.parametrize("path", sorted((ROOT / "recipes" / "ablations").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_ablations_validate(path):
    ablation = load_ablation(path)
    assert len(ablation.variants) >= 3 and len(ablation.spec.seeds) >= 2
    validate_variants(ablation)
    for variant in ablation.variants:
        recipe = ablation.recipe(variant, ablation.spec.seeds[1])
        assert recipe.sections.train.seed == ablation.spec.seeds[1]
        assert recipe.sections.data.split.seed == 0


def test_significance_needs_two_seeds():
    one = {"a": {0: {"h_mae": 1.0}}, "b": {0: {"h_mae": 2.0}}}
    assert "not enough seeds" in significance_lines(one, ["a", "b"])[0]
    two = {"a": {0: {"h_mae": 1.0}, 1: {"h_mae": 2.0}}, "b": {0: {"h_mae": 2.0}, 1: {"h_mae": 4.0}}}
    comparison = paired_comparison(two, "a", "b")
    assert comparison["mean"] == pytest.approx(1.5) and comparison["t"] == pytest.approx(3.0)
    assert comparison["p"] == pytest.approx(0.2048, abs=1e-4)  # 1 df: p = 1 - 2 atan(3) / pi


def test_interrupted_run_resumes_from_last_checkpoint(finished, capsys):
    ablation, out = finished
    run = out / "base_qhnet" / "seed1"
    (run / "test_metrics.json").unlink()
    assert (run / "checkpoints" / "last.pt").is_file()
    capsys.readouterr()
    assert _ablate([str(ablation), "--out", str(out), "--seeds", "2", "--variants", "2"]) == 0
    assert json.loads((run / "ablation_run.json").read_text())["resumed"] is True
    assert json.loads((run / "test_metrics.json").read_text())["step"] == 3


def test_wall_time_budget_in_parallel_workers(tmp_path):
    spec = {"base": str(ROOT / "recipes" / "quickstart.yaml"), "budget": {"seconds": 1e-6},
            "seeds": [0, 1], "set": [*TINY, "train.steps=1000"], "variants": {"full": []}}
    ablation = _write(tmp_path / "timed.yaml", yaml.safe_dump(spec))
    out = tmp_path / "out"
    assert _ablate([str(ablation), "--out", str(out), "--workers", "2", "--no-model-check"]) == 0
    for seed in (0, 1):
        assert json.loads((out / "full" / f"seed{seed}" / "test_metrics.json").read_text())["step"] == 1
    assert "not enough seeds" not in (out / "results.md").read_text()
