"""BackupAndRestore, and LearningRateScheduler's Keras forms, on real Fashion-MNIST images."""

from __future__ import annotations

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.errors import ConfigError
from cnnkit.keras import callbacks, layers, models
from cnnkit.seeding import set_seed


@pytest.fixture(scope="module")
def fashion():
    data = load("fashion-mnist-mini", progress=False)
    return data.images[:600], data.labels[:600]


def _model() -> models.Sequential:
    model = models.Sequential([
        layers.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"), layers.MaxPool2D(),
        layers.Flatten(), layers.Dropout(0.3), layers.Dense(10, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


class Crash(callbacks.Callback):
    """Interrupts training when epoch ``at`` begins (a crash or Ctrl-C)."""

    def __init__(self, at: int | None):
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def test_backup_and_restore_resumes_exactly_and_cleans_up(fashion, tmp_path) -> None:
    x, y = fashion
    set_seed(7)
    reference = _model()
    reference.fit(x, y, epochs=3, batch_size=32, verbose=0)

    backup = tmp_path / "backup"
    set_seed(7)
    interrupted = _model()
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(x, y, epochs=3, batch_size=32, verbose=0,
                        callbacks=[callbacks.BackupAndRestore(backup), Crash(at=2)])
    assert (backup / "latest.cnnkit-checkpoint").is_file()

    set_seed(99)  # a new process: other initial weights, other random state
    resumed = _model()
    history = resumed.fit(x, y, epochs=3, batch_size=32, verbose=0,
                          callbacks=[callbacks.BackupAndRestore(backup), Crash(at=None)])
    assert history.epoch == [2]  # as in Keras: only the epochs run after the restart
    for a, b in zip(resumed.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not backup.exists()  # it created the folder and its file: both gone


def test_backup_keeps_the_users_files(fashion, tmp_path) -> None:
    x, y = fashion
    mine = tmp_path / "notes.txt"
    mine.write_text("keep me")
    _model().fit(x[:64], y[:64], epochs=2, verbose=0,
                 callbacks=[callbacks.BackupAndRestore(tmp_path)])
    assert mine.read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_backup_from_another_model_is_a_clear_error(fashion, tmp_path) -> None:
    x, y = fashion
    with pytest.raises(KeyboardInterrupt):
        _model().fit(x[:64], y[:64], epochs=2, verbose=0,
                     callbacks=[callbacks.BackupAndRestore(tmp_path), Crash(at=1)])
    other = models.Sequential([layers.Input((28, 28, 1)), layers.Flatten(),
                               layers.Dense(10, activation="softmax")])
    other.compile("adam", "sparse_categorical_crossentropy")
    with pytest.raises(Exception, match="different model"):
        other.fit(x[:64], y[:64], epochs=2, verbose=0,
                  callbacks=[callbacks.BackupAndRestore(tmp_path)])


def test_learning_rate_scheduler_keras_forms(fashion, capsys) -> None:
    x, y = fashion
    model = _model()
    model.fit(x[:64], y[:64], epochs=2, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch: 0.01 / (epoch + 1), verbose=1)])
    assert model.optimizer.learning_rate == pytest.approx(0.005)
    assert "LearningRateScheduler setting learning rate to 0.005" in capsys.readouterr().out
    scalar = _model()
    scalar.fit(x[:64], y[:64], epochs=1, verbose=0, callbacks=[
        callbacks.LearningRateScheduler(lambda epoch, lr: np.float32(lr * 0.5))])
    assert scalar.optimizer.learning_rate == pytest.approx(0.0005)
    with pytest.raises(ConfigError, match="must return a float"):
        _model().fit(x[:64], y[:64], epochs=1, verbose=0, callbacks=[
            callbacks.LearningRateScheduler(lambda epoch, lr: 1)])
