"""The three models of the Keras oracle's summaries.txt, layer by layer.

The layers are chained by hand (compute_output_shape + build_module), so this checks
names (Keras numbers them across models in one session), output shapes and parameter
counts, including BatchNormalization's trainable / non-trainable split.
"""

from __future__ import annotations

import re

from cnnkit import layers
from keras_reference import param_counts, reference_file


def _parse_summaries(text: str) -> list[dict]:
    """Each model's rows ``(name, class, shape, params)`` and its parameter totals."""
    models = []
    for block in text.split("Model: ")[1:]:
        rows, cells = [], None
        for line in block.splitlines():
            if line.startswith("│"):  # a row; long names wrap onto a second line
                parts = [part.strip() for part in line.strip("│").split("│")]
                cells = parts if cells is None else \
                    [f"{a} {b}".strip() for a, b in zip(cells, parts, strict=True)]
            elif line.startswith(("├", "└")) and cells:
                name, class_name = re.fullmatch(r"(\S+) \((\w+)\)", cells[0]).groups()
                shape = tuple(int(d) for d in re.findall(r"\d+", cells[1]))
                rows.append((name, class_name, shape, int(cells[2].replace(",", ""))))
                cells = None
        totals = {key: int(value.replace(",", "")) for key, value in
                  re.findall(r"(Total|Non-trainable|Trainable) params: ([\d,]+)", block)}
        models.append({"rows": rows, "totals": totals})
    return models


def _tutorial_models() -> list[tuple[tuple[int, ...], list[layers.Layer]]]:
    """The MNIST and CIFAR tutorial CNNs and the small BatchNorm model, as Keras wrote them."""
    mnist = [layers.Input((28, 28, 1)),
             layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
             layers.MaxPooling2D(pool_size=(2, 2)),
             layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
             layers.MaxPooling2D(pool_size=(2, 2)),
             layers.Flatten(), layers.Dense(128, activation="relu"),
             layers.Dense(10, activation="softmax")]
    cifar = [layers.Conv2D(32, (3, 3), activation="relu", input_shape=(32, 32, 3)),
             layers.MaxPooling2D((2, 2)),
             layers.Conv2D(64, (3, 3), activation="relu"), layers.MaxPooling2D((2, 2)),
             layers.Conv2D(64, (3, 3), activation="relu"),
             layers.Flatten(), layers.Dense(64, activation="relu"), layers.Dense(10)]
    small = [layers.Input((32, 32, 3)),
             layers.Conv2D(32, 3, padding="same", use_bias=False),
             layers.BatchNormalization(), layers.Activation("relu"), layers.MaxPooling2D(2),
             layers.Conv2D(64, 3, padding="same", use_bias=False),
             layers.BatchNormalization(), layers.Activation("relu"),
             layers.GlobalAveragePooling2D(), layers.Dropout(0.3),
             layers.Dense(10, activation="softmax")]
    built = []
    for stack in (mnist, cifar, small):
        first = stack[0]
        built.append((first.input_shape, [lay for lay in stack
                                          if not isinstance(lay, layers.Input)]))
    return built


def test_tutorial_models_match_keras_summaries() -> None:
    expected = _parse_summaries(reference_file("summaries.txt").read_text(encoding="utf-8"))
    layers.reset_name_counters()
    models = _tutorial_models()
    assert len(expected) == len(models) == 3

    for (input_shape, stack), summary in zip(models, expected, strict=True):
        rows, totals = [], {"Trainable": 0, "Non-trainable": 0}
        shape = input_shape
        for layer in stack:
            module = layer.build_module(shape)
            shape = layer.compute_output_shape(shape)
            trainable, frozen = param_counts(module)
            totals["Trainable"] += trainable
            totals["Non-trainable"] += frozen
            rows.append((layer.name, layer.keras_name, shape, trainable + frozen))
        totals["Total"] = totals["Trainable"] + totals["Non-trainable"]
        assert rows == summary["rows"]
        assert totals == summary["totals"]


def test_summary_parser_reads_wrapped_rows() -> None:
    text = reference_file("summaries.txt").read_text(encoding="utf-8")
    rows = _parse_summaries(text)[2]["rows"]
    assert rows[1] == ("batch_normalization", "BatchNormalization", (32, 32, 32), 128)
