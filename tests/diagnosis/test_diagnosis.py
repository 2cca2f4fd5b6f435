"""Diagnosis rules: each on a synthetic history that must trigger it and one that must not,
then real short training runs that go wrong on purpose."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import ImageDataset
from cnnkit.data.inspect import inspect
from cnnkit.diagnosis import Finding, diagnose, format_findings
from cnnkit.evaluation import metrics_from_predictions
from cnnkit.train.history import History
from training_runs import diverging_run, overfitting_run, underfitting_run


def rules(findings: list[Finding]) -> set[str]:
    return {finding.rule for finding in findings}


def only(rule: str, findings: list[Finding]) -> Finding:
    matching = [f for f in findings if f.rule == rule]
    assert len(matching) == 1, format_findings(findings)
    return matching[0]


def decay(start: float, end: float, epochs: int, rate: float = 0.6) -> list[float]:
    """A healthy, decelerating curve from ``start`` towards ``end``."""
    return [end + (start - end) * np.exp(-rate * t) for t in range(epochs)]


HEALTHY = {  # loss falls fast then levels off, validation follows closely
    "loss": decay(1.2, 0.25, 10), "val_loss": decay(1.25, 0.3, 10),
    "accuracy": decay(0.55, 0.92, 10), "val_accuracy": decay(0.53, 0.9, 10),
    "learning_rate": [1e-3] * 10}


def test_a_healthy_run_has_no_finding():
    assert diagnose(HEALTHY, num_classes=10) == []


# -- non-finite loss -----------------------------------------------------------------------
def test_nan_or_inf_loss_is_critical_and_names_the_epoch():
    finding = only("non_finite_loss", diagnose(
        {"loss": [1.0, 0.8, float("inf")], "val_loss": [1.1, float("nan"), float("nan")]}))
    assert finding.severity == "critical"
    assert finding.evidence["first_epoch"] == {"loss": 3, "val_loss": 2}
    assert "non_finite_loss" not in rules(diagnose({"loss": [1.0, 0.8, 0.7]}))


# -- unstable / diverging ------------------------------------------------------------------
def test_val_loss_swinging_around_its_trend_is_unstable():
    history = {"loss": decay(1.0, 0.4, 8), "val_loss": [0.9, 0.6, 0.8, 0.5, 0.9, 0.55, 1.0, 0.6]}
    finding = only("unstable_training", diagnose(history))
    assert finding.severity == "warning"
    assert finding.evidence["val_loss_swing"] > 0.08
    assert finding.evidence["val_loss_turns"] >= 2
    assert "lower the learning rate" in finding.advice[0]


def test_noise_and_a_u_shaped_val_loss_are_not_instability():
    noisy = decay(1.0, 0.5, 10)
    noisy = [v * (1.02 if i % 2 else 0.98) for i, v in enumerate(noisy)]  # +-2 % noise
    u_shape = [1.0, 0.7, 0.55, 0.5, 0.48, 0.47, 0.5, 0.55, 0.6, 0.66]
    for val in (noisy, u_shape):
        assert "unstable_training" not in rules(diagnose({"loss": decay(1, 0.2, 10),
                                                          "val_loss": val}))


def test_training_loss_climbing_back_up_is_divergence():
    finding = only("unstable_training", diagnose({"loss": [1.0, 0.6, 0.5, 0.9, 1.4]}))
    assert finding.severity == "critical"
    assert finding.evidence["train_loss_best_epoch"] == 3
    for loss in ([1.0, 0.6, 0.5, 0.52, 0.55],    # up by less than 1.5x
                 [2.0, 1.2, 1.0, 1.1, 1.2],      # up by 0.2, but only 1.2x
                 [0.02, 0.01, 0.005, 0.01, 0.02]):  # 4x, but by less than 0.1
        assert "unstable_training" not in rules(diagnose({"loss": loss}))


def test_a_loss_far_above_guessing_is_an_explosion():
    history = {"loss": [50.0, 2.0, 1.5]}
    finding = only("unstable_training", diagnose(history, num_classes=10))
    assert finding.evidence["exploded_epoch"] == 1
    assert finding.evidence["chance_loss"] == pytest.approx(np.log(10))
    assert "unstable_training" not in rules(diagnose({"loss": [6.0, 2.0, 1.5]},
                                                     num_classes=10))


def test_a_collapsed_network_at_a_high_learning_rate_is_divergence_not_underfitting():
    collapsed = {"loss": [2.35, 2.31, 2.305], "accuracy": [0.1, 0.1, 0.1],
                 "learning_rate": [1.0, 1.0, 1.0]}
    found = diagnose(collapsed, num_classes=10)
    assert only("unstable_training", found).evidence["collapsed_loss"] == 2.305
    assert "underfitting" not in rules(found)  # explained by the divergence
    slow = {**collapsed, "learning_rate": [1e-3] * 3}
    assert rules(diagnose(slow, num_classes=10)) == {"underfitting"}


# -- overfitting ---------------------------------------------------------------------------
def test_a_growing_accuracy_gap_is_overfitting():
    history = {"accuracy": [0.6, 0.75, 0.85, 0.93, 0.98],
               "val_accuracy": [0.58, 0.7, 0.72, 0.72, 0.71]}
    finding = only("overfitting", diagnose(history))
    assert finding.evidence["accuracy_gap"] == pytest.approx(0.27)
    assert finding.evidence["smallest_gap_epoch"] == 1
    assert finding.severity == "critical"  # gap above 0.2


def test_a_constant_gap_is_not_overfitting():
    history = {"accuracy": [0.6, 0.7, 0.8, 0.85], "val_accuracy": [0.52, 0.62, 0.72, 0.77]}
    assert "overfitting" not in rules(diagnose(history))


def test_val_loss_rising_while_train_loss_falls_is_overfitting():
    history = {"loss": [1.0, 0.7, 0.5, 0.4, 0.3, 0.2],
               "val_loss": [1.0, 0.8, 0.7, 0.75, 0.8, 0.85]}
    finding = only("overfitting", diagnose(history))
    assert finding.evidence["val_loss_best_epoch"] == 3
    assert finding.severity == "warning"
    assert "epoch 3" in finding.advice[3]
    for val_loss in ([1.0, 0.8, 0.7, 0.6, 0.7, 0.8],     # best only 2 epochs ago
                     [1.0, 0.8, 0.7, 0.72, 0.73, 0.74]):  # up by less than 10 %
        assert "overfitting" not in rules(diagnose({**history, "val_loss": val_loss}))


# -- underfitting --------------------------------------------------------------------------
def test_low_accuracy_relative_to_chance_is_underfitting():
    low = {"accuracy": [0.2, 0.3, 0.35], "val_accuracy": [0.2, 0.28, 0.33]}
    assert only("underfitting", diagnose(low, num_classes=10)).severity == "warning"
    near_chance = {"accuracy": [0.1, 0.11, 0.12], "val_accuracy": [0.1, 0.1, 0.11]}
    assert only("underfitting", diagnose(near_chance, num_classes=10)).severity == "critical"
    # 0.7 on 2 classes is little above chance (0.5); on 10 classes it is not underfitting
    two = {"accuracy": [0.6, 0.68, 0.7], "val_accuracy": [0.6, 0.66, 0.69]}
    assert "underfitting" in rules(diagnose(two, num_classes=2))
    assert "underfitting" not in rules(diagnose(two, num_classes=10))


# -- learning rate too low -----------------------------------------------------------------
def test_a_slow_straight_line_loss_means_the_learning_rate_is_too_low():
    straight = {"loss": [2.30 - 0.05 * t for t in range(10)],
                "accuracy": [0.2 + 0.02 * t for t in range(10)]}
    finding = only("learning_rate_too_low", diagnose(straight, num_classes=10))
    assert finding.evidence["late_over_early_drop"] == pytest.approx(1.0)
    assert finding.severity == "info"  # slow, not wrong
    assert "raise the learning rate" in finding.advice[0]
    healthy = {"loss": decay(2.3, 0.3, 10), "accuracy": decay(0.2, 0.9, 10)}
    assert "learning_rate_too_low" not in rules(diagnose(healthy, num_classes=10))
    # small drops that slow down: levelling off, not a too-low learning rate
    levelling = {"loss": decay(0.5, 0.4, 10), "accuracy": [0.8] * 10}
    # a straight line that falls fast (14 % of the loss per epoch)
    fast = {"loss": [2.3 - 0.2 * t for t in range(10)], "accuracy": [0.5] * 10}
    for history in (levelling, fast):
        assert "learning_rate_too_low" not in rules(diagnose(history, num_classes=10))


# -- plateau -------------------------------------------------------------------------------
def test_flat_loss_before_convergence_is_a_plateau():
    history = {"loss": [1.5, 1.1, 0.95, 0.902, 0.9, 0.901, 0.899],
               "val_loss": [1.5, 1.2, 1.05, 1.0, 1.01, 0.995, 1.003],
               "accuracy": [0.4, 0.55, 0.62, 0.65, 0.65, 0.65, 0.65],
               "learning_rate": [0.01] * 7}
    finding = only("plateau", diagnose(history, num_classes=10))
    assert (finding.evidence["from_epoch"], finding.evidence["to_epoch"]) == (4, 7)
    assert "ReduceLROnPlateau" in finding.advice[0]
    converged = {**history, "accuracy": [0.9, 0.95, 0.97, 0.98, 0.99, 0.99, 0.99]}
    assert "plateau" not in rules(diagnose(converged, num_classes=10))
    improving = {**history, "loss": [1.5, 1.1, 0.95, 0.9, 0.85, 0.8, 0.75]}
    assert "plateau" not in rules(diagnose(improving, num_classes=10))


# -- data: imbalance, collapsed class, leakage ---------------------------------------------
def test_class_imbalance_above_three_to_one():
    finding = only("class_imbalance", diagnose({}, class_counts={"a": 300, "b": 50, "c": 100}))
    assert finding.evidence["ratio"] == 6.0
    assert finding.evidence["smallest_class"] == "b"
    assert diagnose({}, class_counts={"a": 100, "b": 90, "c": 60}) == []
    empty = only("class_imbalance", diagnose({}, class_counts={"a": 100, "b": 0}))
    assert empty.evidence["classes_without_images"] == ["b"]


def _evaluation(correct: tuple[int, int, int]):
    """20 images of each class a, b, c; ``correct[i]`` of class i are recognised, the rest
    are taken for the next class (c for a)."""
    labels = np.repeat([0, 1, 2], 20)
    predicted = labels.copy()
    for cls, right in enumerate(correct):
        predicted[cls * 20 + right:(cls + 1) * 20] = (cls + 1) % 3
    return metrics_from_predictions(labels, np.eye(3)[predicted], ["a", "b", "c"])


def test_a_class_whose_recall_collapsed():
    # recalls 1, 1 and 0.3: c is below half the mean recall (0.77 / 2)
    evaluation = _evaluation((20, 20, 6))
    found = diagnose({}, evaluation=evaluation, class_counts={"a": 500, "b": 500, "c": 40})
    finding = only("class_recall_collapse", found)
    assert finding.evidence["classes"] == {"c": {"recall": pytest.approx(0.3), "images": 20,
                                                 "training_images": 40,
                                                 "mostly_predicted_as": "a"}}
    # the to_dict() form reads the same
    as_dict = diagnose({}, evaluation=evaluation.to_dict())
    assert only("class_recall_collapse", as_dict).evidence["classes"].keys() == {"c"}
    # recalls .35, .35 and .15: c is not below half the mean, but below 0.2
    low = only("class_recall_collapse", diagnose({}, evaluation=_evaluation((7, 7, 3))))
    assert low.evidence["classes"].keys() == {"c"}
    assert diagnose({}, evaluation=_evaluation((20, 19, 18))) == []


def test_a_validation_split_without_the_training_classes():
    train = {"0": 5923, "1": 6742, "8": 0, "9": 0}
    val = {"0": 0, "1": 0, "8": 51, "9": 5949}  # the last tenth of class-sorted MNIST
    finding = only("validation_classes", diagnose({}, class_counts={**train, "8": 5800},
                                                  val_class_counts=val))
    assert finding.severity == "critical"  # class 9 is validated on but never trained
    assert finding.evidence["validation_classes_without_training_images"] == {"9": 5949}
    assert finding.evidence["training_classes_without_validation_images"] == {
        "0": 5923, "1": 6742}
    fewer = only("validation_classes", diagnose(
        {}, class_counts={"a": 90, "b": 90}, val_class_counts={"a": 10, "b": 0}))
    assert fewer.severity == "warning"
    assert fewer.evidence["training_classes_without_validation_images"] == {"b": 90}
    assert diagnose({}, class_counts={"a": 90, "b": 90},
                    val_class_counts={"a": 10, "b": 10}) == []


def _splits(shared: int) -> dict[str, ImageDataset]:
    """100 train and 200 test images, all different except ``shared`` test images that
    repeat training images."""
    images = np.random.default_rng(0).integers(0, 256, (300, 4, 4, 1), dtype=np.uint8)
    images[100:100 + shared] = images[:shared]
    labels = np.zeros(300, dtype=np.int64)
    return {"train": ImageDataset(images[:100], labels[:100], ["x"]),
            "test": ImageDataset(images[100:], labels[100:], ["x"])}


def test_test_images_that_are_training_images_are_leakage():
    inspection = inspect(_splits(shared=3))
    finding = only("train_test_leakage", diagnose({}, leakage=inspection["leakage"]))
    assert finding.evidence["train / test"]["images"] == 3
    assert finding.severity == "critical"  # share unknown without the split sizes
    # the whole inspection gives the share of the test split: 3 / 200 is critical
    whole = only("train_test_leakage", diagnose({}, leakage=inspection))
    assert whole.evidence["train / test"]["fraction"] == pytest.approx(3 / 200)
    assert whole.severity == "critical"
    one = only("train_test_leakage", diagnose({}, leakage=inspect(_splits(shared=1))))
    assert one.severity == "warning"  # 1 / 200 is below 1 %
    assert diagnose({}, leakage=inspect(_splits(shared=0))["leakage"]) == []


# -- input-bound ---------------------------------------------------------------------------
def test_waiting_for_data_over_a_fifth_of_the_time_is_input_bound():
    slow = [{"epoch_seconds": 2.0, "data_wait_seconds": 0.8}] * 3
    finding = only("input_bound", diagnose({}, timing=slow))
    assert finding.evidence["waiting_fraction"] == pytest.approx(0.4)
    fast = [{"epoch_seconds": 2.0, "data_wait_seconds": 0.2}] * 3
    assert diagnose({}, timing=fast) == []
    too_short = [{"epoch_seconds": 0.5, "data_wait_seconds": 0.4}]
    assert diagnose({}, timing=too_short) == []


def test_history_diagnose_reads_its_own_timing_and_sorts_by_severity():
    history = History()
    for epoch, (acc, val_acc) in enumerate(zip([0.6, 0.8, 0.95, 0.99], [0.58, 0.7, 0.71, 0.7],
                                               strict=True)):
        history.append(epoch, {"accuracy": acc, "val_accuracy": val_acc},
                       {"epoch_seconds": 1.0, "data_wait_seconds": 0.5})
    found = history.diagnose(class_counts={"a": 10, "b": 1000})
    assert [f.rule for f in found] == ["overfitting", "class_imbalance", "input_bound"]
    assert [f.severity for f in found] == ["critical", "warning", "warning"]
    assert found[0].to_dict()["rule"] == "overfitting"


# -- real runs: each must trigger its own rule and not the opposite one ----------------------
def test_real_overfitting_run():
    found = rules(overfitting_run().diagnose(num_classes=10))
    assert "overfitting" in found
    assert "underfitting" not in found


def test_real_underfitting_run():
    found = rules(underfitting_run().diagnose(num_classes=10))
    assert "underfitting" in found
    assert "overfitting" not in found


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_real_diverging_run(optimizer):
    found = rules(diverging_run(optimizer).diagnose(num_classes=10))
    assert found & {"unstable_training", "non_finite_loss"}
    assert "overfitting" not in found
    assert "learning_rate_too_low" not in found
