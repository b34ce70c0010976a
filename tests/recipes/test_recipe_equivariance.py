"""Every shipped recipe assembles into a model whose H is equivariant and exactly symmetric.

The models are built at the recipe's own sizes in float64 and run on one structure of
the recipe's dataset (the embedded data), rotated, translated and permuted.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hamkit.data.graph import labelled_graph
from hamkit.engine.batches import collate
from hamkit.engine.prepare import build_context, open_dataset
from hamkit.model import build_model
from hamkit.plugin_host import load_plugins
from hamkit.recipe import load_recipe
from hamkit.testing.equivariance import assert_hamiltonian_equivariant, assert_hamiltonian_symmetric

RECIPES = sorted((Path(__file__).resolve().parents[2] / "recipes").glob("*.yaml")) + sorted(
    (Path(__file__).resolve().parents[2] / "recipes" / "evidence").glob("*.yaml"))
GENERATED_DATA_STAND_INS = {"qm9_like_scf.yaml": ["data.dataset.path=embedded:qm9_mini"]}
"""Recipes whose data a README command makes: the model is checked on embedded data with the same elements."""


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: p.name)
def test_recipe_model_is_equivariant_in_float64(path):
    torch.manual_seed(0)
    recipe = load_recipe(path, GENERATED_DATA_STAND_INS.get(path.name, []), registry=load_plugins(environ={}).registry)
    dataset = open_dataset(recipe)
    model = build_model(recipe, build_context(dataset, "float64", range(len(dataset))))
    smallest = min(range(len(dataset)), key=lambda i: dataset[i].structure.n_atoms)
    graph = labelled_graph(dataset[smallest], dataset.basis, model.featurizer.pair_cutoff)
    model.eval()

    def predict(g):
        return model(collate([g], torch.float64, torch.device("cpu")))["hamiltonian"]

    report = assert_hamiltonian_equivariant(predict, graph, dataset.basis, n_rotations=2, n_permutations=1)
    assert_hamiltonian_symmetric(predict(graph).detach(), graph, dataset.basis)
    print(f"{path.name}: {report}")
