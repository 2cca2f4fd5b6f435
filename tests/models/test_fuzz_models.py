"""Fuzzing the model loader (issue 22): random bytes, truncations and bit flips of a real
saved model's model.json, weights.safetensors and .keras zip load as a model or give a
cnnkit error, never anything else; and a model.json that asks for more than its weight
file holds is refused before any layer allocates. Seeded and bounded, so it runs in
make test."""

from __future__ import annotations

import json
import zipfile

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_readers import FUZZ, damaged

from cnnkit import layers as L
from cnnkit.errors import CnnkitError
from cnnkit.models import ModelFileError, Sequential, load_model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real small model saved as a folder: ``(folder, model.json bytes, weight bytes)``."""
    model = Sequential([L.Input((12, 12, 1)), L.Conv2D(4, 3, activation="relu"),
                        L.BatchNormalization(), L.MaxPooling2D(2), L.Flatten(),
                        L.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.class_names = ["a", "b", "c"]
    folder = tmp_path_factory.mktemp("saved") / "model"
    model.save(folder)
    return folder, (folder / "model.json").read_bytes(), \
        (folder / "weights.safetensors").read_bytes()


def _write_folder(root, config: bytes, weights: bytes):
    (root / "model.json").write_bytes(config)
    (root / "weights.safetensors").write_bytes(weights)
    return root


def _load_or_refuse(path) -> None:
    """Loading ``path`` gives a model or a cnnkit error (a damaged float is no error)."""
    try:
        model = load_model(path)
    except CnnkitError:
        return
    assert model.net is not None


@pytest.mark.timeout(120)
@pytest.mark.parametrize("part", ["model.json", "weights.safetensors"])
def test_a_damaged_model_folder_loads_or_is_refused(saved, tmp_path_factory, part):
    _, config, weights = saved
    original = config if part == "model.json" else weights

    @FUZZ
    @given(data=st.one_of(damaged(original), st.binary(max_size=256)))
    def check(data):
        root = tmp_path_factory.mktemp("model")
        if part == "model.json":
            _load_or_refuse(_write_folder(root, data, weights))
        else:
            _load_or_refuse(_write_folder(root, config, data))

    check()


@pytest.mark.timeout(120)
def test_a_damaged_keras_zip_loads_or_is_refused(saved, tmp_path_factory):
    _, config, weights = saved
    original_path = tmp_path_factory.mktemp("zip") / "m.keras"
    with zipfile.ZipFile(original_path, "w") as archive:
        archive.writestr("model.json", config)
        archive.writestr("weights.safetensors", weights)

    @FUZZ
    @given(data=damaged(original_path.read_bytes()))
    def check(data):
        path = tmp_path_factory.mktemp("zip") / "m.keras"
        path.write_bytes(data)
        _load_or_refuse(path)

    check()


@pytest.mark.parametrize("weights", [
    b"", b"\x00" * 7, bytes(range(256)) * 4,
    (2 ** 60).to_bytes(8, "little") + b"{}",
    (40).to_bytes(8, "little") + b'{"w": {"dtype": "F32", "shape": [1000000, 1000000]}}',
])
def test_random_or_lying_weight_files_are_model_file_errors(saved, tmp_path, weights):
    _, config, _ = saved
    with pytest.raises(ModelFileError, match="safetensors"):
        load_model(_write_folder(tmp_path, config, weights))


def test_a_layer_size_the_weights_do_not_hold_is_refused_before_it_is_made(saved, tmp_path):
    _, config, weights = saved
    data = json.loads(config)
    dense = next(layer for layer in data["layers"] if layer["class_name"] == "Dense")
    dense["config"]["units"] = 500_000_000_000  # 2 TB of float32 if it were allocated
    path = _write_folder(tmp_path, json.dumps(data).encode(), weights)
    with pytest.raises(ModelFileError, match=r"ops\.dense\w*\.weight of shape \(500000000000"):
        load_model(path)


def test_a_layer_spec_too_large_for_memory_is_refused_before_it_is_made(tmp_path):
    from cnnkit.errors import LayerError
    from cnnkit.spec import resolve_model

    spec = tmp_path / "huge.yaml"
    spec.write_text("- Flatten\n- Dense: {units: 1000000000000}\n- Dense: {units: 10}\n")
    with pytest.raises(LayerError, match="weights would take"):
        resolve_model(spec, (28, 28, 1), 10)


def test_a_fifo_named_as_a_model_is_refused_at_once(tmp_path):
    import os

    os.mkfifo(tmp_path / "m.keras")
    with pytest.raises(ModelFileError, match="FIFO"):
        load_model(tmp_path / "m.keras")


def test_the_size_check_leaves_names_and_random_draws_as_they_were(tmp_path):
    import numpy as np

    from cnnkit.layers import reset_name_counters
    from cnnkit.seeding import set_seed
    from cnnkit.spec import model_from_spec, resolve_model

    spec = tmp_path / "small.yaml"
    spec.write_text("- Conv2D: {filters: 4, kernel_size: 3}\n- Flatten\n- Dense: {units: 3}\n")
    built = []
    for make in (model_from_spec, resolve_model):  # without and with the meta-device check
        reset_name_counters()
        set_seed(7)
        built.append(make(spec, (12, 12, 1), 3))
    assert [layer.name for layer in built[0].layers] == [layer.name for layer in built[1].layers]
    for a, b in zip(built[0].get_weights(), built[1].get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_same_model_saves_to_the_same_bytes(saved, tmp_path):
    """The safetensors package writes its metadata in hash order, which changes between
    saves and processes: the header is written sorted, so every save gives the same bytes."""
    folder, _, weights = saved
    model = load_model(folder)
    header = json.loads(weights[8:8 + int.from_bytes(weights[:8], "little")])
    assert list(header["__metadata__"]) == sorted(header["__metadata__"])
    assert list(header) == sorted(header)
    path = tmp_path / "w.safetensors"
    saves = set()
    for _ in range(8):
        model.save_weights(path)
        saves.add(path.read_bytes())
    assert saves == {weights}
