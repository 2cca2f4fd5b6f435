"""`Model`: Keras's model API (compile, fit, evaluate, predict, call, summary, save,
weights) over a torch network trained by cnnkit's single training loop.

``Model(inputs, outputs)`` is Keras's functional model: a graph of layer calls recorded
on symbolic tensors (layers/symbolic.py, models/graph.py). ``Sequential`` is the special
case whose graph is a line (models/sequential.py), and ``ModuleModel`` wraps a plain
torch module, such as a zoo architecture (models/module_model.py). All three share this
class's engine; their network is ``self.net``.
"""

from __future__ import annotations

import numpy as np
import torch

from .. import layers as layer_lib
from ..data.dataset import ImageDataset
from ..errors import ConfigError, LayerError, ShapeError
from ..layers.calls import batch_tensor, run_module
from ..layers.symbolic import KerasTensor, symbolic_inputs
from ..naming import parameter_names, refuse_unsupported, reject_unknown_keywords
from ..train import losses as loss_lib
from ..train import metrics as metric_lib
from ..train import optimizers as optimizer_lib
from ..train.batches import ArraySource
from ..train.device import resolve_device
from ..train.distributed import default_distribution
from ..train.history import History
from ..train.loop import FitPlan, Task, Trainer, evaluate
from ..train.precision import model_precision
from ..train.progress import resolve_verbose
from ..train.validation_split import split_last
from .graph import INPUT, Graph, trace
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
from .model_layer import ModelLayer
from .network import Network
from .preprocess import RAW_PIXELS, Preprocess, to_tensor
from .saving import load_weights, save_model, save_weights
from .summary import format_shape, format_summary

PREDICT_BATCH = 256


class Model(ModelLayer, keras_name="Functional"):
    """A model, used exactly like ``keras.Model``: ``Model(inputs=x, outputs=y)`` with
    ``x = layers.Input(shape)`` and ``y`` the result of calling layers on it (one input,
    one output).

    Images are ``(H, W, C)`` at the surface; inside, tensors are NCHW in channels_last
    memory format. A model is a layer too: it can be called on a symbolic tensor or be a
    layer of another model (models/model_layer.py).
    """

    def __init__(self, inputs=None, outputs=None, name: str | None = None,
                 trainable: bool = True, **kwargs):
        reject_unknown_keywords("Model()", kwargs, ["inputs", "outputs", "name", "trainable"])
        self._init_model(name or layer_lib.unique_name("functional"), trainable)
        if inputs is None or outputs is None:
            raise ConfigError("Model() needs inputs= and outputs=",
                              hint="x = layers.Input((32, 32, 3)); y = layers.Conv2D(8, 3)(x)"
                                   " ...; Model(inputs=x, outputs=y); or use Sequential([...])"
                                   " (subclassing Model with a call() is not supported)")
        start, end = _one_tensor(inputs, "inputs"), _one_tensor(outputs, "outputs")
        if not isinstance(start.layer, layer_lib.Input):
            raise ConfigError(f"inputs must come from layers.Input, got {start!r}",
                              hint="inputs = layers.Input((H, W, C))")
        self._graph = trace(start, end)
        self._layers = list(self._graph.layers)
        self._input_shape = tuple(start.sample_shape)
        self.build()

    def _init_model(self, name: str, trainable: bool) -> None:
        """The state every model has, before its layers."""
        self.name = name
        self._trainable = bool(trainable)
        self._layers: list = []
        self._input_shape: tuple[int, ...] | None = None
        self.net = None
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

    # -- structure -----------------------------------------------------------------------
    def graph(self) -> Graph:
        """The layer graph the network runs."""
        return self._graph

    def _output_layer(self):
        graph = self.graph()
        return graph.nodes[graph.output].layer

    @property
    def layers(self) -> list:
        """The layers, in Keras's order (a functional model's ``InputLayer`` first)."""
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
        """``(None, ...)`` of the output."""
        self._require_built()
        return (None, *self.net.output_shape)

    def build(self, input_shape=None) -> None:
        """Create the network (for ``input_shape``, ``(H, W, C)``, a leading ``None``
        allowed; a functional model's input shape is its ``Input``'s)."""
        if input_shape is not None:
            shape = tuple(input_shape)
            shape = shape[1:] if len(shape) == 4 else shape
            if tuple(shape) != tuple(self._input_shape):
                raise ShapeError(f"model {self.name!r} takes inputs of shape "
                                 f"{self._input_shape}, not {shape}",
                                 hint="a functional model's input shape is its Input's; "
                                      "build a new model for another shape")
        self._build_network()

    def _build_network(self) -> None:
        self.net = Network(self.graph(), self._input_shape, self._fuses_output())
        self._apply_trainable()
        if self.optimizer is not None:
            self.optimizer.torch_optimizer = None  # new weights need a new optimizer

    def _output_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        self.build(shape)
        return self.net.output_shape

    def _fuses_output(self) -> bool:
        return bool(self.loss is not None and not self._nested
                    and self.loss.fuses(self._fusable_activation()))

    def _fusable_activation(self) -> str | None:
        """The activation the network applies last, which a fused loss may take over."""
        layer = self._output_layer()
        return None if layer is None else layer.activation

    @property
    def final_activation(self) -> str | None:
        """The name of the activation that ends the model (None: it outputs logits), looking
        into a model that is the output layer."""
        layer = self._output_layer()
        if isinstance(layer, Model) and layer.activation is None:
            return layer.final_activation
        return self._fusable_activation()

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
        """Print the Keras table: layer, output shape, parameters (and, for a model that
        branches, what each layer is connected to), then totals. ``line_length`` and
        ``positions`` lay it out as in Keras; ``expand_nested``, ``show_trainable`` and
        ``layer_range`` are accepted and do not change the table."""
        reject_unknown_keywords("summary()", kwargs, parameter_names(self.summary))
        self._require_built()
        text = format_summary(self.name, self._summary_rows(), *self._param_counts(),
                              line_length=line_length, positions=positions)
        (print_fn or print)(text)

    def _summary_rows(self) -> list[tuple]:
        """One row per layer; a "Connected to" cell unless the graph is a simple line."""
        net, graph = self.net, self.graph()
        connect = not (graph.is_line and len(graph.nodes) == len(graph.layers))
        rows = []
        for layer, shape in zip(self._layers, net.shapes, strict=True):
            trainable, frozen = layer.param_counts(net.ops[layer.name],
                                                   self.trainable and layer.trainable)
            row = (f"{layer.name} ({layer.keras_name})", format_shape(shape),
                   trainable + frozen)
            if connect:
                links = [f"{graph.nodes[i].layer.name}[{graph.nodes[i].index}][0]"
                         for node in graph.nodes if node.layer is layer
                         for i in node.inputs if i != INPUT]
                row += (", ".join(links) or "-",)
            rows.append(row)
        return rows

    def get_config(self) -> dict:
        """Name, trainable flag and the graph: each layer's config with the nodes it is
        called on (``inbound_nodes``), and the input and output layers (models/graph_config.py)."""
        from .graph_config import graph_config

        return graph_config(self)

    @classmethod
    def from_config(cls, config: dict):
        """A functional model from :meth:`get_config` output."""
        from .graph_config import graph_from_config

        inputs, outputs = graph_from_config(config)
        return cls(inputs=inputs, outputs=outputs, name=config.get("name"),
                   trainable=config.get("trainable", True))

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
        self.net.fuse_output(self._fuses_output())
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
        check_classifier_output(self.net.layer_inputs(), self.net.output_shape, y)
        targets = as_targets(y, self.loss, self.net.output_shape[-1], len(images),
                             "y" if what == "x" else f"{what} labels")
        return ArraySource(images, targets, self.preprocess, sample_weight)

    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, distribution=None, device=None,
            **kwargs) -> History:
        """Train like ``keras.Model.fit``; returns a :class:`History`.

        ``validation_batch_size`` is accepted and changes nothing but memory use (the
        validation numbers are exact over all samples); ``steps_per_epoch``,
        ``validation_steps`` and ``validation_freq`` must stay at their defaults.
        ``distribution``: ``cnnkit.keras.distribution.DataParallel()`` in a script started by
        ``torchrun`` trains as one of its processes (``batch_size`` is the global batch;
        default: the one ``set_distribution`` set, else one process; docs/scaling.md).
        ``device``: ``"cpu"``, ``"cuda"``, ``"mps"`` or ``"auto"`` to train on (default the
        CPU); the weights come back to the CPU afterwards.
        """
        reject_unknown_keywords("fit()", kwargs, parameter_names(self.fit))
        refuse_unsupported("fit()", steps_per_epoch=(steps_per_epoch, None),
                           validation_steps=(validation_steps, None),
                           validation_freq=(validation_freq, 1))
        plan = self.fit_plan(x, y, batch_size, epochs, verbose, callbacks, validation_split,
                             validation_data, shuffle, class_weight, sample_weight,
                             initial_epoch)
        where = torch.device("cpu") if device is None else resolve_device(device)
        trainer = Trainer(self, plan.task, self.precision, device=where,
                          distribution=distribution or default_distribution())
        self.net.to(where)
        try:
            return trainer.run(plan)
        finally:
            self.net.to("cpu")

    def fit_plan(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto",
                 callbacks=None, validation_split=0.0, validation_data=None, shuffle=True,
                 class_weight=None, sample_weight=None, initial_epoch=0) -> FitPlan:
        """``fit()``'s arguments checked and resolved into what a
        :class:`~cnnkit.train.loop.Trainer` runs (``cnnkit train`` builds its own trainer)."""
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
        # A Keras image dataset (keras.utils.image_dataset_from_directory) brings its own
        # batch size and shuffling, as a tf.data.Dataset does in Keras.
        batch_size = count_argument(batch_size if batch_size is not None
                                    else getattr(x, "batch_size", None), "batch_size", 32)
        return FitPlan(task, train, val, batch_size,
                       count_argument(epochs, "epochs", 1, minimum=0),
                       getattr(x, "shuffle_each_epoch", shuffle), resolve_verbose(verbose),
                       list(callbacks or []), int(initial_epoch))

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
                 steps=None, callbacks=None, return_dict=False, tta=None, **kwargs):
        """``[loss, *metrics]`` (or the loss alone without metrics), like Keras.
        ``steps`` and ``callbacks`` must stay None. ``tta="flip"`` (a cnnkit extension)
        scores the average of each image's and its mirror image's output."""
        reject_unknown_keywords("evaluate()", kwargs, parameter_names(self.evaluate))
        refuse_unsupported("evaluate()", steps=(steps, None), callbacks=(callbacks, None))
        task = self._task()
        source = self._source(x, y, "x", None if sample_weight is None
                              else np.asarray(sample_weight, dtype=np.float32))
        logs = evaluate(self.net, source, task,
                        count_argument(batch_size, "batch_size", PREDICT_BATCH), tta=tta)
        if return_dict:
            return logs
        values = [logs["loss"], *(logs[m.name] for m in self.metrics)]
        return values if len(values) > 1 else values[0]

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None,
                tta=None, **kwargs) -> np.ndarray:
        """The model's outputs (probabilities after a softmax) as a float32 NumPy array;
        image outputs are ``(N, H, W, C)``, as in Keras. ``steps`` and ``callbacks`` must
        stay None. ``tta="flip"`` (a cnnkit extension) averages each image's output with
        its mirror image's (left-right)."""
        reject_unknown_keywords("predict()", kwargs, parameter_names(self.predict))
        refuse_unsupported("predict()", steps=(steps, None), callbacks=(callbacks, None))
        images = as_images(x)
        if self.net is None:
            self.build(images.shape[1:])
        check_input_shape(images, self._input_shape)
        if not len(images):
            return np.zeros((0, *self.net.output_shape), dtype=np.float32)
        if self._inference is None or self._inference.net is not self.net:
            self._inference = Inference(self.net)
        result = self._inference.outputs(images, self.preprocess,
                                         count_argument(batch_size, "batch_size", PREDICT_BATCH),
                                         self.jit_compile, tta)
        return (result.permute(0, 2, 3, 1) if result.dim() == 4 else result).numpy()

    def predict_on_batch(self, x) -> np.ndarray:
        """Predictions for one batch (same as ``predict``)."""
        return self.predict(x, batch_size=len(as_images(x)) or 1)

    def __call__(self, inputs, training: bool | None = None, mask=None
                 ) -> torch.Tensor | KerasTensor:
        """The model's output for a batch, as calling a Keras model: a tensor (``.numpy()``
        gives the array; images come back ``(N, H, W, C)``), in inference mode unless
        ``training=True`` (dropout and random augmentation then act). uint8 images are
        scaled as for ``predict``; gradients flow when the input tensor requires them.
        Called on a symbolic tensor, the model is one layer of a functional graph."""
        refuse_unsupported("calling a model", mask=(mask, None))
        symbolic = symbolic_inputs(inputs)
        if symbolic is not None:
            return self.call_symbolic(inputs, symbolic)
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
        save_model(self, path)

    def export(self, filepath, format="onnx", verbose=None, **options):
        """Write the model as ``"onnx"`` or ``"torchscript"`` for use without cnnkit;
        ``options`` and the file's input are described in :func:`cnnkit.export.export_model`.
        """
        from ..export import export_model  # onnx is an optional extra: imported when used

        return export_model(self, filepath, format, **options)

    def save_weights(self, path) -> None:
        """Save only the weights, as a safetensors file named ``*.weights.h5`` (as Keras 3
        requires) or ``*.safetensors``."""
        save_weights(self, path)

    def load_weights(self, path) -> None:
        """Load weights saved by :meth:`save_weights` or :meth:`save`."""
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


def _one_tensor(value, what: str) -> KerasTensor:
    """The one symbolic tensor in ``value`` (a tensor, an ``Input``, or a list of one)."""
    found = symbolic_inputs(value)
    if found is None:
        raise ConfigError(f"Model {what}= must be symbolic tensors (from layers.Input and "
                          f"layer calls), got {type(value).__name__}",
                          hint="x = layers.Input((H, W, C)); y = layers.Dense(10)(...(x)); "
                               "Model(inputs=x, outputs=y)")
    if len(found) != 1:
        raise ConfigError(f"Model takes one tensor as {what}, got {len(found)}",
                          hint="cnnkit models have one input and one output")
    return found[0]
