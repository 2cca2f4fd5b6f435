"""Label smoothing equals its formula on a trained model's real outputs, for sparse labels
(a cnnkit extension) and one-hot labels (Keras), on logits and on probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from tests.helpers.tiny_model import fashion_test_images, trained_model

from cnnkit.train.losses import CategoricalCrossentropy, SparseCategoricalCrossentropy

SMOOTHING = 0.1


@pytest.mark.parametrize("on_logits", [True, False])
@pytest.mark.parametrize("sparse", [True, False])
def test_smoothed_loss_equals_the_formula(sparse, on_logits):
    labels = np.arange(64) % 10
    p = trained_model().predict(fashion_test_images(64), verbose=0).astype(np.float64)
    target = np.full_like(p, SMOOTHING / 10)
    target[np.arange(64), labels] += 1 - SMOOTHING
    want = -(target * np.log(p)).sum(axis=1).mean()
    loss = (SparseCategoricalCrossentropy(label_smoothing=SMOOTHING) if sparse
            else CategoricalCrossentropy(label_smoothing=SMOOTHING))
    y = torch.tensor(labels if sparse else np.eye(10)[labels])
    output = torch.tensor(np.log(p) if on_logits else p)  # softmax(log p) = p
    assert float(loss(output, y, on_logits)) == pytest.approx(want, rel=1e-4)
    assert want != pytest.approx(-np.log(p[np.arange(64), labels]).mean(), rel=1e-3)
