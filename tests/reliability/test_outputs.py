"""Commands that write outputs refuse existing ones, publish only complete ones, survive a full disk."""

from __future__ import annotations

import errno

import h5py
import numpy as np
import pytest

from hamkit.data.store import writer as store_writer
from hamkit.engine import prediction_files
from hamkit.safe_output import DiskFullError, atomic_entries, atomic_file, atomic_folder, refuse_existing

from tests.reliability.conftest import run_cli, snapshot

WATER = "3\n\nO 0 0 0.1173\nH 0 0.7572 -0.4692\nH 0 -0.7572 -0.4692\n"


def _no_hidden_leftovers(folder):
    assert [p.name for p in folder.rglob(".*") if p.name != ".lock"] == []


def test_predict_refuses_an_existing_output_and_overwrite_replaces_it(trained_run, tmp_path, capsys):
    xyz = tmp_path / "water.xyz"
    xyz.write_text(WATER)
    out = tmp_path / "water.npz"
    out.write_bytes(b"my old predictions")
    status, _, err = run_cli(capsys, "predict", str(trained_run), str(xyz), "--out", str(out))
    assert status == 2 and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"my old predictions"
    status, _, err = run_cli(capsys, "predict", str(trained_run), str(xyz), "--out", str(out), "--overwrite")
    assert status == 0, err
    assert np.load(out)["H_0"].shape == (24, 24)
    _no_hidden_leftovers(tmp_path)


def test_predict_on_a_full_disk_leaves_the_old_output(trained_run, tmp_path, capsys, monkeypatch):
    xyz = tmp_path / "water.xyz"
    xyz.write_text(WATER)
    out = tmp_path / "water.npz"
    out.write_bytes(b"old")

    def full_disk(target, *args):
        target.write_bytes(b"partial")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(prediction_files, "_write_npz", full_disk)
    status, _, err = run_cli(capsys, "predict", str(trained_run), str(xyz), "--out", str(out), "--overwrite")
    assert status == 2 and "no space left" in err and "MB free" in err
    assert out.read_bytes() == b"old"
    _no_hidden_leftovers(tmp_path)


def test_a_failed_convert_leaves_nothing_and_a_retry_works(tmp_path, capsys, monkeypatch):
    out = tmp_path / "copy.h5"
    real_write = store_writer.StoreWriter.write
    calls = {"n": 0}

    def fails_on_the_third_record(self, record):
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, record)

    monkeypatch.setattr(store_writer.StoreWriter, "write", fails_on_the_third_record)
    status, _, err = run_cli(capsys, "data", "convert", "embedded:water", "--from", "hamkit", "--out", str(out))
    assert status == 2 and "no space left" in err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(store_writer.StoreWriter, "write", real_write)
    status, _, err = run_cli(capsys, "data", "convert", "embedded:water", "--from", "hamkit", "--out", str(out),
                             "--limit", "4")
    assert status == 0, err
    with h5py.File(out) as handle:
        assert handle.attrs  # a complete store, renamed into place
    status, _, err = run_cli(capsys, "data", "convert", "embedded:water", "--from", "hamkit", "--out", str(out))
    assert status == 2 and "already exists" in err


def test_ablate_refuses_a_folder_holding_something_else(tmp_path, capsys, request):
    ablation = request.config.rootpath / "recipes" / "ablations" / "loss_balance.yaml"
    out = tmp_path / "mine"
    out.mkdir()
    (out / "data.csv").write_text("1,2")
    before = snapshot(out)
    status, _, err = run_cli(capsys, "ablate", str(ablation), "--out", str(out), "--no-model-check")
    assert status == 2 and "other files" in err
    status, _, err = run_cli(capsys, "ablate", str(ablation), "--out", str(out), "--no-model-check", "--overwrite")
    assert status == 2 and "not an ablation folder" in err
    assert snapshot(out) == before


def test_refuse_existing_accepts_only_missing_or_empty(tmp_path):
    refuse_existing(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    refuse_existing(tmp_path / "empty")
    (tmp_path / "file").write_text("x")
    with pytest.raises(Exception, match="already exists"):
        refuse_existing(tmp_path / "file")
    (tmp_path / "link").symlink_to(tmp_path / "nowhere")
    with pytest.raises(Exception, match="already exists"):
        refuse_existing(tmp_path / "link")


def test_atomic_writers_publish_only_on_success(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_file(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("crash while writing")
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]

    folder = tmp_path / "folder"
    folder.mkdir()
    (folder / "a").write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with atomic_folder(folder) as staging:
            (staging / "a").write_text("new")
            raise KeyboardInterrupt
    assert (folder / "a").read_text() == "old"
    with atomic_folder(folder) as staging:
        (staging / "b").write_text("new")
    assert sorted(p.name for p in folder.iterdir()) == ["b"]
    _no_hidden_leftovers(tmp_path)


def test_atomic_entries_keep_what_the_command_did_not_write(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    (folder / "0").mkdir()
    (folder / "7").mkdir()
    with atomic_entries(folder, stale=lambda entry: entry.name.isdigit()) as staging:
        (staging / "0").mkdir()
        (staging / "0" / "H.txt").write_text("new")
    assert sorted(p.name for p in folder.iterdir()) == ["0", "notes.txt"]
    assert (folder / "0" / "H.txt").read_text() == "new"
    with pytest.raises(DiskFullError):
        with atomic_entries(folder) as staging:
            (staging / "x").write_text("partial")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert sorted(p.name for p in folder.iterdir()) == ["0", "notes.txt"]
    _no_hidden_leftovers(tmp_path)


def test_a_full_disk_anywhere_is_a_message_not_a_traceback(capsys, monkeypatch):
    from hamkit.cli import plugins_cmd

    def full_disk(args):
        raise OSError(errno.ENOSPC, "No space left on device", "/data/log.txt")

    monkeypatch.setattr(plugins_cmd, "_run", full_disk, raising=False)
    monkeypatch.setattr(plugins_cmd, "add_commands", lambda commands: commands.add(
        "plugins", help="x", configure=lambda parser: None, run=full_disk))
    status, _, err = run_cli(capsys, "plugins")
    assert status == 2 and "/data/log.txt: no space left" in err


def test_recipe_validate_prints_warnings_and_succeeds(capsys, request):
    recipe = request.config.rootpath / "recipes" / "quickstart.yaml"
    status, out, err = run_cli(capsys, "recipe", "validate", str(recipe), "--set", "data.split.test=0")
    assert status == 0 and "ok" in out
    assert "warning: --set data.split.test=0: data.split.test:" in err and "no test set" in err
