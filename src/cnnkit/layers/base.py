"""The Layer base class: Keras naming, arguments, config round trip and weight I/O.

A cnnkit layer is a description, as in Keras: its constructor takes Keras's arguments,
``compute_output_shape`` infers shapes (channels-last, without the batch dimension) and
``build_module`` makes the torch module that computes it for one input shape. Modules
take NCHW image batches (channels_last memory format) or ``(N, F)`` feature batches.

As in Keras, a layer is built once: :meth:`Layer.module_for` keeps the module, so a layer
used in two models shares its weights, and a trained model nested in a new one keeps
them. ``trainable`` may change at any time; a model applies it to the modules when it is
compiled (:meth:`Layer.freeze_module`), as Keras 3 does.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Sequence
from contextlib import contextmanager
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from cnnkit import activations, initializers
from cnnkit.errors import LayerError, LayerShapeError
from cnnkit.layers.calls import batch_tensor, run_module
from cnnkit.layers.padding import PADDING_MODES, effective_kernel, output_length
from cnnkit.layers.symbolic import KerasTensor, call_symbolic, symbolic_inputs
from cnnkit.layers.weights import Weight
from cnnkit.naming import did_you_mean
from cnnkit.registry import lookup, snake_case

_NAME_COUNTS: dict[str, int] = {}
_LAYER_CLASSES: dict[str, type[Layer]] = {}

# Keras arguments cnnkit accepts and keeps in the config without acting on them.
_KEPT_KERAS_ARGS = frozenset({
    "dtype", "autocast", "data_format", "batch_size", "sparse", "ragged", "synchronized",
    "activity_regularizer", "kernel_regularizer", "bias_regularizer", "depthwise_regularizer",
    "pointwise_regularizer", "beta_regularizer", "gamma_regularizer", "kernel_constraint",
    "bias_constraint", "depthwise_constraint", "pointwise_constraint", "beta_constraint",
    "gamma_constraint", "lora_rank", "lora_alpha", "quantization_config",
})


def unique_name(prefix: str) -> str:
    """Keras's automatic name: ``prefix``, then ``prefix_1``, ``prefix_2``, ... per session."""
    count = _NAME_COUNTS.get(prefix, 0)
    _NAME_COUNTS[prefix] = count + 1
    return prefix if count == 0 else f"{prefix}_{count}"


@contextmanager
def kept_name_counters():
    """Automatic names continue after the block as if it had not run (a throw-away build,
    e.g. on the meta device, must not turn the real model's ``dense`` into ``dense_1``)."""
    saved = dict(_NAME_COUNTS)
    try:
        yield
    finally:
        _NAME_COUNTS.clear()
        _NAME_COUNTS.update(saved)


def reset_name_counters() -> None:
    """Restart automatic names at ``conv2d``, ``dense``, ... (Keras ``clear_session()``)."""
    _NAME_COUNTS.clear()


def get(class_name: str) -> type[Layer]:
    """The layer class with this Keras class name; a typo gets a "did you mean" hint."""
    return lookup(_LAYER_CLASSES, class_name, "layer")


def register_alias(alias: str, cls: type[Layer]) -> None:
    """Let ``get(alias)`` (and configs naming ``alias``) find ``cls``, as Keras's second
    names do (``MaxPool2D`` is ``MaxPooling2D``)."""
    _LAYER_CLASSES[alias] = cls


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def _jsonable(value: Any) -> Any:
    """Tuples become lists, recursively, so a config survives a JSON round trip unchanged."""
    if isinstance(value, tuple | list):
        return [_jsonable(item) for item in value]
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    return value


class Layer:
    """Base of all layers: a Keras-style description that builds a torch module.

    Subclasses store each constructor argument under its own name (normalised, e.g. a
    kernel size as a tuple), which is what :meth:`get_config` returns.
    """

    keras_name: ClassVar[str] = "Layer"
    activation: str | None = None
    # True for layers that scale raw pixel values themselves (Rescaling): a model that
    # meets one before any weights gets uint8 images as raw floats, as in Keras.
    rescales_input: ClassVar[bool] = False
    _module: nn.Module | None = None  # the module built last, for _built_shape
    _built_shape: tuple[int, ...] | None = None
    inbound_node_count = 0  # calls on symbolic tensors so far (Keras's node indices)
    takes_many_inputs: ClassVar[bool] = False  # merge layers take a list of tensors

    def __init_subclass__(cls, keras_name: str | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.keras_name = keras_name or cls.__name__
        if not cls.__name__.startswith("_"):
            _LAYER_CLASSES[cls.__name__] = cls
            _LAYER_CLASSES[cls.keras_name] = cls

    def __init__(self, *, name: str | None = None, input_shape: Sequence[int] | None = None,
                 trainable: bool = True, **kwargs: Any) -> None:
        self.name = unique_name(snake_case(self.keras_name)) if name is None else name
        if not isinstance(self.name, str) or not self.name:
            raise LayerError(f"{self.keras_name}: name must be a non-empty string, "
                             f"got {name!r}")
        self.trainable = bool(trainable)
        self.input_shape = None if input_shape is None else self._shape(input_shape, "input")
        self.keras_args = self._keep_keras_args(kwargs)

    def __repr__(self) -> str:
        return f"<{self.keras_name} {self.name!r}>"

    @property
    def trainable(self) -> bool:
        """Whether training may change this layer's weights. Setting it takes effect for
        ``fit()`` at the model's next ``compile()``, as in Keras 3; ``summary()`` and
        ``count_params`` splits show it at once."""
        return self._trainable

    @trainable.setter
    def trainable(self, value: bool) -> None:
        self._trainable = bool(value)

    def declared_input_shape(self) -> tuple[int, ...] | None:
        """The input shape given to the constructor (``input_shape=``), if any."""
        return self.input_shape

    # -- arguments -------------------------------------------------------------------

    def error(self, message: str, hint: str | None = None,
              kind: type[LayerError] = LayerError) -> LayerError:
        """A :class:`LayerError` (or ``kind``) whose message starts with this layer's name
        and class."""
        return kind(f"{self.name} ({self.keras_name}): {message}", hint)

    def _keep_keras_args(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        for key, value in kwargs.items():
            if key not in _KEPT_KERAS_ARGS:
                valid = [*self._config_params(), "name", "input_shape", "trainable"]
                raise self.error(f"unknown argument {key!r}", hint=did_you_mean(key, valid))
            if key == "data_format" and value not in (None, "channels_last"):
                raise self.error(f"data_format={value!r} is not supported",
                                 hint="cnnkit layers take channels-last shapes "
                                      "(height, width, channels); drop data_format")
            if value is not None and key.endswith(("regularizer", "constraint", "lora_rank")):
                warnings.warn(f"{self.name}: cnnkit does not apply {key} yet; it is only kept "
                              "in the config", stacklevel=4)
        return dict(kwargs)

    def _int_tuple(self, value: Any, arg: str, minimum: int = 1) -> tuple[int, int]:
        """An int or a pair of ints, each at least ``minimum``, as a pair (e.g. kernel_size)."""
        items = (value, value) if _is_int(value) else value
        if isinstance(items, Sequence) and not isinstance(items, str) and len(items) == 2 \
                and all(_is_int(v) and v >= minimum for v in items):
            return int(items[0]), int(items[1])
        raise self.error(f"{arg} must be an integer >= {minimum} or a pair of them, "
                         f"got {value!r}")

    def _border_sizes(self, value: Any, arg: str) -> tuple[tuple[int, int], tuple[int, int]]:
        """``((top, bottom), (left, right))`` from an int (all sides), ``(rows, cols)``
        (symmetric) or the full form, as Keras's ZeroPadding2D and Cropping2D take it."""
        if isinstance(value, Sequence) and len(value) == 2 \
                and all(isinstance(side, Sequence) for side in value):
            rows, cols = value
        else:
            rows, cols = self._int_tuple(value, arg, minimum=0)
        return self._int_tuple(rows, arg, minimum=0), self._int_tuple(cols, arg, minimum=0)

    def _positive_int(self, value: Any, arg: str) -> int:
        if _is_int(value) and value >= 1:
            return int(value)
        raise self.error(f"{arg} must be a positive integer, got {value!r}")

    def _choice(self, value: Any, arg: str, choices: Sequence[str]) -> str:
        if isinstance(value, str) and value.lower() in choices:
            return value.lower()
        raise self.error(f"{arg}={value!r} is not one of {', '.join(choices)}",
                         hint=did_you_mean(str(value), choices))

    def _padding(self, value: Any) -> str:
        return self._choice(value, "padding", PADDING_MODES)

    def _rate(self, value: Any) -> float:
        """A dropout rate in [0, 1]."""
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise self.error(f"rate must be a number between 0 and 1, got {value!r}")
        return float(value)

    def _initializer(self, value: Any) -> Any:
        """An initialiser name or Keras dict, checked now so a typo fails early."""
        initializers.get(value)
        return value

    def _shape(self, shape: Any, what: str) -> tuple[int, ...]:
        try:
            dims = tuple(shape)
        except TypeError:
            dims = None
        if not dims or not all(_is_int(d) and d >= 1 for d in dims):
            raise self.error(f"{what} shape must be positive integers without the batch "
                             f"dimension, e.g. (28, 28, 1), got {shape!r}")
        return tuple(int(d) for d in dims)

    @staticmethod
    def _activation(name: str | None) -> str | None:
        return activations.validate(name)

    # -- config ----------------------------------------------------------------------

    @classmethod
    def _config_params(cls) -> list[str]:
        """Constructor arguments other than the ones every layer takes."""
        skip = {"self", "name", "input_shape", "trainable"}
        return [p.name for p in inspect.signature(cls.__init__).parameters.values()
                if p.name not in skip and p.kind is not p.VAR_KEYWORD]

    def get_config(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments, including the name; see :meth:`from_config`."""
        config: dict[str, Any] = {"name": self.name, "trainable": self.trainable}
        config.update({param: getattr(self, param) for param in self._config_params()})
        if self.input_shape is not None:
            config["input_shape"] = self.input_shape
        config.update(self.keras_args)
        return _jsonable(config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Layer:
        """A new layer from :meth:`get_config` output (or a Keras layer config)."""
        return cls(**config)

    # -- shapes and modules ----------------------------------------------------------

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """Output shape (channels-last, no batch dimension) for this input shape.

        Raises :class:`LayerError` naming the layer when the input does not fit it.
        """
        return self._output_shape(self._shape(input_shape, "input"))

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return shape

    def build_module(self, input_shape: Sequence[int]) -> nn.Module:
        """A torch module computing this layer (without its activation) for this input.

        Weights are initialised as in Keras; a non-trainable layer's parameters do not
        require gradients.
        """
        shape = self._shape(input_shape, "input")
        self._output_shape(shape)
        module = self._make_module(shape)
        for weight in self.weight_specs():
            weight.initialize(module)
        if not self.trainable:
            module.requires_grad_(False)
        return module

    def _make_module(self, shape: tuple[int, ...]) -> nn.Module:
        return nn.Identity()

    def module_for(self, input_shape: Sequence[int]) -> nn.Module:
        """This layer's module for ``input_shape``: the one built before for that shape (a
        layer is built once, as in Keras, so its weights are shared by every model that
        uses it), else a new one."""
        shape = self._shape(input_shape, "input")
        if self._module is None or self._built_shape != shape:
            self._module = self.build_module(shape)
            self._built_shape = shape
        return self._module

    @property
    def built_module(self) -> nn.Module | None:
        """The module built last (None before the layer is part of a built model)."""
        return self._module

    def _require_module(self, what: str) -> nn.Module:
        module = self.built_module
        if module is None:
            raise self.error(f"{what}: the layer is not built yet",
                             hint="add it to a model with a known input shape first (e.g. "
                                  "after layers.Input((H, W, C))), or call model.build()")
        return module

    def trainable_flags(self, trainable: bool) -> list[bool]:
        """Whether this layer trains (``trainable``: its own flag and its models')."""
        return [trainable]

    def freeze_module(self, module: nn.Module, trainable: bool) -> None:
        """Let training change ``module``'s weights or not (``trainable``: this layer's
        flag and its models'); a model calls it when compiled."""
        module.requires_grad_(trainable)

    def param_counts(self, module: nn.Module, trainable: bool) -> tuple[int, int]:
        """``(trainable, non-trainable)`` weight counts of ``module`` when the layer and
        its models are ``trainable``; statistics (BatchNorm's moving mean and variance)
        never train."""
        params = sum(p.numel() for p in module.parameters())
        statistics = sum(b.numel() for name, b in module.named_buffers()
                         if not name.endswith("num_batches_tracked"))
        return (params, statistics) if trainable else (0, params + statistics)

    def count_params(self) -> int:
        """How many weights the layer has, trainable or not (Keras's ``count_params``)."""
        return sum(self.param_counts(self._require_module("count_params()"), True))

    def get_weights(self) -> list[np.ndarray]:
        """The weights as NumPy arrays in Keras order and layout (``[]`` before building)."""
        module = self.built_module
        return [] if module is None else self.get_keras_weights(module)

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Load weights given in Keras order and layout (as Keras's ``get_weights``)."""
        self.set_keras_weights(self._require_module("set_weights()"), list(weights))

    def __call__(self, inputs: Any, training: bool | None = None) -> torch.Tensor | KerasTensor:
        """Apply the built layer to a batch (array or tensor, channels-last), as calling a
        Keras layer does: float32 values as given, ``training=True`` for training-mode
        behaviour (dropout, random augmentation). Returns a channels-last tensor.

        Called on symbolic tensors (``layers.Input``, or another layer's symbolic output),
        it records the call for a functional ``Model`` and returns a :class:`KerasTensor`."""
        symbolic = symbolic_inputs(inputs)
        if symbolic is not None:
            return self.call_symbolic(inputs, symbolic)
        x = batch_tensor(inputs)
        shape = (*x.shape[2:], x.shape[1]) if x.dim() == 4 else tuple(x.shape[1:])
        if self._built_shape not in (None, shape):
            raise self.error(f"was built for inputs of shape {self._built_shape}, got {shape}",
                             hint="call it on batches of the shape it was built for (the "
                                  "batch axis first), or use a new layer", kind=LayerShapeError)
        return run_module(self.module_for(shape), x, training,
                          activations.get(self.activation))

    def call_symbolic(self, inputs: Any, symbolic: tuple[KerasTensor, ...]) -> KerasTensor:
        """Record a call on symbolic tensors (one, or a list for a merge layer)."""
        many = isinstance(inputs, list | tuple)
        if many != self.takes_many_inputs:
            raise self.error("takes a list of tensors" if self.takes_many_inputs
                             else f"takes one tensor, got a list of {len(symbolic)}",
                             hint="merge the tensors first, e.g. layers.Concatenate()([a, b])"
                             if many else "e.g. layers.Add()([x, shortcut])")
        return call_symbolic(self, symbolic, many)

    def weight_specs(self) -> list[Weight]:
        """This layer's weights in Keras order (empty for layers without weights)."""
        return []

    def holds_weights(self) -> bool:
        """Whether the layer has weights (so it takes scaled, not raw, pixels)."""
        return bool(self.weight_specs())

    def leaf_layers(self) -> list[Layer]:
        """The layers that compute this one, in order: itself (a model: its layers')."""
        return [self]

    def set_keras_weights(self, module: nn.Module, weights: Sequence[np.ndarray]) -> None:
        """Load weights given in Keras order and layout into a module from :meth:`build_module`."""
        specs = self.weight_specs()
        if len(weights) != len(specs):
            raise self.error(f"expected {len(specs)} weight arrays, got {len(weights)}",
                             hint="give them in Keras order: " +
                                  (", ".join(w.path for w in specs) or "none"))
        for index, (spec, array) in enumerate(zip(specs, weights, strict=True)):
            expected = spec.keras_shape(module)
            if tuple(np.shape(array)) != expected:
                raise self.error(f"weight {index} ({spec.path}) has shape "
                                 f"{tuple(np.shape(array))}, expected {expected}")
        for spec, array in zip(specs, weights, strict=True):
            spec.load(module, array)

    def get_keras_weights(self, module: nn.Module) -> list[np.ndarray]:
        """The module's weights as numpy arrays in Keras order and layout."""
        return [spec.read(module) for spec in self.weight_specs()]

    # -- shape helpers for subclasses ------------------------------------------------

    def _expect_image(self, shape: tuple[int, ...]) -> None:
        if len(shape) != 3:
            raise self.error(f"expects images of shape (height, width, channels), got {shape}",
                             hint="put Flatten after the convolutional and pooling layers, "
                                  "not before, and give input_shape as (height, width, "
                                  "channels)")

    def _window_output(self, shape: tuple[int, ...], window: tuple[int, int],
                       strides: tuple[int, int], padding: str,
                       dilation: tuple[int, int] = (1, 1), what: str = "kernel"
                       ) -> tuple[int, int]:
        """Output height and width of a sliding-window op on a (H, W, C) input."""
        self._expect_image(shape)
        out = tuple(output_length(size, k, s, padding, d)
                    for size, k, s, d in zip(shape[:2], window, strides, dilation, strict=True))
        if min(out) < 1:
            span = tuple(map(effective_kernel, window, dilation))
            dilated = f" (dilated to {span[0]}x{span[1]})" if span != window else ""
            raise self.error(
                f"input {shape[0]}x{shape[1]} is smaller than {what} "
                f"{window[0]}x{window[1]}{dilated}",
                hint="use padding='same', a smaller kernel or pool size, fewer downsampling "
                     "layers before this one, or larger input images", kind=LayerShapeError)
        return out
