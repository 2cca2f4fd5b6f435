"""An :class:`~cnnkit.evaluation.Evaluation` as aligned text for a terminal."""

from __future__ import annotations

from ..tables import format_table


def _score(value: float) -> str:
    return f"{value:.3f}"


def format_evaluation(evaluation) -> str:
    """Summary, per-class table, most-confused pairs, worst examples and the reliability
    curve of ``evaluation``."""
    lines = _summary(evaluation)
    lines += ["", *_per_class(evaluation)]
    lines += ["", *_confused(evaluation)]
    lines += ["", *_worst(evaluation)]
    lines += ["", *_reliability(evaluation)]
    return "\n".join(lines)


def _summary(evaluation) -> list[str]:
    parts = [f"loss {evaluation.loss:.4f}", f"accuracy {evaluation.accuracy:.4f}"]
    parts += [f"top-{k} accuracy {value:.4f}"
              for k, value in evaluation.top_k_accuracy.items()]
    return [f"{evaluation.samples:,} images, {len(evaluation.class_names)} classes",
            "  ".join(parts)]


def _per_class(evaluation) -> list[str]:
    scores = evaluation.scores()
    rows = [[name, int(scores["support"][i]), *(_score(scores[key][i])
                                                  for key in ("precision", "recall", "f1"))]
            for i, name in enumerate(evaluation.class_names)]
    for kind, values in evaluation.averages().items():
        rows.append([f"{kind} avg", values["support"],
                     *(_score(values[key]) for key in ("precision", "recall", "f1"))])
    lines = format_table(["class", "images", "precision", "recall", "f1"], rows)
    lines.append("(recall is the accuracy on the images of that class)")
    return lines


def _confused(evaluation) -> list[str]:
    pairs = evaluation.most_confused()
    if not pairs:
        return ["most confused: no image was misclassified"]
    rows = [[f"{p.true} -> {p.predicted}", p.count, f"{p.fraction:.1%}"] for p in pairs]
    return format_table(["most confused (true -> predicted)", "images", "of true class"], rows)


def _worst(evaluation) -> list[str]:
    if not evaluation.worst_examples:
        return []
    rows = [[e.path or f"#{e.index}", e.true, e.predicted, _score(e.probability_predicted),
             _score(e.probability_true), f"{e.loss:.2f}"] for e in evaluation.worst_examples]
    return format_table(["highest loss", "true", "predicted", "p(predicted)", "p(true)",
                         "loss"], rows)


def _reliability(evaluation) -> list[str]:
    rows = [[f"{b['lower']:.2f}-{b['upper']:.2f}", b["count"], _score(b["confidence"]),
             _score(b["accuracy"])]
            for b in evaluation.calibration.curve() if b["count"]]
    lines = format_table(["confidence bin", "images", "confidence", "accuracy"], rows)
    lines.append(f"expected calibration error: {evaluation.ece:.4f} "
                 f"({evaluation.calibration.bins} equal-width bins)")
    return lines
