"""Keras's functional API: Model(inputs, outputs) over a graph of layer calls."""

import numpy as np
import pytest
import torch

import cnnkit
from cnnkit import data, keras
from cnnkit.errors import ConfigError, LayerError, ShapeError
from cnnkit.explain.features import feature_maps
from cnnkit.explain.gradcam import gradcam
from cnnkit.explain.params import compare_params
from cnnkit.explain.receptive import cell_centres
from cnnkit.keras import backend, layers
from cnnkit.models import Model, Sequential


@pytest.fixture(scope="module")
def fashion():
    dataset = data.load("fashion-mnist-mini")
    return dataset.images[:256], dataset.labels[:256]


def residual(name: str = "residual"):
    """A residual block with a shortcut and a concatenation, as Keras code writes it."""
    backend.clear_session()
    inputs = keras.Input(shape=(28, 28, 1))
    x = layers.Conv2D(16, 3, padding="same", activation="relu", name="stem")(inputs)
    y = layers.Conv2D(16, 3, padding="same", activation="relu", name="branch")(x)
    s = layers.Add(name="join")([x, y])
    c = layers.Concatenate(name="cat")([s, x])
    p = layers.MaxPooling2D(name="pool")(c)
    g = layers.Flatten(name="flat")(p)
    outputs = layers.Dense(10, activation="softmax", name="out")(g)
    return keras.Model(inputs=inputs, outputs=outputs, name=name)


def by_hand(model, x: np.ndarray) -> np.ndarray:
    """The residual model's output computed by calling its layers one by one."""
    get = model.get_layer
    stem = get("stem")(x)
    branch = get("branch")(stem)
    cat = torch.cat([stem + branch, stem], dim=-1)
    return get("out")(get("flat")(get("pool")(cat))).numpy()


def test_a_graph_computes_what_its_layers_compute(fashion):
    model = residual()
    assert [lay.name for lay in model.layers] == \
        ["input_layer", "stem", "branch", "join", "cat", "pool", "flat", "out"]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    x = fashion[0][:16].astype(np.float32) / 255
    np.testing.assert_allclose(model.predict(x), by_hand(model, x), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model(x).numpy(), by_hand(model, x), rtol=1e-5, atol=1e-6)


def test_keras_names_for_the_functional_api():
    assert keras.models.Model is keras.Model is cnnkit.models.Model
    assert keras.Input is layers.Input
    backend.clear_session()
    x = keras.Input((8, 8, 3))
    assert x.name == "input_layer"
    model = Model(x, layers.Flatten()(x))
    assert model.name == "functional" and type(model).keras_name == "Functional"
    assert Sequential([keras.Input((8, 8, 3)), layers.Flatten()]).output_shape == (None, 192)


def test_a_layer_called_twice_shares_its_weights(fashion):
    inputs = keras.Input((28, 28, 1))
    shared = layers.Conv2D(4, 3, padding="same", name="shared")
    twice = shared(shared(layers.Conv2D(4, 1, name="widen")(inputs)))
    model = Model(inputs, layers.Dense(3)(layers.Flatten()(twice)))
    assert model.count_params() == 8 + (3 * 3 * 4 * 4 + 4) + (28 * 28 * 4 * 3 + 3)
    x = fashion[0][:4].astype(np.float32) / 255
    expected = model.layers[-1](model.layers[-2](shared(shared(model.get_layer("widen")(x)))))
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_a_graph_trains(fashion):
    torch.manual_seed(0)
    model = residual()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    history = model.fit(*fashion, batch_size=32, epochs=2, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]


@pytest.mark.parametrize("name", ["graph.keras", "graph"])
def test_save_and_load_keep_the_graph_and_the_predictions(fashion, tmp_path, name):
    model = residual()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(*fashion, batch_size=64, epochs=1, verbose=0)
    model.save(tmp_path / name)
    loaded = keras.models.load_model(tmp_path / name)
    assert type(loaded) is Model
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in model.layers]
    np.testing.assert_array_equal(loaded.predict(fashion[0]), model.predict(fashion[0]))
    loaded.fit(*fashion, batch_size=64, epochs=1, verbose=0)  # compiled as saved


def test_config_round_trip_rebuilds_the_same_graph():
    model = residual()
    config = model.get_config()
    cat = next(entry for entry in config["layers"] if entry["name"] == "cat")
    assert cat["inbound_nodes"] == [[["join", 0, 0], ["stem", 0, 0]]]
    assert config["input_layers"] == [["input_layer", 0, 0]]
    assert config["output_layers"] == [["out", 0, 0]]
    again = Model.from_config(config)
    assert again.get_config() == config
    assert again.count_params() == model.count_params()


def test_sequential_config_round_trip():
    model = Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3), layers.Flatten(),
                        layers.Dense(2)], name="line")
    again = Sequential.from_config(model.get_config())
    assert again.get_config() == model.get_config()
    assert again.built and again.count_params() == model.count_params()


def test_a_model_is_a_layer_of_a_graph(fashion):
    inner = Sequential([layers.Conv2D(4, 3, padding="same", activation="relu")])
    inputs = keras.Input((28, 28, 1))
    outputs = layers.Dense(10)(layers.GlobalAveragePooling2D()(
        layers.Add()([inner(inputs), layers.Conv2D(4, 1)(inputs)])))
    model = Model(inputs, outputs)
    assert model.get_layer(inner.name).net is model.net.ops[inner.name]
    assert model.predict(fashion[0][:2]).shape == (2, 10)


def test_feature_maps_of_a_graph(fashion):
    model = residual()
    x = fashion[0][:1]
    maps = feature_maps(model, x[0], ["branch", "cat"])
    scaled = x.astype(np.float32) / 255
    branch = model.get_layer("branch")(model.get_layer("stem")(scaled)).numpy()[0]
    np.testing.assert_allclose(maps["branch"], branch, rtol=1e-5, atol=1e-6)
    assert maps["cat"].shape == (28, 28, 32)


def test_gradcam_of_a_graph_explains_its_prediction(fashion):
    model = residual()
    image = fashion[0][0]
    result = gradcam(model, image, layer="cat")
    assert result.layer == "cat" and result.heatmap.shape == (28, 28)
    np.testing.assert_allclose(result.probabilities, model.predict(image[None])[0], rtol=1e-5)
    assert result.class_index == int(np.argmax(result.probabilities))


def two_paths():
    """A strided side branch listed between the crop and the convolution that reads it."""
    inputs = keras.Input((16, 16, 1))
    side = layers.Conv2D(4, 5, strides=2, padding="same", name="side")(inputs)
    main = layers.Conv2D(4, 3, name="c")(layers.Cropping2D(1, name="crop")(inputs))
    model = Model(inputs, layers.Concatenate()([layers.Flatten()(side),
                                                layers.Flatten()(main)]))
    assert [lay.name for lay in model.layers][1:4] == ["crop", "side", "c"]
    return model


def test_cells_are_placed_along_the_path_to_the_layer():
    model = two_paths()
    assert cell_centres(model, "c") == ((2.0, 1.0), (2.0, 1.0))  # crop 1, then 3x3 valid
    # 5x5 "same" at stride 2 on 16 pads 1 before (TensorFlow puts the odd row after)
    assert cell_centres(model, "side") == ((1.0, 2.0), (1.0, 2.0))


def test_parameter_comparison_takes_each_layers_own_input():
    rows = {row.layer.split()[0]: row for row in compare_params(two_paths())}
    assert rows["c"].input_shape == rows["crop"].output_shape == (14, 14, 1)
    assert rows["side"].input_shape == (16, 16, 1)
    assert rows["c"].params == 3 * 3 * 4 + 4


def test_mistakes_in_a_graph_get_clear_errors():
    inputs, other = keras.Input((8, 8, 3)), keras.Input((8, 8, 3))
    with pytest.raises(LayerError, match="not the model's input"):
        Model(inputs, layers.Add()([inputs, other]))
    with pytest.raises(ConfigError, match="needs inputs= and outputs="):
        Model()
    with pytest.raises(ConfigError, match="one tensor as inputs, got 2"):
        Model([inputs, other], inputs)
    with pytest.raises(ConfigError, match="symbolic tensors"):
        Model(np.zeros((1, 8, 8, 3)), inputs)
    with pytest.raises(LayerError, match="two layers are named 'twin'"):
        Model(inputs, layers.Dense(2, name="twin")(layers.Dense(2, name="twin")(inputs)))
    with pytest.raises(ShapeError, match=r"takes inputs of shape \(8, 8, 3\)"):
        Model(inputs, layers.Flatten()(inputs)).build((16, 16, 3))
