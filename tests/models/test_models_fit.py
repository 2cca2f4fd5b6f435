"""compile/fit/evaluate/predict on real images (the embedded Fashion-MNIST slice)."""

import numpy as np
import pytest
import torch

from cnnkit.data import load
from cnnkit.keras import callbacks, layers, models, optimizers, utils
from cnnkit.zoo import tutorial_mnist


@pytest.fixture(scope="module")
def mini():
    train = load("fashion-mnist-mini", split="train", progress=False)
    test = load("fashion-mnist-mini", split="test", progress=False)
    return train, test


def _small_model(seed=0):
    utils.set_random_seed(seed)
    model = models.Sequential([
        layers.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    return model


def test_fit_learns_real_images_and_history_has_keras_keys(mini):
    train, test = mini
    model = _small_model()
    history = model.fit(train.images[:2000], train.labels[:2000], epochs=2, verbose=0,
                        validation_data=(test.images, test.labels))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy",
                                     "learning_rate"}
    assert history.history["loss"][1] < history.history["loss"][0]
    loss, accuracy = model.evaluate(test.images, test.labels, verbose=0)
    assert accuracy > 0.6  # 10 classes: chance is 0.1
    assert loss == pytest.approx(history.history["val_loss"][-1], rel=1e-5)
    probabilities = model.predict(test.images[:5])
    assert probabilities.shape == (5, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_fit_accepts_an_image_dataset_and_float_arrays_scaled_like_keras(mini):
    train, test = mini
    model = _small_model()
    model.fit(train.subset(slice(0, 500)), epochs=1, verbose=0)
    assert model.class_names == train.class_names
    floats = test.images[:20].astype("float32") / 255.0
    np.testing.assert_allclose(model.predict(floats), model.predict(test.images[:20]),
                               rtol=1e-5, atol=1e-6)


def test_grayscale_without_channel_axis_is_accepted(mini):
    train, _ = mini
    model = _small_model()
    x = train.images[:64, :, :, 0]
    model.fit(x, train.labels[:64], epochs=1, verbose=0)
    assert model.predict(x).shape == (64, 10)


def test_seeded_runs_are_identical(mini):
    train, _ = mini
    weights = []
    for _ in range(2):
        model = _small_model(seed=7)
        model.fit(train.images[:300], train.labels[:300], epochs=1, batch_size=32, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


def test_validation_split_holds_out_the_last_samples(mini):
    train, _ = mini
    model = _small_model()
    seen = {}

    class Spy(callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["steps"] = self.params["steps"]

    model.fit(train.images[:1000], train.labels[:1000], validation_split=0.2, batch_size=100,
              epochs=1, verbose=0, callbacks=[Spy()])
    assert seen["steps"] == 8  # 800 training images in batches of 100
    val_x, val_y = train.images[800:1000], train.labels[800:1000]
    loss, _ = model.evaluate(val_x, val_y, verbose=0)
    assert loss == pytest.approx(model.history.history["val_loss"][0], rel=1e-5)


def test_early_stopping_restores_the_best_val_loss_weights(mini):
    """A run that cannot generalise: 200 real images with their labels shuffled, a large
    dense head. Validation loss bottoms out within the first epochs and then rises by
    tenths as the labels are memorised, in fp32 and in bf16 alike (rounding moves it by
    hundredths), so the best epoch is never the last."""
    train, test = mini
    utils.set_random_seed(3)
    labels = np.random.default_rng(3).permutation(train.labels[:200])
    model = models.Sequential([
        layers.Input((28, 28, 1)), layers.Flatten(),
        layers.Dense(512, activation="relu"), layers.Dense(10, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(learning_rate=3e-3),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    snapshots = []

    class Keep(callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            snapshots.append(model.state_snapshot())

    stopper = callbacks.EarlyStopping(monitor="val_loss", patience=100,
                                      restore_best_weights=True)
    history = model.fit(train.images[:200], labels, epochs=12, batch_size=20,
                        validation_data=(test.images[:300], test.labels[:300]),
                        callbacks=[Keep(), stopper], verbose=0)
    val_loss = history.history["val_loss"]
    best = int(np.argmin(val_loss))
    assert best < len(val_loss) - 1, "the run should overfit: val_loss must rise after its best"
    final = model.state_snapshot()
    for key, value in snapshots[best].items():
        assert torch.equal(final[key], value), key


def test_reduce_lr_on_plateau_lowers_the_learning_rate(mini):
    train, _ = mini
    model = _small_model()
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", factor=0.5, patience=0,
                                         min_delta=10.0)  # never counts as an improvement
    history = model.fit(train.images[:64], train.labels[:64], epochs=3, verbose=0,
                        callbacks=[reduce])
    # Logged at each epoch's end before the callback acts; the first epoch sets the best.
    assert history.history["learning_rate"] == pytest.approx([1e-3, 1e-3, 5e-4])
    assert model.optimizer.learning_rate == pytest.approx(2.5e-4)


def test_csv_logger_and_model_checkpoint_write_files(mini, tmp_path):
    train, _ = mini
    model = _small_model()
    model.fit(train.images[:64], train.labels[:64], epochs=2, verbose=0, validation_split=0.25,
              callbacks=[callbacks.CSVLogger(tmp_path / "log.csv"),
                         callbacks.ModelCheckpoint(str(tmp_path / "m-{epoch:02d}.keras"))])
    rows = (tmp_path / "log.csv").read_text().splitlines()
    assert rows[0].split(",") == ["epoch", "accuracy", "learning_rate", "loss", "val_accuracy",
                                  "val_loss"]
    assert len(rows) == 3
    assert (tmp_path / "m-01.keras").is_file() and (tmp_path / "m-02.keras").is_file()
    reloaded = models.load_model(tmp_path / "m-02.keras")
    np.testing.assert_array_equal(reloaded.predict(train.images[:8]),
                                  model.predict(train.images[:8]))


def test_class_weight_changes_training(mini):
    train, _ = mini
    runs = []
    for weights in (None, {0: 10.0}):
        model = _small_model(seed=1)
        model.fit(train.images[:200], train.labels[:200], epochs=1, verbose=0,
                  class_weight=weights)
        runs.append(model.predict(train.images[:200]))
    assert runs[1][:, 0].mean() > runs[0][:, 0].mean()  # class 0 weighted up gets more mass


def test_tutorial_network_trains_on_a_real_slice(mini):
    train, test = mini
    utils.set_random_seed(0)
    model = tutorial_mnist()
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train, epochs=2, verbose=0)
    _, accuracy = model.evaluate(test, verbose=0)
    assert accuracy > 0.7


def test_from_logits_loss_on_a_linear_output_matches_the_fused_softmax(mini):
    """Keras's two spellings of the same model train identically: a softmax output with
    the probability loss, or a linear output with from_logits=True."""
    from cnnkit.keras import losses

    train, _ = mini
    results = []
    for activation, loss in (("softmax", "sparse_categorical_crossentropy"),
                             (None, losses.SparseCategoricalCrossentropy(from_logits=True))):
        utils.set_random_seed(4)
        model = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                                   layers.Dense(10, activation=activation)])
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        history = model.fit(train.images[:256], train.labels[:256], epochs=2, verbose=0)
        results.append(history.history["loss"])
    np.testing.assert_allclose(results[0], results[1], rtol=1e-6)
