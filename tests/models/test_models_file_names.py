"""Model and weight file names follow Keras 3's suffix rules (issue 14, item 7): ``.keras``
is the model format, ``.h5`` (legacy HDF5, which cnnkit cannot write) is refused instead of
quietly becoming a folder, and weights go to ``.weights.h5`` (or ``.safetensors``)."""

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.keras import callbacks, layers, models, utils
from cnnkit.models import ModelFileError


@pytest.fixture(scope="module")
def trained():
    train = load("fashion-mnist-mini", split="train", progress=False)
    utils.set_random_seed(0)
    model = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(train.images[:128], train.labels[:128], verbose=0)
    return model, train


@pytest.mark.parametrize("name", ["model.h5", "model.hdf5", "model.H5"])
def test_saving_as_hdf5_is_refused_and_writes_nothing(trained, tmp_path, name):
    model, _ = trained
    with pytest.raises(ModelFileError, match="HDF5") as info:
        model.save(tmp_path / name)
    assert ".keras" in info.value.hint
    assert list(tmp_path.iterdir()) == []


def test_an_unknown_model_suffix_is_refused(trained, tmp_path):
    model, _ = trained
    with pytest.raises(ModelFileError, match=r"\.pt") as info:
        model.save(tmp_path / "model.pt")
    assert ".keras" in info.value.hint
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["w.weights.h5", "w.safetensors"])
def test_weights_round_trip_under_keras_and_cnnkit_names(trained, tmp_path, name):
    model, train = trained
    model.save_weights(tmp_path / name)
    assert (tmp_path / name).is_file()
    utils.set_random_seed(5)
    other = models.Sequential([layers.Input((28, 28, 1)), layers.Conv2D(4, 3, activation="relu"),
                               layers.Flatten(), layers.Dense(10, activation="softmax")])
    other.load_weights(tmp_path / name)
    np.testing.assert_array_equal(other.predict(train.images[:8], verbose=0),
                                  model.predict(train.images[:8], verbose=0))


@pytest.mark.parametrize("name", ["w.h5", "weights", "w.keras"])
def test_weights_under_another_name_are_refused_as_keras_3_does(trained, tmp_path, name):
    model, _ = trained
    with pytest.raises(ModelFileError, match=r"\.weights\.h5"):
        model.save_weights(tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_loading_a_real_hdf5_weights_file_says_cnnkit_cannot_read_it(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "from_keras.weights.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))  # the HDF5 signature, as h5py writes
    with pytest.raises(ModelFileError, match="HDF5") as info:
        model.load_weights(path)
    assert "get_weights" in info.value.hint


@pytest.mark.parametrize(("name", "weights_only"), [
    ("m-{epoch:02d}.h5", False), ("ckpt-{epoch:02d}-{loss:.3f}", False),
    ("w-{epoch:02d}.h5", True)])
def test_model_checkpoint_refuses_a_name_keras_3_refuses_before_training(tmp_path, name,
                                                                          weights_only):
    with pytest.raises(ModelFileError, match="cannot save"):
        callbacks.ModelCheckpoint(str(tmp_path / name), save_weights_only=weights_only)


def test_model_checkpoint_writes_keras_weight_files(trained, tmp_path):
    model, train = trained
    checkpoint = callbacks.ModelCheckpoint(str(tmp_path / "w-{epoch:02d}.weights.h5"),
                                           monitor="loss", save_weights_only=True)
    model.fit(train.images[:64], train.labels[:64], epochs=2, verbose=0,
              callbacks=[checkpoint])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w-01.weights.h5", "w-02.weights.h5"]
