"""A batch trained as shares on one thread per core (train/core_threads.py) gets the whole
batch's gradient, reproducibly, and leaves torch's threads as it found them."""

from __future__ import annotations

import gc
import queue
import signal
import threading
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from batch_gradient import assert_same_gradient, batch_gradient
from cnnkit import data, layers, zoo
from cnnkit.errors import TrainingError
from cnnkit.models import Sequential
from cnnkit.train import batch_gradients, core_threads, loop
from cnnkit.train.batch_gradients import BatchGradients, shares
from cnnkit.train.core_threads import CoreThreads
from fit_threads import fit_on_threads


@pytest.fixture(scope="module")
def fashion():
    dataset = data.load("fashion-mnist-mini")
    return dataset.images[:256], dataset.labels[:256]


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def share_counts(monkeypatch):
    """The number of shares of each step that ran on the core threads."""
    counts = []
    run = CoreThreads.map

    def spy(self, job, parts):
        counts.append(len(parts))
        return run(self, job, parts)

    monkeypatch.setattr(CoreThreads, "map", spy)
    return counts


def trained(build, fashion, batch_size, cores=2, **fit):
    torch.manual_seed(0)
    model = build()
    model.precision = "fp32"  # fp32 sums are compared; bf16: the one-step test
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = fashion
    history = fit_on_threads(model, x, y, batch_size=batch_size, epochs=2, shuffle=False,
                             verbose=0, threads=cores, **fit)
    return model.get_weights(), history.history


@pytest.mark.parametrize(("n", "count", "sizes"), [
    (32, 2, [[16], [16]]), (128, 2, [[32, 32], [32, 32]]), (100, 2, [[32, 18], [32, 18]]),
    (33, 3, [[11], [11], [11]]), (3, 8, [[1], [1], [1]]), (7, 1, [[7]])])
def test_shares_cut_the_batch_into_equal_runs_of_pieces(n, count, sizes):
    x, y, w = torch.zeros(n, 1, 2, 2), torch.arange(n), torch.ones(n)
    got = shares(x, y, w, count)
    assert [[len(piece[0]) for piece in share] for share in got] == sizes
    assert [[len(piece[2]) for piece in share] for share in got] == sizes
    assert torch.equal(torch.cat([piece[1] for share in got for piece in share]), y)
    assert sum(piece[3] for share in got for piece in share) == pytest.approx(1.0)


def test_each_part_runs_on_its_own_thread_with_one_torch_thread(two_threads):
    workers = CoreThreads(3)
    try:
        got = workers.map(lambda part: (part, threading.get_ident(), torch.get_num_threads()),
                          ["a", "b", "c"])
        assert [part for part, _, _ in got] == ["a", "b", "c"]
        assert got[0][1] == threading.get_ident()  # the first on the calling thread
        assert len({ident for _, ident, _ in got}) == 3
        assert [threads for _, _, threads in got[1:]] == [1, 1]
        with pytest.raises(ValueError, match="4 parts for 3 threads"):
            workers.map(str, [1, 2, 3, 4])
    finally:
        workers.close()
    assert workers._threads == []
    workers.close()  # twice is fine


def test_an_error_in_a_helper_reaches_the_caller_and_the_threads_go_on():
    def job(part):
        if part == "bad":
            raise RuntimeError("share failed")
        return part

    workers = CoreThreads(2)
    try:
        with pytest.raises(RuntimeError, match="share failed"):
            workers.map(job, ["good", "bad"])
        assert workers.map(job, ["x", "y"]) == ["x", "y"]
    finally:
        workers.close()


def test_interrupted_while_helpers_work_the_threads_are_let_go(monkeypatch):
    working, release, caller_waits, done, interrupted = (threading.Event() for _ in range(5))

    class WatchedQueue(queue.SimpleQueue):
        """Tells when the calling thread starts waiting for a helper's result."""

        def get(self, *args, **kwargs):
            if threading.current_thread() is threading.main_thread():
                caller_waits.set()
            return super().get(*args, **kwargs)

    def job(part):
        if part == "slow":
            working.set()
            release.wait(60)
            done.set()
        return part

    def ctrl_c(signum, frame):  # Python's own handler, but only the first Ctrl-C counts
        if not interrupted.is_set():
            interrupted.set()
            raise KeyboardInterrupt

    def press_ctrl_c():
        """Once the helper works and the caller waits for it, Ctrl-C until it is seen: a
        signal arriving just before the caller's thread blocks is seen only when it wakes."""
        if working.wait(60) and caller_waits.wait(60):
            while not interrupted.is_set():
                signal.pthread_kill(threading.main_thread().ident, signal.SIGINT)
                interrupted.wait(0.05)

    monkeypatch.setattr(core_threads, "queue", SimpleNamespace(SimpleQueue=WatchedQueue))
    workers = CoreThreads(2)
    presser = threading.Thread(target=press_ctrl_c)
    previous = signal.signal(signal.SIGINT, ctrl_c)
    gc.collect()
    gc.disable()  # a KeyboardInterrupt raised in a finalizer would be swallowed
    try:
        presser.start()
        with pytest.raises(KeyboardInterrupt):
            workers.map(job, ["fast", "slow"])  # the caller waits for the helper: Ctrl-C
        assert not done.is_set()  # the wait itself was interrupted
    finally:
        gc.enable()
        interrupted.set()
        release.set()  # the helper finishes only after the caller was interrupted
        presser.join()
        signal.signal(signal.SIGINT, previous)
    assert workers.count == 1  # the late "slow" result can never answer a later call
    with pytest.raises(ValueError, match="2 parts for 1 threads"):
        workers.map(job, ["x", "y"])
    assert workers.map(job, ["x"]) == ["x"]
    workers.close()


@pytest.mark.parametrize(("batch_size", "fit"), [
    (128, {}), (64, {}), (128, {"sample_weight": np.linspace(0.5, 1.5, 256)})])
def test_shares_give_the_whole_batch_gradient(fashion, two_threads, share_counts,
                                              monkeypatch, batch_size, fit):
    build = lambda: zoo.tutorial_mnist((28, 28, 1), 10)  # noqa: E731
    split, split_logs = trained(build, fashion, batch_size, **fit)
    assert share_counts and set(share_counts) == {2}
    monkeypatch.setattr(batch_gradients, "MICRO_BATCH", 10_000)  # whole batches, no shares
    whole, whole_logs = trained(build, fashion, batch_size, **fit)
    assert len(share_counts) == 2 * 256 // batch_size
    for a, b in zip(whole, split, strict=True):
        # rounding only: the kernels sum a 32-image piece where the whole batch sums 64
        # images a thread, and Adam's four steps magnify a near-zero gradient's rounding to
        # a few 1e-6; a share summed wrong would move weights by the step size, 1e-3
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(whole_logs[key], split_logs[key], rtol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_shares_give_the_whole_batch_gradient_in_each_precision(fashion, two_threads,
                                                                share_counts, monkeypatch,
                                                                precision):
    x, y = fashion[0][:128], fashion[1][:128]
    split = batch_gradient(x, y, precision, cores=2)
    assert share_counts == [2]
    monkeypatch.setattr(batch_gradients, "MICRO_BATCH", 10_000)
    assert_same_gradient(split, batch_gradient(x, y, precision, cores=2), precision)
    assert share_counts == [2]  # whole batches ran on torch's threads


def test_shares_are_reproducible(fashion, two_threads, share_counts):
    build = lambda: zoo.tutorial_cifar10((28, 28, 1), 10)  # noqa: E731
    first, _ = trained(build, fashion, 64)
    second, _ = trained(build, fashion, 64)
    assert share_counts
    for a, b in zip(first, second, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize(("build", "batch_size", "shared"), [
    (lambda: zoo.tutorial_mnist((28, 28, 1), 10), 64, True),
    (lambda: zoo.tutorial_mnist((28, 28, 1), 10), 32, False),  # under a piece per core
    (lambda: zoo.small_cnn((28, 28, 1), 10, width=4), 64, False),  # batch norm
    (lambda: zoo.tutorial_mnist((28, 28, 1), 10, dropout=0.5), 64, True),  # piece draws
    (lambda: flipping(seed=None), 64, True),  # unseeded augmentation: piece draws
    (lambda: flipping(seed=1), 64, False)])  # the layer's own generator, shared by threads
def test_only_independent_deterministic_samples_share_and_only_large_batches(
        fashion, two_threads, share_counts, build, batch_size, shared):
    trained(build, fashion, batch_size)
    assert bool(share_counts) is shared


def flipping(seed):
    """A small network whose first layer flips and rotates the images at random."""
    return Sequential([layers.Input((28, 28, 1)), layers.RandomFlip("horizontal", seed=seed),
                       layers.RandomRotation(0.1), layers.Conv2D(4, 3, activation="relu"),
                       layers.MaxPooling2D(2), layers.Flatten(),
                       layers.Dense(10, activation="softmax")])


@pytest.mark.parametrize("build", [
    lambda: zoo.tutorial_mnist((28, 28, 1), 10, dropout=0.5), lambda: flipping(seed=None)])
def test_random_layers_draw_per_piece_so_runs_repeat_on_any_number_of_cores(
        fashion, two_threads, share_counts, monkeypatch, build):
    first, first_logs = trained(build, fashion, 128)
    again, _ = trained(build, fashion, 128)
    assert set(share_counts) == {2}
    use_threads = BatchGradients.use_threads
    monkeypatch.setattr(BatchGradients, "use_threads",  # as the tuner does on a busy machine
                        lambda self, threads: use_threads(self, 1))
    one_core, one_core_logs = trained(build, fashion, 128)
    monkeypatch.setattr(BatchGradients, "use_threads", use_threads)
    assert 1 in share_counts
    for a, b, c in zip(first, again, one_core, strict=True):
        assert np.array_equal(a, b)
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-6)  # the same masks
    np.testing.assert_allclose(first_logs["loss"], one_core_logs["loss"], rtol=1e-5)
    torch.manual_seed(0)
    model = build()  # the same initial weights...
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    torch.manual_seed(1)  # ...other draws: the random layers matter
    fit_on_threads(model, *fashion, batch_size=128, epochs=2, shuffle=False, verbose=0,
                   threads=2)
    assert any(not np.array_equal(a, b)
               for a, b in zip(first, model.get_weights(), strict=True))


def test_every_thread_of_a_sharing_step_uses_one_torch_thread(fashion, two_threads,
                                                               monkeypatch):
    seen = set()
    share = BatchGradients._share

    def spy(self, part):
        seen.add((threading.get_ident(), torch.get_num_threads()))
        return share(self, part)

    monkeypatch.setattr(BatchGradients, "_share", spy)
    trained(lambda: zoo.tutorial_mnist((28, 28, 1), 10), fashion, 64)
    assert len({ident for ident, _ in seen}) == 2
    assert {threads for _, threads in seen} == {1}


def test_one_core_never_shares(fashion, share_counts):
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        trained(lambda: zoo.tutorial_mnist((28, 28, 1), 10), fashion, 128, cores=1)
    finally:
        torch.set_num_threads(before)
    assert share_counts == []


def test_validation_uses_the_cores_and_fit_restores_the_threads(fashion, two_threads,
                                                                share_counts, monkeypatch):
    seen = []
    evaluate = loop.Trainer.evaluate

    def spy(self, source, batch_size):
        seen.append(torch.get_num_threads())
        return evaluate(self, source, batch_size)

    monkeypatch.setattr(loop.Trainer, "evaluate", spy)
    trained(lambda: zoo.tutorial_mnist((28, 28, 1), 10), fashion, 64, validation_split=0.25)
    assert share_counts
    assert seen == [2, 2]
    assert torch.get_num_threads() == 2


def test_a_nan_loss_in_a_share_stops_before_the_step(fashion, two_threads, share_counts):
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    x = fashion[0][:64].astype(np.float32) / 255.0
    x[40] = np.nan  # in the second share
    before = model.get_weights()
    with pytest.raises(TrainingError, match="batch 1"):
        fit_on_threads(model, x, fashion[1][:64], batch_size=64, shuffle=False, verbose=0,
                       threads=2)
    assert share_counts == [2]
    for a, b in zip(before, model.get_weights(), strict=True):
        assert np.array_equal(a, b)
    assert torch.get_num_threads() == 2
