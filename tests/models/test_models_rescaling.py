"""A model that rescales its own input gets exactly what Keras gives it (issue 14, item 2):
``Rescaling(1./255)`` on uint8 images divided twice (cnnkit's uint8 scaling, then the layer)."""

import numpy as np
import pytest
import torch
from PIL import Image

from cnnkit.data import load
from cnnkit.keras import layers, models, utils
from cnnkit.predict import predict_files


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _rescaled_tutorial_cnn(*front):
    """Rescaling(1./255) (after ``front``), then the Keras MNIST tutorial CNN."""
    utils.set_random_seed(0)
    model = models.Sequential([
        layers.Input((28, 28, 1)), *front, layers.Rescaling(1.0 / 255),
        layers.Conv2D(32, 3, activation="relu", name="first_conv"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2), layers.Flatten(),
        layers.Dropout(0.5), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _first_conv_inputs(model, x):
    seen = []
    hook = model.net.ops["first_conv"].register_forward_hook(
        lambda module, args, out: seen.append(args[0].detach().clone()))
    try:
        model.predict(x, verbose=0)
    finally:
        hook.remove()
    return torch.cat(seen)


@pytest.mark.parametrize("front", [(), (layers.RandomFlip("horizontal"),)],
                         ids=["rescaling_first", "after_augmentation"])
def test_uint8_and_float_images_give_identical_predictions(mini, front):
    model = _rescaled_tutorial_cnn(*front)
    model.fit(mini.images[:256], mini.labels[:256], batch_size=64, verbose=0)
    pixels = mini.images[256:320]
    as_uint8 = model.predict(pixels, verbose=0)
    as_float = model.predict(pixels.astype(np.float32), verbose=0)
    np.testing.assert_array_equal(as_uint8, as_float)
    seen = _first_conv_inputs(model, pixels)
    assert float(seen.min()) >= 0.0 and float(seen.max()) == 1.0  # pixel 255 -> 1.0, as Keras


def test_trained_on_uint8_or_floats_the_weights_are_the_same(mini):
    histories = []
    for images in (mini.images[:128], mini.images[:128].astype(np.float32)):
        model = _rescaled_tutorial_cnn()
        histories.append(model.fit(images, mini.labels[:128], batch_size=32, shuffle=False,
                                   verbose=0).history["loss"])
    assert histories[0] == histories[1]


def test_a_saved_model_and_image_files_are_scaled_the_same(mini, tmp_path):
    model = _rescaled_tutorial_cnn()
    model.fit(mini.images[:128], mini.labels[:128], verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = models.load_model(tmp_path / "m.keras")
    pixels = mini.images[300:304]
    expected = model.predict(pixels.astype(np.float32), verbose=0)
    np.testing.assert_array_equal(loaded.predict(pixels, verbose=0), expected)
    folder = tmp_path / "images"
    folder.mkdir()
    for i, image in enumerate(pixels):
        Image.fromarray(image[:, :, 0]).save(folder / f"{i}.png")
    from_files = dict(predict_files(loaded, folder, progress=False))
    got = np.stack([from_files[name] for name in sorted(from_files)])
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def test_without_rescaling_uint8_input_is_still_scaled_to_unit_range(mini):
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)),
                               layers.Conv2D(4, 3, activation="relu", name="first_conv"),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    seen = _first_conv_inputs(model, mini.images[:16])
    assert float(seen.max()) == 1.0


@pytest.mark.parametrize(("front", "value_range"), [("- Rescaling: {scale: 0.00392156862745098}\n",
                                                     (0.0, 255.0)), ("", (0.0, 1.0))])
def test_the_command_line_augments_in_the_models_pixel_range(tmp_path, monkeypatch, front,
                                                            value_range):
    from cnnkit.cli import main
    from cnnkit.train import augment
    from cnnkit.workflows import setup

    spec = tmp_path / "spec.yaml"
    spec.write_text(front + "- Conv2D: {filters: 4, kernel_size: 3, activation: relu}\n"
                    "- Flatten\n- Dense: {units: auto, activation: softmax}\n")
    seen = []
    parse = augment.parse_augment
    monkeypatch.setattr(setup, "parse_augment",
                        lambda spec, shape, value_range=(0.0, 1.0): seen.append(value_range)
                        or parse(spec, shape, value_range))
    out = tmp_path / "run"
    assert main(["train", "--data", "fashion-mnist-mini", "--model", str(spec), "--epochs", "1",
                 "--fraction", "0.05", "--augment", "brightness", "--out", str(out),
                 "--quiet"]) == 0
    assert seen == [value_range]
    model = models.load_model(out / "model" / "last")
    pixels = load("fashion-mnist-mini", split="test", progress=False).images[:8]
    np.testing.assert_array_equal(model.predict(pixels, verbose=0),
                                  model.predict(pixels.astype(np.float32) * (
                                      1.0 if front else 1.0 / 255), verbose=0))
