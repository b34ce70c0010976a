"""hamkit train never destroys a run directory: refusal, --overwrite, the lock, failed starts."""

from __future__ import annotations

import json
import os

from hamkit.engine.run_lock import LOCK_FILE, RunLock

from tests.reliability.conftest import run_cli, snapshot, tiny_train_argv


def test_training_into_an_existing_run_is_refused_and_changes_nothing(run_copy, quickstart_recipe, capsys):
    run = run_copy()
    before = snapshot(run)
    status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, run))
    assert status == 2
    assert "already exists" in err and f"--resume {run}" in err and "--overwrite" in err
    assert snapshot(run) == before


def test_overwrite_replaces_a_run_directory(run_copy, quickstart_recipe, capsys):
    run = run_copy()
    (run / "checkpoints" / "stale.pt").write_bytes(b"old")
    status, out, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, run, "train.steps=2"), "--overwrite")
    assert status == 0, err
    assert "threads: " in out  # the thread choice is printed
    assert not (run / "checkpoints" / "stale.pt").exists()
    assert json.loads((run / "test_metrics.json").read_text())["step"] == 2


def test_overwrite_never_deletes_a_folder_that_is_not_a_run(tmp_path, quickstart_recipe, capsys):
    folder = tmp_path / "thesis"
    folder.mkdir()
    (folder / "chapter1.tex").write_text("precious")
    status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, folder), "--overwrite")
    assert status == 2 and "not a hamkit run directory" in err
    assert snapshot(folder) == {"chapter1.tex": snapshot(folder)["chapter1.tex"]}
    assert (folder / "chapter1.tex").read_text() == "precious"


def test_a_file_as_out_is_refused(tmp_path, quickstart_recipe, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    for extra in ((), ("--overwrite",)):
        status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, target), *extra)
        assert status == 2 and str(target) in err
        assert target.read_text() == "mine"


def test_a_new_run_that_fails_before_its_first_checkpoint_leaves_nothing(tmp_path, quickstart_recipe, capsys):
    out = tmp_path / "run"
    status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, out, "data.dataset.path=missing.h5"))
    assert status == 2 and "missing.h5" in err
    assert not out.exists()
    # and a retry with a good recipe works under the same name
    status, _, err = run_cli(capsys, *tiny_train_argv(quickstart_recipe, out, "train.steps=1"))
    assert status == 0, err


def test_a_second_resume_of_a_run_in_use_is_refused_with_the_pid(run_copy, capsys):
    run = run_copy()
    with RunLock(run):
        before = snapshot(run)
        status, _, err = run_cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert status == 2
    assert f"process {os.getpid()}" in err and "in use" in err
    assert snapshot(run) == before


def test_a_lock_left_by_a_dead_process_is_taken_over(run_copy, capsys):
    run = run_copy()
    (run / LOCK_FILE).write_text(json.dumps({"pid": 999999, "host": "elsewhere", "started": "yesterday"}))
    status, _, err = run_cli(capsys, "train", "--resume", str(run), "--no-progress")
    assert status == 0, err
    assert json.loads((run / LOCK_FILE).read_text())["pid"] == os.getpid()


def test_resume_refuses_new_options(run_copy, capsys):
    run = run_copy()
    status, _, err = run_cli(capsys, "train", "--resume", str(run), "--out", str(run))
    assert status == 2 and "--resume RUN_DIR continues a run as it was" in err
