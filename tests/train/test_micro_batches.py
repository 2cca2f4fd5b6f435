"""Large batches train as pieces (train/batch_gradients.py) with the whole batch's gradient."""

import numpy as np
import pytest
import torch

from batch_gradient import assert_same_gradient, batch_gradient
from cnnkit import data, zoo
from cnnkit.train import batch_gradients
from cnnkit.train.batch_gradients import pieces


@pytest.fixture(scope="module")
def fashion():
    dataset = data.load("fashion-mnist-mini")
    return dataset.images[:256], dataset.labels[:256]


def trained(build, fashion, micro_batch, monkeypatch, **fit):
    monkeypatch.setattr(batch_gradients, "MICRO_BATCH", micro_batch)
    torch.manual_seed(0)
    model = build()
    model.precision = "fp32"  # fp32 sums are compared below; bf16: the one-step test
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    x, y = fashion
    history = model.fit(x, y, batch_size=128, epochs=2, shuffle=False, verbose=0, **fit)
    return model.get_weights(), history.history


@pytest.mark.parametrize("fit", [{}, {"sample_weight": np.linspace(0.5, 1.5, 256)}])
def test_pieces_give_the_whole_batch_gradient(fashion, monkeypatch, fit):
    build = lambda: zoo.tutorial_mnist((28, 28, 1), 10)  # noqa: E731
    whole, whole_logs = trained(build, fashion, 10_000, monkeypatch, **fit)
    split, split_logs = trained(build, fashion, 32, monkeypatch, **fit)
    assert len(whole) == len(split)
    changed = [not np.array_equal(a, b) for a, b in zip(whole, split, strict=True)]
    assert any(changed)  # the pieces really ran: rounding differs
    for a, b in zip(whole, split, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    for key in ("loss", "accuracy"):
        np.testing.assert_allclose(whole_logs[key], split_logs[key], rtol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_pieces_give_the_whole_batch_gradient_in_each_precision(fashion, monkeypatch,
                                                                 precision):
    x, y = fashion[0][:128], fashion[1][:128]
    monkeypatch.setattr(batch_gradients, "MICRO_BATCH", 10_000)
    whole = batch_gradient(x, y, precision)
    monkeypatch.setattr(batch_gradients, "MICRO_BATCH", 32)
    split = batch_gradient(x, y, precision)
    assert any(not torch.equal(a, b) for a, b in zip(whole, split, strict=True))
    assert_same_gradient(split, whole, precision)


def test_the_gradient_check_tells_a_misweighted_piece_from_rounding(fashion, monkeypatch):
    x, y = fashion[0][:128], fashion[1][:128]
    whole = batch_gradient(x, y, "bf16")
    right = batch_gradients.pieces

    def first_piece_weighted_wrong(*args, **kwargs):
        for index, (xs, ys, ws, fraction) in enumerate(right(*args, **kwargs)):
            yield xs, ys, ws, fraction * (1.1 if index == 0 else 1.0)

    monkeypatch.setattr(batch_gradients, "pieces", first_piece_weighted_wrong)
    with pytest.raises(AssertionError):
        assert_same_gradient(batch_gradient(x, y, "bf16"), whole, "bf16")


def test_batch_norm_networks_train_on_whole_batches(fashion, monkeypatch):
    build = lambda: zoo.small_cnn((28, 28, 1), 10, width=4)  # noqa: E731
    whole, _ = trained(build, fashion, 10_000, monkeypatch)
    split, _ = trained(build, fashion, 32, monkeypatch)
    for a, b in zip(whole, split, strict=True):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("n, sizes", [(128, [32] * 4), (100, [32, 32, 32, 4]), (32, [32]),
                                      (7, [7])])
def test_piece_sizes_and_shares(n, sizes):
    x, y, w = torch.zeros(n, 1, 2, 2), torch.arange(n), torch.ones(n)
    got = list(pieces(x, y, w, whole=False))
    assert [len(p[0]) for p in got] == sizes
    assert [len(p[2]) for p in got] == sizes
    assert sum(p[3] for p in got) == pytest.approx(1.0)
    assert torch.equal(torch.cat([p[1] for p in got]), y)
    assert [len(p[0]) for p in pieces(x, y, None, whole=True)] == [n]
