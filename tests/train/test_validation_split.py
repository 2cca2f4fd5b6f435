"""``fit(validation_split=f)`` holds out the last fraction of the arrays, as Keras does, and
says so when that part lacks classes training has (or the reverse)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from cnnkit import layers as L
from cnnkit.data import load
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed
from cnnkit.train.validation_split import class_counts, split_last


def fashion_arrays(n: int):
    """The first ``n`` real fashion-mnist-mini training images and labels."""
    train = load("fashion-mnist-mini", split="train", progress=False)
    return np.array(train.images[:n]), train.labels[:n].copy(), train.class_names


def tiny_model() -> Sequential:
    set_seed(0)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_split_last_keeps_the_first_floor_share_for_training():
    x, y, _ = fashion_arrays(103)
    weights = np.arange(103, dtype=np.float32)
    (x_train, y_train, w_train), (x_val, y_val, w_val) = split_last(x, y, weights, 0.1)
    assert len(x_train) == int(103 * 0.9) == 92 and len(x_val) == 11
    np.testing.assert_array_equal(x_val, x[92:])
    np.testing.assert_array_equal(y_val, y[92:])
    np.testing.assert_array_equal(y_train, y[:92])
    np.testing.assert_array_equal(w_train, weights[:92])
    np.testing.assert_array_equal(w_val, weights[92:])  # val_loss is weighted, as in Keras


def test_class_counts_read_indices_one_hot_rows_and_binary_columns():
    _, y, names = fashion_arrays(200)
    expected = np.bincount(y, minlength=10).tolist()
    assert list(class_counts(y, 10, names).values()) == expected
    assert list(class_counts(np.eye(10)[y], 10, names)) == names
    assert list(class_counts(np.eye(10)[y], 10).values()) == expected
    binary = (y == 0).astype(np.float32).reshape(-1, 1)
    assert class_counts(binary, 1) == {"0": int((y != 0).sum()), "1": int((y == 0).sum())}


def test_fit_on_class_sorted_arrays_warns_with_the_counts():
    x, y, _ = fashion_arrays(300)
    order = np.argsort(y, kind="stable")  # sorted by class, as a folder tree is read
    model = tiny_model()
    with pytest.warns(UserWarning, match="validation_classes") as caught:
        history = model.fit(x[order], y[order], validation_split=0.2, epochs=1, verbose=0)
    trained = np.bincount(y[order][:240], minlength=10)
    held_out = np.bincount(y[order][240:], minlength=10)
    only_held_out = {str(c): int(held_out[c]) for c in range(10)
                     if held_out[c] and not trained[c]}
    assert only_held_out  # the last classes
    message = str(caught[0].message)
    assert all(f"{c}={n}" in message for c, n in only_held_out.items())
    finding = next(f for f in history.diagnose() if f.rule == "validation_classes")
    assert finding.severity == "critical"  # those classes are never trained on
    assert finding.evidence["validation_classes_without_training_images"] == only_held_out


def test_fit_on_mixed_arrays_does_not_warn():
    x, y, _ = fashion_arrays(300)
    model = tiny_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = model.fit(x, y, validation_split=0.2, epochs=1, verbose=0)
    assert "validation_classes" not in {f.rule for f in history.diagnose()}
    assert sum(history.val_class_counts.values()) == 60
