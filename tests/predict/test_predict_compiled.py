"""predict() through torch.compile (models/inference.py): same outputs as eager, current
weights after training, an on-disk cache, a warning and eager fallback when compiling
fails, and compiling only when it pays (jit_compile True / "auto" / False)."""

import os
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from cnnkit import data, zoo
from cnnkit.errors import ConfigError
from cnnkit.models import inference


def fashion_model(jit_compile):
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  jit_compile=jit_compile)
    model.build()
    return model


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return data.load("fashion-mnist-mini").images[:200]


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="no C++ compiler here: torch.compile cannot build its kernels "
                           "(predict falls back to eager, tested below)")
def test_compiled_predict_equals_eager_and_follows_new_weights(images, _isolated_cache):
    compiled, eager = fashion_model(True), fashion_model(False)
    eager.set_weights(compiled.get_weights())
    got = compiled.predict(images, batch_size=64)  # 3 compiled batches and 8 eager images
    assert compiled._inference.compiled not in (None, False)
    assert compiled._inference.compiled_size == 64
    np.testing.assert_allclose(got, eager.predict(images, batch_size=64), atol=1e-5)
    cache = Path(os.environ["TORCHINDUCTOR_CACHE_DIR"])
    assert cache.is_relative_to(_isolated_cache) and any(cache.rglob("*.py"))

    labels = data.load("fashion-mnist-mini").labels[:200]
    compiled.fit(images, labels, batch_size=64, epochs=1, verbose=0)
    eager.set_weights(compiled.get_weights())
    np.testing.assert_allclose(compiled.predict(images, batch_size=64),
                               eager.predict(images, batch_size=64), atol=1e-5)


class Recorder:
    """Stands in for torch.compile: counts calls and returns the module itself."""

    def __init__(self):
        self.calls = 0

    def __call__(self, module, **_):
        self.calls += 1
        return module


@pytest.mark.parametrize("setting, counts, expected", [
    (True, [1, 64], 1),      # one image stays eager; a full batch compiles
    (True, [64, 96, 64], 1),  # one compiled batch size: the 96 runs eagerly
    (False, [64, 64], 0),
    ("auto", [64, 64], 0),   # below AUTO_COMPILE_IMAGES in total
    ("auto", [64, 128], 1),  # the total reaches it
])
def test_when_predict_compiles(monkeypatch, images, setting, counts, expected):
    recorder = Recorder()
    monkeypatch.setattr(torch, "compile", recorder)
    monkeypatch.setattr(inference, "AUTO_COMPILE_IMAGES", 192)
    model = fashion_model(setting)
    for count in counts:
        model.predict(images[:count], batch_size=count if count > 64 else 64)
    assert recorder.calls == expected


def test_a_compiler_failure_warns_and_predicts_eagerly(monkeypatch, images):
    attempts = []

    def broken(module, **_):
        def run(_batch):
            attempts.append(1)
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found\nmore")
        return run

    monkeypatch.setattr(torch, "compile", broken)
    model = fashion_model(True)
    with pytest.warns(RuntimeWarning, match="InvalidCxxCompiler: no working C.. compiler"):
        got = model.predict(images[:128], batch_size=64)
    eager = fashion_model(False)
    eager.set_weights(model.get_weights())
    np.testing.assert_allclose(got, eager.predict(images[:128], batch_size=64), atol=1e-6)
    assert model._inference.compiled is False
    with warnings.catch_warnings(record=True) as later:
        warnings.simplefilter("always")
        model.predict(images[:128], batch_size=64)
    assert attempts == [1]  # no second attempt ...
    assert not [w for w in later if issubclass(w.category, RuntimeWarning)]  # ... or warning


@pytest.mark.parametrize("bad", ["yes", 1.5, None, 1, 0])
def test_bad_jit_compile_setting(bad):
    with pytest.raises(ConfigError, match="jit_compile"):
        fashion_model(bad)
