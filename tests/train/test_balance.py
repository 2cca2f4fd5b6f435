"""Class imbalance: balanced and given class weights, and class-balanced epoch orders."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit import data
from cnnkit.errors import ConfigError
from cnnkit.train.balance import balanced_order, class_weights


@pytest.fixture(scope="module")
def skewed() -> tuple[np.ndarray, list[str]]:
    """Labels of real Fashion-MNIST images, cut to a skewed set: class c keeps 200 // (c+1)
    of its images (200, 100, 66, ..., 20)."""
    dataset = data.load("fashion-mnist-mini")
    keep = np.concatenate([np.flatnonzero(dataset.labels == c)[:200 // (c + 1)]
                           for c in range(dataset.num_classes)])
    return dataset.labels[np.sort(keep)], dataset.class_names


def test_balanced_weights_follow_the_scikit_learn_formula() -> None:
    labels = np.array([0, 0, 0, 1, 2, 2])  # 6 samples, 3 classes with counts 3, 1, 2
    weights = class_weights(labels, 3, "balanced")
    assert weights == pytest.approx({0: 6 / (3 * 3), 1: 6 / (3 * 1), 2: 6 / (3 * 2)})


def test_balanced_weights_give_every_class_the_same_total(skewed) -> None:
    labels, names = skewed
    weights = class_weights(labels, len(names), "Balanced")
    totals = [weights[c] * np.sum(labels == c) for c in range(len(names))]
    assert totals == pytest.approx([len(labels) / len(names)] * len(names))


def test_classes_without_samples_get_no_balanced_weight() -> None:
    weights = class_weights(np.array([0, 0, 2]), 4, "balanced")
    assert weights == pytest.approx({0: 3 / (2 * 2), 2: 3 / (2 * 1)})


def test_given_weights_by_index_or_name_others_keep_one(skewed) -> None:
    labels, names = skewed
    weights = class_weights(labels, len(names), {"Bag": 3, 0: 0.5, "2": 2.0}, names)
    expected = dict.fromkeys(range(10), 1.0) | {names.index("Bag"): 3.0, 0: 0.5, 2: 2.0}
    assert weights == expected


@pytest.mark.parametrize("mode", [None, "none", "None"])
def test_no_weighting(mode) -> None:
    assert class_weights(np.array([0, 1]), 2, mode) is None


@pytest.mark.parametrize(("mode", "message"), [
    ("balance", "did you mean 'balanced'"),
    ({"Sandel": 2.0}, "did you mean 'Sandal'"),
    ({12: 2.0}, "classes are 0..9"),
    ({"Bag": -1}, "finite number >= 0"),
    ({"Bag": "heavy"}, "must be a number"),
])
def test_weight_mistakes_get_a_clear_config_error(skewed, mode, message: str) -> None:
    labels, names = skewed
    with pytest.raises(ConfigError) as error:
        class_weights(labels, len(names), mode, names)
    assert message in str(error.value)


def test_labels_outside_the_classes_are_refused() -> None:
    with pytest.raises(ConfigError, match=r"labels must lie in \[0, 2\)"):
        class_weights(np.array([0, 1, 2]), 2, "balanced")


def test_balanced_order_draws_every_class_equally_often(skewed) -> None:
    labels, _ = skewed
    order = balanced_order(labels, 10, seed=3, epoch=0)
    assert len(order) == len(labels) and order.min() >= 0 and order.max() < len(labels)
    counts = np.bincount(labels[order], minlength=10)
    assert counts.max() - counts.min() <= 1, counts
    # The rare class (20 images, drawn ~59 times) is repeated; the common one (200 images,
    # drawn ~59 times) is subsampled.
    assert len(np.unique(order[labels[order] == 9])) < np.sum(labels[order] == 9)
    assert len(np.unique(order[labels[order] == 0])) < np.sum(labels == 0)


def test_balanced_order_is_shuffled_not_grouped_by_class(skewed) -> None:
    labels, _ = skewed
    ordered = labels[balanced_order(labels, 10, seed=0, epoch=0)]
    assert np.sum(ordered[1:] != ordered[:-1]) > 0.8 * len(ordered)


def test_balanced_order_picks_uniformly_within_a_class(skewed) -> None:
    labels, _ = skewed
    rare = np.flatnonzero(labels == 9)  # 20 images
    picks = np.concatenate([balanced_order(labels, 10, seed=1, epoch=e) for e in range(40)])
    per_image = np.bincount(picks, minlength=len(labels))[rare]
    # ~59 draws of the class per epoch over 40 epochs: ~118 per image, sd ~10.6.
    assert per_image.min() > 70 and per_image.max() < 170


def test_balanced_order_is_a_function_of_seed_and_epoch(skewed) -> None:
    labels, _ = skewed
    first = balanced_order(labels, 10, seed=7, epoch=2)
    assert np.array_equal(balanced_order(labels.copy(), 10, seed=7, epoch=2), first)
    assert not np.array_equal(balanced_order(labels, 10, seed=7, epoch=3), first)
    assert not np.array_equal(balanced_order(labels, 10, seed=8, epoch=2), first)


def test_balanced_order_skips_empty_classes_and_empty_data() -> None:
    labels = np.array([0, 0, 0, 0, 0, 2])
    counts = np.bincount(labels[balanced_order(labels, 3, seed=0, epoch=0)], minlength=3)
    assert counts.tolist() == [3, 0, 3]
    assert len(balanced_order(np.array([], dtype=np.int64), 3, seed=0, epoch=0)) == 0
