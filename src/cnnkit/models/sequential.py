"""`Sequential`: a Keras model API (build, summary, compile, fit, evaluate, predict, save)
over a PyTorch network trained by cnnkit's single training loop."""

from __future__ import annotations

import numpy as np
import torch

from .. import layers as layer_lib
from ..data.dataset import ImageDataset
from ..errors import ConfigError, LayerError, ShapeError
from ..layers.calls import batch_tensor, run_module
from ..naming import parameter_names, refuse_unsupported, reject_unknown_keywords
from ..train import losses as loss_lib
from ..train import metrics as metric_lib
from ..train import optimizers as optimizer_lib
from ..train.batches import RAW_PIXELS, ArraySource, Preprocess, to_tensor
from ..train.callbacks import CallbackList
from ..train.history import History
from ..train.loop import Task, Trainer, evaluate
from ..train.precision import model_precision
from ..train.progress import resolve_verbose
from ..train.validation_split import class_counts, split_last, warn_on_validation_classes
from .inference import Inference, check_jit_compile
from .inputs import (
    as_images,
    as_targets,
    check_classifier_output,
    check_input_shape,
    count_argument,
    takes_raw_pixels,
    validation_parts,
)
from .model_layer import _ModelLayer
from .network import Network
from .summary import format_shape, format_summary

PREDICT_BATCH = 256


class Sequential(_ModelLayer):
    """A linear stack of layers, used exactly like ``keras.Sequential``.

    The model is built from an ``Input`` layer, from the first layer's ``input_shape``, or
    from the first data it sees. Images are ``(H, W, C)`` at the surface; inside, tensors
    are NCHW in channels_last memory format. A model is a layer too: it can be a layer of
    another model (models/model_layer.py).
    """

    def __init__(self, layers=None, trainable: bool = True, name: str | None = None):
        self.name = name or layer_lib.unique_name("sequential")
        self._trainable = bool(trainable)
        self._layers: list = []
        self._input_shape: tuple[int, ...] | None = None
        self.net: Network | None = None
        self.loss: loss_lib.Loss | None = None
        self.metrics: list[metric_lib.Metric] = []
        self.optimizer: optimizer_lib.Optimizer | None = None
        self.preprocess = Preprocess()
        self.class_names: list[str] | None = None
        # fit()'s precision: fp32 as in Keras, bf16 autocast under the "mixed_bfloat16"
        # policy (train/precision.py); "auto" picks by the CPU
        self.precision = model_precision()
        self.stop_training = False
        self.history: History | None = None
        self.jit_compile: bool | str = "auto"
        self._inference: Inference | None = None
        for layer in layers or []:
            self.add(layer)

    # -- structure -----------------------------------------------------------------------
    def add(self, layer) -> None:
        """Append a layer (an ``Input`` only sets the input shape)."""
        if not isinstance(layer, layer_lib.Layer):
            raise LayerError(f"Sequential.add() takes a cnnkit layer, got {type(layer).__name__}",
                             hint="use layers from cnnkit.keras.layers (e.g. layers.Conv2D) "
                                  "or a cnnkit Sequential model")
        if layer is self:
            raise LayerError(f"model {self.name!r} cannot be a layer of itself")
        if isinstance(layer, layer_lib.Input):
            if self._layers:
                raise LayerError("Input must be the first layer of a Sequential model")
            self._input_shape = tuple(layer.shape)
            return
        if any(existing.name == layer.name for existing in self._layers):
            raise LayerError(f"two layers are named {layer.name!r}",
                             hint="layer names must be unique within a model")
        declared = layer.declared_input_shape()
        if not self._layers and self._input_shape is None and declared is not None:
            self._input_shape = tuple(declared)
        self._layers.append(layer)
        self.net = None
        if self._input_shape is not None:
            self.build()

    def pop(self):
        """Remove and return the last layer."""
        if not self._layers:
            raise LayerError("pop() on a model with no layers")
        layer = self._layers.pop()
        self.net = None
        if self._layers and self._input_shape is not None:
            self.build()
        return layer

    @property
    def layers(self) -> list:
        """The layers, without the ``Input`` marker (as Keras lists them)."""
        return list(self._layers)

    def get_layer(self, name: str | None = None, index: int | None = None):
        """The layer called ``name``, or the one at ``index`` in :attr:`layers`, as Keras."""
        if (name is None) == (index is None):
            raise LayerError("get_layer() takes a layer name or an index, not both or neither",
                             hint="e.g. model.get_layer('conv2d') or model.get_layer(index=0)")
        if index is not None:
            if not -len(self._layers) <= index < len(self._layers):
                raise LayerError(f"get_layer(index {index}): model {self.name!r} has only "
                                 f"{len(self._layers)} layers", hint="count from 0")
            return self._layers[index]
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise LayerError(f"no layer named {name!r}",
                         hint="layers: " + ", ".join(lay.name for lay in self._layers))

    @property
    def built(self) -> bool:
        """True once the input shape is known and the network exists."""
        return self.net is not None

    @property
    def input_shape(self) -> tuple:
        """``(None, H, W, C)`` as Keras reports it."""
        self._require_built()
        return (None, *self._input_shape)

    @property
    def output_shape(self) -> tuple:
        """``(None, ...)`` of the last layer."""
        self._require_built()
        return (None, *self.net.shapes[-1])

    def build(self, input_shape=None) -> None:
        """Create the network for ``input_shape`` (``(H, W, C)``, a leading ``None`` is
        allowed). Raises a LayerError naming the layer where the shapes stop working."""
        if input_shape is not None:
            shape = tuple(input_shape)
            self._input_shape = shape[1:] if len(shape) == 4 else shape
        if self._input_shape is None:
            raise ShapeError(f"model {self.name!r} does not know its input shape yet",
                             hint="start with layers.Input((H, W, C)), pass input_shape= to "
                                  "the first layer, or call build((H, W, C))")
        if not self._layers:
            raise LayerError(f"model {self.name!r} has no layers")
        self.net = Network(self._layers, self._input_shape, self._fuses_output())
        self._apply_trainable()
        if self.optimizer is not None:
            self.optimizer.torch_optimizer = None  # new weights need a new optimizer

    def _fuses_output(self) -> bool:
        return bool(self.loss is not None and self._layers and not self._nested
                    and self.loss.fuses(self._layers[-1].activation))

    def _require_built(self) -> None:
        if self.net is None:
            self.build()

    def count_params(self) -> int:
        """Total number of parameters, trainable and not (BatchNorm statistics included)."""
        trainable, frozen = self._param_counts()
        return trainable + frozen

    def _param_counts(self) -> tuple[int, int]:
        """(trainable, non-trainable) by the layers' current ``trainable`` flags."""
        self._require_built()
        return self.param_counts(self.net, self.trainable)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None, **kwargs) -> None:
        """Print the Keras table: layer, output shape, parameters, then totals.

        Keras's layout arguments (``line_length``, ``positions``, ``expand_nested``,
        ``show_trainable``, ``layer_range``) are accepted and do not change the table."""
        reject_unknown_keywords("summary()", kwargs, parameter_names(self.summary))
        self._require_built()
        rows = []
        for layer, shape in zip(self._layers, self.net.shapes, strict=True):
            trainable, frozen = layer.param_counts(self.net.ops[layer.name],
                                                   self.trainable and layer.trainable)
            rows.append((f"{layer.name} ({type(layer).__name__})", format_shape(shape),
                         trainable + frozen))
        text = format_summary(self.name, rows, *self._param_counts())
        (print_fn or print)(text)

    # -- training ------------------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1,
                jit_compile="auto", auto_scale_loss=True, **kwargs) -> None:
        """Choose the optimizer, loss and metrics by Keras name or object.

        ``jit_compile`` says when ``predict()`` runs a ``torch.compile``d network: True,
        False, or "auto" (after 50,000 predicted images); see models/inference.py.
        ``run_eagerly``, ``steps_per_execution`` and ``auto_scale_loss`` change only how
        Keras runs, not what it computes, and are accepted without effect;
        ``loss_weights`` and ``weighted_metrics`` must stay None."""
        reject_unknown_keywords("compile()", kwargs, parameter_names(self.compile))
        refuse_unsupported("compile()", loss_weights=(loss_weights, None),
                           weighted_metrics=(weighted_metrics, None))
        if loss is None:
            raise ConfigError("compile() needs a loss",
                              hint="e.g. loss='sparse_categorical_crossentropy'")
        self.optimizer = optimizer_lib.get(optimizer)
        self.optimizer.torch_optimizer = None  # built for this model's weights at fit()
        self.loss = loss_lib.get(loss)
        self.metrics = [metric_lib.get(m) for m in (metrics or [])]
        self.jit_compile = check_jit_compile(jit_compile)
        self._inference = None
        if self.net is not None:
            self._set_fusion()
            self._apply_trainable()

    def _set_fusion(self) -> None:
        last = self._layers[-1]
        fused = self._fuses_output()
        from .. import activations

        self.net.acts[last.name] = activations.get(None if fused else last.activation)
        self.net.output_activation = activations.get(last.activation if fused else None)
        self._inference = None

    def _task(self) -> Task:
        if self.loss is None or self.optimizer is None:
            raise ConfigError(f"model {self.name!r} is not compiled",
                              hint="call model.compile(optimizer='adam', "
                                   "loss='sparse_categorical_crossentropy', "
                                   "metrics=['accuracy']) first")
        return Task(self.loss, self.metrics, self.loss.from_logits or self._fuses_output())

    def _source(self, x, y, what: str, sample_weight=None) -> ArraySource:
        images = as_images(x, what)
        if y is None and isinstance(x, ImageDataset):
            y = x.labels
        if self.net is None:
            self.build(images.shape[1:])
        check_input_shape(images, self._input_shape, what)
        check_classifier_output(self._layers, self.net.shapes, self._input_shape, y)
        targets = as_targets(y, self.loss, self.net.shapes[-1][-1], len(images),
                             "y" if what == "x" else f"{what} labels")
        return ArraySource(images, targets, self.preprocess, sample_weight)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, trainer_options=None,
            resume_from=None, **kwargs) -> History:
        """Train like ``keras.Model.fit``; returns a :class:`History`.

        ``validation_batch_size`` is accepted and changes nothing but memory use (the
        validation numbers are exact over all samples); ``steps_per_epoch``,
        ``validation_steps`` and ``validation_freq`` must stay at their defaults.

        Two cnnkit additions serve ``cnnkit train``: ``trainer_options`` (``augment``,
        ``schedule``, ``order``, ``hooks`` for :class:`~cnnkit.train.loop.Trainer`) and
        ``resume_from`` (a checkpoint state to continue exactly from).
        """
        reject_unknown_keywords("fit()", kwargs, parameter_names(self.fit))
        refuse_unsupported("fit()", steps_per_epoch=(steps_per_epoch, None),
                           validation_steps=(validation_steps, None),
                           validation_freq=(validation_freq, 1))
        task = self._task()
        self._warn_if_trainable_changed()
        images = as_images(x)
        if isinstance(x, ImageDataset):
            self.class_names = list(x.class_names)
            y = x.labels if y is None else y
        self._learn_input_range(images)
        if validation_data is None and validation_split:
            (images, y, sample_weight), validation_data = split_last(
                images, y, sample_weight, validation_split)
        weights = _sample_weights(y, class_weight, sample_weight, len(images))
        train = self._source(images, y, "x", weights)
        val = None
        if validation_data is not None:
            val_x, val_y, val_weights = validation_parts(validation_data)
            val = self._source(val_x, val_y, "validation_data", None if val_weights is None
                               else _sample_weights(None, None, val_weights, len(val_x)))
        if self.optimizer.torch_optimizer is None:
            self.optimizer.build(self.net.parameters())
        # A Keras image dataset (keras.utils.image_dataset_from_directory) brings its own
        # batch size and shuffling, as a tf.data.Dataset does in Keras.
        batch_size = count_argument(batch_size if batch_size is not None
                                    else getattr(x, "batch_size", None), "batch_size", 32)
        shuffle = getattr(x, "shuffle_each_epoch", shuffle)
        epochs = count_argument(epochs, "epochs", 1, minimum=0)
        verbose = resolve_verbose(verbose)
        trainer = Trainer(self, task, self.precision, **(trainer_options or {}))
        trainer.state.seed = int(torch.randint(0, 2**31 - 1, (1,)))
        trainer.state.epoch = int(initial_epoch)
        params = {"epochs": epochs, "steps": -(-len(train) // batch_size), "verbose": verbose}
        callback_list = CallbackList(callbacks, self, params)
        if resume_from is not None:
            trainer.callbacks = callback_list
            trainer.load_state_dict(resume_from)
        trainer.history.params = params
        self.history = trainer.history
        if val is not None:
            units, names = self.net.shapes[-1][-1], self.class_names
            self.history.class_counts = class_counts(train.targets, units, names)
            self.history.val_class_counts = class_counts(val.targets, units, names)
            warn_on_validation_classes(self.history.class_counts, self.history.val_class_counts)
        return trainer.fit(train, val, epochs=epochs, batch_size=batch_size, shuffle=shuffle,
                           callbacks=callback_list, verbose=verbose,
                           resume=resume_from is not None)

    @property
    def preprocess(self) -> Preprocess:
        """How uint8 images become input: raw pixel values for a model that rescales them
        itself (as Keras gives them), else the scale learned from the training data
        (pixels / 255 by default)."""
        return RAW_PIXELS if takes_raw_pixels(self._layers) else self._preprocess

    @preprocess.setter
    def preprocess(self, value: Preprocess) -> None:
        self._preprocess = value

    def _learn_input_range(self, images: np.ndarray) -> None:
        """Remember how the training inputs were scaled, so uint8 images given later (files,
        the CLI, serving) are scaled the same way: floats up to 1 mean pixels / 255."""
        if images.dtype != np.uint8 and len(images):
            sample = images[:: max(1, len(images) // 256)]
            self.preprocess = Preprocess(1.0 / 255.0 if float(sample.max()) <= 1.0 else 1.0)

    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False, **kwargs):
        """``[loss, *metrics]`` (or the loss alone without metrics), like Keras.
        ``steps`` and ``callbacks`` must stay None."""
        reject_unknown_keywords("evaluate()", kwargs, parameter_names(self.evaluate))
        refuse_unsupported("evaluate()", steps=(steps, None), callbacks=(callbacks, None))
        task = self._task()
        source = self._source(x, y, "x", None if sample_weight is None
                              else np.asarray(sample_weight, dtype=np.float32))
        logs = evaluate(self.net, source, task,
                        count_argument(batch_size, "batch_size", PREDICT_BATCH))
        if return_dict:
            return logs
        values = [logs["loss"], *(logs[m.name] for m in self.metrics)]
        return values if len(values) > 1 else values[0]

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                **kwargs) -> np.ndarray:
        """The model's outputs (probabilities after a softmax) as a float32 NumPy array;
        image outputs are ``(N, H, W, C)``, as in Keras. ``steps`` and ``callbacks`` must
        stay None."""
        reject_unknown_keywords("predict()", kwargs, parameter_names(self.predict))
        refuse_unsupported("predict()", steps=(steps, None), callbacks=(callbacks, None))
        images = as_images(x)
        if self.net is None:
            self.build(images.shape[1:])
        check_input_shape(images, self._input_shape)
        if not len(images):
            return np.zeros((0, *self.net.shapes[-1]), dtype=np.float32)
        if self._inference is None or self._inference.net is not self.net:
            self._inference = Inference(self.net)
        result = self._inference.outputs(images, self.preprocess,
                                         count_argument(batch_size, "batch_size", PREDICT_BATCH),
                                         self.jit_compile)
        return (result.permute(0, 2, 3, 1) if result.dim() == 4 else result).numpy()

    def predict_on_batch(self, x) -> np.ndarray:
        """Predictions for one batch (same as ``predict``)."""
        return self.predict(x, batch_size=len(as_images(x)) or 1)

    def __call__(self, inputs, training: bool | None = None, mask=None) -> torch.Tensor:
        """The model's output for a batch, as calling a Keras model: a tensor (``.numpy()``
        gives the array; images come back ``(N, H, W, C)``), in inference mode unless
        ``training=True`` (dropout and random augmentation then act). uint8 images are
        scaled as for ``predict``; gradients flow when the input tensor requires them."""
        refuse_unsupported("calling a model", mask=(mask, None))
        if isinstance(inputs, torch.Tensor) and inputs.is_floating_point():
            x = batch_tensor(inputs)
            shape = (*x.shape[2:], x.shape[1]) if x.dim() == 4 else tuple(x.shape[1:])
            check = np.empty((0, *shape), dtype=np.float32)
        else:
            check = as_images(inputs)
            x = to_tensor(check, self.preprocess)
        if self.net is None:
            self.build(check.shape[1:])
        check_input_shape(check, self._input_shape)
        return run_module(self.net, x, training, self.net.output_activation)

    # -- weights -------------------------------------------------------------------------
    def state_snapshot(self) -> dict[str, torch.Tensor]:
        """A copy of every weight and statistic (for EarlyStopping and checkpoints)."""
        self._require_built()
        return {k: v.detach().clone() for k, v in self.net.state_dict().items()}

    def load_snapshot(self, snapshot: dict[str, torch.Tensor]) -> None:
        """Put back a :meth:`state_snapshot`."""
        self.net.load_state_dict(snapshot)

    def get_weights(self) -> list[np.ndarray]:
        """All weights in Keras order and layout (kernels ``(kh, kw, in, out)``)."""
        self._require_built()
        return self.get_keras_weights(self.net)

    def set_weights(self, weights: list[np.ndarray]) -> None:
        """Load weights given in Keras order and layout (as from Keras's ``get_weights``)."""
        self._require_built()
        self.set_keras_weights(self.net, weights)

    def save(self, path) -> None:
        """Save architecture, weights, class names and preprocessing (no pickle).
        A path ending in ``.keras`` or ``.cnnkit`` is one zip file, a path without a suffix
        a folder; ``.h5`` (Keras's legacy HDF5) and other suffixes are refused."""
        from .saving import save_model

        save_model(self, path)

    def export(self, filepath, format="onnx", verbose=None, **options):
        """Write the model as ``"onnx"`` or ``"torchscript"`` for use without cnnkit;
        ``options`` and the file's input are described in :func:`cnnkit.export.export_model`."""
        from ..export import export_model

        return export_model(self, filepath, format, **options)

    def save_weights(self, path) -> None:
        """Save only the weights, as a safetensors file named ``*.weights.h5`` (as Keras 3
        requires) or ``*.safetensors``."""
        from .saving import save_weights

        save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load weights saved by :meth:`save_weights` or :meth:`save`."""
        from .saving import load_weights

        load_weights(self, path)


def _sample_weights(y, class_weight, sample_weight, n: int) -> np.ndarray | None:
    """Per-sample loss weights from Keras's ``class_weight`` and ``sample_weight``."""
    weights = None
    if sample_weight is not None:
        weights = np.asarray(sample_weight, np.float32).reshape(-1)
        if len(weights) != n:
            raise ShapeError(f"sample_weight has {len(weights)} values for {n} images",
                             hint="give one weight per training image")
    if class_weight:
        labels = np.asarray(y)
        labels = labels.argmax(axis=1) if labels.ndim == 2 and labels.shape[1] > 1 else labels
        labels = labels.reshape(n).astype(np.int64)
        table = np.ones(int(max(labels.max(initial=0), max(class_weight))) + 1, np.float32)
        for cls, w in class_weight.items():
            table[int(cls)] = float(w)
        by_class = table[labels]
        weights = by_class if weights is None else weights * by_class
    return weights
