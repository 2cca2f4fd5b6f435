"""Shared fixtures: the reference data, small real samples of it, and a local HTTP server.

Every sample is real data from ``../shared/data`` (MNIST PNGs, CIFAR-10 JPEGs,
Fashion-MNIST IDX files), cut down so tests stay fast. Tests never write into ~/.cache:
``CNNKIT_CACHE`` points at a per-session temporary folder, and the dataset environment
variables of the person running the tests are cleared.
"""

from __future__ import annotations

import functools
import gzip
import http.server
import io
import os
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit.train.precision import set_global_policy

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
SAMPLE_PER_CLASS = 4


# The modules whose tests train or check training numerics: `make test` runs them a
# second time under CNNKIT_PRECISION=bf16, so the bf16 path is tested on every CPU.
TRAINING_MODULES = {
    "test_callbacks_keras3", "test_core_threads", "test_ema", "test_keras_image_dataset",
    "test_keras_script", "test_kernels_conv_pool_relu", "test_kernels_probe",
    "test_kernels_plan", "test_kernels_winograd", "test_layers_augment", "test_layers_draws",
    "test_micro_batches", "test_models_errors", "test_models_file_names", "test_models_fit",
    "test_models_functional", "test_models_keywords", "test_models_mistakes",
    "test_models_module", "test_models_nested", "test_models_rescaling", "test_models_reuse",
    "test_models_saving", "test_models_trainable", "test_network_pool_first",
    "test_precision", "test_predict_compiled", "test_recipes_cifar10", "test_schedules",
    "test_threads", "test_layers_whitening", "test_layers_batchnorm_statistics",
    "test_train_first_contact", "test_train_options", "test_train_recipe", "test_train_resume",
    "test_train_run",
    "test_validation_split",
}


# The modules that check the hand-written kernels against torch's ops: `make test` runs
# them again with the kernels built for AVX2 and for SSE4.2 (x86-64-v3, -v2) where the CPU
# has them.
KERNEL_MODULES = {"test_kernels_conv_pool_relu", "test_kernels_plan", "test_kernels_probe",
                  "test_kernels_winograd", "test_network_pool_first"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests of TRAINING_MODULES ``training`` and of KERNEL_MODULES ``kernels``."""
    for item in items:
        name = item.module.__name__ if item.module is not None else ""
        if name in TRAINING_MODULES:
            item.add_marker(pytest.mark.training)
        if name in KERNEL_MODULES:
            item.add_marker(pytest.mark.kernels)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data`` next to the repository; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found: {SHARED_DATA} does not exist")
    return SHARED_DATA


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """Tests train tiny models: on one thread they run as fast as on two, and do not stall
    when another process holds the second core (OpenMP threads wait on each other)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Caches and downloads go to a per-session folder; user settings do not leak in."""
    cache = tmp_path_factory.mktemp("cnnkit-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNKIT_CACHE", str(cache))
        patch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)  # predict's compile cache
        if "CNNKIT_KERNELS" not in os.environ:  # kernels where they apply, not where faster:
            patch.setenv("CNNKIT_KERNELS", "1")  # tests see the same path on every CPU
        for name in list(os.environ):
            if name in ("CNNKIT_DATA", "CNNKIT_WEIGHTS_URL") or \
                    name.startswith("CNNKIT_DATASET_URL_"):
                patch.delenv(name)
        yield cache


@pytest.fixture(autouse=True)
def _default_dtype_policy() -> Iterator[None]:
    """A test that sets the Keras dtype policy leaves the default behind (the environment's
    CNNKIT_PRECISION is kept: CI runs the suite under it)."""
    yield
    set_global_policy(None)


@functools.cache
def archive_sample(archive: Path, per_class: int) -> dict[str, dict[str, list[bytes]]]:
    """The first ``per_class`` files of every ``split/class/`` folder of a tar archive."""
    sample: dict[str, dict[str, list[bytes]]] = {}
    with tarfile.open(archive, mode="r|gz") as tar:
        for info in tar:
            parts = info.name.split("/")
            if not info.isfile() or len(parts) != 3:
                continue
            files = sample.setdefault(parts[0], {}).setdefault(parts[1], [])
            if len(files) < per_class:
                handle = tar.extractfile(info)
                assert handle is not None
                files.append(handle.read())
    return sample


@pytest.fixture(scope="session")
def mnist_sample(shared_data: Path) -> dict[str, dict[str, list[bytes]]]:
    """``{split: {digit: [png bytes, ...]}}``: 4 real PNGs per class and split."""
    return archive_sample(shared_data / "mnist-png.tar.gz", SAMPLE_PER_CLASS)


@pytest.fixture(scope="session")
def cifar_sample(shared_data: Path) -> dict[str, dict[str, list[bytes]]]:
    """``{split: {class: [jpeg bytes, ...]}}``: 4 real JPEGs per class and split."""
    return archive_sample(shared_data / "cifar10-jpg.tar.gz", SAMPLE_PER_CLASS)


def pixels(data: bytes) -> np.ndarray:
    """An encoded image decoded by Pillow as it is stored (L or RGB)."""
    return np.asarray(Image.open(io.BytesIO(data)))


def sample_arrays(sample: dict[str, list[bytes]], class_names: list[str]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Images and integer labels of one split of a sample, class by class."""
    images, labels = [], []
    for label, name in enumerate(class_names):
        for data in sample[name]:
            images.append(pixels(data))
            labels.append(label)
    return np.stack(images), np.array(labels, dtype=np.uint8)


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed by default)."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes()
    data = header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.fixture(scope="session")
def mnist_idx_dir(mnist_sample, tmp_path_factory) -> Path:
    """A folder holding ``mnist/`` with the four IDX files, made from the real MNIST sample."""
    root = tmp_path_factory.mktemp("mnist-idx")
    digits = [str(d) for d in range(10)]
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x, y = sample_arrays(mnist_sample[split], digits)
        write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte.gz", x)
        write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", y)
    return root


CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                   "ship", "truck"]


def cifar_records(x: np.ndarray, y: np.ndarray) -> bytes:
    """CIFAR-10 binary records: a label byte, then the image as R, G and B planes."""
    planes = x.transpose(0, 3, 1, 2).reshape(len(x), -1)
    return np.concatenate([y.reshape(-1, 1).astype(np.uint8), planes], axis=1).tobytes()


@pytest.fixture(scope="session")
def cifar_binary(cifar_sample, tmp_path_factory) -> tuple[Path, dict]:
    """``cifar-10-binary.tar.gz`` laid out as the original, holding the real CIFAR sample
    (train images spread over the five batches); also returns the arrays it holds."""
    root = tmp_path_factory.mktemp("cifar-bin")
    arrays = {s: sample_arrays(cifar_sample[s], CIFAR10_CLASSES) for s in ("train", "test")}
    x, y = arrays["train"]
    order = np.arange(len(x))
    files = {f"data_batch_{i + 1}.bin": cifar_records(x[part], y[part])
             for i, part in enumerate(np.array_split(order, 5))}
    files["test_batch.bin"] = cifar_records(*arrays["test"])
    files["batches.meta.txt"] = ("\n".join(CIFAR10_CLASSES) + "\n\n").encode()
    path = root / "cifar-10-binary.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path, arrays


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def serve() -> Iterator[Callable[[Path], str]]:
    """``serve(folder)`` starts an HTTP server on 127.0.0.1 for ``folder``; returns its URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(_QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


# The `cnnkit serve` process the serving tests share (tests/serve_helpers.py).
from serve_helpers import digits_server  # noqa: E402, F401
