"""PatchWhitening on real CIFAR-10 photos: decorrelated, centred, unit-variance outputs from
the first training batch; the filters stay fixed through training and saving."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit.errors import LayerError
from cnnkit.keras import layers, models
from sample_images import cifar_jpegs, pixels


def _photos(n: int = 32) -> np.ndarray:
    return np.stack([pixels(b) for b in cifar_jpegs(n)])


def _whitening_model() -> models.Sequential:
    model = models.Sequential([layers.Input((32, 32, 3)), layers.PatchWhitening(2),
                               layers.GlobalAveragePooling2D(), layers.Dense(10)])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def test_outputs_of_the_first_batch_are_white():
    model = _whitening_model()
    module = model.layers[0].built_module
    x = torch.from_numpy(_photos()).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        out = module.train()(x)
    assert out.shape == (32, 24, 31, 31)
    features = out[:, :12].permute(0, 2, 3, 1).reshape(-1, 12).double()
    torch.testing.assert_close(features.mean(0), torch.zeros(12, dtype=torch.float64),
                               atol=1e-4, rtol=0)
    covariance = torch.cov(features.T)
    variances = covariance.diagonal()
    off_diagonal = covariance - torch.diag(variances)
    assert off_diagonal.abs().max() < 0.02  # decorrelated
    # unit variance, except where the epsilon caps the gain of the flattest directions
    # (eigenvalues in ascending order: the first filters)
    torch.testing.assert_close(variances[6:], torch.ones(6, dtype=torch.float64), atol=0.02,
                               rtol=0)
    assert (variances[:6] <= 1.0).all() and (variances[:6] > 0.1).all()
    torch.testing.assert_close(out[:, 12:], -out[:, :12])


def test_filters_stay_fixed_through_training_and_saving(tmp_path):
    photos, labels = _photos(), np.arange(32) % 10
    model = _whitening_model()
    model.fit(photos[:16], labels[:16], batch_size=16, epochs=1, verbose=0)
    layer = model.layers[0]
    filters, bias = (w.copy() for w in layer.get_weights())
    assert np.abs(filters).max() > 1  # whitened (the Glorot start is below 1)
    model.fit(photos[16:], labels[16:], batch_size=16, epochs=2, verbose=0)
    assert np.array_equal(layer.get_weights()[0], filters)  # not trained, not re-whitened
    assert not np.array_equal(layer.get_weights()[1], bias)  # the bias trains
    model.save(tmp_path / "w.keras")
    loaded = models.load_model(tmp_path / "w.keras")
    loaded.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    loaded.fit(photos[:16], labels[:16], batch_size=16, epochs=1, verbose=0)
    assert np.array_equal(loaded.layers[0].get_weights()[0], filters)


def test_parameter_split_and_config():
    layer = _whitening_model().layers[0]
    assert layer.param_counts(layer.built_module, True) == (24, 288)
    again = layers.PatchWhitening.from_config(layer.get_config())
    assert again.compute_output_shape((32, 32, 3)) == (31, 31, 24)


def test_wrong_filter_count_names_the_right_one():
    with pytest.raises(LayerError, match="filters must be 24"):
        layers.PatchWhitening(2, filters=16).compute_output_shape((32, 32, 3))
