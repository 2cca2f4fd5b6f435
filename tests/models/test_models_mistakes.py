"""Common mistakes stop with an error that names the layer or argument and says what to do,
never a torch traceback (issue 14, item 6)."""

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.errors import CnnkitError, ShapeError
from cnnkit.keras import layers, models, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _compiled(*stack, loss="sparse_categorical_crossentropy", shape=(28, 28, 1)):
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input(shape), *stack])
    model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
    return model


def _no_flatten():
    return _compiled(layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
                     layers.Dense(10, activation="softmax", name="classifier"))


@pytest.mark.parametrize("call", [
    lambda m, d: m.fit(d.images[:64], d.labels[:64], verbose=0),
    lambda m, d: m.evaluate(d.images[:64], d.labels[:64], verbose=0),
    lambda m, d: m.fit(d.images[:64], utils.to_categorical(d.labels[:64], 10), verbose=0),
], ids=["fit", "evaluate", "one_hot"])
def test_dense_on_images_without_flatten_names_the_dense_layer(mini, call):
    model = _no_flatten()
    with pytest.raises(ShapeError, match=r"output has shape \(None, 13, 13, 10\)") as info:
        call(model, mini)
    assert "the labels are (None," in str(info.value)
    assert "Flatten()" in info.value.hint and "'classifier'" in info.value.hint


def test_a_model_ending_in_images_says_how_to_end_a_classifier(mini):
    model = _compiled(layers.Conv2D(10, 3))
    with pytest.raises(ShapeError, match=r"\(None, 26, 26, 10\)") as info:
        model.fit(mini.images[:32], mini.labels[:32], verbose=0)
    assert "Dense" in info.value.hint


@pytest.mark.parametrize("image_shape", [(28, 28, 1), (32, 32, 3)])
def test_predict_on_one_unbatched_image_says_to_add_the_batch_axis(mini, image_shape):
    model = _compiled(layers.Conv2D(4, 3, activation="relu"), layers.Flatten(),
                      layers.Dense(10, activation="softmax"), shape=image_shape)
    image = np.resize(mini.images[0], image_shape)
    for call in (model.predict, model):
        with pytest.raises(ShapeError, match="batch axis") as info:
            call(image)
        assert "x[None]" in info.value.hint and "input_shape" not in info.value.hint


def test_class_names_as_labels_say_to_map_them_to_indices(mini):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    names = np.array(["shirt", "shoe"] * 16)
    with pytest.raises(ShapeError, match="class indices") as info:
        model.fit(mini.images[:32], names, verbose=0)
    assert "np.unique" in info.value.hint


def test_images_of_different_sizes_in_a_list(mini):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    ragged = [mini.images[0], mini.images[1][:20]]
    with pytest.raises(ShapeError, match="different shapes") as info:
        model.predict(ragged)
    assert "resize" in info.value.hint


def test_sample_weight_of_the_wrong_length(mini):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    with pytest.raises(ShapeError, match="sample_weight has 5 values"):
        model.fit(mini.images[:32], mini.labels[:32], sample_weight=np.ones(5), verbose=0)


@pytest.mark.parametrize("labels", [
    lambda y: y + 3,                                   # out of range for 10 units
    lambda y: utils.to_categorical(y, 10),             # one-hot with a sparse loss
    lambda y: y.astype(np.float32) + 0.5,              # not class indices
])
def test_label_mistakes_are_cnnkit_errors(mini, labels):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    with pytest.raises(CnnkitError) as info:
        model.fit(mini.images[:32], labels(mini.labels[:32]), verbose=0)
    assert info.value.hint


def test_wrong_channels_and_wrong_size(mini):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    with pytest.raises(ShapeError, match="channel") as info:
        model.fit(np.repeat(mini.images[:8], 3, axis=-1), mini.labels[:8], verbose=0)
    assert "grayscale" in info.value.hint
    with pytest.raises(ShapeError, match=r"\(20, 20, 1\)") as info:
        model.predict(mini.images[:8, :20, :20])
    assert "image_size=(28, 28)" in info.value.hint


def test_binary_labels_outside_zero_one_say_to_use_a_softmax(mini):
    model = _compiled(layers.Flatten(), layers.Dense(1, activation="sigmoid"),
                      loss="binary_crossentropy")
    with pytest.raises(ShapeError, match=r"labels from 0 to 9") as info:
        model.fit(mini.images[:64], mini.labels[:64], verbose=0)
    assert "sparse_categorical_crossentropy" in info.value.hint
    model.fit(mini.images[:64], (mini.labels[:64] == 0).astype(np.float32), verbose=0)


@pytest.mark.parametrize(("call", "message"), [
    (lambda m, d: m.fit(d.images[:32], d.labels[:32], batch_size=0, verbose=0), "batch_size"),
    (lambda m, d: m.fit(d.images[:32], d.labels[:32], batch_size=2.5, verbose=0),
     "batch_size"),
    (lambda m, d: m.fit(d.images[:32], d.labels[:32], epochs="2", verbose=0), "epochs"),
    (lambda m, d: m.evaluate(d.images[:32], d.labels[:32], batch_size=-1, verbose=0),
     "batch_size"),
    (lambda m, d: m.predict(d.images[:32], batch_size=-1), "batch_size"),
    (lambda m, d: m.fit(d.images[:32], d.labels[:32], validation_data=(d.images[:8],),
                        verbose=0), "validation_data"),
    (lambda m, d: m.predict("photo.png"), "file name"),
])
def test_impossible_arguments_are_named(mini, call, message):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    with pytest.raises(CnnkitError, match=message) as info:
        call(model, mini)
    assert info.value.hint


@pytest.mark.parametrize("how", ["validation_data", "validation_split"])
def test_validation_sample_weights_weigh_the_validation_loss_as_in_keras(mini, how):
    model = _compiled(layers.Flatten(), layers.Dense(10, activation="softmax"))
    x, y = mini.images[:256], mini.labels[:256]
    weights = np.linspace(0.1, 2.0, 256).astype(np.float32)
    if how == "validation_data":
        history = model.fit(x[:192], y[:192], sample_weight=weights[:192], verbose=0,
                            validation_data=(x[192:], y[192:], weights[192:]))
    else:
        history = model.fit(x, y, sample_weight=weights, validation_split=0.25, verbose=0)
    weighted = model.evaluate(x[192:], y[192:], sample_weight=weights[192:], verbose=0)
    assert history.history["val_loss"][0] == pytest.approx(weighted[0], rel=1e-5)
