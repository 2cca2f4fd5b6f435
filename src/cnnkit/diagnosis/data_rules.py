"""Problems of the data rather than the training: imbalanced classes, a class the model
fails on, and test images that are also training images."""

from __future__ import annotations

from .context import Context
from .finding import Finding

IMBALANCE_RATIO = 3.0             # images in the largest class / in the smallest
COLLAPSED_RECALL = 0.2            # a class with recall below this ...
COLLAPSED_RELATIVE = 0.5          # ... or below half the mean recall has collapsed
LEAKAGE_CRITICAL_FRACTION = 0.01  # leaked share of the later split that makes it critical


def class_imbalance(ctx: Context) -> Finding | None:
    """The training classes differ a lot in size, or some class has no image."""
    if not ctx.class_counts:
        return None
    counts = ctx.class_counts
    present = {name: n for name, n in counts.items() if n > 0}
    empty = [name for name, n in counts.items() if n <= 0]
    if not present:
        return None
    largest = max(present, key=present.get)
    smallest = min(present, key=present.get)
    ratio = present[largest] / present[smallest]
    if ratio <= IMBALANCE_RATIO and not empty:
        return None
    evidence = {"ratio": ratio, "largest_class": largest, "largest_count": present[largest],
                "smallest_class": smallest, "smallest_count": present[smallest]}
    if empty:
        evidence["classes_without_images"] = empty
    return Finding("class_imbalance", "warning",
                   f"the classes are imbalanced: {largest!r} has {ratio:.1f}x as many images "
                   f"as {smallest!r}" if ratio > IMBALANCE_RATIO
                   else "some classes have no training image", evidence, [
                       "weigh the classes: fit(..., class_weight={class: total / (classes "
                       "* count)})",
                       "collect more images of the small classes, or oversample and augment "
                       "them",
                       "judge the model by macro-averaged recall and F1, not accuracy alone"])


def class_recall_collapse(ctx: Context) -> Finding | None:
    """Some class is rarely recognised: its recall is far below the others'."""
    if ctx.evaluation is None:
        return None
    rows = [row for row in ctx.evaluation["per_class"] if row["support"] > 0]
    if not rows:
        return None
    mean_recall = sum(row["recall"] for row in rows) / len(rows)
    limit = max(COLLAPSED_RECALL, COLLAPSED_RELATIVE * mean_recall)
    collapsed = [row for row in rows if row["recall"] < limit]
    if not collapsed:
        return None
    confused = ctx.evaluation.get("most_confused", [])
    classes = {}
    for row in collapsed:
        entry = {"recall": row["recall"], "images": row["support"]}
        if ctx.class_counts and row["class"] in ctx.class_counts:
            entry["training_images"] = ctx.class_counts[row["class"]]
        mistaken = [pair["predicted"] for pair in confused if pair["true"] == row["class"]]
        if mistaken:
            entry["mostly_predicted_as"] = mistaken[0]
        classes[row["class"]] = entry
    names = ", ".join(repr(name) for name in classes)
    return Finding("class_recall_collapse", "warning",
                   f"the model rarely recognises {names}",
                   {"mean_recall": mean_recall, "recall_limit": limit, "classes": classes}, [
                       "look at the misclassified images of these classes (worst examples, "
                       "confusion matrix): wrong labels and look-alike classes show there",
                       "give these classes more weight (class_weight=) or more images",
                       "if they are confused with one other class, collect images that tell "
                       "the two apart"])


def train_test_leakage(ctx: Context) -> Finding | None:
    """Images of a later split (test or validation) are exact copies of earlier ones."""
    leaks = [entry for entry in ctx.leakage if entry["count"] > 0]
    if not leaks:
        return None
    evidence = {" / ".join(entry["splits"]): {
        "images": entry["count"], "distinct": entry["groups"],
        **({} if entry["fraction"] is None else {"fraction": entry["fraction"]}),
        **({"example": " = ".join(entry["examples"][0])} if entry.get("examples") else {})}
        for entry in leaks}
    critical = any(entry["fraction"] is None or entry["fraction"] >= LEAKAGE_CRITICAL_FRACTION
                   for entry in leaks)
    total = sum(entry["count"] for entry in leaks)
    return Finding("train_test_leakage", "critical" if critical else "warning",
                   f"{total:,} evaluation image(s) are exact copies of images in an earlier "
                   "split: their accuracy is inflated", evidence, [
                       "remove the duplicates from the test (or validation) split and "
                       "measure again; `cnnkit data inspect` lists them",
                       "deduplicate the images before splitting"])
