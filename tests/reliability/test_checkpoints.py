"""Damaged, foreign and unwritable checkpoints give clear errors; nothing is lost or half-written."""

from __future__ import annotations

import errno
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
import torch

from hamkit.engine import checkpoint as checkpoint_module
from hamkit.engine.callbacks import drop_rows_after
from hamkit.engine.checkpoint import CheckpointError, load_checkpoint, save_atomically
from hamkit.safe_output import DiskFullError

from tests.reliability.conftest import run_cli, snapshot, tiny_train_argv

LAST = Path("checkpoints") / "last.pt"


def _tensor_data_offset(path: Path) -> int:
    """Byte offset of the first tensor storage inside a torch zip checkpoint."""
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if "/data/" in info.filename and info.file_size >= 16:
                start = info.header_offset  # local header: name and extra lengths at 26 and 28
                name_length = int.from_bytes(raw[start + 26:start + 28], "little")
                extra_length = int.from_bytes(raw[start + 28:start + 30], "little")
                return start + 30 + name_length + extra_length + info.file_size // 2
    raise AssertionError("no tensor data in the checkpoint")


def _damage(path: Path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "empty":
        path.write_bytes(b"")
    elif how == "truncated":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "flipped tensor bytes":
        offset = _tensor_data_offset(path)
        data[offset:offset + 4] = bytes(b ^ 0xFF for b in data[offset:offset + 4])
        path.write_bytes(bytes(data))
    elif how == "garbage":
        path.write_bytes(b"\x00not a checkpoint" * 100)


DAMAGE = {"empty": "the file is empty", "truncated": "corrupt or truncated",
          "flipped tensor bytes": "does not match the hash", "garbage": "not a torch zip archive"}


@pytest.mark.parametrize("how", list(DAMAGE))
def test_resume_from_a_damaged_checkpoint_is_a_clear_error(run_copy, capsys, how):
    run = run_copy()
    _damage(run / LAST, how)
    before = snapshot(run)
    status, _, err = run_cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert status == 2
    assert str(run / LAST) in err and DAMAGE[how] in err
    assert {k: v for k, v in snapshot(run).items() if k != ".lock"} == \
        {k: v for k, v in before.items() if k != ".lock"}


@pytest.mark.parametrize("how", ["truncated", "flipped tensor bytes"])
def test_predict_from_a_damaged_checkpoint_is_a_clear_error(run_copy, tmp_path, capsys, how):
    run = run_copy()
    for name in ("best.pt", "last.pt"):
        if (run / "checkpoints" / name).exists():
            _damage(run / "checkpoints" / name, how)
    xyz = tmp_path / "water.xyz"
    xyz.write_text("3\n\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n")
    status, _, err = run_cli(capsys, "predict", str(run), str(xyz), "--out", str(tmp_path / "p.npz"))
    assert status == 2 and DAMAGE[how] in err
    assert not (tmp_path / "p.npz").exists()


def test_resume_with_a_checkpoint_of_another_recipe_is_a_clear_error(run_copy, tmp_path, quickstart_recipe, capsys):
    run = run_copy()
    other = tmp_path / "other"
    status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, other, "model.featurizer.hidden=6"))
    assert status == 0, err
    shutil.copy(other / LAST, run / LAST)
    status, _, err = run_cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert status == 2 and "does not fit the model" in err and str(run / LAST) in err


def test_resume_without_a_checkpoint_is_a_clear_error(run_copy, capsys):
    run = run_copy()
    shutil.rmtree(run / "checkpoints")
    status, _, err = run_cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert status == 2 and "nothing to resume" in err


def test_the_content_hash_is_checked_and_version_1_still_loads(tmp_path):
    path = tmp_path / "c.pt"
    save_atomically({"version": 2, "model": {"w": torch.arange(8.0)}, "loop": {"step": 1}}, path)
    assert torch.equal(load_checkpoint(path)["model"]["w"], torch.arange(8.0))
    _damage(path, "flipped tensor bytes")
    with pytest.raises(CheckpointError, match="does not match the hash"):
        load_checkpoint(path)
    torch.save({"version": 1, "model": {"w": torch.ones(2)}}, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt")["version"] == 1


class _FullDisk:
    """A file object whose writes fail with ENOSPC after ``budget`` bytes (a patched writer)."""

    def __init__(self, real, budget: int) -> None:
        self.real, self.budget = real, budget

    def write(self, data) -> int:
        size = memoryview(data).nbytes
        if size > self.budget:
            self.real.write(bytes(memoryview(data)[: self.budget]))
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= size
        return self.real.write(data)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.real.close()


def test_a_full_disk_keeps_the_previous_checkpoint_and_says_how_much_is_needed(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_atomically({"version": 2, "model": {"w": torch.zeros(10)}}, path)
    before = path.read_bytes()
    real_open = open
    monkeypatch.setattr(checkpoint_module, "open",
                        lambda file, mode="r", *a, **k: _FullDisk(real_open(file, mode, *a, **k), 1000),
                        raising=False)
    with pytest.raises(DiskFullError, match=r"no space left.*needs about 0\.\d MB.*free"):
        save_atomically({"version": 2, "model": {"w": torch.zeros(100_000)}}, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


@pytest.fixture
def small_tmpfs(tmp_path):
    """A real 1 MB file system (needs root to mount; skipped elsewhere)."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
                            capture_output=True)
    if result.returncode:
        pytest.skip("cannot mount a tmpfs here (not root)")
    yield mount_point
    subprocess.run(["umount", str(mount_point)], check=False)


def test_a_really_full_disk_leaves_no_partial_checkpoint(small_tmpfs):
    path = small_tmpfs / "last.pt"
    save_atomically({"version": 2, "model": {"w": torch.zeros(10)}}, path)
    before = path.read_bytes()
    with pytest.raises(DiskFullError, match="needs about 4.0 MB"):
        save_atomically({"version": 2, "model": {"w": torch.zeros(1_000_000)}}, path)
    assert path.read_bytes() == before
    assert [p.name for p in small_tmpfs.iterdir()] == ["last.pt"]


def test_rows_logged_after_the_checkpoint_are_dropped(tmp_path):
    (tmp_path / "metrics.jsonl").write_text("".join(f'{{"kind": "train", "step": {s}}}\n' for s in range(1, 7)))
    (tmp_path / "train.csv").write_text("loss,step\n" + "".join(f"0.5,{s}\n" for s in range(1, 7)))
    (tmp_path / "val.csv").write_text("step,val_h_mae\n2,1.0\n6,0.5\n3,0.")  # a torn last row
    with open(tmp_path / "metrics.jsonl", "a") as handle:
        handle.write('{"kind": "train", "st')  # a row torn by a crash
    drop_rows_after(tmp_path, 4)
    assert (tmp_path / "metrics.jsonl").read_text().count("\n") == 4
    assert (tmp_path / "train.csv").read_text().splitlines() == ["loss,step", "0.5,1", "0.5,2", "0.5,3", "0.5,4"]
    assert (tmp_path / "val.csv").read_text().splitlines() == ["step,val_h_mae", "2,1.0"]


@pytest.mark.parametrize("raised", [AttributeError("'str' object has no attribute 'dtype'"), TypeError("bad"),
                                    RuntimeError("PytorchStreamReader failed")])
def test_whatever_a_damaged_pickle_raises_is_a_checkpoint_error(tmp_path, monkeypatch, raised):
    # Random byte damage found by the careless-input test made torch's weights-only unpickler raise
    # AttributeError; every failure to unpickle must read as a damaged checkpoint, not a traceback.
    path = tmp_path / "last.pt"
    save_atomically({"step": 1}, path)

    def damaged(*args, **kwargs):
        raise raised

    monkeypatch.setattr(checkpoint_module, "load_weights_only", damaged)
    with pytest.raises(CheckpointError, match=f"cannot read the checkpoint.*{type(raised).__name__}"):
        load_checkpoint(path)
