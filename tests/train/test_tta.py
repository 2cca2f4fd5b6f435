"""Test-time flip averaging (``tta="flip"`` on predict and evaluate) on real images."""

from __future__ import annotations

import numpy as np
import pytest
from tests.helpers.tiny_model import fashion_test_images, trained_model

from cnnkit.errors import ConfigError


def test_flip_symmetric_images_predict_as_without_tta():
    images = fashion_test_images(32)
    left = images[:, :, :14]
    symmetric = np.concatenate([left, left[:, :, ::-1]], axis=2)  # equal to their mirror
    model = trained_model()
    np.testing.assert_allclose(model.predict(symmetric, tta="flip", verbose=0),
                               model.predict(symmetric, verbose=0), rtol=1e-5, atol=1e-6)


def test_flip_tta_is_the_mean_of_image_and_mirror():
    images = fashion_test_images(64)
    model = trained_model()
    want = (model.predict(images, verbose=0)
            + model.predict(np.ascontiguousarray(images[:, :, ::-1]), verbose=0)) / 2
    got = model.predict(images, tta="flip", verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not np.allclose(got, model.predict(images, verbose=0), atol=1e-4)


def test_evaluate_with_tta_scores_the_averaged_probabilities():
    images = fashion_test_images(64)
    labels = np.arange(64) % 10  # any labels: the loss and accuracy follow the formula
    model = trained_model()
    averaged = model.predict(images, tta="flip", verbose=0)
    loss, accuracy = model.evaluate(images, labels, tta="flip", verbose=0)
    np.testing.assert_allclose(loss, -np.log(averaged[np.arange(64), labels]).mean(),
                               rtol=1e-5)
    assert accuracy == pytest.approx((averaged.argmax(1) == labels).mean())


def test_unknown_tta_is_refused():
    with pytest.raises(ConfigError, match="tta"):
        trained_model().predict(fashion_test_images(2), tta="rotate", verbose=0)
