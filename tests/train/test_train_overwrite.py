"""``cnnkit train --overwrite`` replaces only a run directory cnnkit wrote (or an empty
folder), and only after the new run's data and model loaded: a folder holding anything
else, the working directory and the run's own inputs are refused, nothing deleted."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnkit.cli import main
from cnnkit.errors import ConfigError
from cnnkit.train.rundir import RUN_MARKER, RunDir, check_replaceable
from sample_images import digits_tree as digits
from train_helpers import write_spec


def train(tmp_path: Path, out: Path | str, *extra: str, data: str = "fashion-mnist-mini") -> int:
    """``cnnkit train`` of the tiny test CNN for an epoch on a tenth of ``data``."""
    return main(["train", "--data", data, "--model", str(write_spec(tmp_path)), "--epochs", "1",
                 "--fraction", "0.1", "--quiet", "--out", str(out), *extra])


def test_a_folder_with_a_users_files_is_refused_and_kept(tmp_path, capsys):
    folder = tmp_path / "V"
    data = digits(folder / "mydata")
    (folder / "thesis.txt").write_text("four years of work")
    assert train(tmp_path, folder, "--overwrite", data=str(data)) == 2  # ConfigError
    err = capsys.readouterr().err
    assert "--overwrite refused, nothing was deleted" in err and "--out" in err
    assert (folder / "thesis.txt").read_text() == "four years of work"
    assert len(list(data.rglob("*.png"))) == 6


def test_a_folder_with_a_users_file_alone_is_refused(tmp_path, capsys):
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "thesis.txt").write_text("keep me")
    assert train(tmp_path, folder, "--overwrite") != 0
    assert "thesis.txt" in capsys.readouterr().err  # names what it would have deleted
    assert (folder / "thesis.txt").read_text() == "keep me"


def test_a_previous_run_directory_is_replaced(tmp_path):
    out = tmp_path / "runs" / "tiny"
    assert train(tmp_path, out) == 0
    assert (out / RUN_MARKER).is_file()
    (out / "checkpoint" / ".last.ckpt.x1y2.tmp").write_bytes(b"")  # an atomic write's leftover
    (out / "metrics.json").unlink()
    assert train(tmp_path, out, "--overwrite", "--epochs", "2") == 0
    assert not (out / "checkpoint" / ".last.ckpt.x1y2.tmp").exists()
    assert len((out / "history.csv").read_text().splitlines()) == 3  # the new run's 2 epochs
    assert (out / "metrics.json").exists()
    assert not (tmp_path / "runs" / "tiny-2").exists()


def test_a_run_directory_a_user_added_to_is_refused(tmp_path):
    out = tmp_path / "run"
    assert train(tmp_path, out) == 0
    (out / "model" / "notes.md").write_text("which run was best")
    assert train(tmp_path, out, "--overwrite") != 0
    assert (out / "model" / "notes.md").exists() and (out / "history.csv").exists()


def test_the_old_run_stays_when_the_new_inputs_fail(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tmp_path, out) == 0
    before = (out / "history.csv").read_text()
    assert train(tmp_path, out, "--overwrite", data=str(tmp_path / "missing")) != 0
    assert "does not exist" in capsys.readouterr().err
    assert (out / "history.csv").read_text() == before


def test_data_inside_the_run_directory_is_never_deleted(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(tmp_path, out) == 0
    data = digits(out / "data")
    assert train(tmp_path, out, "--overwrite", data=str(data)) != 0
    assert "holds this run's input" in capsys.readouterr().err
    assert len(list(data.rglob("*.png"))) == 6


def test_out_dot_never_wipes_the_working_directory(tmp_path, monkeypatch, capsys):
    out = tmp_path / "run"
    assert train(tmp_path, out) == 0
    monkeypatch.chdir(out)  # even a run directory is not deleted from under the user
    assert train(tmp_path, ".", "--overwrite") != 0
    assert "current directory" in capsys.readouterr().err
    assert (out / "history.csv").exists()
    monkeypatch.chdir(out / "model")
    with pytest.raises(ConfigError, match="current directory"):
        check_replaceable(Path(".."))


def test_an_empty_folder_is_used_as_it_is(tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    assert train(tmp_path, out, "--overwrite") == 0
    assert (out / "history.csv").exists() and not (tmp_path / "empty-2").exists()


def test_every_file_of_a_run_directory_is_one_overwrite_may_replace(tmp_path):
    run = RunDir(tmp_path / "run")
    files = [run.marker, run.config, run.history, run.log, run.metrics, run.checkpoint,
             run.report, run.plots / "curves.png"]
    for path in files:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    for which in ("best", "last"):
        run.model(which).mkdir(parents=True)
        (run.model(which) / "model.json").touch()
    check_replaceable(run.path)  # raises if RunDir names a file RUN_LAYOUT does not hold
    (run.path / "notes.txt").touch()
    with pytest.raises(ConfigError, match=r"notes\.txt"):
        check_replaceable(run.path)
