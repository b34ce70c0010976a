"""The e3nn import fix keeps weights-only checkpoint loading safe."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest
import torch

from hamkit.safe_loading import UnsafeCheckpointError, load_weights_only


def test_e3nn_imports_after_hamkit_in_a_fresh_process():
    code = ("import hamkit, e3nn.o3, os; "
            "print(e3nn.o3.Irreps('1x1o').dim, os.environ.get('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["3", "None"]


def test_tensors_and_containers_load(tmp_path):
    path = tmp_path / "ok.pt"
    torch.save({"weights": torch.ones(2), "step": 3, "names": ["a"]}, path)
    loaded = load_weights_only(path)
    assert loaded["step"] == 3 and torch.equal(loaded["weights"], torch.ones(2))


def test_pickled_object_is_refused_even_when_mace_disabled_safe_loading(tmp_path, monkeypatch):
    """mace-torch sets TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1; an explicit weights_only=True still wins."""
    monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    path = tmp_path / "evil.pt"
    torch.save({"payload": argparse.Namespace(p=1)}, path)
    with pytest.raises(UnsafeCheckpointError, match="pickled Python objects"):
        load_weights_only(path)
    # Control: torch's implicit default really is unsafe under that variable.
    assert torch.load(path)["payload"].p == 1
