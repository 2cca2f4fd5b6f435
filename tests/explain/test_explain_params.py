"""The parameter comparison with a dense network: the issue's 150,529,000, per-layer counts
that match summary(), and the table."""

from __future__ import annotations

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.explain import compare_params, dense_params, params_table
from cnnkit.models import Sequential


def test_a_224x224x3_image_into_1000_units_needs_150_529_000_weights():
    assert dense_params((224, 224, 3), 1000) == 150_529_000
    assert dense_params(784, 10) == 7_850


def test_rows_for_a_dense_only_model():
    model = Sequential([L.Input((32, 32, 3)), L.Flatten(), L.Dense(100)])
    flatten, dense = compare_params(model)
    assert flatten.params == 0 and flatten.dense is None
    assert flatten.output_shape == (3072,)
    assert dense.params == dense.dense == (3072 + 1) * 100
    assert dense.input_shape == (3072,) and dense.output_shape == (100,)


def test_conv_rows_compare_with_a_dense_layer_between_the_same_values():
    model = zoo.get("tutorial-cifar10", (32, 32, 3), 10)
    rows = compare_params(model)
    first = rows[0]
    assert first.input_shape == (32, 32, 3) and first.output_shape == (30, 30, 32)
    assert first.params == 896  # (3 * 3 * 3 + 1) * 32
    assert first.dense == (32 * 32 * 3 + 1) * 30 * 30 * 32 == 88_502_400
    assert sum(row.params for row in rows) == model.count_params() == 122_570


def test_batch_normalization_counts_as_in_summary_and_has_no_dense_twin():
    model = zoo.get("small-cnn", (32, 32, 3), 10)
    rows = compare_params(model)
    assert sum(row.params for row in rows) == model.count_params()
    norm = next(row for row in rows if "BatchNormalization" in row.layer)
    assert norm.params == 4 * 32 and norm.dense is None


def test_table_text():
    model = Sequential([L.Input((224, 224, 3)), L.Conv2D(8, 3, strides=4),
                        L.GlobalAveragePooling2D(), L.Dense(10, activation="softmax")])
    text = params_table(model)
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "input", "output", "params", "dense", "params",
                                "dense", "/", "params"]
    conv = (224 * 224 * 3 + 1) * 56 * 56 * 8
    assert lines[1].split() == [model.layers[0].name, "(Conv2D)", "224x224x3", "56x56x8",
                                "224", f"{conv:,}", f"{conv / 224:,.0f}x"]
    assert lines[2].split()[-3:] == ["0", "-", "-"]  # pooling: nothing to compare
    assert f"this model: {model.count_params():,} parameters" in text
    assert f"same layer sizes: {conv + 90:,} parameters" in text
    assert text.endswith("(150,528 + 1) x 1,000 = 150,529,000 weights")
    assert params_table(model, units=10).endswith("= 1,505,290 weights")
