"""Two gloo processes on real Fashion-MNIST images: with ``--deterministic`` they end with the
weights of one process on the same global batch, bit for bit, only rank 0 writes the run
directory, and a run whose rank 1 is SIGKILLed mid-epoch resumes to the uninterrupted
two-process weights.
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

from cnnkit.data import load
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
TRAIN_IMAGES = 640  # 10 full global batches of 64: each rank's 32 rows are one of the
# one-process run's pieces of 32 (train/batch_gradients.py), so the sums are the same ones
VAL_IMAGES = 129  # an odd count: the ranks validate 65 and 64 images


def write_data(folder: Path) -> tuple[Path, Path]:
    """Real fashion-mnist-mini images as Keras-style .npz files: training (with a test
    split) and validation."""
    train = load("fashion-mnist-mini", split="train", progress=False)
    test = load("fashion-mnist-mini", split="test", progress=False)
    images, labels = np.array(train.images), np.array(train.labels)
    end = TRAIN_IMAGES + VAL_IMAGES
    np.savez(folder / "train.npz", x_train=images[:TRAIN_IMAGES], y_train=labels[:TRAIN_IMAGES],
             x_test=np.array(test.images[:100]), y_test=np.array(test.labels[:100]))
    np.savez(folder / "val.npz", x_train=images[TRAIN_IMAGES:end], y_train=labels[TRAIN_IMAGES:end])
    return folder / "train.npz", folder / "val.npz"


def command(out: Path, folder: Path, *extra: str) -> list[str]:
    """3 epochs of global batch 64 (fp32, deterministic, one thread), a checkpoint per step."""
    return ["-m", "cnnkit", "train", "--data", str(folder / "train.npz"),
            "--val", str(folder / "val.npz"), "--model", str(folder / "tiny.yaml"),
            "--epochs", "3", "--batch-size", "64", "--seed", "3", "--threads", "1",
            "--deterministic", "--precision", "fp32", "--checkpoint-steps", "1",
            "--out", str(out), "--quiet", *extra]


def torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone",
            "--nproc_per_node=2", *args]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    (folder / "tiny.yaml").write_text(SPEC)
    write_data(folder)
    env = environment(folder / "cache")
    run([sys.executable, *command(folder / "one", folder)], env)
    run(torchrun(*command(folder / "two", folder)), env)
    return folder, env


def max_difference(a: Path, b: Path) -> float:
    ours, theirs = final_weights(a), final_weights(b)
    assert sorted(ours) == sorted(theirs)
    return max(float(np.abs(ours[k] - theirs[k]).max()) for k in ours)


def losses(run_dir: Path) -> list[list[str]]:
    """Each epoch's loss, accuracy, val_loss and val_accuracy as history.csv has them."""
    rows = (run_dir / "history.csv").read_text().splitlines()
    return [row.split(",")[1:5] for row in rows[1:]]


def test_two_processes_end_with_the_weights_of_one_on_the_same_global_batch(runs):
    folder, _ = runs
    assert max_difference(folder / "one", folder / "two") == 0.0
    assert losses(folder / "one") == losses(folder / "two")
    assert len(losses(folder / "two")) == 3


def test_rank_zero_alone_writes_the_run_directory(runs):
    folder, _ = runs
    assert not [p.name for p in folder.iterdir() if p.name.startswith(("one-", "two-"))]
    log = (folder / "two" / "log.txt").read_text()
    assert log.count("run directory:") == 2  # the first line and the last, once each
    assert "2 processes (cpu, batch 32 and 1 thread(s) each)" in log
    assert read_checkpoint(folder / "two" / "checkpoint" / "last.ckpt")["world_size"] == 2


def _kill_rank_one(out: Path, folder: Path, env: dict) -> tuple[int, str]:
    """Start a 2-process run with ``cnnkit train --nproc 2`` and SIGKILL rank 1 once the
    first checkpoint exists (retrying if the run finished first); the launcher's exit code
    and stderr."""
    for _ in range(4):
        shutil.rmtree(out, ignore_errors=True)
        launcher = subprocess.Popen([sys.executable, *command(out, folder), "--nproc", "2"],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
        checkpoint = out / "checkpoint" / "last.ckpt"
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        pid = rank_pid(launcher.pid, 1)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        _, stderr = launcher.communicate(timeout=120)
        if pid is not None and not read_checkpoint(checkpoint)["finished"]:
            return launcher.returncode, stderr
    raise AssertionError("the run always finished before rank 1 could be killed")


def test_sigkill_of_one_rank_then_resume_ends_with_the_uninterrupted_weights(runs):
    folder, env = runs
    out = folder / "killed"
    code, stderr = _kill_rank_one(out, folder, env)
    assert code != 0
    assert "error: rank 1 of the run stopped with exit code -9" in stderr
    run(torchrun("-m", "cnnkit", "train", "--resume", str(out), "--quiet"), env)
    assert max_difference(out, folder / "two") == 0.0
    assert losses(out) == losses(folder / "two")


FIT_SCRIPT = """\
import sys
import numpy as np
import torch
from cnnkit import layers as L
from cnnkit.keras import distribution
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed
from cnnkit.train.distributed import launched

torch.set_num_threads(1)
torch.use_deterministic_algorithms(True)
data = np.load(sys.argv[1])
set_seed(4)
model = Sequential([L.Input((28, 28, 1)), L.Conv2D(8, 3, activation="relu"),
                    L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
strategy = distribution.DataParallel() if launched() else None
history = model.fit(data["x_train"], data["y_train"], batch_size=64, epochs=2, verbose=0,
                    distribution=strategy)
if strategy is None or strategy.rank == 0:
    np.savez(sys.argv[2], loss=history.history["loss"],
             **{f"w{i}": p.detach().numpy() for i, p in enumerate(model.net.parameters())})
"""


def test_fit_with_data_parallel_under_torchrun_equals_one_process(runs):
    folder, env = runs
    script = folder / "fit_script.py"
    script.write_text(FIT_SCRIPT)
    run([sys.executable, str(script), str(folder / "train.npz"), str(folder / "fit1.npz")], env)
    run(torchrun(str(script), str(folder / "train.npz"), str(folder / "fit2.npz")), env)
    one, two = np.load(folder / "fit1.npz"), np.load(folder / "fit2.npz")
    assert sorted(one.files) == sorted(two.files)
    for key in one.files:
        assert np.array_equal(one[key], two[key]), key


def test_a_global_batch_the_processes_cannot_share_is_a_clear_error(tmp_path):
    done = subprocess.run([sys.executable, "-m", "cnnkit", "train", "fashion-mnist-mini",
                           "--batch-size", "33", "--nproc", "2", "--out", str(tmp_path / "r")],
                          env=environment(tmp_path / "cache"), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2, done.stderr
    assert "error: batch size 33 cannot be split over 2 processes" in done.stderr
    assert "hint: pass --batch-size 32 (a multiple of 2)" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "r").exists()
