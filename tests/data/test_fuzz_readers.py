"""Fuzzing the readers: random truncations, bit flips and garbage in real PNG, JPEG, IDX,
CSV, zip and tar files give a decoded image, a counted skip or a clear cnnkit error, never
anything else (issue 22). Seeded (``derandomize``) and bounded, so it runs in make test."""

from __future__ import annotations

import io
import tarfile
import zipfile

import numpy as np
import pytest
from conftest import write_idx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cnnkit.data import load_splits
from cnnkit.data.decode import ImageProblem, decode
from cnnkit.errors import CnnkitError
from sample_images import cifar_jpegs, mnist_pngs, pixels

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


@st.composite
def damaged(draw, original: bytes) -> bytes:
    """``original`` truncated, with bits flipped, with a stretch of garbage, or all three."""
    data = bytearray(original)
    if draw(st.booleans()):
        data = data[:draw(st.integers(0, len(data)))]
    for _ in range(draw(st.integers(0, 8))):
        if data:
            at = draw(st.integers(0, len(data) - 1))
            data[at] ^= 1 << draw(st.integers(0, 7))
    if draw(st.booleans()) and data:
        at = draw(st.integers(0, len(data) - 1))
        garbage = draw(st.binary(min_size=1, max_size=64))
        data[at:at + len(garbage)] = garbage
    return bytes(data)


def _load_or_refuse(path) -> None:
    """Loading ``path`` gives datasets (with any damaged file counted) or a cnnkit error."""
    try:
        splits = load_splits(path, cache=False, progress=False)
    except CnnkitError:
        return
    for dataset in splits.values():
        assert dataset.images.dtype == np.uint8 and len(dataset.images) == len(dataset.labels)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["png", "jpeg"])
def test_decoding_a_damaged_image_gives_pixels_or_a_skip_reason(kind):
    original = mnist_pngs(1)[0] if kind == "png" else cifar_jpegs(1)[0]

    @FUZZ
    @given(data=damaged(original))
    def check(data):
        try:
            image = decode(data, 28, 28, 1)
        except ImageProblem as problem:
            assert problem.reason
            return
        assert image.shape == (28, 28, 1) and image.dtype == np.uint8

    check()


@pytest.mark.timeout(120)
def test_a_folder_with_a_damaged_image_loads_or_is_refused(tmp_path_factory):
    good = mnist_pngs(3)

    @FUZZ
    @given(data=damaged(good[0]))
    def check(data):
        root = tmp_path_factory.mktemp("tree")
        for label, payload in (("a", data), ("a", good[1]), ("b", good[2])):
            folder = root / label
            folder.mkdir(exist_ok=True)
            (folder / f"{len(list(folder.iterdir()))}.png").write_bytes(payload)
        _load_or_refuse(root)

    check()


def _idx_bytes(tmp_path) -> bytes:
    images = np.stack([pixels(p) for p in mnist_pngs(4)])
    return write_idx(tmp_path / "x.gz", images, compress=False).read_bytes()


@pytest.mark.timeout(120)
def test_damaged_idx_files_load_or_are_refused(tmp_path_factory):
    base = tmp_path_factory.mktemp("idx-original")
    images = _idx_bytes(base)
    labels = write_idx(base / "y", np.array([0, 1, 2, 3], np.uint8), compress=False).read_bytes()

    @FUZZ
    @given(image_data=damaged(images), label_data=damaged(labels))
    def check(image_data, label_data):
        root = tmp_path_factory.mktemp("idx")
        (root / "train-images-idx3-ubyte").write_bytes(image_data)
        (root / "train-labels-idx1-ubyte").write_bytes(label_data)
        _load_or_refuse(root)

    check()


@pytest.mark.timeout(120)
def test_a_damaged_csv_list_loads_or_is_refused(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv-images")
    for i, payload in enumerate(mnist_pngs(3)):
        (root / f"{i}.png").write_bytes(payload)
    text = b"path,label\n0.png,zero\n1.png,one\n2.png,zero\n"

    @FUZZ
    @given(data=damaged(text))
    def check(data):
        (root / "list.csv").write_bytes(data)
        _load_or_refuse(root / "list.csv")

    check()


def _archive(kind: str, members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    if kind == "zip":
        with zipfile.ZipFile(buffer, "w") as archive:
            for name, payload in members.items():
                archive.writestr(name, payload)
    else:
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            for name, payload in members.items():
                info = tarfile.TarInfo(name)
                info.size = len(payload)
                archive.addfile(info, io.BytesIO(payload))
    return buffer.getvalue()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_a_damaged_archive_loads_or_is_refused(tmp_path_factory, kind):
    pngs = mnist_pngs(3)
    original = _archive(kind, {"a/0.png": pngs[0], "a/1.png": pngs[1], "b/2.png": pngs[2]})

    @FUZZ
    @given(data=damaged(original))
    def check(data):
        path = tmp_path_factory.mktemp("archive") / f"photos.{kind}"
        path.write_bytes(data)
        _load_or_refuse(path)

    check()
