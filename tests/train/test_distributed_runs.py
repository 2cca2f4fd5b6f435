"""Two gloo processes on real Fashion-MNIST images: with ``--deterministic`` they end with the
weights of one process on the same global batch, only rank 0 writes the run directory, and
a run whose rank 1 is SIGKILLed mid-epoch resumes to the uninterrupted two-process weights.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from cnnkit.train.checkpoint import read_checkpoint
from rank_processes import rank_pid
from train_helpers import environment, final_weights, run

# No dropout (its masks fall on other images with two ranks) and no batch norm (statistics
# per rank): the weights must then equal one process's up to float rounding.
SPEC = """\
- Conv2D: {filters: 8, kernel_size: 3, activation: relu}
- MaxPooling2D: {pool_size: 2}
- Flatten
- Dense: {units: auto, activation: softmax}
"""
# float32 rounding of sums taken in another order, over 2 epochs of Adam steps: measured
# max |diff| 1.5e-8 after one epoch on weights up to 0.27; 1e-5 leaves room for the steps'
# amplification and is still 1,000x below what one step of learning rate 1e-3 moves
TOLERANCE = 1e-5


def command(out: Path, spec: Path, *extra: str) -> list[str]:
    """2 epochs on 400 real training images (fp32, deterministic), a checkpoint per step."""
    return ["-m", "cnnkit", "train", "--data", "fashion-mnist-mini", "--model", str(spec),
            "--fraction", "0.08", "--epochs", "2", "--batch-size", "32", "--seed", "3",
            "--threads", "1", "--deterministic", "--precision", "fp32",
            "--checkpoint-steps", "1", "--out", str(out), "--quiet", *extra]


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node=2", *args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    spec = folder / "tiny.yaml"
    spec.write_text(SPEC)
    env = environment(folder / "cache")
    run([sys.executable, *command(folder / "one", spec)], env)
    run(torchrun(*command(folder / "two", spec)), env)
    return folder, spec, env


def max_difference(a: Path, b: Path) -> float:
    ours, theirs = final_weights(a), final_weights(b)
    assert sorted(ours) == sorted(theirs)
    return max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)


def test_two_processes_end_with_the_weights_of_one_on_the_same_global_batch(runs):
    folder, _, _ = runs
    assert max_difference(folder / "one", folder / "two") <= TOLERANCE
    one = (folder / "one" / "history.csv").read_text().splitlines()[1].split(",")
    two = (folder / "two" / "history.csv").read_text().splitlines()[1].split(",")
    assert one[:5] == two[:5]  # epoch, loss, accuracy, val_loss, val_accuracy (6 digits)


def test_rank_zero_alone_writes_the_run_directory(runs):
    folder, _, _ = runs
    assert not [p.name for p in folder.iterdir() if p.name.startswith(("one-", "two-"))]
    log = (folder / "two" / "log.txt").read_text()
    assert log.count("run directory:") == 2  # the first line and the last, once each
    assert "2 processes (cpu, batch 16 and 1 thread(s) each)" in log
    assert read_checkpoint(folder / "two" / "checkpoint" / "last.ckpt")["world_size"] == 2


def _kill_rank_one(out: Path, spec: Path, env: dict) -> subprocess.Popen:
    """Start a 2-process run with ``cnnkit train --nproc 2`` and SIGKILL rank 1 once the
    first checkpoint exists (retrying if the run finished first)."""
    for _ in range(4):
        shutil.rmtree(out, ignore_errors=True)
        launcher = subprocess.Popen([sys.executable, *command(out, spec), "--nproc", "2"],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        checkpoint = out / "checkpoint" / "last.ckpt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        pid = rank_pid(launcher.pid, 1)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        launcher.wait(timeout=120)
        if pid is not None and not read_checkpoint(checkpoint)["finished"]:
            return launcher
    raise AssertionError("the run always finished before rank 1 could be killed")


def test_sigkill_of_one_rank_then_resume_ends_with_the_uninterrupted_weights(runs):
    folder, spec, env = runs
    out = folder / "killed"
    launcher = _kill_rank_one(out, spec, env)
    assert launcher.returncode != 0
    assert "rank 1 of the run stopped" in launcher.stderr
    run(torchrun("-m", "cnnkit", "train", "--resume", str(out), "--quiet"), env)
    assert max_difference(out, folder / "two") == 0.0
