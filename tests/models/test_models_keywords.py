"""Keyword arguments of the model methods and losses: Keras's are accepted, unknown ones
are refused with the closest name (issue 14, item 5)."""

import pytest

from cnnkit.data import load
from cnnkit.errors import ConfigError
from cnnkit.keras import layers, losses, models, utils


@pytest.fixture(scope="module")
def mini():
    return load("fashion-mnist-mini", split="train", progress=False)


def _model():
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.mark.parametrize(("call", "typo", "wanted"), [
    (lambda m, d: m.fit(d.images[:64], d.labels[:64], batchsize=16, verbose=0),
     "batchsize", "batch_size"),
    (lambda m, d: m.fit(d.images[:64], d.labels[:64], epoch=2, verbose=0), "epoch", "epochs"),
    (lambda m, d: m.evaluate(d.images[:64], d.labels[:64], verbos=0), "verbos", "verbose"),
    (lambda m, d: m.predict(d.images[:4], batchsize=2), "batchsize", "batch_size"),
    (lambda m, d: m.compile(optimizer="adam", loss="mse", metric=["accuracy"]),
     "metric", "metrics"),
    (lambda m, d: m.summary(print_function=print), "print_function", "print_fn"),
    (lambda m, d: losses.SparseCategoricalCrossentropy(from_logit=True),
     "from_logit", "from_logits"),
    (lambda m, d: losses.CategoricalCrossentropy(label_smooth=0.1),
     "label_smooth", "label_smoothing"),
    (lambda m, d: losses.BinaryCrossentropy(fromlogits=True), "fromlogits", "from_logits"),
])
def test_an_unknown_keyword_is_refused_with_the_closest_name(mini, call, typo, wanted):
    model = _model()
    with pytest.raises(ConfigError, match=repr(typo)) as info:
        call(model, mini)
    assert f"did you mean {wanted!r}" in info.value.hint


def test_keras_keywords_that_change_nothing_on_cpu_are_accepted(mini):
    model = _model()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"],
                  run_eagerly=True, steps_per_execution=4, auto_scale_loss=False,
                  loss_weights=None, weighted_metrics=None)
    lines = []
    model.summary(print_fn=lines.append, line_length=100, positions=None, expand_nested=True,
                  show_trainable=True, layer_range=None)
    history = model.fit(mini.images[:64], mini.labels[:64], batch_size=16, verbose=0,
                        validation_data=(mini.images[64:96], mini.labels[64:96]),
                        validation_batch_size=8, steps_per_epoch=None, validation_steps=None,
                        validation_freq=1)
    assert history.history["val_accuracy"]
    model.evaluate(mini.images[:32], mini.labels[:32], verbose=0, steps=None, callbacks=None)
    assert model.predict(mini.images[:4], verbose=0, steps=None, callbacks=None).shape == (4, 10)
    loss = losses.SparseCategoricalCrossentropy(from_logits=False, ignore_class=None,
                                                reduction="sum_over_batch_size", name="scce",
                                                dtype="float32")
    assert loss.name == "sparse_categorical_crossentropy"


@pytest.mark.parametrize(("call", "argument"), [
    (lambda m, d: m.fit(d.images[:64], d.labels[:64], steps_per_epoch=1, verbose=0),
     "steps_per_epoch"),
    (lambda m, d: m.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                            loss_weights=[2.0]), "loss_weights"),
    (lambda m, d: m.predict(d.images[:4], steps=1), "steps"),
    (lambda m, d: losses.SparseCategoricalCrossentropy(reduction="sum"), "reduction"),
    (lambda m, d: losses.SparseCategoricalCrossentropy(ignore_class=0), "ignore_class"),
])
def test_a_keras_keyword_whose_value_cnnkit_cannot_honour_is_refused(mini, call, argument):
    with pytest.raises(ConfigError, match=argument):
        call(_model(), mini)
