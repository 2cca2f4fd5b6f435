"""`ModuleModel`: a famous architecture written as a plain torch module, as a Keras model.

A network of the zoo's catalog (zoo/catalog.py: an entry whose ``build(num_classes=...)``
returns a module with ``forward_features``/``forward_head``/``num_features``) becomes a
model with Keras's application arguments: ``classes``, ``include_top``, ``pooling``
(``None``, ``"avg"``, ``"max"``), ``input_shape`` and ``classifier_activation``. It
compiles, fits, predicts, saves and loads like any model (its config names the
architecture and the options), and it is a layer of other models: the transfer-learning
flow ::

    base = ModuleModel(resnet18, include_top=False, pooling="avg")
    base.trainable = False  # its batch norms then run in inference mode, as in Keras
    model = Sequential([Input((224, 224, 3)), base, Dense(10, activation="softmax")])

Its weights keep the module's own names: ``model.torch_module`` is the built module and
``model.net.state_dict()`` has exactly its keys (torchvision's), so
``model.torch_module.load_state_dict(torchvision_state, strict=True)`` loads published
weights. Without the head (``include_top=False``), the head's children are removed, as
Keras's ``include_top=False`` has no head weights. ``get_weights()`` gives the state in
the module's order and torch's layout (there is no Keras layout for these modules).

The catalog entries this finds by name (for ``load_model``) are those registered with
:func:`register_network`. The zoo registers its own when imported; a name not registered
yet imports the zoo first (:data:`BUILT_IN_CATALOG`), so ``load_model`` opens a saved zoo
model in a program that never imported ``cnnkit.zoo``.
"""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import layers as layer_lib
from ..errors import ConfigError, LayerError, ShapeError
from ..naming import did_you_mean
from .model import Model
from .module_net import ModuleNet
from .preprocess import RAW_PIXELS
from .summary import format_shape

NETWORKS: dict[str, Any] = {}  # catalog entries by name, for configs
# the package that registers the built-in networks when imported: named, not imported
# here, because it is built on this one (it sits on a higher layer)
BUILT_IN_CATALOG = "cnnkit.zoo"
POOLINGS = (None, "avg", "max")


def register_network(entry) -> None:
    """Let configs (saved models) name this catalog entry."""
    NETWORKS[entry.name] = entry


class ModuleModel(Model):
    """A catalog network as a model (see the module docstring).

    ``network`` is a catalog entry or the name of a registered one; ``classes`` (or
    ``num_classes``) the head's outputs; other keyword arguments go to the entry's
    ``build``.
    """

    # it takes raw pixel values and normalises them itself, so a model it is the first
    # layer of gives it raw pixels too (models/inputs.py takes_raw_pixels)
    rescales_input = True


    def __init__(self, network, input_shape=None, classes: int = 1000,
                 include_top: bool = True, pooling: str | None = None,
                 classifier_activation: str | None = "softmax", name: str | None = None,
                 trainable: bool = True, **options):
        self.entry = _entry(network)
        self._init_model(name or layer_lib.unique_name(self.entry.name.replace("-", "_")),
                         trainable)
        classes = options.pop("num_classes", classes)
        if isinstance(classes, bool) or not isinstance(classes, int) or classes < 1:
            raise ConfigError(f"{self.entry.name}: classes must be a positive integer, "
                              f"got {classes!r}")
        if pooling not in POOLINGS:
            raise ConfigError(f"{self.entry.name}: pooling={pooling!r} is not one of None, "
                              "'avg', 'max'", hint=did_you_mean(str(pooling), ["avg", "max"]))
        self.classes, self.include_top, self.pooling = classes, bool(include_top), pooling
        self.classifier_activation = layer_lib.Layer._activation(classifier_activation)
        self.options = dict(options)
        size = self.entry.input_size
        self._input_shape = _shape(input_shape or (size, size, 3), self.entry)
        self._rows: list[tuple[str, tuple, tuple]] = []  # name, input, output
        try:
            module = self.entry.build(num_classes=classes, **self.options)
        except TypeError as exc:  # an option the architecture does not take
            raise ConfigError(f"{self.entry.name}: {exc}",
                              hint="pass only the options its builder takes") from None
        self.net = ModuleNet(module, self.include_top, pooling,
                             self.classifier_activation if self.include_top else None,
                             self.entry.mean, self.entry.std, _first_channels(module))
        self._trace(drop_head=not self.include_top)
        self.net.to(memory_format=torch.channels_last)
        self._apply_trainable()

    @property
    def torch_module(self) -> nn.Module:
        """The wrapped module (torchvision's parameter names), e.g. for
        ``load_state_dict(state, strict=True)``."""
        return self.net.module

    # -- structure -----------------------------------------------------------------------
    def build(self, input_shape=None) -> None:
        """Take a new input shape (the module takes any size its strides allow); the
        weights stay."""
        if input_shape is not None:
            shape = _shape(tuple(input_shape)[-3:], self.entry)
            if shape != self._input_shape:
                self._input_shape = shape
                self._trace(drop_head=False)
        self._set_fusion()

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self.build(shape)
        return self.net.output_shape

    def _fusable_activation(self) -> str | None:
        return self.classifier_activation if self.include_top else None

    @property
    def final_activation(self) -> str | None:
        """The head's ``classifier_activation`` (None without the head)."""
        return self._fusable_activation()

    def _trace(self, drop_head: bool) -> None:
        """One image through the module: each top-level child's output shape (for
        ``summary()``), the output shape, and (``drop_head``) the head's children, which
        are then removed."""
        module, seen, order = self.net.module, {}, []

        def hook(name):
            def record(_module, inputs, output):
                if isinstance(output, torch.Tensor) and name not in seen:
                    first = inputs[0] if inputs else None
                    seen[name] = (_keras_shape(first) if isinstance(first, torch.Tensor)
                                  else (), _keras_shape(output))
                    order.append(name)
            return record

        handles = [child.register_forward_hook(hook(name))
                   for name, child in module.named_children()]
        x = torch.zeros(1, self._input_shape[2], *self._input_shape[:2])
        was_training = self.net.training
        self.net.eval()
        try:
            with torch.no_grad():
                features = module.forward_features(self.net.prepare(x))
                in_features = set(order)
                head = (module.forward_head(features) if self.include_top or drop_head
                        else None)
        except RuntimeError as exc:
            raise ShapeError(f"{self.entry.name} cannot take inputs of shape "
                             f"{self._input_shape}: {str(exc).splitlines()[0]}",
                             hint=f"give input_shape=(H, W, 3) with sides of at least "
                                  f"{self.entry.min_input}") from None
        finally:
            for handle in handles:
                handle.remove()
            self.net.train(was_training)
        if drop_head:
            for name in {n for n in order if n not in in_features}:
                delattr(module, name)
        self.net.output_shape = (_keras_shape(head) if self.include_top
                                 else (features.shape[1],) if self.pooling
                                 else _keras_shape(features))
        self._rows = [(name, *seen[name]) for name, _ in module.named_children()
                      if name in seen]

    def child_rows(self) -> list[tuple[str, tuple, tuple, int, bool]]:
        """One row per top-level child of the module that an image passes through, in
        definition order: ``"name (Kind)"``, its (first) input and its output shape per
        image (channels-last; ``()`` for a non-tensor input), its weights and statistics
        (as ``summary()`` counts them), and whether it has a kernel (a weight of 2 or more
        dimensions)."""
        rows = []
        for name, shape_in, shape_out in self._rows:
            child = getattr(self.net.module, name)
            rows.append((f"{name} ({type(child).__name__})", shape_in, shape_out,
                         sum(p.numel() for p in child.parameters()) + _statistics(child),
                         any(p.dim() > 1 for p in child.parameters())))
        return rows

    def _summary_rows(self) -> list[tuple]:
        rows = [(label, format_shape(shape), count)
                for label, _, shape, count, _ in self.child_rows()]
        if not self.include_top and self.pooling:
            kind = "GlobalAveragePooling2D" if self.pooling == "avg" else "GlobalMaxPooling2D"
            rows.append((f"{self.pooling}_pool ({kind})", format_shape(self.net.output_shape),
                         0))
        return rows

    # -- the layer side ------------------------------------------------------------------
    def leaf_layers(self) -> list:
        """The model is one leaf: nothing inside is a Keras layer."""
        return [self]

    def holds_weights(self) -> bool:
        """True: the network has weights (uint8 images are scaled, not raw)."""
        return True

    def trainable_flags(self, trainable: bool) -> list[bool]:
        """One flag for the whole module."""
        return [trainable]

    def freeze_module(self, module: nn.Module, trainable: bool) -> None:
        """Freeze the weights, and run batch norm in inference mode, when not trainable."""
        module.requires_grad_(trainable)
        module.inference_only = not trainable
        module.train(module.training)

    param_counts = layer_lib.Layer.param_counts

    def get_keras_weights(self, module: nn.Module) -> list[np.ndarray]:
        """The state (weights and statistics) in the module's order, torch's layout."""
        return [t.detach().numpy().copy() for t in _state(module).values()]

    def set_keras_weights(self, module: nn.Module, weights) -> None:
        """Load arrays given in :meth:`get_keras_weights`' order and layout."""
        state, weights = _state(module), list(weights)
        if len(weights) != len(state):
            raise ShapeError(f"model {self.name!r} has {len(state)} weight arrays, got "
                             f"{len(weights)}")
        for (key, tensor), array in zip(state.items(), weights, strict=True):
            if tuple(np.shape(array)) != tuple(tensor.shape):
                raise ShapeError(f"weight {key} has shape {tuple(tensor.shape)}, got "
                                 f"{tuple(np.shape(array))}")
        with torch.no_grad():
            for tensor, array in zip(state.values(), weights, strict=True):
                tensor.copy_(torch.as_tensor(np.asarray(array)))

    @property
    def preprocess(self):
        """Raw pixel values: the network normalises them itself (models/module_net.py)."""
        return RAW_PIXELS

    @preprocess.setter
    def preprocess(self, value) -> None:
        """Kept for the Model interface; a wrapped network always takes raw pixels."""

    # -- config --------------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """The architecture's name and the options it was built with."""
        return {"name": self.name, "trainable": self.trainable, "network": self.entry.name,
                "input_shape": list(self._input_shape), "classes": self.classes,
                "include_top": self.include_top, "pooling": self.pooling,
                "classifier_activation": self.classifier_activation, "options": self.options}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> ModuleModel:
        """A new, untrained model from :meth:`get_config` output."""
        config = dict(config)
        options = config.pop("options", None) or {}
        keep = ("name", "trainable", "input_shape", "classes", "include_top", "pooling",
                "classifier_activation")
        return cls(config["network"], **{k: config[k] for k in keep if k in config},
                   **options)


def _entry(network):
    if isinstance(network, str):
        if network not in NETWORKS:
            importlib.import_module(BUILT_IN_CATALOG)  # registers the built-in networks
        if network not in NETWORKS:
            raise ConfigError(f"unknown network {network!r}",
                              hint="register its catalog entry first (register_network); "
                                   + did_you_mean(network, NETWORKS))
        return NETWORKS[network]
    if not callable(getattr(network, "build", None)) or not hasattr(network, "name"):
        raise LayerError(f"ModuleModel takes a catalog entry (zoo/catalog.py Network) or its "
                         f"name, got {type(network).__name__}")
    register_network(network)
    return network


def _shape(shape, entry) -> tuple[int, ...]:
    shape = tuple(int(d) for d in shape)
    channels = (1, entry.channels)
    if len(shape) != 3 or min(shape[:2]) < entry.min_input or shape[2] not in channels:
        raise ShapeError(f"{entry.name} takes images (H, W, C) of at least "
                         f"{entry.min_input}x{entry.min_input} with "
                         f"{' or '.join(map(str, sorted(set(channels))))} channel(s), got "
                         f"input_shape {shape}",
                         hint=_shape_hint(shape, entry))
    return shape


def _shape_hint(shape: tuple[int, ...], entry) -> str:
    """What to change: the channels when only they are wrong, else the size (with the
    flag of ``cnnkit train``, the command that resizes images)."""
    if len(shape) == 3 and min(shape[:2]) >= entry.min_input:
        return (f"{entry.name} takes {entry.channels}-channel (or grayscale) images; load "
                f"them as {'RGB' if entry.channels == 3 else 'grayscale'}")
    return (f"e.g. input_shape=({entry.input_size}, {entry.input_size}, {entry.channels}); "
            f"in cnnkit train, --image-size {max(entry.min_input, 32)} or more")


def _first_channels(module: nn.Module) -> int:
    """The channels the module's first convolution takes (3 when it has none)."""
    conv = next((m for m in module.modules() if isinstance(m, nn.Conv2d)), None)
    return 3 if conv is None else conv.in_channels


def _keras_shape(t: torch.Tensor) -> tuple[int, ...]:
    """A tensor's sample shape, channels-last for images."""
    return (*t.shape[2:], t.shape[1]) if t.dim() == 4 else tuple(t.shape[1:])


def _statistics(module: nn.Module) -> int:
    return sum(b.numel() for name, b in module.named_buffers()
               if not name.endswith("num_batches_tracked"))


def _state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v for k, v in module.state_dict().items()
            if not k.endswith("num_batches_tracked")}

