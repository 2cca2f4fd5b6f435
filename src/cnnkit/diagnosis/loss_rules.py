"""How the optimisation went, read from the loss curves: non-finite losses, unstable or
diverging training, a learning rate that is too low, and plateaus."""

from __future__ import annotations

import numpy as np

from .context import Context
from .finding import Finding
from .fit_rules import NEAR_CHANCE_SKILL

UNSTABLE_MIN_EPOCHS = 4    # fewer epochs cannot show a swing around a trend
UNSTABLE_SWING = 0.08      # RMS of val loss around its running median / mean val loss ...
UNSTABLE_TURNS = 2         # ... with at least this many changes of direction
DIVERGE_RATIO = 1.5        # training loss ends this many times above its lowest value ...
DIVERGE_MIN_RISE = 0.1     # ... and at least this much higher in absolute terms
EXPLODED_CHANCE_RATIO = 3  # an epoch's training loss above 3 x ln(classes) (a uniform guess)
COLLAPSE_EPOCHS = 2        # the last epochs' training loss within ...
COLLAPSE_TOLERANCE = 0.02  # ... 2 % of ln(classes), accuracy near chance ...
HIGH_LEARNING_RATE = 0.1   # ... and a learning rate at least this high: a collapsed network

LOW_LR_MIN_EPOCHS = 5      # a shape needs a few epochs
LOW_LR_STEADINESS = 0.5    # mean drop per epoch in the second half / in the first half above
LOW_LR_MAX_DROP = 0.05     # mean drop per epoch below this fraction of the mean loss
CONVERGED_ACCURACY = 0.95  # training accuracy at which flat curves are simply done

PLATEAU_EPOCHS = 4         # the last epochs looked at ...
PLATEAU_TOLERANCE = 0.02   # ... change the trend of train and val loss by less than 2 %

LOWER_LR = "lower the learning rate (e.g. 3-10x smaller)"


def non_finite_loss(ctx: Context) -> Finding | None:
    """A loss became NaN or infinite."""
    first_bad = {key: int(np.flatnonzero(~np.isfinite(values))[0]) + 1
                 for key, values in ctx.history.items()
                 if key.endswith("loss") and not np.isfinite(values).all()}
    if not first_bad:
        return None
    return Finding("non_finite_loss", "critical", "the loss became NaN or infinite",
                   {"first_epoch": first_bad}, [
                       LOWER_LR,
                       "clip gradients (e.g. optimizer=Adam(clipnorm=1.0))",
                       "check the inputs for NaN or infinite values and that they are "
                       "scaled to [0, 1]",
                       "add BatchNormalization after the convolutions"])


def unstable_training(ctx: Context) -> Finding | None:
    """The validation loss swings up and down around its trend, the training loss climbs
    back up, an epoch's training loss is far worse than guessing, or a high learning rate
    left a network that gives every image the same answer."""
    evidence = {**_swings(ctx), **_climb(ctx), **_explosion(ctx), **_collapse(ctx)}
    if not evidence:
        return None
    severe = bool(evidence.keys() & {"train_loss_last", "exploded_epoch", "collapsed_loss"})
    return Finding("unstable_training", "critical" if severe else "warning",
                   "training diverged: the loss grew or the network collapsed" if severe
                   else "training is unstable: the validation loss jumps up and down",
                   evidence, [
                       LOWER_LR,
                       "clip gradients (e.g. optimizer=Adam(clipnorm=1.0))",
                       "use a learning-rate schedule with warm-up, or ReduceLROnPlateau",
                       "add BatchNormalization; use a larger batch size"])


def _swings(ctx: Context) -> dict:
    val = ctx.curve("val_loss")
    if val is None or len(val) < UNSTABLE_MIN_EPOCHS:
        return {}
    trend = val.copy()  # running median of 3: a local trend that ignores single spikes
    trend[1:-1] = np.median(np.stack([val[:-2], val[1:-1], val[2:]]), axis=0)
    swing = float(np.sqrt(np.mean((val - trend) ** 2)) / np.mean(np.abs(val)))
    steps = np.sign(np.diff(val))
    steps = steps[steps != 0]
    turns = int(np.count_nonzero(steps[1:] != steps[:-1]))
    if swing <= UNSTABLE_SWING or turns < UNSTABLE_TURNS:
        return {}
    return {"val_loss_swing": swing, "val_loss_turns": turns,
            "val_loss": [float(v) for v in val]}


def _climb(ctx: Context) -> dict:
    train = ctx.curve("loss")
    if train is None or len(train) < 2:
        return {}
    best = int(np.argmin(train))
    last = float(train[-1])
    if last < DIVERGE_RATIO * train[best] or last - train[best] < DIVERGE_MIN_RISE:
        return {}
    return {"train_loss_best_epoch": best + 1, "train_loss_best": float(train[best]),
            "train_loss_last": last}


def _explosion(ctx: Context) -> dict:
    train, chance = ctx.curve("loss"), ctx.chance_loss
    if train is None or chance is None:
        return {}
    exploded = np.flatnonzero(train > EXPLODED_CHANCE_RATIO * chance)
    if not len(exploded):
        return {}
    return {"exploded_epoch": int(exploded[0]) + 1,
            "exploded_loss": float(train[exploded[0]]), "chance_loss": chance}


def _collapse(ctx: Context) -> dict:
    train, accuracy, rates = ctx.curve("loss"), ctx.curve("accuracy"), ctx.curve("learning_rate")
    chance = ctx.chance_loss
    if (train is None or accuracy is None or rates is None or chance is None
            or len(train) < COLLAPSE_EPOCHS):
        return {}
    last = train[-COLLAPSE_EPOCHS:]
    if (np.abs(last - chance).max() > COLLAPSE_TOLERANCE * chance
            or ctx.skill(float(accuracy[-1])) >= NEAR_CHANCE_SKILL
            or rates[-1] < HIGH_LEARNING_RATE):
        return {}
    return {"collapsed_loss": float(last[-1]), "chance_loss": chance,
            "train_accuracy": float(accuracy[-1]), "learning_rate": float(rates[-1])}


def learning_rate_too_low(ctx: Context) -> Finding | None:
    """The training loss falls slowly and steadily, in a nearly straight line that shows
    no sign of levelling off, with a small improvement each epoch."""
    train = ctx.curve("loss")
    if train is None or len(train) < LOW_LR_MIN_EPOCHS or _converged(ctx):
        return None
    drops = -np.diff(train)
    if (drops <= 0).any():
        return None
    half = len(drops) // 2
    steadiness = float(drops[-half:].mean() / drops[:half].mean())
    relative_drop = float(drops.mean() / train.mean())
    if steadiness < LOW_LR_STEADINESS or relative_drop >= LOW_LR_MAX_DROP:
        return None
    return Finding("learning_rate_too_low", "info",
                   "the loss falls slowly in a straight line: the learning rate may be "
                   "too low", {
                       "mean_drop_per_epoch": float(drops.mean()),
                       "relative_drop_per_epoch": relative_drop,
                       "late_over_early_drop": steadiness, "epochs": len(train),
                       "train_loss": [float(v) for v in train]}, [
                       "raise the learning rate (e.g. 3-10x) and watch that the loss still "
                       "falls smoothly",
                       "or keep it and train for many more epochs",
                       "try Adam (learning rate 1e-3) if this is SGD without momentum"])


def plateau(ctx: Context) -> Finding | None:
    """Training and validation loss both stopped improving over the last epochs although
    the model has not learned the training set."""
    train, val = ctx.curve("loss"), ctx.curve("val_loss")
    if train is None or val is None or len(train) < PLATEAU_EPOCHS + 1:
        return None
    if ctx.curve("accuracy") is None or _converged(ctx):
        return None
    changes = {key: _trend_change(values[-PLATEAU_EPOCHS:])
               for key, values in (("loss", train), ("val_loss", val))}
    if max(abs(c) for c in changes.values()) >= PLATEAU_TOLERANCE:
        return None
    evidence = {"from_epoch": len(train) - PLATEAU_EPOCHS + 1, "to_epoch": len(train),
                "train_loss_change": changes["loss"], "val_loss_change": changes["val_loss"],
                "train_accuracy": float(ctx.curve("accuracy")[-1])}
    rates = ctx.curve("learning_rate")
    if rates is not None:
        evidence["learning_rate"] = float(rates[-1])
    return Finding("plateau", "warning", "the loss stopped improving before the model "
                   "learned the training set", evidence, [
                       "lower the learning rate when the loss stalls: "
                       "ReduceLROnPlateau(monitor='val_loss', factor=0.2, patience=2)",
                       "or use a schedule (step or cosine decay)",
                       "if a lower rate does not help, the model is too small: see "
                       "underfitting"])


def _trend_change(values: np.ndarray) -> float:
    """Change of a straight-line fit over ``values``, from first to last, relative to their
    mean."""
    slope = np.polyfit(np.arange(len(values)), values, 1)[0]
    return float(slope * (len(values) - 1) / np.mean(np.abs(values)))


def _converged(ctx: Context) -> bool:
    accuracy = ctx.curve("accuracy")
    return accuracy is not None and accuracy[-1] >= CONVERGED_ACCURACY
