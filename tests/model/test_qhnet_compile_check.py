"""``compile: true`` on CPU: the C++ compiler inductor needs is checked when the model is built.

No compiled forward pass runs here (inductor compiles for minutes); see the slow
``test_compiled_products_match_eager`` for that.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch._inductor import config as inductor_config

from hamkit.cli.main import main
from hamkit.components import BuildContext
from hamkit.errors import HamkitError
from hamkit_plugins.qhnet import QHNetFeaturizer, compile_check, so3
from hamkit_plugins.qhnet.so3 import SO3TensorProduct

from tests.model.tiny_qhnet import TINY

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def on_cpu(monkeypatch):
    """The model runs on CPU (``device: auto`` picks CPU), also where CUDA is available."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.fixture
def no_compiler(monkeypatch, on_cpu):
    """No compiler on ``PATH``: the lookup finds none; returns the names it was asked for."""
    asked: list[str] = []
    monkeypatch.delenv("TORCH_INDUCTOR_INSTALL_GXX", raising=False)
    monkeypatch.setattr(compile_check, "which", lambda name: asked.append(name))
    return asked


def _build(basis, **options) -> QHNetFeaturizer:
    context = BuildContext(species=tuple(basis.elements), basis=basis, dtype="float64")
    return QHNetFeaturizer.from_config(QHNetFeaturizer.Config(**{**TINY, **options}), context)


def test_compile_without_a_compiler_fails_at_build_with_the_option_and_the_fix(basis, no_compiler):
    with pytest.raises(HamkitError) as raised:
        _build(basis, compile=True)
    message = str(raised.value)
    assert message.startswith("model.featurizer.compile: true needs a C++ compiler for torch.compile on CPU")
    assert "apt install g++" in message and "set compile: false" in message
    tried = [c for c in inductor_config.cpp.cxx if c is not None]
    assert no_compiler == tried and all(name in message for name in tried)


def test_without_compile_no_compiler_is_needed(basis, no_compiler):
    """Negative control of the check's scope: compile: false never looks for a compiler."""
    featurizer = _build(basis)
    assert no_compiler == []
    assert not any(m.compiled for m in featurizer.modules() if isinstance(m, SO3TensorProduct))


def test_compile_with_a_compiler_builds_and_compiles_nothing(basis, monkeypatch, on_cpu):
    asked: list[str] = []
    monkeypatch.setattr(compile_check, "which", lambda name: asked.append(name) or f"/usr/bin/{name}")
    compiled_calls: list[object] = []
    monkeypatch.setattr(so3, "_compiled_fused", lambda *args: compiled_calls.append(args))
    frames_before = sum(torch._dynamo.utils.counters["frames"].values())
    featurizer = _build(basis, compile=True)
    assert asked, "the compiler lookup ran"
    products = [m for m in featurizer.modules() if isinstance(m, SO3TensorProduct)]
    assert products and all(m.compiled for m in products)
    assert compiled_calls == []
    assert sum(torch._dynamo.utils.counters["frames"].values()) == frames_before


def test_candidates_follow_inductor_config(monkeypatch, no_compiler):
    """The lookup tries what ``torch._inductor.config.cpp.cxx`` holds (``$CXX`` sets it), in order
    (patched with the config's own ``patch``: pytest's monkeypatch would hide the entry on undo)."""
    with inductor_config.patch({"cpp.cxx": (None, "my-cxx", "clang++")}):
        with pytest.raises(HamkitError, match="tried my-cxx, clang\\+\\+"):
            compile_check.check_cpu_compiler()
        assert no_compiler == ["my-cxx", "clang++"]
        monkeypatch.setattr(compile_check, "which", lambda name: "/opt/bin/clang++" if name == "clang++" else None)
        assert compile_check.find_cpp_compiler() == "/opt/bin/clang++"
        compile_check.check_cpu_compiler()


def test_conda_gxx_install_counts_and_cuda_is_not_checked(monkeypatch, no_compiler):
    """Inductor may install g++ through conda (Linux, TORCH_INDUCTOR_INSTALL_GXX); CUDA uses triton."""
    compile_check.check_cpu_compiler("cuda")
    compile_check.check_cpu_compiler(torch.device("cuda", 0))
    with pytest.raises(HamkitError):
        compile_check.check_cpu_compiler("cpu")
    monkeypatch.setattr(compile_check.sys, "platform", "linux")
    monkeypatch.setenv("TORCH_INDUCTOR_INSTALL_GXX", "1")
    with inductor_config.patch({"cpp.cxx": (None, "g++")}):
        compile_check.check_cpu_compiler("cpu")
        with inductor_config.patch({"cpp.cxx": ("g++",)}), pytest.raises(HamkitError):
            compile_check.check_cpu_compiler("cpu")


def test_cli_train_without_a_compiler_exits_2_without_traceback(tmp_path, capsys, no_compiler):
    """``hamkit train`` with compile: true stops when it builds the model: exit 2, one message."""
    code = main([
        "train", str(ROOT / "recipes" / "quickstart.yaml"), "--out", str(tmp_path / "run"), "--no-progress",
        "--set", "model.featurizer.compile=true", "--set", "data.dataset.limit=10",
        "--set", "train.steps=1", "--set", "train.warmup_steps=0", "--set", "train.device=cpu",
    ])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in out + err
    assert "error: model.featurizer.compile: true needs a C++ compiler" in err
    assert "set compile: false" in err
    assert no_compiler


def test_compile_raises_the_recompile_limit_to_cover_every_product_and_its_ema_copy(basis, monkeypatch):
    import torch._dynamo.config as dynamo_config

    monkeypatch.setattr(compile_check, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(dynamo_config, "recompile_limit", 8)
    plain = _build(basis)
    assert dynamo_config.recompile_limit == 8  # negative control: eager models leave dynamo alone
    compiled = _build(basis, compile=True)
    products = sum(isinstance(m, SO3TensorProduct) for m in compiled.modules())
    assert products > 2 and plain is not compiled
    assert dynamo_config.recompile_limit == so3.COMPILES_PER_PRODUCT * products
    monkeypatch.setattr(dynamo_config, "recompile_limit", 10_000)
    _build(basis, compile=True)
    assert dynamo_config.recompile_limit == 10_000  # only ever raised
