"""Every case of the Keras oracle's layer_shapes.json: output shapes and parameter counts.

Each case is checked twice for the shape: by ``compute_output_shape`` and by running the
built module on a zero batch of one sample.
"""

from __future__ import annotations

import pytest

from cnnkit import layers
from keras_reference import load_json, param_counts, reference_cases, run

CASES = reference_cases("layer_shapes.json")


def _case_id(case: dict | None) -> str:
    if case is None:
        return "missing"
    args = ",".join(f"{k}={v}" for k, v in case["args"].items()).replace(" ", "")
    return f"{case['layer']}({args})-{'x'.join(map(str, case['input_shape']))}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_keras_output_shape_and_params(case: dict) -> None:
    layer = layers.get(case["layer"])(**case["args"])
    input_shape = tuple(case["input_shape"])
    expected = tuple(case["output_shape"])

    assert layer.compute_output_shape(input_shape) == expected
    module = layer.build_module(input_shape)
    assert run(module, input_shape).shape[1:] == expected
    assert sum(param_counts(module)) == case["params"]


def test_case_count() -> None:
    assert len(load_json("layer_shapes.json")["cases"]) == 934


def test_batchnorm_split_between_trainable_and_not() -> None:
    expected = load_json("layer_shapes.json")["batchnorm_16_channels"]
    module = layers.BatchNormalization().build_module((8, 8, 16))
    assert param_counts(module) == (expected["trainable"], expected["non_trainable"])
