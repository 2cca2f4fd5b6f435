"""Merge layers and Cropping2D compute what Keras computes, on real images."""

import numpy as np
import pytest

from cnnkit import data
from cnnkit.errors import LayerError, LayerShapeError
from cnnkit.keras import layers


@pytest.fixture(scope="module")
def images():
    """Real (8, 28, 28, 1) images and a second real set, as float32 in [0, 1]."""
    x = data.load("fashion-mnist-mini").images[:16].astype(np.float32) / 255.0
    return x[:8], x[8:]


def test_element_wise_merges(images):
    a, b = images
    np.testing.assert_allclose(layers.Add()([a, b]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.Multiply()([a, b]).numpy(), a * b, rtol=1e-6)
    np.testing.assert_allclose(layers.Average()([a, b, a]).numpy(), (a + b + a) / 3,
                               rtol=1e-6)


def test_keras_merge_functions(images):
    a, b = images
    np.testing.assert_allclose(layers.add([a, b]).numpy(), a + b, rtol=1e-6)
    np.testing.assert_allclose(layers.multiply([a, b]).numpy(), a * b, rtol=1e-6)
    np.testing.assert_allclose(layers.average([a, b]).numpy(), (a + b) / 2, rtol=1e-6)
    np.testing.assert_array_equal(layers.concatenate([a, b], axis=1).numpy(),
                                  np.concatenate([a, b], axis=1))
    x = layers.Input((28, 28, 1))
    assert layers.concatenate([x, x]).shape == (None, 28, 28, 2)


def test_a_size_of_one_broadcasts_as_in_keras(images):
    a, _ = images
    scale = np.linspace(0, 1, 28, dtype=np.float32).reshape(1, 28, 1, 1).repeat(8, 0)
    x, s = layers.Input((28, 28, 1)), layers.Input((28, 1, 1))
    assert layers.Multiply()([x.output, s.output]).shape == (None, 28, 28, 1)
    np.testing.assert_allclose(layers.Multiply()([a, scale]).numpy(), a * scale, rtol=1e-6)


@pytest.mark.parametrize("axis", [-1, 3, 1, 2, -2])
def test_concatenate_joins_along_the_keras_axis(images, axis):
    a, b = images
    got = layers.Concatenate(axis=axis)([a, b]).numpy()
    np.testing.assert_array_equal(got, np.concatenate([a, b], axis=axis))
    symbolic = layers.Concatenate(axis=axis)([layers.Input((28, 28, 1)).output,
                                              layers.Input((28, 28, 1)).output])
    assert symbolic.shape == (None, *got.shape[1:])


def test_concatenate_of_feature_vectors():
    a, b = np.ones((2, 3), np.float32), np.zeros((2, 5), np.float32)
    np.testing.assert_array_equal(layers.Concatenate()([a, b]).numpy(),
                                  np.concatenate([a, b], axis=-1))


def test_mismatched_branches_name_the_layer_and_the_shapes():
    x, y = layers.Input((8, 8, 3)), layers.Input((4, 4, 3))
    with pytest.raises(LayerShapeError, match=r"add_mismatch \(Add\).*\(None, 8, 8, 3\), "
                                              r"\(None, 4, 4, 3\)"):
        layers.Add(name="add_mismatch")([x, y])
    with pytest.raises(LayerShapeError, match="different shapes"):
        layers.Concatenate()([x, y])
    with pytest.raises(LayerShapeError, match="axis 5 does not exist"):
        layers.Concatenate(axis=5)([x, x])
    with pytest.raises(LayerError, match="axis must be a non-zero integer"):
        layers.Concatenate(axis=0)


def test_a_merge_needs_a_list_and_a_plain_layer_refuses_one():
    x = layers.Input((8, 8, 3))
    with pytest.raises(LayerError, match="takes a list of tensors"):
        layers.Add()(x)
    with pytest.raises(LayerError, match="takes one tensor, got a list of 2"):
        layers.Conv2D(4, 3)([x, x])


@pytest.mark.parametrize("cropping, rows, cols", [
    (2, slice(2, -2), slice(2, -2)), ((1, 3), slice(1, -1), slice(3, -3)),
    (((0, 4), (5, 1)), slice(0, -4), slice(5, -1))])
def test_cropping2d_cuts_the_borders_as_keras(images, cropping, rows, cols):
    a, _ = images
    layer = layers.Cropping2D(cropping)
    np.testing.assert_array_equal(layer(a).numpy(), a[:, rows, cols, :])
    assert layer.compute_output_shape((28, 28, 1)) == a[:, rows, cols, :].shape[1:]
    assert layers.deserialize(layers.serialize(layer)).get_config() == layer.get_config()


def test_cropping_everything_away_is_refused():
    with pytest.raises(LayerShapeError, match="leaves nothing"):
        layers.Cropping2D(14).compute_output_shape((28, 28, 1))
