"""Does the validation split hold the same classes as training? A validation split cut from
arrays sorted by class (Keras's ``validation_split`` takes the last fraction, unshuffled)
holds only the last classes, and training never sees them."""

from __future__ import annotations

from .context import Context
from .finding import Finding


def validation_classes(ctx: Context) -> Finding | None:
    """Some class has training images but no validation image, or the reverse."""
    train, val = ctx.class_counts, ctx.val_class_counts
    if not train or not val:
        return None
    names = list(dict.fromkeys([*train, *val]))
    not_validated = [n for n in names if train.get(n, 0) > 0 and val.get(n, 0) <= 0]
    not_trained = [n for n in names if val.get(n, 0) > 0 and train.get(n, 0) <= 0]
    if not not_validated and not not_trained:
        return None
    evidence: dict = {}
    if not_trained:
        evidence["validation_classes_without_training_images"] = {
            n: val[n] for n in not_trained}
    if not_validated:
        evidence["training_classes_without_validation_images"] = {
            n: train[n] for n in not_validated}
    evidence["training_images"] = {n: train.get(n, 0) for n in names}
    evidence["validation_images"] = {n: val.get(n, 0) for n in names}
    parts = []
    if not_trained:
        parts.append(f"{len(not_trained)} class(es) appear only in validation, never in "
                     "training")
    if not_validated:
        parts.append(f"{len(not_validated)} training class(es) have no validation image")
    return Finding("validation_classes", "critical" if not_trained else "warning",
                   "the validation split does not hold the training classes: "
                   + "; ".join(parts), evidence, [
                       "with fit(validation_split=f): it takes the last fraction of the "
                       "arrays without shuffling (as Keras does), so arrays sorted by class "
                       "hold out only their last classes; shuffle them once first: "
                       "p = np.random.default_rng(0).permutation(len(x)); x, y = x[p], y[p]",
                       "otherwise give validation images of every class (ImageDataset.split() "
                       "is stratified; a validation folder needs a folder per class)",
                       "until then, validation loss and accuracy measure only some classes"])
