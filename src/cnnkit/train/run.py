"""A training run from a :class:`RunConfig`: data, model, the training loop, run files.

``train(config)`` starts a run in a new run directory; ``resume(run_dir)`` continues one
from its last checkpoint, exactly where it stopped. Both use ``Sequential.fit`` and so the
one training loop.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..atomic import write_text_atomically
from ..data import ImageDataset, load_splits
from ..errors import CnnkitError, ConfigError, LayerShapeError, ShapeError
from ..kernels.probe import new_decisions
from ..seeding import set_seed
from .callbacks import EarlyStopping
from .checkpoint import read_checkpoint, write_checkpoint
from .config import RunConfig
from .default_model import ModelChoice, choose_model
from .interrupt import catch_interrupt
from .loop import Trainer, TrainerHook
from .losses import SparseCategoricalCrossentropy
from .optimizers import get as get_optimizer
from .precision import resolve_precision
from .progress import resolve_verbose
from .rundir import (
    RunLog,
    check_replaceable,
    default_run_name,
    new_run_dir,
    write_history_csv,
)


class TrainingInterrupted(CnnkitError):
    """Ctrl-C: a checkpoint was written and the run can be resumed."""

    exit_code = 130


@dataclass
class Run:
    """A finished (or stopped) run: its directory, model and results."""

    directory: Path
    model: object
    history: object
    test_metrics: dict | None


@dataclass
class RunData:
    """The datasets a run trains, validates and tests on."""

    train: ImageDataset
    val: ImageDataset | None
    test: ImageDataset | None


def load_run_data(config: RunConfig, image_size=None, channels=None, classes=None,
                  quiet=False) -> RunData:
    """Training data (with ``fraction``), validation (own split, ``--val`` or held out with
    ``val_split``) and test data, all with the training set's classes and image size.
    ``image_size``, ``channels`` and ``classes`` (names, in the model's order) fit the data
    to a model that already exists."""
    size = image_size or config.image_size
    size = tuple(size) if isinstance(size, list) else size
    splits = load_splits(config.data, image_size=size, channels=channels, strict=config.strict,
                         progress=not quiet, classes=classes)
    if "train" not in splits:
        raise ConfigError(f"{config.data} has no training split (found {', '.join(splits)})")
    train = splits["train"]
    same = {"image_size": train.image_shape[:2], "channels": train.image_shape[2],
            "classes": train.class_names, "strict": config.strict, "progress": not quiet}
    val = _one_split(config.val, "val", same) if config.val else splits.get("val")
    if val is None and config.val_split > 0:
        train, val = train.split(config.val_split, seed=config.seed)
    test = _one_split(config.test, "test", same) if config.test else splits.get("test")
    if config.fraction < 1.0:
        train = train.fraction(config.fraction, seed=config.seed)
    return RunData(train, val, test)


def _one_split(source: str, preferred: str, options: dict) -> ImageDataset:
    """The ``preferred`` split of ``source``, or its only split."""
    splits = load_splits(source, **options)
    if preferred in splits:
        return splits[preferred]
    if len(splits) == 1:
        return next(iter(splits.values()))
    raise ConfigError(f"{source} has splits {', '.join(splits)} but no {preferred!r} split",
                      hint="point to a folder or file holding just those images")


def build_model(config: RunConfig, data: RunData):
    """The model named by ``config.model`` for this data, compiled for the run."""
    from ..spec import resolve_model

    shape, classes = data.train.image_shape, data.train.num_classes
    try:
        model = resolve_model(config.model, shape, classes)
    except LayerShapeError as exc:
        raise ShapeError(
            f"the images ({shape[0]}x{shape[1]}x{shape[2]}) do not fit model "
            f"{config.model!r}: {exc.message}",
            hint="pass a larger --image-size (e.g. --image-size 32) or choose a model for "
                 "small images") from exc
    optimizer = get_optimizer(config.optimizer)
    if config.lr is not None:
        optimizer.learning_rate = config.lr
    if optimizer.name == "sgd":
        optimizer.options.update(momentum=config.momentum, nesterov=config.nesterov)
    if config.weight_decay:
        optimizer.options["weight_decay"] = config.weight_decay
    optimizer.clipnorm = config.clip_norm
    model.compile(optimizer=optimizer,
                  loss=SparseCategoricalCrossentropy(label_smoothing=config.label_smoothing),
                  metrics=["accuracy"])
    model.class_names = list(data.train.class_names)
    return model


def _configure_torch(config: RunConfig) -> None:
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.use_deterministic_algorithms(config.deterministic, warn_only=True)


class RunRecorder(TrainerHook):
    """Writes the run files: checkpoints (each epoch, every N minutes or steps, and on
    Ctrl-C), history.csv, model/last and model/best, and log lines."""

    def __init__(self, directory: Path, config: RunConfig, log: RunLog, interrupt):
        self.directory = directory
        self.config = config
        self.log = log
        self.interrupt = interrupt
        self.last_checkpoint = time.monotonic()
        self.best: float | None = None
        self.trainer: Trainer | None = None

    @property
    def checkpoint_path(self) -> Path:
        """Where the latest checkpoint lives."""
        return self.directory / "checkpoint" / "last.ckpt"

    def checkpoint(self, trainer: Trainer, finished: bool = False) -> None:
        """Write the checkpoint now (atomically)."""
        from ..models.saving import model_config

        state = trainer.state_dict()
        state.update(model=model_config(trainer.model), best=self.best, finished=finished)
        write_checkpoint(self.checkpoint_path, state)
        self.last_checkpoint = time.monotonic()

    def after_step(self, trainer: Trainer) -> None:
        every = self.config.checkpoint_steps
        due = (every and trainer.state.step % every == 0) or (
            time.monotonic() - self.last_checkpoint > 60 * self.config.checkpoint_minutes)
        if self.interrupt.requested:
            self.checkpoint(trainer)
            raise TrainingInterrupted(
                f"interrupted at epoch {trainer.state.epoch + 1}, batch {trainer.state.step}; "
                f"checkpoint saved in {self.checkpoint_path}",
                hint=f"resume with: cnnkit train --resume {self.directory}")
        if due and trainer.state.step < trainer.steps_per_epoch:
            self.checkpoint(trainer)

    def after_epoch(self, trainer: Trainer) -> None:
        self.trainer = trainer
        model = trainer.model
        logs = {k: v[-1] for k, v in trainer.history.history.items()}
        monitored = logs.get("val_loss", logs.get("loss"))
        if monitored is not None and np.isfinite(monitored) and (
                self.best is None or monitored < self.best):
            self.best = monitored
            model.save(self.directory / "model" / "best")
        model.save(self.directory / "model" / "last")
        write_history_csv(self.directory / "history.csv", trainer.history.rows())
        for line in new_decisions():
            self.log.file_only(line)
        self.checkpoint(trainer)
        self.log.file_only(f"epoch {trainer.history.epoch[-1] + 1}: " + ", ".join(
            f"{k}={v:.4g}" for k, v in logs.items()))


def train(config: RunConfig, quiet: bool = False) -> Run:
    """Start a new run: load its data and build its model (chosen from the data when
    ``config.model`` is empty), then make its directory (with ``overwrite``, replacing a
    previous run only once the new inputs proved usable), train, test, and write every run
    file."""
    config.validate()
    inputs = (config.data, config.val, config.test, config.model)
    if config.overwrite and (config.out or config.model):
        check_replaceable(_run_path(config), inputs)  # before anything is read
    data, model, choice = _prepare(config, quiet)
    directory = new_run_dir(_run_path(config), config.overwrite, inputs)
    config.out = str(directory)
    config.precision = resolve_precision(config.precision)[0]  # recorded as used
    config.save(directory / "config.yaml")
    log = RunLog(directory / "log.txt", quiet)
    log(f"run directory: {directory}")
    if choice is not None:
        log(choice.message)
    return _execute(directory, config, log, quiet, data, model, checkpoint=None)


def _run_path(config: RunConfig) -> Path:
    """``--out``, else ``runs/<model>-<data>``."""
    return Path(config.out or Path("runs") / default_run_name(config.model, config.data))


def _prepare(config: RunConfig, quiet: bool) -> tuple[RunData, object, ModelChoice | None]:
    """Seed, load the data and build the model of a run that starts from its first batch;
    without ``config.model``, the model is chosen from the data and written into
    ``config`` (with the input size it was chosen for)."""
    _configure_torch(config)
    set_seed(config.seed)
    data = load_run_data(config, quiet=quiet, **_fit_to_saved_model(config.model))
    choice = None
    if not config.model:
        choice = choose_model(data.train.image_shape)
        config.model, config.image_size = choice.name, list(choice.image_size)
    return data, build_model(config, data), choice


def resume(directory: Path, epochs: int | None = None, quiet: bool = False) -> Run:
    """Continue the run in ``directory`` from its last checkpoint; a run that stopped before
    its first checkpoint starts over from its ``config.yaml``."""
    directory = Path(directory)
    if not (directory / "config.yaml").exists():
        raise ConfigError(f"{directory} is not a run directory (no config.yaml)",
                          hint="give the directory a previous 'cnnkit train' wrote, e.g. "
                               "runs/NAME")
    config = RunConfig.load(directory / "config.yaml")
    if epochs is not None:
        config.epochs = epochs
        config.save(directory / "config.yaml")
    log = RunLog(directory / "log.txt", quiet)
    checkpoint = directory / "checkpoint" / "last.ckpt"
    if not checkpoint.exists():
        log.note(f"{directory} has no checkpoint (the run stopped before its first one): "
                 f"starting it over from its config.yaml")
        data, model, _ = _prepare(config.validate(), quiet)
        return _execute(directory, config, log, quiet, data, model, checkpoint=None)
    state = read_checkpoint(checkpoint)
    if state.get("finished") and state["loop"]["epoch"] >= config.epochs:
        log(f"{directory}: the run already finished {state['loop']['epoch']} epoch(s); "
            f"pass --epochs N (more than {state['loop']['epoch']}) to train further")
        return Run(directory, None, None, None)
    log(f"resuming {directory} at epoch {state['loop']['epoch'] + 1}, "
        f"batch {state['loop']['step'] + 1}")
    from ..models.saving import model_from_config

    _configure_torch(config)
    set_seed(config.seed)
    model = model_from_config(state["model"])
    shape = model.input_shape[1:]
    data = load_run_data(config, image_size=shape[:2], channels=shape[2],
                         classes=model.class_names, quiet=quiet)
    return _execute(directory, config, log, quiet, data, model, checkpoint=state)


def _execute(directory: Path, config: RunConfig, log: RunLog, quiet: bool, data: RunData,
             model, checkpoint: dict | None) -> Run:
    from ..report.write import write_run_report

    precision, notice = resolve_precision(config.precision)
    if notice:
        log.note(notice)
    if checkpoint is not None and config.precision == "auto":
        precision = checkpoint.get("precision", precision)  # as the run began, on any CPU
    model.precision = precision
    _log_start(log, data, model, config, precision)
    callbacks = []
    if config.early_stopping:
        callbacks.append(EarlyStopping(patience=config.early_stopping,
                                       restore_best_weights=True))
    options, extra_callbacks, class_weight = _trainer_options(
        config, data, model.preprocess.value_range())
    callbacks += extra_callbacks
    with catch_interrupt() as interrupt:
        recorder = RunRecorder(directory, config, log, interrupt)
        if checkpoint is not None:
            recorder.best = checkpoint.get("best")
        options["hooks"] = [recorder]
        history = model.fit(data.train, validation_data=data.val, epochs=config.epochs,
                            batch_size=config.batch_size, callbacks=callbacks,
                            class_weight=class_weight,
                            verbose=0 if quiet else resolve_verbose("auto"),
                            trainer_options=options, resume_from=checkpoint)
    _finish(recorder, model)
    test_metrics = _test(model, data.test, directory, log)
    write_run_report(directory, data, log, quiet)
    if test_metrics is None:
        log.result(_best_validation(history.history))
    log.result(f"run directory: {directory}")
    return Run(directory, model, history, test_metrics)


def _fit_to_saved_model(name: str) -> dict:
    """Image size, channels and class order of a saved model to continue from (else {})."""
    from ..models import load_model
    from ..spec import is_saved_model

    if not name or not is_saved_model(name):
        return {}
    model = load_model(name, compile=False)
    height, width, channels = model.input_shape[1:]
    return {"image_size": (height, width), "channels": channels,
            "classes": model.class_names}


def _trainer_options(config: RunConfig, data: RunData, value_range: tuple[float, float]
                     ) -> tuple[dict, list, dict | None]:
    """Trainer plug-ins (augment, schedule, order), extra callbacks and class weights;
    ``value_range`` is where the model's input pixels lie (augmentation keeps them there)."""
    from .augment import parse_augment
    from .balance import balanced_order, class_weights
    from .schedules import is_plateau, make_schedule, parse_schedule, plateau_callback

    options: dict = {"cores": config.threads}
    callbacks: list = []
    shape = data.train.image_shape
    options["augment"] = parse_augment(config.augment, shape, value_range)
    steps = -(-len(data.train) // config.batch_size)
    name, schedule_options = parse_schedule(config.schedule)
    base_lr = config.lr or get_optimizer(config.optimizer).learning_rate
    options["schedule"] = make_schedule(name, base_lr, config.epochs, steps, **schedule_options)
    if is_plateau(name):
        callbacks.append(plateau_callback(schedule_options))
    if config.balanced_sampling:
        labels, n_classes = data.train.labels, data.train.num_classes
        options["order"] = lambda seed, epoch, n: balanced_order(labels, n_classes, seed, epoch)
    weights = class_weights(data.train.labels, data.train.num_classes, config.class_weight,
                            data.train.class_names) if config.class_weight else None
    return options, callbacks, weights


def _log_start(log: RunLog, data: RunData, model, config: RunConfig, precision: str) -> None:
    log(data.train.summary())
    for name, dataset in (("validation", data.val), ("test", data.test)):
        if dataset is not None:
            log(f"{name}: {len(dataset):,} images")
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    log("\n".join(lines))
    log(f"training {config.epochs} epoch(s), batch {config.batch_size}, {precision}, "
        f"{torch.get_num_threads()} thread(s)")


def _finish(recorder: RunRecorder, model) -> None:
    """Save the final weights (the best ones after early stopping with restore) as
    model/last and mark the checkpoint finished."""
    model.save(recorder.directory / "model" / "last")
    if recorder.trainer is not None:
        recorder.checkpoint(recorder.trainer, finished=True)


def _test(model, test: ImageDataset | None, directory: Path, log: RunLog) -> dict | None:
    """Evaluate on the test split; write metrics.json (the full evaluation, see
    docs/evaluation.md) and log the headline numbers."""
    from ..evaluation import evaluate_model

    if test is None or not len(test):
        return None
    evaluation = evaluate_model(model, test, progress=False)
    metrics = {"test_loss": evaluation.loss, "test_accuracy": evaluation.accuracy,
               "test_images": evaluation.samples, **evaluation.to_dict()}
    write_text_atomically(directory / "metrics.json", json.dumps(metrics, indent=2))
    log.result(f"test accuracy: {evaluation.accuracy:.4f} (loss {evaluation.loss:.4f}, "
               f"{evaluation.samples:,} images)")
    return metrics


def _best_validation(logs: dict) -> str:
    """The headline of a run without a test split: its best validation accuracy (its last
    training accuracy when it held no validation images either)."""
    if logs.get("val_accuracy"):
        best = int(np.argmax(logs["val_accuracy"]))
        return f"best validation accuracy: {logs['val_accuracy'][best]:.4f} (epoch {best + 1})"
    return f"training accuracy: {logs['accuracy'][-1]:.4f} (no validation or test images)"
