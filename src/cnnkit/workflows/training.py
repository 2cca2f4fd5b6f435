"""A training run from a :class:`RunConfig`: data, model, the trainer, run files, test,
report.

``train(config)`` starts a run in a new run directory; ``resume(run_dir)`` continues one
from its last checkpoint, exactly where it stopped. Both build the one
:class:`~cnnkit.train.loop.Trainer` that ``Sequential.fit`` uses, with the run's plug-ins
and hooks.
"""

from __future__ import annotations

import os
from contextlib import nullcontext
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
from ..train.device import resolve_device
from ..train.distributed import (
    SingleProcess,
    changes_with_world,
    from_environment,
    threads_per_rank,
)
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
    ranks = _ranks(config)
    inputs = (config.data, config.val, config.test, config.model)
    if ranks.writes and config.overwrite and (config.out or config.model):
        check_replaceable(_run_path(config), inputs)  # before anything is read
    with ranks.rank_zero_first():  # one rank per machine decodes, the others open it
        data, model, choice = _prepare(config, quiet)
    notes = (recipe_lines(config, data.train.image_shape, data.train.num_classes)
             if config.recipe else [])
    path = new_run_dir(_run_path(config), config.overwrite, inputs) if ranks.writes else None
    run_dir = RunDir(ranks.same(path))
    config.out = str(run_dir.path)
    config.precision = resolve_precision(config.precision, model.net)[0]  # recorded as used
    log = _log(run_dir, quiet, ranks)
    if ranks.writes:
        config.save(run_dir.config)
    log(f"run directory: {run_dir.path}")
    if choice is not None:
        log(choice.message)
    for line in notes:
        log(line)
    return _execute(run_dir, config, log, quiet, data, model, None, ranks)


def resume(directory: Path, epochs: int | None = None, quiet: bool = False) -> Run:
    """Continue the run in ``directory`` from its last checkpoint; a run that stopped before
    its first checkpoint starts over from its ``config.yaml``."""
    run_dir = RunDir(directory)
    if not run_dir.config.exists():
        raise ConfigError(f"{run_dir.path} is not a run directory (no config.yaml)",
                          hint="give the directory a previous 'cnnkit train' wrote, e.g. "
                               "runs/NAME")
    config = RunConfig.load(run_dir.config)
    ranks = _ranks(config)
    if config.weights:
        raise ConfigError(f"{run_dir.path} is a pretrained run (--pretrained/--weights): "
                          "it cannot be resumed (its frozen phase lives outside the "
                          "checkpoint)",
                          hint=f"start it again (its model/best holds the best epoch so far: "
                               f"--model {run_dir.model('best')} continues from it)")
    if epochs is not None:
        config.epochs = epochs
        if ranks.writes:
            config.save(run_dir.config)
    log = _log(run_dir, quiet, ranks)
    if not ranks.same(run_dir.checkpoint.exists()):
        log.note(f"{run_dir.path} has no checkpoint (the run stopped before its first one): "
                 f"starting it over from its config.yaml")
        with ranks.rank_zero_first():
            data, model, _ = _prepare(config.validate(), quiet)
        return _execute(run_dir, config, log, quiet, data, model, None, ranks)
    state = read_checkpoint(run_dir.checkpoint)
    if state.get("finished") and state["loop"]["epoch"] >= config.epochs:
        ranks.finish()  # nothing to train
        if not ranks.writes:
            return Run(run_dir.path, None, None, None)  # rank 0 finishes the run alone
        if not run_dir.report.exists():
            return complete(run_dir, config, log, quiet, state)
        log(f"{run_dir.path}: the run already finished {state['loop']['epoch']} epoch(s); "
            f"pass --epochs N (more than {state['loop']['epoch']}) to train further")
        return Run(run_dir.path, None, None, None)
    log(f"resuming {run_dir.path} at epoch {state['loop']['epoch'] + 1}, "
        f"batch {state['loop']['step'] + 1}")
    if notice := changes_with_world(state.get("world_size", 1), ranks.world):
        log.note(f"warning: {notice}")
    _configure_torch(config)
    set_seed(config.seed)
    model = model_from_config(state["model"])
    shape = model.input_shape[1:]
    with ranks.rank_zero_first():
        data = load_run_data(config, image_size=shape[:2], channels=shape[2],
                             classes=model.class_names, quiet=quiet)
    return _execute(run_dir, config, log, quiet, data, model, state, ranks)


def _ranks(config: RunConfig) -> SingleProcess:
    """This process's place among the ranks torchrun started (one process when not
    launched by it); a pretrained run trains on one process only."""
    ranks = from_environment(resolve_device(config.device))
    ranks.local_batch(config.batch_size)  # a global batch the ranks cannot share: refused now
    if ranks.world > 1 and config.weights:
        raise ConfigError("a pretrained run (--pretrained/--weights) trains on one process",
                          hint="leave out --nproc/torchrun, or start from a saved model with "
                               "--model PATH")
    return ranks


def _log(run_dir: RunDir, quiet: bool, ranks: SingleProcess) -> RunLog:
    """The run's log; on ranks other than 0 one that prints and keeps nothing."""
    if ranks.writes:
        return RunLog(run_dir.log, quiet)
    return RunLog(Path(os.devnull), quiet=True)


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
             model, checkpoint: dict | None, ranks: SingleProcess) -> Run:
    """Train (from ``checkpoint`` when resuming), test, write the report; on ranks other
    than 0, train only (rank 0 writes every run file)."""
    precision, notice = resolve_precision(config.precision, model.net)
    if notice:
        log.note(notice)
    if checkpoint is not None and config.precision == "auto":
        precision = checkpoint.get("precision", precision)  # as the run began, on any CPU
    model.precision = precision
    device = resolve_device(config.device)
    model.net.to(device)
    threads = config.threads or (threads_per_rank(ranks.local_world) if ranks.world > 1
                                 else None)
    _log_start(log, data, model, config, precision, device, ranks)
    callbacks = []
    if config.early_stopping:
        callbacks.append(EarlyStopping(patience=config.early_stopping,
                                       restore_best_weights=True))
    plugins, extra_callbacks, class_weight = trainer_plugins(
        config, data, model.preprocess.value_range())
    callbacks += extra_callbacks
    failures = (recording_failure(run_dir, log, model, data, quiet) if ranks.writes
                else nullcontext())
    with catch_interrupt() as interrupt, failures:
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
        trainer = Trainer(model, plan.task, model.precision,
                          hooks=[recorder] if ranks.writes else [], threads=threads,
                          distribution=ranks, device=device, **plugins)
        with log.warnings_noted():
            history = trainer.run(plan, resume_from=checkpoint)
        ranks.finish()
        if not ranks.writes:
            return Run(run_dir.path, model, history, None)
        model.net.to("cpu")  # the final test and report run on the CPU
        pretrained.keep_best(model, frozen, recorder.best)
        recorder.finish(trainer)
        return conclude(run_dir, model, data, history.history, log, quiet, history,
                        tta=config.tta)


def _log_start(log: RunLog, data: RunData, model, config: RunConfig, precision: str,
               device: torch.device, ranks: SingleProcess) -> None:
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
    where = f"{device.type}, {torch.get_num_threads()} thread(s)"
    if ranks.world > 1:
        where = (f"{ranks.world} processes ({device.type}, batch "
                 f"{ranks.local_batch(config.batch_size)} and {torch.get_num_threads()} "
                 f"thread(s) each)")
    log(f"training {config.epochs} epoch(s), batch {config.batch_size}, {precision}, {where}")
