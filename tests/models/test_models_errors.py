"""Every user mistake stops with a message that says what to do."""

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.errors import ConfigError, LayerError, ShapeError, TrainingError
from cnnkit.keras import callbacks, layers, models, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _model():
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def test_input_shape_mismatch_says_how_to_fix(mini):
    model = _model()
    rgb = np.repeat(mini.images[:4], 3, axis=-1)
    with pytest.raises(ShapeError, match=r"\(28, 28, 3\).*expects \(28, 28, 1\)") as info:
        model.predict(rgb)
    assert "channel" in info.value.hint


def test_shrinking_below_one_pixel_names_the_layer():
    with pytest.raises(LayerError, match="conv_c") as info:
        models.Sequential([layers.Input((7, 7, 1)), layers.Conv2D(4, 3, name="conv_a"),
                           layers.MaxPooling2D(2, name="pool_b"),
                           layers.Conv2D(4, 3, name="conv_c")])
    assert "2x2" in str(info.value)  # the 2x2 input that no longer fits the 3x3 kernel


def test_labels_outside_the_output_range(mini):
    model = _model()
    labels = mini.labels[:8].copy()
    labels[3] = 12
    with pytest.raises(ShapeError, match=r"labels must lie in \[0, 10\)"):
        model.fit(mini.images[:8], labels, verbose=0)


def test_x_and_y_of_different_lengths(mini):
    with pytest.raises(ShapeError, match="8 images but y has 7 labels"):
        _model().fit(mini.images[:8], mini.labels[:7], verbose=0)


@pytest.mark.parametrize(("call", "wanted"), [
    (lambda: layers.Activation("reul"), "relu"),
    (lambda: layers.Conv2D(4, 3, activation="sigmod"), "sigmoid"),
    (lambda: models.Sequential().compile(optimizer="adma", loss="mse"), "adam"),
    (lambda: _model().compile(optimizer="adam", loss="sparse_categorical_crossentopy"),
     "sparse_categorical_crossentropy"),
])
def test_unknown_names_suggest_the_closest(call, wanted):
    with pytest.raises((LayerError, ConfigError)) as info:
        call()
    assert f"did you mean '{wanted}'" in str(info.value)


def test_nan_loss_stops_names_the_batch_and_keeps_good_weights(mini):
    model = _model()
    x = mini.images[:128].astype(np.float32) / 255.0
    x[70] = np.nan  # lands in batch 3 (images 64..95) without shuffling
    good = {}

    class Keep(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            good["weights"] = model.state_snapshot()

    with pytest.raises(TrainingError, match="epoch 1, batch 3") as info:
        model.fit(x, mini.labels[:128], batch_size=32, shuffle=False, verbose=0,
                  callbacks=[Keep()])
    assert "learning rate" in info.value.hint
    now = model.state_snapshot()
    for key, value in good["weights"].items():
        assert np.array_equal(now[key].numpy(), value.numpy())
        assert np.isfinite(value.numpy()).all()


def test_fit_before_compile_says_to_compile(mini):
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(), layers.Dense(10)])
    with pytest.raises(ConfigError, match="not compiled"):
        model.fit(mini.images[:4], mini.labels[:4], verbose=0)
