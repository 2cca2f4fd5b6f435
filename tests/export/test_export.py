"""Export to ONNX and TorchScript: parity with ``model.predict`` on 1,000 real test images
for the two tutorial CNNs and a zoo network (ResNet-20), the metadata the files carry,
fixed and dynamic batches, the layer a failed export names, and ``cnnkit export``."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import SHARED_DATA, archive_sample, pixels
from torch import nn

from cnnkit import layers as L
from cnnkit import zoo
from cnnkit.cli import main
from cnnkit.export import ExportError, export_model
from cnnkit.export.check import TOLERANCE, onnx_parity
from cnnkit.export.onnx import onnx_metadata, run_onnx
from cnnkit.export.torchscript import torchscript_metadata
from cnnkit.models import Sequential
from cnnkit.seeding import set_seed
from mnist_model import TRAIN_PER_CLASS, trained_mnist

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed: pip install "
                                                "'cnnkit[serve]' to test the ONNX export")
pytest.importorskip("onnxscript", reason="onnxscript is not installed: pip install "
                                         "'cnnkit[serve]' to test the ONNX export")

PARITY_IMAGES = 1000
CIFAR_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                 "ship", "truck"]


def real_images(archive: str, per_class: int, classes: list[str], split: str = "test"
                ) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` real images of each class (uint8 NHWC) and their labels."""
    path = SHARED_DATA / archive
    if not path.is_file():
        pytest.skip(f"{path} is not available")
    sample = archive_sample(path, max(per_class, TRAIN_PER_CLASS))[split]
    images = [pixels(data) for name in classes for data in sample[name][:per_class]]
    stacked = np.stack(images)
    return (stacked[..., None] if stacked.ndim == 3 else stacked,
            np.repeat(np.arange(len(classes)), per_class))


@pytest.fixture(scope="module")
def mnist_model():
    model = trained_mnist()
    return model


def trained_on_cifar(name: str, per_class: int):
    """The zoo's ``name`` after one epoch (batch 64) on ``per_class`` real CIFAR-10
    training photos of each class."""
    x, y = real_images("cifar10-jpg.tar.gz", per_class, CIFAR_CLASSES, "train")
    set_seed(0)
    model = zoo.get(name, (32, 32, 3), 10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    model.class_names = CIFAR_CLASSES
    return model


@pytest.fixture(scope="module")
def cifar_model():
    """The CIFAR-10 tutorial CNN after one short epoch on 5,000 real training photos."""
    return trained_on_cifar("tutorial-cifar10", TRAIN_PER_CLASS)


@pytest.fixture(scope="module")
def zoo_model():
    """The zoo's ResNet-20 (a graph of residual blocks as a plain torch module, raw pixels
    normalised inside) after 16 steps on 1,000 real CIFAR-10 photos: enough to break the
    initial symmetry, so top-1 agreement is not decided by ties."""
    return trained_on_cifar("resnet20", 100)


@pytest.fixture(scope="module")
def exported(mnist_model, cifar_model, zoo_model, tmp_path_factory) -> dict:
    """``{name: (model, ONNX file, real test images, labels)}`` for the two tutorial CNNs
    and the zoo network."""
    folder = tmp_path_factory.mktemp("exported")
    found = {}
    for name, model, archive, classes in (
            ("mnist", mnist_model, "mnist-png.tar.gz", [str(d) for d in range(10)]),
            ("cifar10", cifar_model, "cifar10-jpg.tar.gz", CIFAR_CLASSES),
            ("resnet20", zoo_model, "cifar10-jpg.tar.gz", CIFAR_CLASSES)):
        images, labels = real_images(archive, PARITY_IMAGES // 10, classes)
        path = model.export(folder / f"{name}.onnx", format="onnx").path
        found[name] = (model, path, images, labels)
    return found


@pytest.mark.parametrize(("name", "learned"), [("mnist", 0.3), ("cifar10", 0.3),
                                               ("resnet20", 0.12)])
def test_onnx_matches_the_model_on_1000_real_test_images(name, learned, exported):
    model, path, images, labels = exported[name]
    parity = onnx_parity(model, path, images)
    assert parity.images == PARITY_IMAGES
    assert parity.max_abs_diff <= TOLERANCE
    assert parity.top1_agreement == 1.0
    predicted = run_onnx(path, images).argmax(1)
    # above chance (0.1): the images are the real ones, and the file computes the model
    assert (predicted == labels).mean() > learned


def test_the_files_carry_class_names_input_and_preprocessing(exported, tmp_path):
    cifar_model, onnx_file, _, _ = exported["cifar10"]
    meta = json.loads(onnx_metadata(onnx_file)["cnnkit"])
    assert meta["class_names"] == CIFAR_CLASSES
    assert meta["input"] == {"name": "images", "dtype": "uint8", "layout": "NHWC",
                             "shape": ["batch", 32, 32, 3]}
    assert meta["preprocessing"]["scale"] == pytest.approx(1 / 255)
    assert meta["preprocessing"]["inside_graph"] is True
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    (given,) = session.get_inputs()
    assert given.type == "tensor(uint8)" and given.shape[1:] == [32, 32, 3]
    script = export_model(cifar_model, tmp_path / "m.pt", "torchscript").path
    assert json.loads(torchscript_metadata(script)) == meta


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:DeprecationWarning")
def test_torchscript_matches_the_model(mnist_model, tmp_path):
    images, _ = real_images("mnist-png.tar.gz", 20, [str(d) for d in range(10)])
    path = mnist_model.export(tmp_path / "m.pt", format="torchscript").path
    loaded = torch.jit.load(str(path))
    with torch.no_grad():
        got = loaded(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(got, mnist_model.predict(images, verbose=0), atol=1e-6)


def test_a_fixed_batch_takes_only_that_many_and_float32_input_is_unscaled(mnist_model,
                                                                          tmp_path):
    images, _ = real_images("mnist-png.tar.gz", 4, [str(d) for d in range(10)])
    fixed = export_model(mnist_model, tmp_path / "b8.onnx", dynamic_batch=False, batch_size=8)
    assert fixed.batch == 8
    parity = onnx_parity(mnist_model, fixed.path, images, batch=8)
    assert parity.images == 40 and parity.ok
    with pytest.raises(Exception, match="images"):  # onnxruntime names the wrong dimension
        run_onnx(fixed.path, images[:3])
    floats = export_model(mnist_model, tmp_path / "f.onnx", input_dtype="float32")
    scaled = images.astype(np.float32) / 255
    np.testing.assert_allclose(run_onnx(floats.path, scaled),
                               mnist_model.predict(scaled, verbose=0), atol=1e-6)


class RunningMax(nn.Module):
    """A layer op with no ONNX translation (aten.cummax): runs eagerly, cannot export."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(torch.cummax(x, dim=1).values)


def test_a_failed_export_names_the_layer(tmp_path):
    model = Sequential([L.Input((8, 8, 1)), L.Conv2D(4, 3, activation="relu"), L.Flatten(),
                        L.Dense(8, activation="relu"), L.Dense(3, activation="softmax")])
    layer = model.layers[2].name  # the first Dense
    model.net.ops[layer] = RunningMax(model.net.ops[layer])
    with pytest.raises(ExportError, match=f"layer '{layer}' \\(RunningMax\\) to onnx: "
                                          "DispatchError: No ONNX function found for .*cummax"):
        model.export(tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no half-written file left


def test_unknown_format_and_input_dtype_are_refused(mnist_model, tmp_path):
    with pytest.raises(ExportError, match="unknown export format 'tflite'"):
        mnist_model.export(tmp_path / "m.tflite", format="tflite")
    with pytest.raises(ExportError, match="input_dtype='float16'"):
        mnist_model.export(tmp_path / "m.onnx", input_dtype="float16")


def test_cnnkit_export_checks_the_file_on_real_images(mnist_model, tmp_path, capsys):
    saved = tmp_path / "digits.keras"
    mnist_model.save(saved)
    assert main(["export", str(saved)]) == 0
    out = capsys.readouterr().out
    assert f"wrote {tmp_path / 'digits.onnx'}" in out
    assert "checked on 1,000 images with onnxruntime" in out
    assert "top-1 agreement 100.00% (1,000/1,000)" in out
    diff = float(out.split("max |difference| ")[1].split()[0])
    assert diff <= TOLERANCE
    assert main(["export", str(saved), "--format", "torchscript", "--out",
                 str(tmp_path / "x.pt")]) == 0
    assert (tmp_path / "x.pt").is_file()
