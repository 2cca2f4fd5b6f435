"""save -> load -> predict gives identical output; files are safe and atomic."""

import json
import zipfile

import numpy as np
import pytest

from cnnkit.data import load
from cnnkit.keras import models, utils
from cnnkit.models import ModelFileError
from cnnkit.zoo import small_cnn


@pytest.fixture(scope="module")
def trained():
    train = load("fashion-mnist-mini", split="train", progress=False)
    utils.set_random_seed(0)
    model = small_cnn((28, 28, 1), 10, width=8)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(train.subset(slice(0, 256)), epochs=1, verbose=0)
    return model, train


@pytest.mark.parametrize("name", ["folder_model", "model.keras", "model.cnnkit"])
def test_save_load_predict_is_bit_identical(trained, tmp_path, name):
    model, train = trained
    model.save(tmp_path / name)
    loaded = models.load_model(tmp_path / name)
    x = train.images[:64]
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))
    assert loaded.class_names == train.class_names
    assert [lay.name for lay in loaded.layers] == [lay.name for lay in model.layers]
    assert loaded.count_params() == model.count_params()


def test_saved_model_holds_json_and_safetensors_only(trained, tmp_path):
    model, _ = trained
    model.save(tmp_path / "m.keras")
    with zipfile.ZipFile(tmp_path / "m.keras") as archive:
        assert sorted(archive.namelist()) == ["model.json", "weights.safetensors"]
        config = json.loads(archive.read("model.json"))
    assert config["preprocess"]["scale"] == pytest.approx(1 / 255)
    assert config["layers"][0]["class_name"] == "Conv2D"


def test_overwriting_a_model_keeps_a_whole_file(trained, tmp_path):
    model, _ = trained
    path = tmp_path / "m"
    model.save(path)
    model.save(path)
    assert sorted(p.name for p in path.iterdir()) == ["model.json", "weights.safetensors"]
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary leftovers


def test_loading_garbage_says_what_is_wrong(tmp_path):
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match="not a readable cnnkit model"):
        models.load_model(bad)
    with pytest.raises(ModelFileError, match="does not exist"):
        models.load_model(tmp_path / "missing")


def test_weights_only_round_trip(trained, tmp_path):
    model, train = trained
    model.save_weights(tmp_path / "w.safetensors")
    utils.set_random_seed(99)
    other = small_cnn((28, 28, 1), 10, width=8)
    other.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    other.load_weights(tmp_path / "w.safetensors")
    x = train.images[:16]
    np.testing.assert_array_equal(other.predict(x), model.predict(x))


def test_keras_weight_layout_round_trip(trained):
    model, train = trained
    weights = model.get_weights()
    conv_kernel = weights[0]
    assert conv_kernel.shape == (3, 3, 1, 8)  # Keras layout (kh, kw, in, out)
    copy = small_cnn((28, 28, 1), 10, width=8)
    copy.set_weights(weights)
    copy.preprocess = model.preprocess
    np.testing.assert_allclose(copy.predict(train.images[:8]), model.predict(train.images[:8]),
                               rtol=1e-6, atol=1e-7)
