"""Models named on the command line: layer-spec files, built-in names and saved models.

A layer-spec file is a model written as a YAML or JSON list of Keras layers::

    - Conv2D: {filters: 32, kernel_size: 3, activation: relu}
    - MaxPooling2D: 2                 # a value that is not a mapping is the first argument
    - Flatten                         # a bare name: a layer without arguments
    - Dense: {units: auto, activation: softmax}   # auto: one unit per class of the data

The same list may sit under ``layers:`` in a mapping that also gives ``name:`` and
``input_shape: [28, 28, 1]``. Entries in Keras's own form (``{class_name: ..., config:
...}``) are accepted too. Errors name the file, the layer's position and, for YAML, its line.

:func:`resolve_model` turns any ``MODEL`` argument (a built-in architecture, a spec file or
a saved model) into a model, so every command accepts the same names and explains in the
same words why a saved model does not fit the data.
"""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from . import layers as layer_lib
from . import zoo
from .errors import ConfigError, LayerError, ShapeError
from .model_files import ARCHIVE_SUFFIXES
from .models import Sequential, load_model
from .models.memory import built_within_memory
from .naming import did_you_mean
from .yaml_files import YamlTooLarge, compose_bounded

SPEC_SUFFIXES = (".yaml", ".yml", ".json")
AUTO = "auto"
SPEC_KEYS = ("name", "input_shape", "layers")
EXAMPLE = "- Conv2D: {filters: 32, kernel_size: 3, activation: relu}"


@dataclass
class _Entry:
    """One layer of the spec, before it is made: its class, arguments and position."""

    cls: type[layer_lib.Layer]
    kwargs: dict[str, Any]
    where: str


def model_from_spec(path_or_data, input_shape: Sequence[int] | None = None,
                    num_classes: int | None = None) -> Sequential:
    """A new, untrained ``Sequential`` from a layer-spec file (.yaml/.yml/.json) or from
    the already-parsed list or mapping.

    The input shape is the spec's own (``input_shape:``, an ``Input`` layer or the first
    layer's ``input_shape``), else ``input_shape``. The last ``Dense`` layer gets
    ``num_classes`` units when its ``units`` is ``auto`` or left out; units that disagree
    with ``num_classes`` raise a :class:`ShapeError` (one sigmoid unit fits two classes).
    """
    if isinstance(path_or_data, str | os.PathLike):
        source = str(path_or_data)
        data, lines = _read(Path(path_or_data))
    else:
        source, data, lines = "layer spec", path_or_data, None
    name, spec_shape, items = _unpack(data, source)
    entries = [_entry(item, f"{source}, layer {i + 1}"
                      + (f" (line {lines[i]})" if lines else ""))
               for i, item in enumerate(items)]
    _set_classifier_units(entries, num_classes)
    model = Sequential(name=name)
    if spec_shape is not None:
        model.add(_make(_Entry(layer_lib.Input, {"shape": spec_shape}, f"{source}, input_shape")))
    for entry in entries:
        model.add(_make(entry))
    if not model.built:
        if input_shape is None:
            raise ShapeError(f"{source} does not give the model's input shape",
                             hint="add 'input_shape: [28, 28, 1]' (height, width, channels) "
                                  "to the spec, or pass an input shape (--input-shape 28x28x1 "
                                  "on the command line)")
        model.build(tuple(input_shape))
    return model


def _read(path: Path) -> tuple[Any, list[int] | None]:
    """The parsed file, and the line of each layer entry (YAML only)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"layer-spec file {path} does not exist", hint="check the path") \
            from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read layer-spec file {path}: {exc}") from exc
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}, line {exc.lineno}, column {exc.colno}: not valid JSON "
                              f"({exc.msg})", hint="check the brackets, quotes and commas "
                              "near that line") from exc
    loader = yaml.SafeLoader(text)
    try:
        node = compose_bounded(loader)
        data = None if node is None else loader.construct_document(node)
    except YamlTooLarge as exc:
        raise ConfigError(f"{path}: refused, {exc}",
                          hint="write each layer out; a layer spec needs no aliases") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f", line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start:
            problem += f", {context} that starts on line {start.line + 1}"
        raise ConfigError(f"{path}{at}: not valid YAML ({problem})",
                          hint=f"check the indentation and colons near that line; each layer "
                               f"is a list item such as '{EXAMPLE}'") from exc
    finally:
        loader.dispose()
    return data, _entry_lines(node)


def _entry_lines(node: yaml.Node | None) -> list[int] | None:
    """1-based line of each item of the layer list, found in the YAML node tree."""
    if isinstance(node, yaml.MappingNode):
        node = next((value for key, value in node.value if key.value == "layers"), None)
    if isinstance(node, yaml.SequenceNode):
        return [item.start_mark.line + 1 for item in node.value]
    return None


def _unpack(data: Any, source: str) -> tuple[str | None, Any, list]:
    """``(name, input_shape, layer items)`` from the list or the mapping form."""
    name = input_shape = None
    items = data
    if isinstance(data, dict):
        unknown = [key for key in data if key not in SPEC_KEYS]
        if unknown:
            raise ConfigError(f"{source}: unknown key {unknown[0]!r}",
                              hint=did_you_mean(str(unknown[0]), SPEC_KEYS))
        name, input_shape, items = data.get("name"), data.get("input_shape"), data.get("layers")
    if not isinstance(items, list) or not items:
        got = "nothing" if items is None else repr(items)[:40]
        raise ConfigError(f"{source}: a layer spec is a list of layers (or a mapping with "
                          f"'layers:' holding one), got {got}",
                          hint=f"write one layer per line, e.g. '{EXAMPLE}'")
    if name is not None and not isinstance(name, str):
        raise ConfigError(f"{source}: name must be text, got {name!r}")
    return name, input_shape, items


def _entry(item: Any, where: str) -> _Entry:
    """Read one list item: ``Name``, ``{Name: {arguments}}``, ``{Name: first_argument}``
    or Keras's ``{class_name: Name, config: {arguments}}``."""
    if isinstance(item, dict) and "class_name" in item:
        class_name, value = item["class_name"], item.get("config") or {}
    elif isinstance(item, dict) and len(item) == 1:
        ((class_name, value),) = item.items()
    elif isinstance(item, str):
        class_name, value = item, None
    else:
        raise ConfigError(f"{where}: expected a layer such as '{EXAMPLE}', got {item!r}",
                          hint="one layer per list item: the Keras class name, then its "
                               "arguments as a mapping")
    try:
        cls = layer_lib.get(class_name)
    except LayerError as err:
        raise LayerError(f"{where}: {err.message}", err.hint) from err
    if value is None:
        return _Entry(cls, {}, where)
    if isinstance(value, dict):
        return _Entry(cls, dict(value), where)
    first = _first_argument(cls)
    if first is None:
        raise LayerError(f"{where}: {class_name} takes no positional argument, got {value!r}",
                         hint=f"write '- {class_name}' or give arguments by name")
    return _Entry(cls, {first: value}, where)


def _first_argument(cls: type[layer_lib.Layer]) -> str | None:
    """The name of the layer's first positional argument (``filters``, ``units``, ...)."""
    params = [p for p in inspect.signature(cls).parameters.values()
              if p.kind is p.POSITIONAL_OR_KEYWORD]
    return params[0].name if params else None


def _set_classifier_units(entries: list[_Entry], num_classes: int | None) -> None:
    """Give the last Dense layer one unit per class, or check that it has them."""
    dense = [e for e in entries if e.cls is layer_lib.Dense]
    for entry in dense[:-1]:
        if entry.kwargs.get("units") == AUTO:
            raise ConfigError(f"{entry.where}: only the last Dense layer can have units: auto",
                              hint="give this layer a number of units")
    if not dense:
        return
    last = dense[-1]
    units = last.kwargs.get("units", AUTO)
    if units == AUTO:
        if num_classes is None:
            raise ShapeError(f"{last.where}: units: auto needs the number of classes",
                             hint="give the number of classes (the data gives it when "
                                  "training; --classes N for cnnkit summary)")
        last.kwargs["units"] = int(num_classes)
    elif (num_classes is not None and isinstance(units, int)
          and classes_of(units) != num_classes):
        raise ShapeError(f"{last.where}: the data has {num_classes} classes, but the spec's "
                         f"last Dense layer has {units} units",
                         hint=f"set its units to {num_classes}, or to auto (one unit per "
                              "class of the data)")


def classes_of(units: int) -> int:
    """The classes a classifier with ``units`` outputs tells apart: one sigmoid unit tells
    two."""
    return 2 if units == 1 else units


def _make(entry: _Entry) -> layer_lib.Layer:
    """The layer, with errors that say where in the spec it was written."""
    try:
        return entry.cls(**entry.kwargs)
    except LayerError as err:
        raise LayerError(f"{entry.where}: {err.message}", err.hint) from err
    except TypeError as exc:  # a missing required argument
        problem = str(exc).split("() ", 1)[-1]
        names = [p.name for p in inspect.signature(entry.cls).parameters.values()
                 if p.kind is not p.VAR_KEYWORD]
        raise LayerError(f"{entry.where}: {entry.cls.keras_name}: {problem}",
                         hint=f"{entry.cls.keras_name} takes {', '.join(names)}") from exc


def is_saved_model(name_or_path) -> bool:
    """True when ``name_or_path`` names a saved model: a folder holding ``model.json``, or a
    path ending in .keras/.cnnkit (whether or not it exists yet)."""
    path = Path(name_or_path)
    return (path / "model.json").is_file() or path.suffix.lower() in ARCHIVE_SUFFIXES


def resolve_model(name_or_path, input_shape: Sequence[int] | None,
                  num_classes: int | None) -> Sequential:
    """The model ``name_or_path`` names, for images of ``input_shape`` (H, W, C) and
    ``num_classes`` classes.

    - a built-in architecture name (``cnnkit.zoo.names()``): a new model, which needs both
      (a family's default input size when ``input_shape`` is None);
    - a layer-spec file (.yaml/.yml/.json): see :func:`cnnkit.spec.model_from_spec`;
    - a saved model (a folder with model.json, or a .keras/.cnnkit file): loaded, and
      checked against ``input_shape`` and ``num_classes`` when they are given.

    A name that is none of these raises a :class:`ConfigError` suggesting the closest
    built-in name.
    """
    text = os.fspath(name_or_path)
    check_model_name(text)
    path = Path(text)
    if path.suffix.lower() in SPEC_SUFFIXES:
        return built_within_memory(lambda: model_from_spec(path, input_shape, num_classes),
                                   text)
    if is_saved_model(path) or path.exists():
        model = load_model(path)
        check_fits(model, text, input_shape, num_classes)
        return model
    # a built-in name: a family has a default input size, a tutorial CNN is built for the data
    missing = [what for what, value in (
        ("an input shape", input_shape if zoo.find(text) in zoo.SEQUENTIAL else ()),
        ("the number of classes", num_classes)) if value is None]
    if missing:
        raise ShapeError(f"built-in architecture {text!r} needs {' and '.join(missing)}",
                         hint="on the command line: --input-shape 28x28x1 --classes 10; "
                              "in Python: zoo.get(name, (28, 28, 1), 10)")
    return zoo.get(text, input_shape, num_classes)


def check_model_name(name_or_path) -> None:
    """Raise a :class:`ConfigError` with did-you-mean unless ``name_or_path`` could name a
    model (a layer-spec file name, a saved model or other existing path, or a built-in
    architecture): a run checks this before it reads data or writes anything."""
    text = os.fspath(name_or_path)
    path = Path(text)
    if (path.suffix.lower() in SPEC_SUFFIXES or is_saved_model(path) or path.exists()
            or zoo.find(text) is not None):
        return
    raise ConfigError(f"unknown model {text!r}: not a file, a folder or a built-in architecture",
                      hint=f"give a saved model, a layer-spec file (.yaml, .json) or a "
                           f"built-in name; {did_you_mean(text, zoo.names())}")


def check_fits(model: Sequential, name: str, input_shape: Sequence[int] | None,
               num_classes: int | None) -> None:
    """Raise a :class:`ShapeError` that says what to do when a trained model does not fit
    images of ``input_shape`` in ``num_classes`` classes (``None`` is not checked)."""
    trained_shape = tuple(model.input_shape[1:])
    trained_classes = classes_of(model.output_shape[-1])
    shape_fits = input_shape is None or tuple(input_shape) == trained_shape
    classes_fit = num_classes is None or num_classes == trained_classes
    if shape_fits and classes_fit:
        return
    data_shape = trained_shape if input_shape is None else tuple(input_shape)
    data_classes = trained_classes if num_classes is None else num_classes
    fixes = []
    if not classes_fit:
        fixes.append(f"use data with the model's {trained_classes} classes")
    else:
        if data_shape[:2] != trained_shape[:2]:
            height, width = trained_shape[:2]
            fixes.append(f"resize the images to {height}x{width} (cnnkit train does so "
                         "itself with a saved model)")
        if data_shape[2:] != trained_shape[2:]:
            fixes.append("load the images as " + ("grayscale" if trained_shape[2] == 1
                                                  else f"{trained_shape[2]}-channel (RGB)"))
    raise ShapeError(f"model {name} was trained on {_shape_text(trained_shape)} images with "
                     f"{trained_classes} classes; the data has {_shape_text(data_shape)} images "
                     f"with {data_classes} classes",
                     hint=" and ".join(fixes) + ", or train a new model on this data")


def _shape_text(shape: Sequence[int]) -> str:
    return "x".join(str(d) for d in shape)
