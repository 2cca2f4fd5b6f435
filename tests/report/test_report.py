"""The HTML report: written by every ``cnnkit train`` run, self-contained, and complete
as far as the run allows (no validation, no test split, stopped early, data gone)."""

from __future__ import annotations

import base64
import io
import json
import re
import shutil
import subprocess
import sys

import pytest
from PIL import Image

import cnnkit
from cnnkit.cli import main
from cnnkit.data import load
from cnnkit.data.cache import cache_root
from cnnkit.models import load_model
from report_helpers import PLOTS, SECTION_IDS, read_page, train_run

DATA_URI = "data:image/png;base64,"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    """A complete run: validation and test splits, so metrics.json too."""
    return train_run(tmp_path_factory.mktemp("report"))


def test_a_finished_run_writes_a_self_contained_report(finished_run):
    page = read_page(finished_run)
    assert tuple(page.sections) == SECTION_IDS
    assert all(section.title for section in page.sections.values())
    assert not any(section.notes for section in page.sections.values())  # nothing missing
    assert len(page.images) == len(PLOTS)
    embedded = set()
    for source in page.images:
        assert source.startswith(DATA_URI)
        png = base64.b64decode(source[len(DATA_URI):], validate=True)
        with Image.open(io.BytesIO(png)) as image:
            image.verify()
            assert image.format == "PNG"
        embedded.add(png)
    files = {(finished_run / "report" / f"{name}.png").read_bytes() for name in PLOTS}
    assert files == embedded
    text = (finished_run / "report.html").read_text()
    assert not re.search(r"https?://", text)
    assert not re.search(r"""(?:src|href)=["'](?!data:|#)""", text)
    assert f"report: {finished_run / 'report.html'}" in (finished_run / "log.txt").read_text()


def test_the_report_shows_the_run(finished_run):
    text = (finished_run / "report.html").read_text()
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert f"{metrics['test_accuracy']:.2%}" in text
    worst = metrics["worst_examples"][0]
    assert f"#{worst['index']}" in text and f"{worst['loss']:.2f}" in text
    for name in ("T-shirt/top", "Ankle boot"):
        assert name in text
    params = load_model(finished_run / "model" / "best", compile=False).count_params()
    assert f"Total params: {params:,}" in text            # the model summary
    assert "No file was skipped." in text
    assert "test images also in train" in text            # the leakage check ran
    assert "fraction: 0.2" in text and "images/s" in text  # config.yaml and timings


def test_a_run_without_validation_or_metrics_still_renders(tmp_path):
    run = train_run(tmp_path, "--val-split", "0")
    (run / "metrics.json").unlink()
    assert cnnkit.report(run, progress=False) == run / "report.html"
    page = read_page(run)
    assert tuple(page.sections) == SECTION_IDS
    assert page.sections["curves"].notes == [
        "the run had no validation data, so there are no validation curves"]
    assert "model/best on the test split" in (run / "report.html").read_text()
    assert all(len(page.sections[s].images) == 1 for s in ("confusion", "worst"))


def _folder_dataset(root, classes: dict[str, int], per_class: int = 40):
    """Real Fashion-MNIST images in ``root/<class>/`` (no split folders), one broken file."""
    mini = load("fashion-mnist-mini", split="train", progress=False)
    for name, label in classes.items():
        folder = root / name
        folder.mkdir(parents=True)
        for i, index in enumerate((mini.labels == label).nonzero()[0][:per_class]):
            Image.fromarray(mini.images[index, :, :, 0]).save(folder / f"{i:03d}.png")
    (root / next(iter(classes)) / "broken.png").write_bytes(b"not an image")
    return root


def test_without_a_test_split_the_best_model_is_evaluated_on_validation(tmp_path):
    # class names a browser would read as markup must arrive as text
    data = _folder_dataset(tmp_path / "shop", {"<b>shirt</b>": 0, "bag & co": 8})
    run = train_run(tmp_path, "--val-split", "0.25", data=str(data))
    assert not (run / "metrics.json").exists()
    page = read_page(run)
    assert not any(section.notes for section in page.sections.values())
    text = (run / "report.html").read_text()
    assert "model/best on the validation split" in text
    assert "&lt;b&gt;shirt&lt;/b&gt;" in text and "<b>shirt" not in text
    assert "bag &amp; co" in text
    assert "broken.png" in text and "not_an_image" in text  # the skipped file is listed
    assert len(page.images) == len(PLOTS)
    entries = sorted((cache_root() / "decoded").iterdir())
    cnnkit.report(run, progress=False)  # again, from the run directory alone
    # the run's decode-cache entry is read again, not a second one decoded at the model's size
    assert sorted((cache_root() / "decoded").iterdir()) == entries
    assert (run / "report.html").read_text() == text


def test_a_val_split_folder_without_a_training_class_is_diagnosed(tmp_path):
    data = tmp_path / "shop"
    _folder_dataset(data / "train", {"shirt": 0, "bag": 8, "trouser": 1})
    _folder_dataset(data / "val", {"shirt": 0, "trouser": 1}, per_class=10)
    run = train_run(tmp_path, data=str(data))
    assert "[warning] validation_classes" in (run / "log.txt").read_text()  # fit() says so
    text = (run / "report.html").read_text()
    assert "validation_classes" in text
    assert "bag=" in text  # the training images of the class validation lacks


def test_a_run_stopped_before_its_first_epoch_gets_notes_not_a_crash(
        finished_run, tmp_path, capsys):
    run = tmp_path / "stopped"
    run.mkdir()
    (run / "config.yaml").write_text((finished_run / "config.yaml").read_text())
    (run / "report").mkdir()
    (run / "report" / "confusion.png").write_bytes(b"an older plot")
    assert main(["report", str(run), "--quiet"]) == 0
    assert capsys.readouterr().out.strip() == str(run / "report.html")
    page = read_page(run)
    assert tuple(page.sections) == SECTION_IDS
    for empty in ("curves", "confusion", "per-class", "worst", "model"):
        assert page.sections[empty].notes, empty
    assert "no history.csv" in page.sections["curves"].notes[0]
    assert "saved no model" in page.sections["model"].notes[0]
    assert len(page.sections["samples"].images) == 1  # the data still loads
    assert sorted(p.name for p in (run / "report").iterdir()) == ["samples.png"]


def test_data_that_cannot_be_loaded_is_a_note(finished_run, tmp_path):
    run = tmp_path / "moved"
    shutil.copytree(finished_run / "model", run / "model")
    config = (finished_run / "config.yaml").read_text()
    (run / "config.yaml").write_text(config.replace("data: fashion-mnist-mini",
                                                    f"data: {tmp_path / 'gone'}"))
    cnnkit.report(run, progress=False)
    page = read_page(run)
    for section in ("samples", "dataset", "confusion", "worst"):
        assert any("does not exist" in n for n in page.sections[section].notes), section
    assert not page.sections["model"].notes


def test_not_a_run_directory_is_an_error(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


def test_a_failing_report_is_a_warning_and_the_run_is_kept(tmp_path, monkeypatch):
    import cnnkit.report.write

    def fail(*args, **kwargs):
        raise RuntimeError("no space left")

    monkeypatch.setattr(cnnkit.report.write, "write_report", fail)
    run = train_run(tmp_path, "--epochs", "1")
    assert (run / "metrics.json").is_file() and (run / "model" / "best").is_dir()
    assert not (run / "report.html").exists()
    assert ("warning: the report could not be written: RuntimeError: no space left"
            in (run / "log.txt").read_text())


def test_import_cnnkit_stays_light_and_report_is_callable():
    code = ("import sys, cnnkit; heavy = {'torch', 'matplotlib'} & set(sys.modules); "
            "assert not heavy, heavy; import cnnkit.report.write; "
            "assert callable(cnnkit.report) and cnnkit.report.write_report")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
