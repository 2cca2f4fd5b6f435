"""Evaluation metrics against values worked out by hand, and the streaming evaluation of a
real model against the in-memory computation."""

from __future__ import annotations

import math
from fractions import Fraction as F

import numpy as np
import pytest

from cnnkit.data import ImageDataset
from cnnkit.errors import ShapeError
from cnnkit.evaluation import (
    ConfusedPair,
    align_classes,
    evaluate_model,
    metrics_from_predictions,
)
from tiny_model import trained_model
from training_runs import mini

CLASSES = ["cat", "dog", "bird"]
# 8 images; the predicted class (argmax) of each row is in the comment.
LABELS = [0, 0, 0, 1, 1, 1, 2, 2]
PROBABILITIES = [
    [0.3, 0.6, 0.1],  # cat  -> dog
    [0.8, 0.1, 0.1],  # cat  -> cat
    [0.4, 0.5, 0.1],  # cat  -> dog
    [0.1, 0.7, 0.2],  # dog  -> dog
    [0.2, 0.5, 0.3],  # dog  -> dog
    [0.0, 1.0, 0.0],  # dog  -> dog, certain
    [0.1, 0.2, 0.7],  # bird -> bird
    [0.9, 0.1, 0.0],  # bird -> cat, true class has probability 0
]
PATHS = [f"img{i}.png" for i in range(8)]


@pytest.fixture(scope="module")
def three_classes():
    return metrics_from_predictions(LABELS, PROBABILITIES, CLASSES, paths=PATHS,
                                    top_k=(1, 2), worst=5)


def test_confusion_matrix_has_true_classes_in_rows(three_classes):
    np.testing.assert_array_equal(three_classes.confusion, [[1, 2, 0],
                                                            [0, 3, 0],
                                                            [1, 0, 1]])
    np.testing.assert_allclose(three_classes.confusion_normalized,
                               [[1 / 3, 2 / 3, 0], [0, 1, 0], [1 / 2, 0, 1 / 2]])
    assert three_classes.samples == 8
    assert three_classes.accuracy == 5 / 8


def test_precision_recall_f1_per_class(three_classes):
    # cat: 1 right of 3; 2 predictions of cat (1 right).  dog: 3 of 3; 5 predictions.
    # bird: 1 of 2; 1 prediction.  F1 = 2PR / (P + R).
    scores = three_classes.scores()
    np.testing.assert_allclose(scores["precision"], [1 / 2, 3 / 5, 1])
    np.testing.assert_allclose(scores["recall"], [1 / 3, 1, 1 / 2])
    np.testing.assert_allclose(scores["f1"], [2 / 5, 3 / 4, 2 / 3])
    np.testing.assert_array_equal(scores["support"], [3, 3, 2])


def test_macro_and_weighted_averages(three_classes):
    averages = three_classes.averages()
    macro = {"precision": (F(1, 2) + F(3, 5) + 1) / 3,            # 7/10
             "recall": (F(1, 3) + 1 + F(1, 2)) / 3,                # 11/18
             "f1": (F(2, 5) + F(3, 4) + F(2, 3)) / 3}              # 109/180
    weighted = {"precision": (3 * F(1, 2) + 3 * F(3, 5) + 2 * 1) / 8,      # 53/80
                "recall": (3 * F(1, 3) + 3 * 1 + 2 * F(1, 2)) / 8,         # 5/8
                "f1": (3 * F(2, 5) + 3 * F(3, 4) + 2 * F(2, 3)) / 8}       # 287/480
    assert macro == {"precision": F(7, 10), "recall": F(11, 18), "f1": F(109, 180)}
    assert weighted == {"precision": F(53, 80), "recall": F(5, 8), "f1": F(287, 480)}
    for key in ("precision", "recall", "f1"):
        assert averages["macro"][key] == pytest.approx(float(macro[key]), abs=1e-12)
        assert averages["weighted"][key] == pytest.approx(float(weighted[key]), abs=1e-12)
    assert averages["macro"]["support"] == averages["weighted"]["support"] == 8


def test_zero_division_counts_as_zero_and_absent_classes_leave_the_averages_out():
    # "c" is neither a label nor a prediction (left out of the averages, as scikit-learn
    # does); "b" is predicted but never true: precision 0/1, recall 0/0 -> 0.
    evaluation = metrics_from_predictions([0, 0], [[0.9, 0.1, 0.0], [0.4, 0.6, 0.0]],
                                          ["a", "b", "c"])
    scores = evaluation.scores()
    np.testing.assert_allclose(scores["precision"], [1, 0, 0])
    np.testing.assert_allclose(scores["recall"], [1 / 2, 0, 0])
    np.testing.assert_allclose(scores["f1"], [2 / 3, 0, 0])
    averages = evaluation.averages()
    assert averages["macro"]["recall"] == pytest.approx((1 / 2 + 0) / 2)
    assert averages["macro"]["f1"] == pytest.approx((2 / 3 + 0) / 2)
    assert averages["weighted"]["recall"] == pytest.approx(1 / 2)


def test_loss_is_mean_clipped_cross_entropy_of_the_true_class(three_classes):
    eps = 1e-7  # Keras clips probabilities to [eps, 1 - eps]
    by_hand = -(math.log(0.3) + math.log(0.8) + math.log(0.4) + math.log(0.7)
                + math.log(0.5) + math.log(1 - eps) + math.log(0.7) + math.log(eps)) / 8
    assert three_classes.loss == pytest.approx(by_hand, rel=1e-12)


def test_loss_renormalises_rows_like_keras():
    evaluation = metrics_from_predictions([0], [[1.0, 3.0]], ["a", "b"])
    assert evaluation.loss == pytest.approx(-math.log(0.25))


def test_top_k_accuracy(three_classes):
    # top-2 misses only the last image (its true class is the least probable)
    assert three_classes.top_k_accuracy == {1: pytest.approx(5 / 8), 2: pytest.approx(7 / 8)}


def test_top_k_counts_ties_at_the_boundary_as_hits_like_keras():
    probabilities = [[0.4, 0.3, 0.3]] * 3
    evaluation = metrics_from_predictions([0, 1, 2], probabilities, ["a", "b", "c"],
                                          top_k=(1, 2))
    # only "a" is strictly more probable than "b" or "c": they are in the top 2
    assert evaluation.top_k_accuracy == {1: pytest.approx(1 / 3), 2: 1.0}


def test_most_confused_pairs_largest_first(three_classes):
    assert three_classes.most_confused() == [
        ConfusedPair("cat", "dog", 2, pytest.approx(2 / 3)),
        ConfusedPair("bird", "cat", 1, pytest.approx(1 / 2))]
    assert three_classes.most_confused(limit=1)[0].true == "cat"


def test_worst_examples_highest_loss_first_earlier_index_on_ties(three_classes):
    # losses: #7 -ln(1e-7)=16.1, #0 -ln .3, #2 -ln .4, #4 -ln .5, #3 and #6 -ln .7 (tie)
    worst = three_classes.worst_examples
    assert [e.index for e in worst] == [7, 0, 2, 4, 3]
    first = worst[0]
    assert (first.path, first.true, first.predicted) == ("img7.png", "bird", "cat")
    assert first.probability_predicted == pytest.approx(0.9)
    assert first.probability_true == 0.0
    assert first.loss == pytest.approx(-math.log(1e-7))


def test_expected_calibration_error_on_four_samples():
    # bins of width 1/4: (0, .25], (.25, .5], (.5, .75], (.75, 1]
    labels = [0, 1, 0, 1]
    probabilities = [[0.9, 0.1],   # confidence .9, right
                     [0.8, 0.2],   # confidence .8, wrong
                     [0.6, 0.4],   # confidence .6, right
                     [0.5, 0.5]]   # confidence .5 (predicts the first class), wrong
    evaluation = metrics_from_predictions(labels, probabilities, ["a", "b"], bins=4)
    # (.75,1]: 2 images, confidence .85, accuracy .5 -> 2/4 * .35
    # (.5,.75]: 1 image, confidence .6, accuracy 1 -> 1/4 * .4
    # (.25,.5]: 1 image, confidence .5, accuracy 0 -> 1/4 * .5
    assert evaluation.ece == pytest.approx(2 / 4 * 0.35 + 1 / 4 * 0.4 + 1 / 4 * 0.5)
    curve = evaluation.calibration.curve()
    assert [b["count"] for b in curve] == [0, 1, 1, 2]
    assert curve[0]["confidence"] is None and curve[0]["accuracy"] is None
    assert [b["confidence"] for b in curve[1:]] == pytest.approx([0.5, 0.6, 0.85])
    assert [b["accuracy"] for b in curve[1:]] == pytest.approx([0.0, 1.0, 0.5])
    assert [(b["lower"], b["upper"]) for b in curve] == [(0, 0.25), (0.25, 0.5),
                                                        (0.5, 0.75), (0.75, 1.0)]


def test_a_single_sigmoid_column_is_the_second_class():
    evaluation = metrics_from_predictions([1, 0], [[0.8], [0.3]], ["no", "yes"])
    np.testing.assert_array_equal(evaluation.confusion, [[1, 0], [0, 1]])
    assert evaluation.loss == pytest.approx(-(math.log(0.8) + math.log(0.7)) / 2)


def test_to_dict_is_json_ready(three_classes):
    import json

    data = json.loads(json.dumps(three_classes.to_dict()))
    assert data["per_class"][0] == {"class": "cat", "precision": 0.5,
                                    "recall": pytest.approx(1 / 3), "f1": 0.4, "support": 3}
    assert data["top_k_accuracy"] == {"1": 0.625, "2": 0.875}
    assert data["confusion_matrix"] == [[1, 2, 0], [0, 3, 0], [1, 0, 1]]
    assert data["most_confused"][0] == {"true": "cat", "predicted": "dog", "count": 2,
                                        "fraction": pytest.approx(2 / 3)}
    assert data["worst_examples"][0]["path"] == "img7.png"
    assert data["macro_avg"]["precision"] == pytest.approx(0.7)
    assert len(data["calibration"]["bins"]) == 15


def test_format_text_shows_every_table(three_classes):
    text = three_classes.format_text()
    assert "accuracy 0.6250" in text and "top-2 accuracy 0.8750" in text
    assert "macro avg" in text and "weighted avg" in text
    assert "cat -> dog" in text
    assert "img7.png" in text
    assert "expected calibration error" in text


@pytest.mark.parametrize(("labels", "probabilities", "message"), [
    ([0, 1], [[0.5, 0.5, 0.0]], "shape"),
    ([0, 3], [[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]], "labels must lie"),
    ([], np.zeros((0, 3)), "nothing to evaluate"),
])
def test_bad_input_is_a_shape_error(labels, probabilities, message):
    with pytest.raises(ShapeError, match=message):
        metrics_from_predictions(labels, probabilities, CLASSES)


# -- streaming over a real model -----------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return trained_model()


class BatchSpy:
    """Wraps a model and records the size of every predict() call."""

    def __init__(self, model):
        self.model, self.calls = model, []
        self.class_names = model.class_names

    def predict(self, images, batch_size=None):
        self.calls.append(len(images))
        return self.model.predict(images, batch_size=batch_size)


def test_streaming_equals_in_memory_on_real_images(model):
    test = mini("test").subset(slice(0, 700))
    spy = BatchSpy(model)
    streamed = evaluate_model(spy, test, batch_size=64, progress=False, top_k=(1, 3),
                              worst=10, bins=10)
    assert max(spy.calls) == 64 and sum(spy.calls) == 700
    whole = metrics_from_predictions(test.labels, model.predict(test.images), test.class_names,
                                     top_k=(1, 3), worst=10, bins=10)
    np.testing.assert_array_equal(streamed.confusion, whole.confusion)
    assert streamed.loss == pytest.approx(whole.loss, rel=1e-9)
    assert streamed.top_k_accuracy == pytest.approx(whole.top_k_accuracy)
    assert streamed.ece == pytest.approx(whole.ece, rel=1e-9)
    np.testing.assert_array_equal(streamed.calibration.counts, whole.calibration.counts)
    assert streamed.worst_examples == whole.worst_examples
    assert streamed.accuracy > 0.5  # the model learned something: the check is not vacuous
    # the same numbers as the model's own evaluate() (which works on logits, unclipped)
    loss, accuracy = model.evaluate(test, verbose=0)
    assert streamed.accuracy == pytest.approx(accuracy)
    assert streamed.loss == pytest.approx(loss, rel=1e-4)


def test_classes_are_matched_by_name(model):
    test = mini("test").subset(slice(0, 200))
    reversed_names = test.class_names[::-1]
    relabelled = ImageDataset(test.images, len(reversed_names) - 1 - test.labels,
                              reversed_names)
    a = evaluate_model(model, test, progress=False)
    b = evaluate_model(model, relabelled, progress=False)
    np.testing.assert_array_equal(a.confusion, b.confusion)
    assert b.class_names == model.class_names


def test_a_class_the_model_does_not_know_is_named():
    data = ImageDataset(np.zeros((2, 4, 4, 1), np.uint8), np.array([0, 1]), ["cat", "zebra"])
    with pytest.raises(ShapeError, match="zebra") as raised:
        align_classes(data, ["cat", "dog"])
    assert "cat, dog" in raised.value.hint
    subset = ImageDataset(np.zeros((1, 4, 4, 1), np.uint8), np.array([0]), ["dog"])
    assert align_classes(subset, ["cat", "dog"]).labels.tolist() == [1]
