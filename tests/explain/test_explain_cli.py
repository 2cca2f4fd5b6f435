"""``cnnkit explain``: every subcommand writes PNG files that open and prints what it did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnnkit import cli
from tiny_model import fashion_test_images, trained_model


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("model") / "tiny.keras"
    trained_model().save(path)
    return str(path)


@pytest.fixture(scope="module")
def images(tmp_path_factory) -> dict[str, Path]:
    """A real Fashion-MNIST test image as a grayscale PNG, and the same as a 40x30 RGB PNG."""
    folder = tmp_path_factory.mktemp("images")
    pixels = fashion_test_images(1)[0, :, :, 0]
    gray, rgb = folder / "boot.png", folder / "boot-rgb.png"
    Image.fromarray(pixels).save(gray)
    Image.fromarray(pixels).convert("RGB").resize((30, 40)).save(rgb)
    return {"gray": gray, "rgb": rgb}


def opened(path: Path) -> Image.Image:
    """The PNG file at ``path``, read completely."""
    assert path.is_file(), path
    with Image.open(path) as image:
        image.load()
    assert image.format == "PNG"
    return image


def figure(path: Path, min_width: int = 250) -> Image.Image:
    """A PNG figure, checked to be large enough to read and not blank."""
    image = opened(path)
    assert image.width >= min_width and image.height >= 150, image.size
    assert np.asarray(image.convert("L")).std() > 5
    return image


def test_filters_of_the_first_layer(model_file, tmp_path, capsys):
    assert cli.main(["explain", "filters", model_file, "--out", str(tmp_path)]) == 0
    path = tmp_path / f"filters-{trained_model().layers[0].name}.png"
    assert capsys.readouterr().out == f"wrote {path}: 8 filters of 3x3x1 in one grid\n"
    figure(path)


def test_filters_in_rgb_and_of_a_deeper_layer(tmp_path, capsys):
    spec = tmp_path / "cnn.yaml"
    spec.write_text("- Conv2D: {filters: 4, kernel_size: 3, name: first}\n"
                    "- Conv2D: {filters: 3, kernel_size: 3, name: second}\n"
                    "- Flatten\n- Dense: {units: auto, activation: softmax}\n")
    out_dir = tmp_path / "out"
    argv = ["explain", "filters", str(spec), "--input-shape", "16x16x3", "--out", str(out_dir)]
    assert cli.main(argv) == 0
    assert "4 filters of 3x3x3 in one grid" in capsys.readouterr().out
    figure(out_dir / "filters-first.png")
    assert cli.main([*argv, "--layer", "second"]) == 0
    assert "3 images, one per filter, each 4 tiles of 3x3" in capsys.readouterr().out
    pictures = sorted((out_dir / "filters-second").glob("*.png"))
    assert [p.name for p in pictures] == ["filter-000.png", "filter-001.png", "filter-002.png"]
    for picture in pictures:
        figure(picture)
    assert cli.main([*argv, "--layer", "flatten"]) == 4  # a LayerError
    assert "no layer named 'flatten'" in capsys.readouterr().err


def test_features(model_file, images, tmp_path, capsys):
    assert cli.main(["explain", "features", model_file, str(images["rgb"]),
                     "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Conv2D output 26x26x8" in out and "MaxPooling2D output 13x13x8" in out
    written = sorted(tmp_path.glob("features-*.png"))
    assert len(written) == 2
    for path in written:
        figure(path)


def test_features_of_chosen_layers(model_file, images, tmp_path, capsys):
    layer = trained_model().layers[1].name
    assert cli.main(["explain", "features", model_file, str(images["gray"]), "--layers", layer,
                     "--out", str(tmp_path)]) == 0
    assert [p.name for p in tmp_path.glob("*.png")] == [f"features-{layer}.png"]


def test_gradcam(model_file, images, tmp_path, capsys):
    assert cli.main(["explain", "gradcam", model_file, str(images["gray"]), "--class",
                     "Ankle boot", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {tmp_path / 'gradcam-boot.png'}: image, Grad-CAM overlay")
    assert "explained class: Ankle boot; Grad-CAM layer: " in out
    figure(tmp_path / "gradcam-boot.png", min_width=600)


def test_gradcam_unknown_class(model_file, images, tmp_path, capsys):
    assert cli.main(["explain", "gradcam", model_file, str(images["gray"]), "--class",
                     "Ankle bot", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "unknown class 'Ankle bot'" in err and "did you mean 'Ankle boot'" in err


def test_conv_with_pooling(images, tmp_path, capsys):
    assert cli.main(["explain", "conv", str(images["rgb"]), "--kernel", "sobel-x", "--stride",
                     "2", "--padding", "same", "--pool", "max", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "applied per channel" in out
    assert "output height = ceil(40 / 2) = 20" in out and "output: 20x15x3" in out
    assert "pooled: 10x7x3" in out
    before = np.asarray(opened(tmp_path / "conv-before.png"))
    np.testing.assert_array_equal(before, np.asarray(Image.open(images["rgb"])))
    assert opened(tmp_path / "conv-after.png").size == (15, 20)
    assert opened(tmp_path / "conv-pooled.png").size == (7, 10)
    figure(tmp_path / "conv.png", min_width=600)


def test_conv_summed_with_a_written_kernel(images, tmp_path, capsys):
    kernel = "0.1 0.1 0.1; 0.1 0.1 0.1; 0.1 0.1 0.1"
    assert cli.main(["explain", "conv", str(images["rgb"]), "--kernel", kernel, "--mode",
                     "summed", "--at", "0,0", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "applied summed across channels" in out and "output: 38x28" in out
    assert "output[0, 0] = the sum of kernel x pixel" in out and "summed over channels" in out
    assert opened(tmp_path / "conv-after.png").size == (28, 38)
    assert not (tmp_path / "conv-pooled.png").exists()


def test_conv_bad_kernel(images, tmp_path, capsys):
    assert cli.main(["explain", "conv", str(images["rgb"]), "--kernel", "blurr"]) == 2
    assert "did you mean 'blur'" in capsys.readouterr().err


def test_params(capsys):
    assert cli.main(["explain", "params", "tutorial-cifar10", "--input-shape", "32x32x3"]) == 0
    out = capsys.readouterr().out
    assert "this model: 122,570 parameters" in out
    assert "88,502,400" in out
    assert out.rstrip().endswith("(3,072 + 1) x 1,000 = 3,073,000 weights")


def test_conv_scales_a_large_photo_down_and_refuses_a_non_image(images, tmp_path, capsys):
    large = tmp_path / "large.png"
    Image.open(images["rgb"]).resize((600, 400)).save(large)
    assert cli.main(["explain", "conv", str(large), "--kernel", "blur",
                     "--out", str(tmp_path / "out")]) == 0
    assert capsys.readouterr().out.startswith("image: 171x256x3\n")
    notes = tmp_path / "notes.png"
    notes.write_text("not a picture")
    assert cli.main(["explain", "conv", str(notes), "--kernel", "blur"]) == 3
    assert "not_an_image" in capsys.readouterr().err
