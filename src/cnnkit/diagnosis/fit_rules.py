"""Does the model fit the training data too closely (overfitting) or not enough
(underfitting)? Read from the accuracy and loss curves of training and validation."""

from __future__ import annotations

import numpy as np

from .context import Context
from .finding import Finding

OVERFIT_MIN_EPOCHS = 3     # fewer epochs say nothing about a trend
OVERFIT_GAP = 0.05         # train minus val accuracy at the last epoch above this ...
OVERFIT_GAP_GROWTH = 0.03  # ... and at least this much above its smallest earlier value
OVERFIT_SEVERE_GAP = 0.20  # a gap this large is critical
VAL_LOSS_PATIENCE = 3      # val loss lowest at least this many epochs before the end ...
VAL_LOSS_RISE = 0.10       # ... and ending this fraction above that lowest value ...
                           # ... while the training loss kept falling

UNDERFIT_SKILL = 0.5       # train (and val) accuracy below half-way from chance to perfect
NEAR_CHANCE_SKILL = 0.1    # below this the model learned almost nothing: critical


def overfitting(ctx: Context) -> Finding | None:
    """Validation falls behind training: the accuracy gap grows, or the validation loss
    rises for several epochs while the training loss falls."""
    evidence = {**_accuracy_gap(ctx), **_val_loss_rise(ctx)}
    if not evidence:
        return None
    gap = evidence.get("accuracy_gap", 0.0)
    advice = [
        "add Dropout (e.g. Dropout(0.5) before the last Dense layer, 0.25 after pooling)",
        "augment the training images (RandomFlip, RandomTranslation, RandomZoom, ...)",
        "add weight decay (optimizer='adamw', or weight_decay= on the optimizer)",
        "stop earlier: EarlyStopping(monitor='val_loss', patience=3, "
        "restore_best_weights=True)",
        "train on more images, or use a smaller model"]
    if "val_loss_best_epoch" in evidence:
        advice[3] += f" (validation loss was best at epoch {evidence['val_loss_best_epoch']})"
    return Finding("overfitting", "critical" if gap > OVERFIT_SEVERE_GAP else "warning",
                   "the model fits the training images better and better but not the "
                   "validation images", evidence, advice)


def _accuracy_gap(ctx: Context) -> dict:
    train, val = ctx.curve("accuracy"), ctx.curve("val_accuracy")
    if train is None or val is None:
        return {}
    n = min(len(train), len(val))
    if n < OVERFIT_MIN_EPOCHS:
        return {}
    gap = train[:n] - val[:n]
    smallest = int(np.argmin(gap[:-1]))
    if gap[-1] <= OVERFIT_GAP or gap[-1] - gap[smallest] < OVERFIT_GAP_GROWTH:
        return {}
    return {"accuracy_gap": float(gap[-1]), "accuracy_gap_epoch": n,
            "smallest_gap": float(gap[smallest]), "smallest_gap_epoch": smallest + 1,
            "train_accuracy": float(train[n - 1]), "val_accuracy": float(val[n - 1])}


def _val_loss_rise(ctx: Context) -> dict:
    train, val = ctx.curve("loss"), ctx.curve("val_loss")
    if train is None or val is None:
        return {}
    n = min(len(train), len(val))
    best = int(np.argmin(val[:n]))
    if (n - 1 - best < VAL_LOSS_PATIENCE or val[n - 1] < val[best] * (1 + VAL_LOSS_RISE)
            or train[n - 1] >= train[best]):
        return {}
    return {"val_loss_best_epoch": best + 1, "val_loss_best": float(val[best]),
            "val_loss_last": float(val[n - 1]), "train_loss_at_best": float(train[best]),
            "train_loss_last": float(train[n - 1])}


def underfitting(ctx: Context) -> Finding | None:
    """Training (and validation) accuracy stays low compared with chance: the model does
    not even fit the images it is trained on."""
    train = ctx.curve("accuracy")
    if train is None:
        return None
    val = ctx.curve("val_accuracy")
    skills = [ctx.skill(float(train[-1]))] + ([] if val is None else [ctx.skill(float(val[-1]))])
    if max(skills) >= UNDERFIT_SKILL:
        return None
    evidence = {"train_accuracy": float(train[-1]), "epoch": len(train),
                "chance_accuracy": ctx.chance}
    if val is not None:
        evidence["val_accuracy"] = float(val[-1])
    near_chance = max(skills) < NEAR_CHANCE_SKILL
    title = ("the model learned almost nothing: accuracy is close to chance" if near_chance
             else "the model does not fit even the training images well")
    return Finding("underfitting", "critical" if near_chance else "warning", title, evidence, [
        "use a larger model: more filters, more Conv2D blocks or a wider Dense layer",
        "train for more epochs",
        "use less regularisation: lower Dropout rates, less weight decay or augmentation",
        "raise the learning rate (e.g. 3x), or use Adam if this is plain SGD",
        "check that labels match the images and that inputs are scaled to [0, 1]"])
