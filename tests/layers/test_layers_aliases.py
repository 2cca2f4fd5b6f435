"""Keras's second layer names (``MaxPool2D``, ``AvgPool2D``, ...) are the same classes."""

from __future__ import annotations

import pytest

from cnnkit.keras import layers, models
from keras_reference import load_json, param_counts

ALIASES = {"MaxPool2D": "MaxPooling2D", "AvgPool2D": "AveragePooling2D",
           "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool2D": "GlobalMaxPooling2D",
           "Convolution2D": "Conv2D", "SeparableConvolution2D": "SeparableConv2D"}


@pytest.mark.parametrize("alias", ALIASES)
def test_alias_is_the_keras_class_and_found_by_name(alias: str) -> None:
    assert getattr(layers, alias) is getattr(layers, ALIASES[alias])
    assert layers.get(alias) is getattr(layers, ALIASES[alias])
    assert alias in layers.__all__


@pytest.mark.parametrize("alias", ALIASES)
def test_alias_matches_keras_shapes_and_params(alias: str) -> None:
    cases = [c for c in load_json("layer_shapes.json")["cases"]
             if c["layer"] == ALIASES[alias]][:20]
    assert cases
    for case in cases:
        layer = layers.deserialize({"class_name": alias, "config": case["args"]})
        assert layer.compute_output_shape(tuple(case["input_shape"])) == \
            tuple(case["output_shape"])
        assert sum(param_counts(layer.build_module(tuple(case["input_shape"])))) == \
            case["params"]


def test_summary_shows_the_keras_class_name() -> None:
    model = models.Sequential([layers.Input((8, 8, 3)), layers.MaxPool2D(),
                               layers.GlobalAvgPool2D()])
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "(MaxPooling2D)" in text and "(GlobalAveragePooling2D)" in text
