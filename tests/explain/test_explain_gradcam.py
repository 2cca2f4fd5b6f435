"""Grad-CAM and saliency: on the MNIST tutorial CNN trained on real digits, the heat falls
on the strokes; the default layer, logits vs probabilities, cell placement, the overlay."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.errors import ConfigError, LayerError
from cnnkit.explain import default_layer, gradcam, gradcam_overlay
from cnnkit.explain.receptive import cell_centres, upsample
from cnnkit.models import Sequential, load_model
from mnist_model import mnist_digits, trained_mnist

STROKE = 128  # pixels at least this bright are the digit's strokes


def heat_inside_and_outside(values: np.ndarray, digit: np.ndarray) -> tuple[float, float]:
    mask = digit[..., 0] >= STROKE
    return float(values[mask].mean()), float(values[~mask].mean())


@pytest.fixture(scope="module")
def explained():
    """Grad-CAM of the predicted class for 100 real MNIST test digits (10 per class)."""
    model = trained_mnist()
    digits, labels = mnist_digits()["test"]
    return model, digits, labels, [gradcam(model, digit) for digit in digits]


def test_the_model_learned_the_digits(explained):
    model, _, labels, results = explained
    predicted = np.array([r.class_index for r in results])
    assert (predicted == labels).mean() > 0.85
    assert {r.layer for r in results} == {model.layers[2].name}  # the second Conv2D


def test_grad_cam_heat_falls_on_the_strokes(explained):
    _, digits, _, results = explained
    inside, outside = np.array([heat_inside_and_outside(r.heatmap, d)
                                for r, d in zip(results, digits, strict=True)]).T
    assert inside.mean() > 1.5 * outside.mean()
    assert (inside > outside).mean() > 0.75


def test_saliency_falls_on_the_strokes(explained):
    _, digits, _, results = explained
    inside, outside = np.array([heat_inside_and_outside(r.saliency, d)
                                for r, d in zip(results, digits, strict=True)]).T
    assert (inside > outside).mean() > 0.9


def test_maps_are_scaled_to_one_at_the_image_size(explained):
    _, _, _, results = explained
    for result in results[:10]:
        for values in (result.heatmap, result.saliency):
            assert values.shape == (28, 28) and values.dtype == np.float32
            assert values.min() >= 0.0 and values.max() == pytest.approx(1.0)
        assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_given_class_changes_the_map(explained):
    model, digits, _, results = explained
    other = (results[0].class_index + 1) % 10
    again = gradcam(model, digits[0], class_index=other)
    assert again.class_index == other
    assert not np.allclose(again.heatmap, results[0].heatmap)
    with pytest.raises(ConfigError, match="out of range"):
        gradcam(model, digits[0], class_index=10)


def test_logits_whether_or_not_the_softmax_is_fused(explained, tmp_path):
    """A compiled model outputs logits; the same model loaded without compiling ends in its
    softmax. Grad-CAM explains the logit either way, so the maps are the same."""
    model, digits, _, results = explained
    model.save(tmp_path / "mnist.keras")
    plain = load_model(tmp_path / "mnist.keras", compile=False)
    result = gradcam(plain, digits[3])
    np.testing.assert_allclose(result.heatmap, results[3].heatmap, atol=1e-5)
    np.testing.assert_allclose(result.probabilities, results[3].probabilities, atol=1e-5)


def test_weights_get_no_gradients(explained):
    model, digits, _, _ = explained
    before = [None if p.grad is None else p.grad.clone() for p in model.net.parameters()]
    gradcam(model, digits[0])
    for grad, parameter in zip(before, model.net.parameters(), strict=True):
        assert (grad is None and parameter.grad is None) or torch.equal(grad, parameter.grad)


def test_overlay_for_reports(explained):
    model, digits, _, _ = explained
    picture = gradcam_overlay(model, digits[0])
    assert picture.shape == (28, 28, 3) and picture.dtype == np.uint8
    assert picture.std() > 0


def test_default_layer_is_the_last_conv_after_its_norm_and_activation():
    model = zoo.get("small-cnn", (32, 32, 3), 4)
    names = [layer.name for layer in model.layers]
    chosen = names.index(default_layer(model))
    assert isinstance(model.layers[chosen], L.Activation)
    assert isinstance(model.layers[chosen - 2], L.Conv2D)
    assert not any(isinstance(layer, L.Conv2D) for layer in model.layers[chosen:])
    cifar = zoo.get("tutorial-cifar10", (32, 32, 3), 10)
    assert default_layer(cifar) == cifar.layers[4].name  # the third Conv2D


def test_models_without_conv_layers_or_with_a_bad_layer_say_so():
    dense = Sequential([L.Input((8, 8, 1)), L.Flatten(), L.Dense(3, activation="softmax")])
    with pytest.raises(LayerError, match="no convolution layer"):
        default_layer(dense)
    model = zoo.get("tutorial-mnist", (28, 28, 1), 10)
    with pytest.raises(LayerError, match="before the classifier"):
        gradcam(model, np.zeros((28, 28, 1), np.uint8), layer=model.layers[5].name)


def test_a_model_that_outputs_logits_gets_probabilities():
    model = Sequential([L.Input((12, 12, 3)), L.Conv2D(4, 3, activation="relu"), L.Flatten(),
                        L.Dense(5)])
    image = np.random.default_rng(1).integers(0, 256, (12, 12, 3)).astype(np.uint8)
    logits = model.predict(image[None], verbose=0)[0]
    result = gradcam(model, image)
    np.testing.assert_allclose(result.probabilities, np.exp(logits) / np.exp(logits).sum(),
                               rtol=1e-5)
    assert result.class_index == int(logits.argmax())


def test_single_sigmoid_unit_explains_two_classes():
    model = Sequential([L.Input((12, 12, 3)), L.Conv2D(4, 3, activation="relu"), L.Flatten(),
                        L.Dense(1, activation="sigmoid")])
    image = np.random.default_rng(0).integers(0, 256, (12, 12, 3)).astype(np.uint8)
    result = gradcam(model, image)
    assert result.probabilities.shape == (2,)
    assert result.probabilities.sum() == pytest.approx(1.0)
    assert result.class_index == int(result.probabilities.argmax())


def test_cells_sit_on_their_receptive_field_centres():
    model = zoo.get("tutorial-cifar10", (32, 32, 3), 10)
    rows, cols = cell_centres(model, model.layers[4].name)  # 4x4 maps after 3 valid convs
    assert rows == cols == (8.5, 4.0)  # cells at pixels 8.5, 12.5, 16.5, 20.5
    one_hot = np.zeros((4, 4))
    one_hot[0, 3] = 1.0
    big = upsample(one_hot, (32, 32), (rows, cols))
    assert big.shape == (32, 32)
    assert big[:9, 21:].min() == 1.0  # up to the cell's centre and beyond the outer cells
    assert big[9:].max() < 1.0 and big[:, :21].max() < 1.0
    assert big[10, 21] == pytest.approx(1.0 - 1.5 / 4)  # 1.5 pixels towards the next cell
