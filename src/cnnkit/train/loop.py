"""The one training loop, under both ``Sequential.fit()`` and ``cnnkit train``.

It trains a torch module on batches from an :class:`ArraySource`, reports Keras-named logs
to callbacks, and keeps its position (epoch, step, running sums) in a :class:`LoopState`
that checkpoints save and restore.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..errors import TrainingError
from .batch_gradients import BatchGradients
from .batches import ArraySource, WaitTimer
from .callbacks import CallbackList, TerminateOnNaN
from .checkpoint import CheckpointError, rng_states, set_rng_states
from .device import autocast_dtype, gradient_scaler, moved, on_device
from .distributed import SingleProcess
from .evaluate import batch_outputs
from .history import History
from .hooks import TrainerHook
from .last_batch import rows_left_out
from .loop_state import LoopState
from .losses import Loss
from .metrics import Metric
from .precision import resolve_precision
from .progress import EpochProgress
from .tta import check_tta, flip_average
from .validation_split import class_counts, warn_on_validation_classes


@dataclass
class Task:
    """What is being learned: the loss, the metrics and whether the net outputs logits."""

    loss: Loss
    metrics: list[Metric]
    on_logits: bool

    def outputs_for_metrics(self, output: torch.Tensor) -> torch.Tensor:
        """Probabilities for binary metrics (thresholded at 0.5); argmax needs no change."""
        if self.loss.binary and self.on_logits:
            return torch.sigmoid(output.float())
        return output


@dataclass
class FitPlan:
    """One fit's data and settings, checked: what ``Model.fit`` resolves from Keras's
    arguments and a :class:`~cnnkit.train.loop.Trainer` runs."""

    task: Task
    train: ArraySource
    val: ArraySource | None
    batch_size: int
    epochs: int
    shuffle: bool = True
    verbose: int = 0
    callbacks: list = field(default_factory=list)
    initial_epoch: int = 0


def epoch_order(seed: int, epoch: int, n: int, shuffle: bool) -> np.ndarray | None:
    """The sample order of ``epoch``: a function of the seed and epoch number alone, so a
    resumed run sees exactly the batches the uninterrupted run would have seen."""
    if not shuffle:
        return None
    return np.random.default_rng([seed, epoch]).permutation(n)


class Trainer:
    """Runs epochs of training and validation for one model.

    ``model`` provides ``net`` (torch module), ``optimizer`` (a cnnkit optimizer whose
    ``torch_optimizer`` is built) and ``stop_training``. Optional parts: ``augment`` (a
    callable on training batches), ``schedule`` (learning rate for a global step),
    ``order`` (``order(seed, epoch, n)`` -> sample order, default shuffling), ``hooks``
    (:class:`~cnnkit.train.hooks.TrainerHook`), ``threads``: how many threads to train
    on, or None for all of torch's, tuned (train/batch_gradients.py computes each step), and
    ``distribution``: :class:`~cnnkit.train.distributed.DataParallel` to train as one rank
    of several processes (train/distributed.py), default one process. The net must already
    be on ``device`` (default the CPU; train/device.py).
    """

    def __init__(self, model, task: Task, precision: str = "fp32", hooks=(), augment=None,
                 schedule=None, order=None, threads: int | None = None, distribution=None,
                 device: torch.device | None = None):
        self.model = model
        self.distribution = distribution or SingleProcess()
        self.device = device or torch.device("cpu")
        self.task = task
        self.precision = resolve_precision(precision, model.net)[0]
        self.autocast_dtype = autocast_dtype(self.precision, self.device)
        self.scaler = gradient_scaler(self.precision, self.device)
        self.hooks: list[TrainerHook] = list(hooks)
        self.gradients = BatchGradients(model.net, self._piece_loss, self._autocast, threads)
        self.augment = augment
        self.schedule = schedule
        self.order = order
        self.steps_per_epoch = 0
        self.left_out = 0  # rows an epoch leaves out (train/last_batch.py)
        self.callbacks = None
        self.state = LoopState()
        self.history = History()

    def state_dict(self) -> dict:
        """Everything needed to continue exactly from here (see train/checkpoint.py)."""
        return {
            "loop": self.state.to_dict(),
            "history": self.history.to_dict(),
            "weights": self.model.state_snapshot(),
            "optimizer": self.model.optimizer.torch_optimizer.state_dict(),
            "ema": self.model.optimizer.ema.state_dict() if self.model.optimizer.ema else None,
            "callbacks": [c.state_dict() for c in (self.callbacks.callbacks
                                                   if self.callbacks else [])],
            "rng": rng_states(),
            "precision": self.precision,
            "world_size": self.distribution.world,
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` (callbacks must already be attached)."""
        self.state = LoopState(**state["loop"])
        self.history = History.from_dict(state["history"])
        self.model.load_snapshot(state["weights"])
        self.model.optimizer.load_state(state["optimizer"])
        if self.model.optimizer.ema is not None and state.get("ema"):
            self.model.optimizer.ema.load_state_dict(state["ema"])
        callbacks = self.callbacks.callbacks if self.callbacks else []
        if len(callbacks) != len(state["callbacks"]):
            raise CheckpointError(
                f"the checkpoint holds the state of {len(state['callbacks'])} callback(s) but "
                f"this run has {len(callbacks)}",
                hint="resume with the same callbacks (the same early-stopping and schedule "
                     "settings) the run started with")
        for callback, saved in zip(callbacks, state["callbacks"], strict=True):
            callback.load_state_dict(saved)
        set_rng_states(state["rng"])

    # -- one step ------------------------------------------------------------------------
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=self.autocast_dtype,
                              enabled=self.autocast_dtype is not None)

    def _piece_loss(self, output: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None
                    ) -> torch.Tensor:
        loss = self.task.loss(output, y, self.task.on_logits, w)
        return loss if self.scaler is None else self.scaler.scale(loss)

    def train_step(self, x: torch.Tensor, y: torch.Tensor, w: torch.Tensor | None) -> float:
        """One optimizer step on a batch (its gradient: train/batch_gradients.py); returns
        the batch loss."""
        optimizer = self.model.optimizer
        if self.schedule is not None:  # on the schedule's own steps per epoch: an epoch that
            # leaves a row out (train/last_batch.py) skips its last value, not the run's end
            steps = getattr(self.schedule, "steps_per_epoch", self.steps_per_epoch)
            optimizer.learning_rate = self.schedule(self.state.epoch * steps + self.state.step)
        x, y, w = moved((x, y, w), self.device)
        if self.augment is not None:
            x = self.augment(x)
        result = self.gradients.step(x, y, w)
        with torch.no_grad():
            correct = self._count_correct(result.scored)
        scale = 1.0 if self.scaler is None else float(self.scaler.get_scale())
        value, count, correct = self.distribution.reduce_step(
            self.gradients.params, result.loss / scale, len(x), correct)
        if not np.isfinite(value):
            return self._stop_on_nan(value)
        self._optimizer_step(optimizer)
        optimizer.update_average(self.gradients.params)
        for name, c in correct.items():
            self.state.correct[name] = self.state.correct.get(name, 0.0) + c
        self.state.loss_sum += value * count
        self.state.seen += count
        return value

    def _count_correct(self, scored: list[tuple[torch.Tensor, torch.Tensor]]
                       ) -> dict[str, float]:
        """Each metric's count of correct samples over the batch's scored outputs."""
        correct = dict.fromkeys((m.name for m in self.task.metrics), 0.0)
        for output, ys in scored:
            outputs = self.task.outputs_for_metrics(output)
            for metric in self.task.metrics:
                correct[metric.name] += float(metric.correct(
                    outputs, ys, self.task.loss.binary, self.task.loss.sparse_labels))
        return correct

    def _stop_on_nan(self, value: float) -> float:
        """A non-finite loss: no optimizer step; stop as TerminateOnNaN says, or raise."""
        if self._terminates_on_nan():
            return value  # TerminateOnNaN stops the run after this batch, as in Keras
        raise TrainingError(
            f"the loss became {value} at epoch {self.state.epoch + 1}, batch "
            f"{self.state.step + 1}; training stopped and the model keeps the weights "
            "from before this batch",
            hint="lower the learning rate (e.g. by 10x), check the inputs for NaN or "
                 "infinite values, or clip gradients (clipnorm=1.0)")

    def _terminates_on_nan(self) -> bool:
        return any(isinstance(c, TerminateOnNaN)
                   for c in (self.callbacks.callbacks if self.callbacks else []))

    def _optimizer_step(self, optimizer) -> None:
        """Clip and step; with fp16 on CUDA through the gradient scaler (which skips a
        step whose gradients overflowed and lowers its scale)."""
        if self.scaler is None:
            self._clip(optimizer)
            optimizer.torch_optimizer.step()
            return
        self.scaler.unscale_(optimizer.torch_optimizer)
        self._clip(optimizer)
        self.scaler.step(optimizer.torch_optimizer)
        self.scaler.update()

    def _clip(self, optimizer) -> None:
        if (optimizer.clipvalue is None and optimizer.clipnorm is None
                and optimizer.global_clipnorm is None):
            return
        params = [p for p in self.gradients.params if p.grad is not None]
        if optimizer.clipvalue is not None:
            torch.nn.utils.clip_grad_value_(params, optimizer.clipvalue)
        if optimizer.clipnorm is not None:
            for p in params:
                torch.nn.utils.clip_grad_norm_([p], optimizer.clipnorm)
        if optimizer.global_clipnorm is not None:
            torch.nn.utils.clip_grad_norm_(params, optimizer.global_clipnorm)

    # -- epochs --------------------------------------------------------------------------
    def run(self, plan: FitPlan, resume_from: dict | None = None) -> History:
        """Train as ``plan`` says (``Model.fit`` and ``cnnkit train`` both come here); with
        ``resume_from``, a checkpoint's state, continue exactly where it stopped."""
        model = self.model
        if model.optimizer.torch_optimizer is None:
            model.optimizer.build(model.net.parameters())
        self.distribution.start(model.net)  # rank 0's weights and random state on every rank
        self.state.seed = int(torch.randint(0, 2**31 - 1, (1,)))
        self.state.epoch = int(plan.initial_epoch)
        rows = self.distribution.epoch_rows(len(plan.train))
        verbose = plan.verbose if self.distribution.writes else 0  # one progress bar
        params = {"epochs": plan.epochs, "steps": -(-rows // plan.batch_size),
                  "verbose": verbose}
        callbacks = CallbackList(plan.callbacks, model, params)
        if resume_from is not None:
            self.callbacks = callbacks
            self.load_state_dict(resume_from)
        self.history.params = params
        model.history = self.history
        if plan.val is not None:
            units, names = model.net.output_shape[-1], model.class_names
            self.history.class_counts = class_counts(plan.train.targets, units, names)
            self.history.val_class_counts = class_counts(plan.val.targets, units, names)
            warn_on_validation_classes(self.history.class_counts, self.history.val_class_counts)
        return self.fit(plan.train, plan.val, epochs=plan.epochs, batch_size=plan.batch_size,
                        shuffle=plan.shuffle, callbacks=callbacks, verbose=verbose,
                        resume=resume_from is not None)

    def fit(self, train: ArraySource, val: ArraySource | None, *, epochs: int, batch_size: int,
            shuffle: bool, callbacks, verbose: int, resume: bool = False) -> History:
        """Train from ``state.epoch``/``state.step`` up to ``epochs``. A fresh run starts
        at step 0 and calls ``on_train_begin``; a resumed one continues mid-epoch and does
        not (its callbacks' state was restored from the checkpoint)."""
        self.model.stop_training = False
        self.callbacks = callbacks
        for callback in callbacks.callbacks:
            callback.trainer = self
        rows = self.distribution.epoch_rows(len(train))
        self.left_out = rows_left_out(self.model.net, rows, batch_size, self.distribution.world,
                                      lambda: moved(train.batch(slice(0, 1))[:1],
                                                    self.device)[0])
        self.steps_per_epoch = -(-(rows - self.left_out) // batch_size)
        try:
            self.gradients.start(self.distribution.local_batch(batch_size))
            self.model.optimizer.torch_optimizer.zero_grad(set_to_none=True)  # no stale grads
            if not resume:
                callbacks.on_train_begin()
            self._epochs(train, val, epochs, batch_size, shuffle, callbacks, verbose, resume)
            self.model.optimizer.finalize_variable_values(self.gradients.params)  # as Keras
        finally:
            for hook in self.hooks:
                hook.after_training(self)
            self.gradients.close()
        callbacks.on_train_end()
        return self.history

    def _epochs(self, train, val, epochs, batch_size, shuffle, callbacks, verbose, resume):
        first_epoch = self.state.epoch
        for epoch in range(first_epoch, epochs):
            if not (resume and epoch == first_epoch):
                self.state.start_epoch(epoch)
            callbacks.on_epoch_begin(epoch)
            logs, timing = self._run_epoch(train, val, epochs, batch_size, shuffle, callbacks,
                                           verbose)
            self.history.append(epoch, logs, timing)
            self.state.start_epoch(epoch + 1)
            callbacks.on_epoch_end(epoch, logs)
            for hook in self.hooks:
                hook.after_epoch(self)
            if self.model.stop_training:
                break

    def _run_epoch(self, train, val, epochs, batch_size, shuffle, callbacks, verbose):
        state = self.state
        progress = EpochProgress(verbose, state.epoch, epochs, self.steps_per_epoch, state.step)
        order_of = self.order or (lambda seed, epoch, n: epoch_order(seed, epoch, n, shuffle))
        order, rows = order_of(state.seed, state.epoch, len(train)), len(train)
        if self.left_out:
            rows -= self.left_out
            order = (np.arange(len(train)) if order is None else order)[:rows]
        order = self.distribution.rank_order(order, rows, batch_size)
        self.model.net.train()
        batches = WaitTimer(train.batches(order, self.distribution.local_batch(batch_size),
                                          start=state.step))
        started = time.perf_counter()
        wait_before = state.wait_seconds
        train_before = state.train_seconds
        seen_before = state.seen
        for x, y, w in batches:
            callbacks.on_train_batch_begin(state.step)
            loss = self.train_step(x, y, w)
            state.step += 1
            state.wait_seconds = wait_before + batches.seconds
            state.train_seconds = train_before + time.perf_counter() - started
            callbacks.on_train_batch_end(state.step - 1, {"loss": loss})
            for hook in self.hooks:
                hook.after_step(self)
            rate = (state.seen - seen_before) / max(time.perf_counter() - started, 1e-9)
            progress.update(state.step, lambda: state.logs(self.task.metrics), rate)
            if self.model.stop_training:
                break
        logs = state.logs(self.task.metrics)
        if val is not None and len(val):
            with self.gradients.evaluating():
                scores = self.evaluate(val, batch_size)
            logs.update({f"val_{k}": v for k, v in scores.items()})
        logs["learning_rate"] = self.model.optimizer.learning_rate
        seconds = max(state.train_seconds, 1e-9)
        timing = {"epoch_seconds": seconds, "images_per_second": state.seen / seconds,
                  "data_wait_seconds": state.wait_seconds}
        progress.close(logs, seconds)
        return logs, timing

    def evaluate(self, source: ArraySource, batch_size: int) -> dict[str, float]:
        """Loss and metrics over ``source`` in inference mode (each rank evaluates its
        rows, the sums are reduced)."""
        rows = self.distribution.validation_rows(len(source))
        if rows is None:
            return evaluate(self.model.net, source, self.task, batch_size, self.device)
        scores = evaluate(self.model.net, RowsOf(source, rows), self.task, batch_size,
                          self.device)
        names = sorted(scores)
        sums = self.distribution.reduce_sums([len(rows), *(scores[k] * len(rows)
                                                           for k in names)])
        return {k: v / max(sums[0], 1) for k, v in zip(names, sums[1:], strict=True)}


class RowsOf:
    """The ``rows`` of a source, read in place (a view: no copy of the images)."""

    def __init__(self, source: ArraySource, rows: np.ndarray):
        self.source = source
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def batches(self, order: np.ndarray | None, batch_size: int, start: int = 0,
                prefetch: int = 2):
        """The source's batches over these rows (``order`` indexes the rows)."""
        rows = self.rows if order is None else self.rows[order]
        return self.source.batches(rows, batch_size, start=start, prefetch=prefetch)


def evaluate(net: torch.nn.Module, source: ArraySource, task: Task, batch_size: int,
             device: torch.device | None = None, tta: str | None = None) -> dict[str, float]:
    """Keras's loss and metrics of ``net`` (on ``device``, default the CPU) over ``source``,
    exact over all samples, from the one evaluation path (train/evaluate.py): validation and
    ``evaluate()``. With ``tta="flip"`` they are those of the outputs averaged with the
    mirror images' (train/tta.py), as probabilities."""
    net.eval()
    forward = on_device(net, device or torch.device("cpu"))
    if check_tta(tta):
        forward = flip_average(forward, net.output_activation if task.on_logits else _same)
        task = replace(task, on_logits=False)
    loss_sum, seen = 0.0, 0
    correct = dict.fromkeys((m.name for m in task.metrics), 0.0)
    for output, y, w in batch_outputs(forward, source, batch_size):
        loss_sum += float(task.loss(output, y, task.on_logits, w)) * len(output)
        scored = task.outputs_for_metrics(output)
        for metric in task.metrics:
            correct[metric.name] += float(metric.correct(
                scored, y, task.loss.binary, task.loss.sparse_labels))
        seen += len(output)
    seen = max(seen, 1)
    return {"loss": loss_sum / seen, **{k: v / seen for k, v in correct.items()}}


def _same(x: torch.Tensor) -> torch.Tensor:
    """Outputs that already are probabilities."""
    return x
