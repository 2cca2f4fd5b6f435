"""Reading a training run: what went wrong and what to try.

:func:`diagnose` applies every rule to a training history (and, when given, the per-epoch
timing, an evaluation, the training class counts and the inspection's leakage) and returns
a :class:`Finding` for each problem it sees. The rules and their thresholds are described
in docs/diagnosis.md.
"""

from __future__ import annotations

from collections.abc import Callable

from .context import Context, make_context
from .data_rules import class_imbalance, class_recall_collapse, train_test_leakage
from .finding import SEVERITIES, Finding, format_findings
from .fit_rules import overfitting, underfitting
from .loss_rules import learning_rate_too_low, non_finite_loss, plateau, unstable_training
from .pipeline_rules import input_bound
from .split_rules import validation_classes

RULES: tuple[Callable[[Context], Finding | None], ...] = (
    non_finite_loss, unstable_training, overfitting, underfitting, learning_rate_too_low,
    plateau, class_imbalance, class_recall_collapse, validation_classes, train_test_leakage,
    input_bound)

# When training diverged, low accuracy and flat or slow curves are its consequences, and
# their advice (raise the learning rate) would make things worse: they are left out.
EXPLAINED_BY = {
    "underfitting": ("non_finite_loss", "unstable_training"),
    "learning_rate_too_low": ("non_finite_loss", "unstable_training"),
    "plateau": ("non_finite_loss", "unstable_training"),
}


def diagnose(history, timing: list[dict] | None = None, evaluation=None,
             class_counts: dict[str, int] | None = None, leakage=None,
             num_classes: int | None = None,
             val_class_counts: dict[str, int] | None = None) -> list[Finding]:
    """Findings about a training run, most severe first.

    ``history`` is a :class:`~cnnkit.train.history.History` or its ``.history`` dict
    (``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ... one value per epoch);
    ``timing`` defaults to ``history.timing``. ``evaluation`` is an
    :class:`~cnnkit.evaluation.Evaluation` or its ``to_dict()``; ``class_counts`` the
    training images per class; ``leakage`` the ``"leakage"`` list of
    :func:`cnnkit.data.inspect.inspect` (or its whole result). ``num_classes`` sets chance
    level; by default it comes from the evaluation or the class counts.
    ``val_class_counts`` are the validation images per class (compared with
    ``class_counts``).
    """
    ctx = make_context(history, timing, evaluation, class_counts, leakage, num_classes,
                       val_class_counts)
    found = [finding for rule in RULES if (finding := rule(ctx)) is not None]
    fired = {finding.rule for finding in found}
    found = [f for f in found if not fired.intersection(EXPLAINED_BY.get(f.rule, ()))]
    return sorted(found, key=lambda f: SEVERITIES.index(f.severity))


__all__ = ["EXPLAINED_BY", "RULES", "Finding", "diagnose", "format_findings"]
