"""Why convolutions: a model's parameter count next to a dense network's on the same input.

A Dense layer connects every input value to every unit: ``(inputs + 1) x units`` weights
(the +1 is each unit's bias). A convolution reuses one small kernel at every position, so
its count does not grow with the image. The comparison puts, for every layer with weights,
the layer's own count next to that of a Dense layer mapping the same input values to the
same number of output values; layers without a kernel (pooling, BatchNormalization) count
the same in both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..tables import format_table

DEFAULT_UNITS = 1000


def dense_params(input_shape: Sequence[int] | int, units: int) -> int:
    """Weights and biases of a Dense layer from ``input_shape`` values to ``units`` units:
    224x224x3 into 1,000 units needs (150,528 + 1) x 1,000 = 150,529,000."""
    inputs = input_shape if isinstance(input_shape, int) else math.prod(input_shape)
    return (inputs + 1) * units


@dataclass
class ParamRow:
    """One layer: its input and output shapes, its own parameter count and, for a layer
    with weights, that of a Dense layer between the same number of values (else None)."""

    layer: str
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    params: int
    dense: int | None


def compare_params(model) -> list[ParamRow]:
    """A :class:`ParamRow` per layer of ``model``, in order (for a wrapped torch module, per
    top-level child). Parameter counts match ``model.summary()`` (BatchNormalization's
    moving statistics included)."""
    if not model.built:
        model.build()
    if hasattr(model, "child_rows"):  # a wrapped torch module (ModuleModel): its children
        return [ParamRow(label, shape_in, shape_out, count,
                         dense_params(shape_in, math.prod(shape_out)) if learns else None)
                for label, shape_in, shape_out, count, learns in model.child_rows()]
    rows = []
    inputs: dict[str, tuple[int, ...]] = {}  # each layer's (first) input shape
    for layer, shape in model.net.layer_inputs():
        inputs.setdefault(layer.name, tuple(shape))
    for layer, out in zip(model.layers, model.net.shapes, strict=True):
        shape = inputs[layer.name]
        weights = layer.get_keras_weights(model.net.ops[layer.name])
        count = sum(w.size for w in weights)
        learns = any(spec.layout != "vector" for spec in layer.weight_specs())
        rows.append(ParamRow(f"{layer.name} ({type(layer).__name__})", shape, tuple(out),
                             count, dense_params(shape, math.prod(out)) if learns else None))
    return rows


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def params_table(model, units: int = DEFAULT_UNITS) -> str:
    """The comparison as text: a row per layer, the totals, and for scale one Dense layer
    from the model's input to ``units`` units."""
    rows = compare_params(model)
    lines = format_table(
        ["layer", "input", "output", "params", "dense params", "dense / params"],
        [(row.layer, _shape(row.input_shape), _shape(row.output_shape), row.params, row.dense,
          None if row.dense is None or not row.params else f"{row.dense / row.params:,.0f}x")
         for row in rows])
    total = sum(row.params for row in rows)
    dense_total = sum(row.params if row.dense is None else row.dense for row in rows)
    shape = tuple(model.input_shape[1:])
    lines += [
        "",
        f"this model: {total:,} parameters",
        f"a dense network with the same layer sizes: {dense_total:,} parameters"
        + (f" ({dense_total / total:,.0f} times as many)" if total else ""),
        f"for scale: one Dense layer from the {_shape(shape)} input "
        f"({math.prod(shape):,} values) to {units:,} units needs "
        f"({math.prod(shape):,} + 1) x {units:,} = {dense_params(shape, units):,} weights",
    ]
    return "\n".join(lines)
