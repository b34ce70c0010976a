"""A separately packaged plugin installs, appears in `plugins list` and works in a recipe."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

EXAMPLE = "examples/hamkit-toy-featurizer"


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory, request):
    """The example distribution pip-installed into a private site directory."""
    repo = request.config.rootpath
    target = tmp_path_factory.mktemp("site")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(repo / EXAMPLE)],
        check=True, capture_output=True, text=True,
    )
    return target


def with_site(site) -> dict[str, str]:
    """The environment with the private site directory first on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}


def hamkit(site, *args):
    return subprocess.run([sys.executable, "-m", "hamkit.cli.main", *args],
                          capture_output=True, text=True, env=with_site(site))


def listed(proc: subprocess.CompletedProcess) -> list[dict]:
    """The entries ``plugins list --json`` printed; fails unless the command succeeded."""
    assert proc.returncode == 0, f"exit code {proc.returncode}: {proc.stderr[-2000:]}"
    entries = json.loads(proc.stdout)
    assert isinstance(entries, list) and entries, f"no plugin entries in: {proc.stdout[:500]!r}"
    return entries


def test_listing_check_fails_on_a_crashed_command():
    """Negative control: a crash with empty output cannot pass for 'not listed'."""
    crashed = subprocess.CompletedProcess(["hamkit"], returncode=1, stdout="", stderr="Traceback ...")
    with pytest.raises(AssertionError, match="exit code 1"):
        listed(crashed)


def test_listed_with_its_provider(plugin_site):
    entries = listed(hamkit(plugin_site, "plugins", "list", "--kind", "featurizer", "--json"))
    [entry] = [item for item in entries if item["name"] == "toy_radial"]
    assert entry["provider"] == "toy_featurizer"
    assert entry["distribution"] == "hamkit-toy-featurizer 0.1.0"
    assert {option["name"] for option in entry["options"]} >= {"channels", "lmax", "cutoff"}


def test_not_listed_without_installation():
    proc = subprocess.run([sys.executable, "-m", "hamkit.cli.main", "plugins", "list", "--json"],
                          capture_output=True, text=True)
    names = {entry["name"] for entry in listed(proc)}
    assert "qhnet" in names and "toy_radial" not in names


def test_swaps_into_a_recipe_without_touching_the_rest(plugin_site, repo_root):
    recipe = repo_root / "recipes" / "quickstart.yaml"
    swap = "model.featurizer={name: toy_radial, channels: 4, lmax: 2}"
    proc = hamkit(plugin_site, "recipe", "show", str(recipe), "--json", "--set", swap)
    assert proc.returncode == 0, proc.stderr
    resolved = json.loads(proc.stdout)
    assert resolved["model"]["featurizer"]["name"] == "toy_radial"
    assert resolved["model"]["featurizer"]["cutoff"] == 5.0  # its default, filled in
    bad = hamkit(plugin_site, "recipe", "validate", str(recipe), "--set",
                 "model.featurizer={name: toy_radial, chanels: 4}")
    assert bad.returncode == 2 and "Did you mean 'channels'" in bad.stderr


def test_builds_and_runs_equivariantly(plugin_site, monkeypatch):
    """Run in-process from the private site: features rotate with e3nn's D."""
    monkeypatch.syspath_prepend(str(plugin_site))
    import torch
    from torch_geometric.data import Data

    from e3nn import o3

    from hamkit.components import BuildContext
    from hamkit.plugin_host import load_plugins

    host = load_plugins(environ={"HAMKIT_PLUGINS": "toy_featurizer"})
    record = host.registry.get("featurizer", "toy_radial")
    model = record.cls.from_config(record.config_class(channels=3, lmax=2), BuildContext(dtype="float64"))
    pos = torch.randn(4, 3, dtype=torch.float64)
    pairs = torch.tensor([[i, j] for i in range(4) for j in range(4) if i != j]).T
    graph = Data(z=torch.tensor([1, 6, 8, 1]), pos=pos, pair_index=pairs)
    rotation = o3.rand_matrix(dtype=torch.float64)
    rotated = Data(z=graph.z, pos=pos @ rotation.T, pair_index=pairs)
    irreps = o3.Irreps(model.node_irreps)
    permuted = rotation[[1, 2, 0]][:, [1, 2, 0]]  # the (y, z, x) frame
    expected = model(graph).node @ irreps.D_from_matrix(permuted).T
    assert torch.allclose(model(rotated).node, expected, atol=1e-10)


def test_installed_plugin_passes_its_contract_tests(plugin_site, repo_root):
    """The example's own tests (hamkit's featurizer contract mixin) against the installed copy
    (its src/ is not on the path: without the installation the import fails)."""
    proc = subprocess.run([sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"],
                          cwd=repo_root / EXAMPLE, capture_output=True, text=True, env=with_site(plugin_site))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "TestToyRadialContract::test_equivariant PASSED" in proc.stdout


def test_trains_in_place_of_the_built_in_featurizer(plugin_site, repo_root, tmp_path):
    """Only model.featurizer changes; data, TraceGrad modules, head, losses and engine stay."""
    recipe = repo_root / "recipes" / "quickstart.yaml"
    run_dir = tmp_path / "run"
    sets = ["model.featurizer={name: toy_radial, channels: 4, lmax: 4}", "data.dataset.limit=8",
            "train.steps=2", "train.batch_size=2", "model.invariant_encoder.num_scalars=8",
            "model.invariant_encoder.hidden=[8]"]
    args = ["train", str(recipe), "--out", str(run_dir), "--no-progress"]
    for assignment in sets:
        args += ["--set", assignment]
    proc = hamkit(plugin_site, *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test metrics" in proc.stdout
    resolved = (run_dir / "recipe.yaml").read_text()
    assert "toy_radial" in resolved and "trace_mlp" in resolved and "cg_expansion" in resolved
