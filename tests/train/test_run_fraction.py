"""``--fraction`` cuts every split of a run, not only the training one (issue 22)."""

from __future__ import annotations

from cnnkit.data import load_splits
from cnnkit.train.config import RunConfig
from cnnkit.train.run_data import load_run_data


def test_fraction_applies_to_training_validation_and_test_alike():
    full = load_splits("fashion-mnist-mini", progress=False)
    data = load_run_data(RunConfig(data="fashion-mnist-mini", fraction=0.2, val_split=0.1),
                         quiet=True)
    held_out = round(0.1 * len(full["train"]))
    assert abs(len(data.val) - 0.2 * held_out) <= 10
    assert abs(len(data.train) - 0.2 * (len(full["train"]) - held_out)) <= 10
    assert abs(len(data.test) - 0.2 * len(full["test"])) <= 10
    assert set(data.test.labels.tolist()) == set(full["test"].labels.tolist())  # stratified
