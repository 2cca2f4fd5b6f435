"""get_weights / set_weights / count_params on layers and models, model.layers and
get_layer, in Keras's order and layout (checked against Keras's own numerics)."""

import numpy as np
import pytest

from cnnkit.errors import LayerError
from cnnkit.keras import layers, models
from keras_reference import reference_cases, reference_file

WEIGHTED = [case for case in reference_cases("numerics.json")
            if case is None or case["weights"]]


@pytest.mark.parametrize("case", WEIGHTED, ids=lambda c: c["name"] if c else "missing")
def test_set_weights_in_keras_layout_gives_keras_output(case):
    data = np.load(reference_file("numerics.npz"))
    name = case["name"]
    x, expected = data[f"{name}__x"], data[f"{name}__y"]
    weights = [data[f"{name}__w{i}"] for i in range(len(case["weights"]))]
    if case["layer"] == "Sequential":  # Keras's case: Flatten + Dense inside a Sequential
        inner = models.Sequential([layers.Flatten(), layers.Dense(weights[0].shape[1])])
        model = models.Sequential([layers.Input(x.shape[1:]), inner])
        model.set_weights(weights)
        layer = inner.layers[1]
    else:
        layer = layers.get(case["layer"])(**case["config"])
        model = models.Sequential([layers.Input(x.shape[1:]), layer])
        layer.set_weights(weights)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5, rtol=0)
    assert all(np.array_equal(a, b) for a, b in zip(layer.get_weights(), weights,
                                                   strict=True))
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), weights, strict=True))
    assert model.count_params() == sum(w.size for w in weights)


def test_keras_layouts_and_counts_of_the_tutorial_layers():
    conv = layers.Conv2D(32, 3, activation="relu")
    norm = layers.BatchNormalization()
    dense = layers.Dense(10)
    model = models.Sequential([layers.Input((28, 28, 1)), conv, norm, layers.Flatten(), dense])
    assert [w.shape for w in conv.get_weights()] == [(3, 3, 1, 32), (32,)]
    assert [w.shape for w in dense.get_weights()] == [(26 * 26 * 32, 10), (10,)]
    assert [w.shape for w in norm.get_weights()] == [(32,)] * 4  # gamma, beta, mean, var
    assert (conv.count_params(), norm.count_params()) == (320, 128)
    assert model.count_params() == 320 + 128 + 26 * 26 * 32 * 10 + 10
    assert model.layers == [conv, norm, model.layers[2], dense]
    assert model.get_layer(index=0) is conv and model.get_layer(conv.name) is conv
    with pytest.raises(LayerError, match="index 9"):
        model.get_layer(index=9)
    with pytest.raises(LayerError, match="name or an index"):
        model.get_layer(conv.name, index=0)


def test_an_unbuilt_layer_has_no_weights_and_cannot_count_them():
    layer = layers.Dense(4)
    assert layer.get_weights() == []
    with pytest.raises(LayerError, match="not built"):
        layer.count_params()
    with pytest.raises(LayerError, match="not built"):
        layer.set_weights([np.zeros((3, 4)), np.zeros(4)])


def test_set_weights_with_a_wrong_shape_names_the_layer():
    dense = layers.Dense(4, name="head")
    models.Sequential([layers.Input((3,)), dense])
    with pytest.raises(LayerError, match=r"head.*\(4, 3\).*expected \(3, 4\)"):
        dense.set_weights([np.zeros((4, 3)), np.zeros(4)])
