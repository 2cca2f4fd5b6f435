"""Killed or interrupted runs resume to the same weights, bit for bit, and a crash while a
checkpoint is written never replaces the last good one."""

from __future__ import annotations

import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from cnnkit.train import checkpoint as ckpt
from train_helpers import environment, final_weights, run, train_command, write_spec


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("reference")
    spec = write_spec(folder)
    env = environment(folder / "cache")
    run(train_command(folder / "run", spec), env)
    return folder / "run", spec, env


def _start_and_stop(out: Path, spec: Path, env: dict, sig: int) -> subprocess.Popen:
    """Start a run, wait for its first checkpoint, then send ``sig`` at a random moment of
    the training that follows (retrying with a shorter wait if the run finished first)."""
    longest_wait = 0.8
    for _ in range(4):
        shutil.rmtree(out, ignore_errors=True)
        process = subprocess.Popen(train_command(out, spec), env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        checkpoint = out / "checkpoint" / "last.ckpt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(random.uniform(0.0, longest_wait))
        if process.poll() is None:
            process.send_signal(sig)
            process.wait(timeout=120)
            if not ckpt.read_checkpoint(checkpoint)["finished"]:
                return process
        process.wait(timeout=120)
        longest_wait /= 3
    raise AssertionError("the run always finished before it could be stopped")


def _assert_same_weights(a: Path, b: Path) -> None:
    ours, theirs = final_weights(a), final_weights(b)
    assert sorted(ours) == sorted(theirs)
    for key in ours:
        assert np.array_equal(ours[key], theirs[key]), f"{key} differs"


def _assert_same_losses(a: Path, b: Path) -> None:
    def losses(path: Path) -> list[str]:
        rows = (path / "history.csv").read_text().splitlines()
        header = rows[0].split(",")
        keep = [header.index(k) for k in ("loss", "accuracy", "val_loss", "val_accuracy")]
        return [",".join(r.split(",")[i] for i in keep) for r in rows[1:]]
    assert losses(a) == losses(b)


def test_sigkill_mid_epoch_then_resume_matches_uninterrupted_bit_for_bit(uninterrupted):
    reference, spec, env = uninterrupted
    out = spec.parent / "killed"
    process = _start_and_stop(out, spec, env, signal.SIGKILL)
    assert process.returncode == -signal.SIGKILL
    state = ckpt.read_checkpoint(out / "checkpoint" / "last.ckpt")
    assert not state["finished"]
    run([*train_command(out, spec)[:3], "train", "--resume", str(out), "--quiet"], env)
    _assert_same_weights(reference, out)
    _assert_same_losses(reference, out)


def test_sigint_writes_a_checkpoint_prints_the_resume_command_and_resumes_exactly(
        uninterrupted):
    reference, spec, env = uninterrupted
    out = spec.parent / "interrupted"
    process = _start_and_stop(out, spec, env, signal.SIGINT)
    stderr = process.stderr.read()
    assert process.returncode == 130, stderr
    assert f"cnnkit train --resume {out}" in stderr
    assert "checkpoint saved" in stderr
    run([*train_command(out, spec)[:3], "train", "--resume", str(out), "--quiet"], env)
    _assert_same_weights(reference, out)
    _assert_same_losses(reference, out)


def test_a_crash_during_a_checkpoint_write_keeps_the_last_good_one(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint" / "last.ckpt"
    ckpt.write_checkpoint(path, {"epoch": 1, "weights": {"w": __import__("torch").ones(3)}})
    good = path.read_bytes()

    def crash(self, name, data, *args, **kwargs):  # dies after the file was opened
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ckpt.zipfile.ZipFile, "writestr", crash)
    with pytest.raises(OSError):
        ckpt.write_checkpoint(path, {"epoch": 2, "weights": {"w": __import__("torch").zeros(3)}})
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert ckpt.read_checkpoint(path)["epoch"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["last.ckpt"]  # no temporary left


def test_a_process_killed_while_writing_never_leaves_a_broken_checkpoint(tmp_path):
    """SIGKILL a process that rewrites a large checkpoint in a loop: whatever instant it
    dies, the file is a complete, readable checkpoint."""
    path = tmp_path / "last.ckpt"
    script = (
        "import sys, torch\n"
        "from pathlib import Path\n"
        "from cnnkit.train.checkpoint import write_checkpoint\n"
        "i = 0\n"
        "while True:\n"
        "    write_checkpoint(Path(sys.argv[1]), {'i': i, 'big': torch.full((4_000_000,), i)})\n"
        "    i += 1\n")
    process = subprocess.Popen([__import__("sys").executable, "-c", script, str(path)])
    deadline = time.monotonic() + 60
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(random.uniform(0.05, 0.5))
    process.kill()
    process.wait()
    state = ckpt.read_checkpoint(path)
    assert float(state["big"][0]) == state["i"]
