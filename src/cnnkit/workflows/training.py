"""A training run from a :class:`RunConfig`: data, model, the trainer, run files, test,
report.

``train(config)`` starts a run in a new run directory; ``resume(run_dir)`` continues one
from its last checkpoint, exactly where it stopped. Both build the one
:class:`~cnnkit.train.loop.Trainer` that ``Sequential.fit`` uses, with the run's plug-ins
and hooks.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..errors import ConfigError
from ..models.loading import model_from_config
from ..recipes.notes import recipe_lines
from ..seeding import set_seed
from ..spec import check_model_name
from ..thread_count import set_torch_threads
from ..train.callbacks import EarlyStopping
from ..train.checkpoint import read_checkpoint
from ..train.config import RunConfig
from ..train.default_model import ModelChoice, choose_model
from ..train.interrupt import catch_interrupt
from ..train.loop import Trainer
from ..train.precision import resolve_precision
from ..train.progress import resolve_verbose
from ..train.run_data import RunData, load_run_data
from ..train.rundir import RunDir, RunLog, check_replaceable, default_run_name, new_run_dir
from . import pretrained
from .completion import Run, complete, conclude, recording_failure
from .recorder import RunRecorder
from .setup import build_model, fit_to_saved_model, trainer_plugins


def train(config: RunConfig, quiet: bool = False) -> Run:
    """Start a new run: load its data and build its model (chosen from the data when
    ``config.model`` is empty), then make its directory (with ``overwrite``, replacing a
    previous run only once the new inputs proved usable), train, test, and write every run
    file."""
    config.validate()
    if config.model:
        check_model_name(config.model)  # before any data is read or cached
    inputs = (config.data, config.val, config.test, config.model)
    if config.overwrite and (config.out or config.model):
        check_replaceable(_run_path(config), inputs)  # before anything is read
    data, model, choice = _prepare(config, quiet)
    notes = (recipe_lines(config, data.train.image_shape, data.train.num_classes)
             if config.recipe else [])
    run_dir = RunDir(new_run_dir(_run_path(config), config.overwrite, inputs))
    config.out = str(run_dir.path)
    config.precision = resolve_precision(config.precision)[0]  # recorded as used
    config.save(run_dir.config)
    log = RunLog(run_dir.log, quiet)
    log(f"run directory: {run_dir.path}")
    if choice is not None:
        log(choice.message)
    for line in notes:
        log(line)
    return _execute(run_dir, config, log, quiet, data, model, checkpoint=None)


def resume(directory: Path, epochs: int | None = None, quiet: bool = False) -> Run:
    """Continue the run in ``directory`` from its last checkpoint; a run that stopped before
    its first checkpoint starts over from its ``config.yaml``."""
    run_dir = RunDir(directory)
    if not run_dir.config.exists():
        raise ConfigError(f"{run_dir.path} is not a run directory (no config.yaml)",
                          hint="give the directory a previous 'cnnkit train' wrote, e.g. "
                               "runs/NAME")
    config = RunConfig.load(run_dir.config)
    if config.weights:
        raise ConfigError(f"{run_dir.path} is a pretrained run (--pretrained/--weights): "
                          "it cannot be resumed (its frozen phase lives outside the "
                          "checkpoint)",
                          hint=f"start it again (its model/best holds the best epoch so far: "
                               f"--model {run_dir.model('best')} continues from it)")
    if epochs is not None:
        config.epochs = epochs
        config.save(run_dir.config)
    log = RunLog(run_dir.log, quiet)
    if not run_dir.checkpoint.exists():
        log.note(f"{run_dir.path} has no checkpoint (the run stopped before its first one): "
                 f"starting it over from its config.yaml")
        data, model, _ = _prepare(config.validate(), quiet)
        return _execute(run_dir, config, log, quiet, data, model, checkpoint=None)
    state = read_checkpoint(run_dir.checkpoint)
    if state.get("finished") and state["loop"]["epoch"] >= config.epochs:
        if not run_dir.report.exists():
            return complete(run_dir, config, log, quiet, state)
        log(f"{run_dir.path}: the run already finished {state['loop']['epoch']} epoch(s); "
            f"pass --epochs N (more than {state['loop']['epoch']}) to train further")
        return Run(run_dir.path, None, None, None)
    log(f"resuming {run_dir.path} at epoch {state['loop']['epoch'] + 1}, "
        f"batch {state['loop']['step'] + 1}")
    _configure_torch(config)
    set_seed(config.seed)
    model = model_from_config(state["model"])
    shape = model.input_shape[1:]
    data = load_run_data(config, image_size=shape[:2], channels=shape[2],
                         classes=model.class_names, quiet=quiet)
    return _execute(run_dir, config, log, quiet, data, model, checkpoint=state)


def _run_path(config: RunConfig) -> Path:
    """``--out``, else ``runs/<model>-<data>``."""
    return Path(config.out or Path("runs") / default_run_name(config.model or config.recipe,
                                                               config.data))


def _configure_torch(config: RunConfig) -> None:
    if config.threads:
        set_torch_threads(config.threads)
    torch.use_deterministic_algorithms(config.deterministic, warn_only=True)


def _prepare(config: RunConfig, quiet: bool) -> tuple[RunData, object, ModelChoice | None]:
    """Seed, load the data and build the model of a run that starts from its first batch;
    without ``config.model``, the model is chosen from the data and written into
    ``config`` (with the input size it was chosen for)."""
    _configure_torch(config)
    set_seed(config.seed)
    options = (pretrained.data_options(config) if config.weights
               else fit_to_saved_model(config.model))
    data = load_run_data(config, quiet=quiet, **options)
    if config.weights:
        return data, pretrained.build_pretrained(config, data), None
    choice = None
    if not config.model and not config.recipe:
        choice = choose_model(data.train.image_shape)
        config.model, config.image_size = choice.name, list(choice.image_size)
    return data, build_model(config, data), choice


def _execute(run_dir: RunDir, config: RunConfig, log: RunLog, quiet: bool, data: RunData,
             model, checkpoint: dict | None) -> Run:
    """Train (from ``checkpoint`` when resuming), test, write the report."""
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
    plugins, extra_callbacks, class_weight = trainer_plugins(
        config, data, model.preprocess.value_range())
    callbacks += extra_callbacks
    with catch_interrupt() as interrupt, recording_failure(run_dir, log, model, data, quiet):
        frozen = (pretrained.frozen_phase(model, data, config, log, run_dir)
                  if config.weights else None)
        recorder = RunRecorder(run_dir, config, log, interrupt,
                               frozen.rows if frozen else ())
        if checkpoint is not None:
            recorder.best = checkpoint.get("best")
        if frozen is not None:
            recorder.best = frozen.best
        plan = model.fit_plan(data.train, validation_data=data.val, epochs=config.epochs,
                              batch_size=config.batch_size, callbacks=callbacks,
                              class_weight=class_weight,
                              verbose=0 if quiet else resolve_verbose("auto"))
        trainer = Trainer(model, plan.task, model.precision, hooks=[recorder],
                          threads=config.threads, **plugins)
        history = trainer.run(plan, resume_from=checkpoint)
        pretrained.keep_best(model, frozen, recorder.best)
        recorder.finish(trainer)
        return conclude(run_dir, model, data, history.history, log, quiet, history,
                        tta=config.tta)


def _log_start(log: RunLog, data: RunData, model, config: RunConfig, precision: str) -> None:
    if config.fraction < 1.0:
        log(f"--fraction {config.fraction:g}: training, validation and test each use "
            f"{config.fraction:.0%} of their images (stratified)")
    log(data.train.summary())
    for name, dataset in (("validation", data.val), ("test", data.test)):
        if dataset is not None:
            log(f"{name}: {len(dataset):,} images")
    lines: list[str] = []
    model.summary(print_fn=lines.append)
    log("\n".join(lines))
    log(f"training {config.epochs} epoch(s), batch {config.batch_size}, {precision}, "
        f"{torch.get_num_threads()} thread(s)")
