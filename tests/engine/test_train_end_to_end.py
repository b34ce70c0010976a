"""hamkit train: a tiny recipe trains, evaluates and writes its run directory."""

from __future__ import annotations

import json

import pytest
import torch

from hamkit.cli.main import main
from hamkit.engine.prepare import build_context, open_dataset
from hamkit.errors import HamkitError
from hamkit.model import build_model
from hamkit.physics.metrics import METRIC_KEYS
from hamkit.recipe import load_recipe

TINY = [
    "data.dataset.limit=10",
    "model.featurizer.hidden=4", "model.featurizer.num_layers=2", "model.featurizer.sh_lmax=2",
    "model.featurizer.bottleneck=4", "model.featurizer.num_radial=4", "model.featurizer.radial_hidden=8",
    "model.invariant_encoder.num_scalars=8", "model.invariant_encoder.hidden=[8]",
    "train.steps=3", "train.batch_size=2",
]


@pytest.fixture(scope="module")
def quickstart(request):
    return request.config.rootpath / "recipes" / "quickstart.yaml"


def test_train_writes_metrics_and_a_safe_state_dict(tmp_path, capsys, quickstart):
    out = tmp_path / "run"
    argv = ["train", str(quickstart), "--out", str(out)]
    for assignment in TINY:
        argv += ["--set", assignment]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "test metrics" in printed and "psi_cos" in printed
    metrics = json.loads((out / "test_metrics.json").read_text())
    assert set(metrics["test"]) == set(METRIC_KEYS) and metrics["step"] == 3
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    train_rows = [row for row in rows if row["kind"] == "train"]
    assert train_rows[-1]["step"] == 3
    assert {"loss/0:h_mse", "loss/1:h_mae", "loss/2:trace"} <= set(train_rows[-1])
    assert any(row["kind"] == "val" for row in rows)
    state = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert any(key.startswith("featurizer.") for key in state["model"])
    for name in ("recipe.yaml", "environment.json", "data.json", "model_info.json",
                 "plots/learning_curves.png", "plots/orbital_energies.png", "train.csv", "val.csv"):
        assert (out / name).exists(), name


def test_model_predicts_traces_with_the_label_width(quickstart):
    recipe = load_recipe(quickstart, TINY)
    dataset = open_dataset(recipe)
    model = build_model(recipe, build_context(dataset, "float64"))
    from hamkit.data.graph import labelled_graph
    from hamkit.engine.batches import collate

    batch = collate([labelled_graph(dataset[0], dataset.basis)], torch.float64, torch.device("cpu"))
    prediction = model(batch)
    assert prediction["node_traces"].shape == batch.node_trace.shape
    assert prediction["pair_traces"].shape == batch.pair_trace.shape
    assert prediction["hamiltonian"].shape == batch.hamiltonian.shape


def test_gradient_inducer_without_encoder_names_the_recipe_line(quickstart):
    recipe = load_recipe(quickstart, [*TINY, "model.invariant_encoder=null"])
    dataset = open_dataset(recipe)
    with pytest.raises(HamkitError, match=r"quickstart.yaml:\d+: model.inducer: .*needs an invariant encoder"):
        build_model(recipe, build_context(dataset, "float32"))


def test_bf16_autocast_trains(tmp_path, quickstart):
    """The autocast path (bf16 on CPU here; GPUs use the same code) gives finite losses."""
    from hamkit.engine.run import run_training

    recipe = load_recipe(quickstart, [*TINY, "train.autocast=bf16", "train.device=cpu"])
    result = run_training(recipe, tmp_path / "bf16", show_progress=False)
    rows = [json.loads(line) for line in (tmp_path / "bf16" / "metrics.jsonl").read_text().splitlines()]
    assert result.loop.skipped == 0
    assert all(row["loss"] == row["loss"] for row in rows if row["kind"] == "train")


def test_non_finite_steps_are_skipped_then_stop_with_the_last_good_checkpoint(tmp_path, quickstart):
    from hamkit.engine.run import run_training

    recipe = load_recipe(quickstart, [*TINY, "train.lr=1.0e+30", "train.steps=30", "train.max_bad_steps=2",
                                      "train.checkpoint_every=1", "train.clip_grad_norm=null",
                                      "train.warmup_steps=0", "train.schedule=constant", "train.log_every=1"])
    with pytest.raises(HamkitError, match="non-finite loss or gradient.*last good checkpoint"):
        run_training(recipe, tmp_path / "nan", show_progress=False)
    state = torch.load(tmp_path / "nan" / "checkpoints" / "last.pt", weights_only=True)
    assert state["loop"]["bad_in_a_row"] == 0
    assert all(torch.isfinite(tensor).all() for tensor in state["model"].values() if tensor.is_floating_point())
    rows = [json.loads(line) for line in (tmp_path / "nan" / "metrics.jsonl").read_text().splitlines()]
    skipped = [row for row in rows if row["kind"] == "train" and row["skipped"] == 1.0]
    assert len(skipped) >= 1


def test_dataloader_workers_give_the_same_training_as_in_memory_graphs(tmp_path, quickstart):
    from hamkit.engine.run import run_training

    settings = [*TINY, "train.dtype=float64", "train.steps=4", "train.log_every=1", "train.device=cpu"]
    memory = run_training(load_recipe(quickstart, settings), tmp_path / "memory", show_progress=False)
    workers = run_training(load_recipe(quickstart, [*settings, "train.num_workers=2"]), tmp_path / "workers",
                           show_progress=False)

    def losses(run):
        rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
        return [row["loss"] for row in rows if row["kind"] == "train"]

    assert losses(tmp_path / "memory") == losses(tmp_path / "workers")
    assert memory.metrics == workers.metrics


def test_qhnet_pair_cutoff_reaches_the_graphs(tmp_path, quickstart):
    """A qhnet recipe with pair_cutoff trains on graphs cut at that distance (the featurizer
    declares it on its contract; runs used to build fully connected graphs)."""
    from hamkit.engine.prepare import prepare_data, split_graphs

    overrides = [*TINY, "model.featurizer.pair_cutoff=2.0"]
    recipe = load_recipe(quickstart, overrides)
    model = build_model(recipe, build_context(open_dataset(recipe), "float64"))
    assert model.featurizer.pair_cutoff == 2.0
    graphs = split_graphs(prepare_data(recipe), model.featurizer.pair_cutoff)["train"]
    for graph in graphs:
        i, j = graph.pair_index
        assert float((graph.pos[i] - graph.pos[j]).norm(dim=-1).max()) < 2.0
    argv = ["train", str(quickstart), "--out", str(tmp_path / "run")]
    for assignment in [*overrides, "train.steps=1"]:
        argv += ["--set", assignment]
    assert main(argv) == 0
    assert json.loads((tmp_path / "run" / "model_info.json").read_text())["pair_cutoff"] == 2.0
