"""predict_files: the same probabilities as model.predict, whole batches, bad files in place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit import layers as L
from cnnkit.data.decode import ImageProblem, decode
from cnnkit.errors import ConfigError, DataError, ShapeError
from cnnkit.models import Sequential
from cnnkit.predict import predict_files, ranked
from sample_images import TEXT_AS_IMAGE, cifar_jpegs, corrupt_png, encode, tar_folder, zip_folder
from tiny_model import fashion_test_images, trained_model

N = 12


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return fashion_test_images(N)


def png(image: np.ndarray) -> bytes:
    return encode(Image.fromarray(image[:, :, 0]))


@pytest.fixture
def folder(tmp_path, images) -> tuple[Path, list[str]]:
    """12 real PNGs in nested folders, plus files that are not images; returns the folder
    and the image paths in listing order (each folder's files, then its sub-folders)."""
    root = tmp_path / "photos"
    names = [f"top{i}.png" if i < 2 else f"shoes/{i:02d}.png" if i < 8 else f"shoes/old/{i:02d}.PNG"
             for i in range(N)]
    for name, image in zip(names, images, strict=True):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(png(image))
    (root / "notes.txt").write_text("not an image")
    (root / ".DS_Store").write_bytes(b"\0\0")
    (root / "shoes" / ".hidden.png").write_bytes(png(images[0]))
    (root / "empty").mkdir()
    return root, [str(root / name) for name in names]


def results(source, batch_size=256) -> list[tuple[str, np.ndarray | ImageProblem]]:
    return list(predict_files(trained_model(), source, batch_size, progress=False))


def test_folder_matches_model_predict(folder, images):
    root, paths = folder
    found = results(root, batch_size=5)
    assert [path for path, _ in found] == paths
    probabilities = np.stack([p for _, p in found])
    np.testing.assert_allclose(probabilities, trained_model().predict(images), atol=1e-6)
    assert probabilities.shape == (N, 10)


def test_images_are_predicted_in_whole_batches(folder, monkeypatch):
    model = trained_model()
    sizes = []

    def counting_predict(x, batch_size=None, verbose="auto"):
        sizes.append(len(x))
        return Sequential.predict(model, x, batch_size=batch_size, verbose=verbose)

    monkeypatch.setattr(model, "predict", counting_predict)
    assert len(results(folder[0], batch_size=5)) == N
    assert sizes == [5, 5, 2]


def test_bad_files_are_reported_in_place(folder, images):
    root, paths = folder
    (root / "shoes" / "03.png").write_bytes(corrupt_png(png(images[3])))
    (root / "shoes" / "05.png").write_bytes(b"")
    (root / "top1.png").write_bytes(TEXT_AS_IMAGE)
    found = dict(results(root, batch_size=4))
    assert list(found) == paths
    reasons = {path: r.reason for path, r in found.items() if isinstance(r, ImageProblem)}
    assert reasons == {paths[3]: "corrupt", paths[5]: "empty_file", paths[1]: "not_an_image"}
    good = [i for i in range(N) if paths[i] not in reasons]
    np.testing.assert_allclose(np.stack([found[paths[i]] for i in good]),
                               trained_model().predict(images[good]), atol=1e-6)


@pytest.mark.parametrize("archive", ["photos.zip", "photos.tar.gz"])
def test_archives_match_the_folder(folder, tmp_path, archive):
    root, _ = folder
    path = tmp_path / archive
    if archive.endswith(".zip"):
        zip_folder(root, path)
    else:
        tar_folder(root, path, "w:gz")
    by_member = {name.split("::", 1)[1]: p for name, p in results(path, batch_size=5)}
    from_folder = {str(Path(name).relative_to(root)): p for name, p in results(root)}
    assert sorted(by_member) == sorted(from_folder)
    for member, probabilities in by_member.items():
        np.testing.assert_allclose(probabilities, from_folder[member], atol=1e-6)


def test_one_jpeg_is_resized_to_the_model(tmp_path):
    jpeg = cifar_jpegs(1)[0]  # a real 32x32 RGB photo, for a 28x28 grayscale model
    (tmp_path / "plane.jpg").write_bytes(jpeg)
    [(path, probabilities)] = results(tmp_path / "plane.jpg")
    assert path == str(tmp_path / "plane.jpg")
    expected = trained_model().predict(decode(jpeg, 28, 28, 1)[None])[0]
    np.testing.assert_allclose(probabilities, expected, atol=1e-6)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_a_named_file_that_is_not_an_image_is_a_problem(tmp_path):
    (tmp_path / "notes.txt").write_bytes(TEXT_AS_IMAGE)
    [(_, problem)] = results(tmp_path / "notes.txt")
    assert isinstance(problem, ImageProblem) and problem.reason == "not_an_image"


def test_missing_empty_and_damaged_sources(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        results(tmp_path / "nothing")
    (tmp_path / "empty").mkdir()
    assert results(tmp_path / "empty") == []
    (tmp_path / "photos.zip").write_bytes(b"PK not really a zip")
    with pytest.raises(DataError, match=r"photos\.zip: cannot read the archive"):
        results(tmp_path / "photos.zip")


def test_batch_size_must_be_positive(tmp_path):
    with pytest.raises(ConfigError, match="batch size must be at least 1, got 0"):
        results(tmp_path, batch_size=0)


def test_single_sigmoid_unit_gives_two_probabilities(tmp_path, images):
    (tmp_path / "a.png").write_bytes(png(images[0]))
    model = Sequential([L.Input((28, 28, 1)), L.Flatten(), L.Dense(1, activation="sigmoid")])
    [(_, probabilities)] = predict_files(model, tmp_path, progress=False)
    p = model.predict(images[:1])[0, 0]
    np.testing.assert_allclose(probabilities, [1 - p, p], atol=1e-6)


def test_a_model_that_does_not_take_images(tmp_path):
    model = Sequential([L.Input((10,)), L.Dense(2)])
    with pytest.raises(ShapeError, match=r"takes inputs of shape \(10,\), not images"):
        list(predict_files(model, tmp_path, progress=False))


def test_ranked_orders_and_names():
    p = np.array([0.1, 0.6, 0.1, 0.2], dtype=np.float32)
    assert ranked(p, ["a", "b", "c", "d"], 2) == [("b", pytest.approx(0.6)),
                                                  ("d", pytest.approx(0.2))]
    assert [name for name, _ in ranked(p, None)] == ["1", "3", "0", "2"]  # ties keep order


@pytest.mark.parametrize("count, threads", [(1, 1), (7, 1), (8, 2)])
def test_a_few_images_are_predicted_on_one_thread(count, threads):
    """A busy machine stalls OpenMP threads that wait on each other: a one-image call took
    3-68 ms on two threads and under 2 ms on one (models/inference.py)."""
    import torch

    model = trained_model()
    seen = []
    handle = model.net.register_forward_pre_hook(
        lambda module, args: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        model.predict(fashion_test_images(count), verbose=0)
    finally:
        handle.remove()
        after = torch.get_num_threads()
        torch.set_num_threads(before)
    assert seen == [threads] and after == 2
