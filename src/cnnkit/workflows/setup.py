"""A run's model and its trainer's plug-ins, from its :class:`RunConfig` and data."""

from __future__ import annotations

from ..errors import CnnkitError, LayerShapeError, ShapeError
from ..models import load_model
from ..recipes import get as get_recipe
from ..spec import is_saved_model, resolve_model
from ..train.augment import parse_augment
from ..train.balance import balanced_order, class_weights
from ..train.config import RunConfig
from ..train.losses import SparseCategoricalCrossentropy
from ..train.optimizers import get as get_optimizer
from ..train.run_data import RunData
from ..train.schedules import is_plateau, make_schedule, parse_schedule, plateau_callback

SIZES_TO_TRY = (32, 64, 128, 224)  # --image-size values a too-small-images hint may suggest


def build_model(config: RunConfig, data: RunData):
    """The model named by ``config.model`` for this data, compiled for the run."""
    shape, classes = data.train.image_shape, data.train.num_classes
    if config.recipe and not config.model:
        return compile_for_run(get_recipe(config.recipe).build(shape, classes), config, data)
    try:
        model = resolve_model(config.model, shape, classes)
    except LayerShapeError as exc:
        raise ShapeError(
            f"the images ({shape[0]}x{shape[1]}x{shape[2]}) do not fit model "
            f"{config.model!r}: {exc.message}", hint=_size_hint(config.model, shape, classes)
        ) from exc
    return compile_for_run(model, config, data)


def compile_for_run(model, config: RunConfig, data: RunData):
    """Compile ``model`` with the run's optimizer, loss and accuracy; give it the data's
    class names."""
    optimizer = get_optimizer(config.optimizer)
    if config.lr is not None:
        optimizer.learning_rate = config.lr
    if optimizer.name == "sgd":
        optimizer.options.update(momentum=config.momentum, nesterov=config.nesterov)
    if config.weight_decay:  # torch's form (L2) for SGD and RMSprop, decoupled for Adam
        key = "l2" if optimizer.name in ("sgd", "rmsprop") else "weight_decay"
        optimizer.options[key] = config.weight_decay
    optimizer.clipnorm = config.clip_norm
    if config.ema is not None:
        optimizer.use_ema, optimizer.ema_momentum = True, config.ema
    model.compile(optimizer=optimizer,
                  loss=SparseCategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    model.class_names = list(data.train.class_names)
    return model


def _size_hint(name: str, shape: tuple[int, int, int], classes: int) -> str:
    """The smallest usual --image-size larger than the images' at which the model builds
    (the images' own size never is suggested), else: choose another model."""
    for side in (s for s in SIZES_TO_TRY if s > max(shape[:2])):
        try:
            resolve_model(name, (side, side, shape[2]), classes)
        except CnnkitError:
            continue
        return f"pass --image-size {side} (or more), or choose a model for smaller images"
    return f"choose a model for {shape[0]}x{shape[1]} images"


def fit_to_saved_model(name: str) -> dict:
    """Image size, channels and class order of a saved model to continue from (else {})."""
    if not name or not is_saved_model(name):
        return {}
    model = load_model(name, compile=False)
    height, width, channels = model.input_shape[1:]
    return {"image_size": (height, width), "channels": channels,
            "classes": model.class_names}


def trainer_plugins(config: RunConfig, data: RunData, value_range: tuple[float, float]
                    ) -> tuple[dict, list, dict | None]:
    """The trainer's plug-ins (``augment``, ``schedule``, ``order``: keywords of
    :class:`~cnnkit.train.loop.Trainer`), extra callbacks and class weights; ``value_range``
    is where the model's input pixels lie (augmentation keeps them there)."""
    plugins: dict = {}
    callbacks: list = []
    shape = data.train.image_shape
    plugins["augment"] = parse_augment(config.augment, shape, value_range)
    steps = -(-len(data.train) // config.batch_size)
    name, schedule_options = parse_schedule(config.schedule)
    base_lr = config.lr or get_optimizer(config.optimizer).learning_rate
    plugins["schedule"] = make_schedule(name, base_lr, config.epochs, steps, **schedule_options)
    if is_plateau(name):
        callbacks.append(plateau_callback(schedule_options))
    if config.balanced_sampling:
        labels, n_classes = data.train.labels, data.train.num_classes
        plugins["order"] = lambda seed, epoch, n: balanced_order(labels, n_classes, seed, epoch)
    weights = class_weights(data.train.labels, data.train.num_classes, config.class_weight,
                            data.train.class_names) if config.class_weight else None
    return plugins, callbacks, weights
