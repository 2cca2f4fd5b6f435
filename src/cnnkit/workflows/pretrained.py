"""``cnnkit train --pretrained``: fastai's ``fine_tune`` recipe on a zoo network with
published (or local) weights.

1. The network is built at its own input size (Lite0: 224), without its classifier, with
   the weights loaded (``weights="imagenet"`` or a file), and a new ``Dense`` head on the
   data's classes: ``Sequential([Input, base, Dense(classes, softmax)])``, a normal model.
2. Frozen phase: the frozen backbone's pooled features of every training and validation
   image are computed once (train/frozen_features.py) and the head is trained on them
   for ``freeze_epochs`` (seconds per epoch), keeping its best validation epoch.
3. Fine-tuning: the whole network trains for ``epochs`` with the run's schedule, with
   discriminative learning rates (the head at the run's rate, the backbone from 1/10 of
   it at its last layers down to 1/100 at its stem) and the run's augmentation.

The history rows of both phases go to one history.csv, tagged by a ``phase`` column.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError
from ..layers import Dense, Input
from ..models import ModuleModel, Sequential
from ..train.callbacks import EarlyStopping
from ..train.config import RunConfig
from ..train.frozen_features import backbone_features
from ..train.losses import SparseCategoricalCrossentropy
from ..train.optimizers import Adam
from ..train.run_data import RunData
from ..train.rundir import RunDir, RunLog
from ..weights import find_network, load_pretrained
from .setup import compile_for_run

# The recipe's settings when neither the command line nor --config sets them.
RECIPE = {"epochs": 3, "schedule": "cosine", "early_stopping": 2,
          "augment": "flip,crop=16:reflect,brightness=0.1,contrast=0.1"}
BODY_SCALES = (0.01, 0.1)  # learning-rate factors of the backbone's first and last layers
BODY_GROUPS = 5
HEAD_PATIENCE = 5


def with_recipe(config: RunConfig, given: set[str]) -> RunConfig:
    """``config`` with :data:`RECIPE`'s settings where ``given`` (the settings the command
    line or the config file set) does not name them, and EfficientNet-Lite0 as the model
    when none is named."""
    recipe = {key: value for key, value in RECIPE.items() if key not in given}
    if not config.model:
        recipe["model"] = "efficientnet-lite0"
    return config.merged(recipe)


def data_options(config: RunConfig) -> dict:
    """How to decode the run's images for the network: its input size unless
    ``image_size`` is set, RGB."""
    network = _network(config.model)
    size = config.image_size or network.input_size
    size = (size, size) if isinstance(size, int) else tuple(size)
    return {"image_size": size, "channels": 3}


def build_pretrained(config: RunConfig, data: RunData):
    """``Sequential([Input, base, Dense(classes, softmax)])``: the network without its
    classifier, with ``config.weights`` loaded and frozen, compiled for the run."""
    network = _network(config.model)
    shape = data.train.image_shape
    base = ModuleModel(network, input_shape=shape, include_top=False, pooling="avg")
    load_pretrained(base.torch_module, network, config.weights, include_top=False)
    base.trainable = False
    model = Sequential([Input(shape), base,
                        Dense(data.train.num_classes, activation="softmax", name="head")],
                       name=f"{network.name.replace('-', '_')}_transfer")
    return compile_for_run(model, config, data)


@dataclass
class FrozenPhase:
    """The frozen phase's history rows, its best validation loss and the model's weights
    at that epoch (to fall back on when fine-tuning never beats it)."""

    rows: list[dict]
    best: float | None
    weights: list


def frozen_phase(model, data: RunData, config: RunConfig, log: RunLog,
                 run_dir: RunDir) -> FrozenPhase:
    """Train the head on features computed once, put it into ``model``, save model/best,
    then unfreeze the backbone with discriminative learning rates for fine-tuning."""
    base, head = model.layers[0], model.layers[-1]
    start = time.monotonic()
    log(f"frozen phase: computing the frozen {base.entry.name} backbone's features once "
        f"({len(data.train):,} training + {len(data.val or ()):,} validation images), "
        f"then training the new head on them for up to {config.freeze_epochs} epoch(s)")
    features = _features(base, data.train.images, log.quiet)
    validation = None
    if data.val is not None and len(data.val):
        validation = (_features(base, data.val.images, log.quiet), data.val.labels)
    log(f"features: {time.monotonic() - start:.1f} s")
    vectors = Sequential([Input((features.shape[1],)), Dense(head.units,
                                                             activation="softmax")])
    vectors.compile(optimizer=Adam(config.lr or 1e-3),
                    loss=SparseCategoricalCrossentropy(label_smoothing=config.label_smoothing),
                    metrics=["accuracy"])
    stop = [EarlyStopping(patience=HEAD_PATIENCE, restore_best_weights=True)] \
        if validation is not None else []
    history = vectors.fit(features, data.train.labels, epochs=config.freeze_epochs,
                          batch_size=config.batch_size, validation_data=validation,
                          callbacks=stop, verbose=0)
    head.set_weights(vectors.get_weights())
    rows = [{**row, "phase": "frozen"} for row in history.rows()]
    best = min(history.history["val_loss"]) if validation is not None else None
    log(f"frozen phase: {len(rows)} epoch(s) in {time.monotonic() - start:.1f} s"
        + (f", best val_loss {best:.4f}" if best is not None else ""))
    model.save(run_dir.model("best"))
    phase = FrozenPhase(rows, best, [w.copy() for w in model.get_weights()])
    unfreeze(model, config)
    log(f"fine-tuning: the whole network for up to {config.epochs} epoch(s), learning rate "
        f"{model.optimizer.learning_rate:g} for the head and {BODY_SCALES[1]:g}x down to "
        f"{BODY_SCALES[0]:g}x of it from the backbone's last layers to its first")
    return phase


def unfreeze(model, config: RunConfig) -> None:
    """Make the backbone trainable and build the run's optimizer with discriminative
    learning rates: the backbone's parameters in ``BODY_GROUPS`` groups in their order
    (stem first), their ``lr_scale`` rising geometrically over ``BODY_SCALES``."""
    base = model.layers[0]
    base.trainable = True
    model.compile(optimizer=model.optimizer, loss=model.loss, metrics=["accuracy"])
    body = list(base.net.parameters())
    body_ids = {id(p) for p in body}
    chunks = [c for c in np.array_split(np.arange(len(body)), BODY_GROUPS) if len(c)]
    low, high = BODY_SCALES
    groups = [{"params": [body[i] for i in chunk],
               "lr_scale": float(low * (high / low) ** (k / max(1, len(chunks) - 1)))}
              for k, chunk in enumerate(chunks)]
    groups.append({"params": [p for p in model.net.parameters() if id(p) not in body_ids],
                   "lr_scale": 1.0})
    model.optimizer.build(groups)


def keep_best(model, phase: FrozenPhase | None, best: float | None) -> None:
    """After fine-tuning: when no fine-tuning epoch beat the frozen phase's validation
    loss, the model goes back to the frozen phase's weights (model/best holds them)."""
    if phase is not None and phase.best is not None and best == phase.best:
        model.set_weights(phase.weights)


def tag_rows(rows: list[dict], earlier: list[dict]) -> list[dict]:
    """The fine-tuning rows after the frozen phase's, numbered on from them and tagged."""
    return [*earlier, *({**row, "epoch": row["epoch"] + len(earlier), "phase": "fine-tune"}
                        for row in rows)]


def _features(base, images: np.ndarray, quiet: bool) -> np.ndarray:
    """The frozen base's pooled features of uint8 images, computed once."""
    net = base.net

    def prepare(batch: torch.Tensor) -> torch.Tensor:
        return net.prepare(batch.permute(0, 3, 1, 2).float())

    return backbone_features(net.module, images, prepare, pooling=base.pooling,
                             progress=not quiet)


def _network(name: str | None):
    """The zoo entry a pretrained run starts from (EfficientNet-Lite0 by default)."""
    try:
        return find_network(name or "efficientnet-lite0")
    except ConfigError as exc:
        raise ConfigError(f"--pretrained/--weights start from a zoo network: {exc.message}",
                          hint="e.g. --model efficientnet-lite0 or resnet18; 'cnnkit models' "
                               "lists the zoo") from None
