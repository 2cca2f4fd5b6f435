"""Every run ends complete or says why not (issue 22): ``--resume`` finishes a run killed
between its last epoch and its report; a failed run records its error in log.txt; a run
stopped by a NaN loss keeps a model and writes a report saying so; a directory left by a
run that failed before its first checkpoint is reused, not suffixed ``-2``."""

from __future__ import annotations

from pathlib import Path

import pytest

from cnnkit.cli import main
from cnnkit.train.rundir import FAILURE, RUN_MARKER, RunDir, new_run_dir
from train_helpers import write_spec


def _train(tmp_path: Path, out: Path, *extra: str) -> int:
    return main(["train", "--data", "fashion-mnist-mini", "--model", str(write_spec(tmp_path)),
                 "--epochs", "1", "--fraction", "0.2", "--threads", "1", "--seed", "3",
                 "--out", str(out), "--quiet", *extra])


def test_resume_finishes_the_test_and_report_of_a_run_killed_after_training(tmp_path):
    out = tmp_path / "run"
    assert _train(tmp_path, out) == 0
    metrics = (out / "metrics.json").read_bytes()
    (out / "metrics.json").unlink()  # as if killed during the final evaluation
    (out / "report.html").unlink()
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert (out / "metrics.json").read_bytes() == metrics
    assert (out / "report.html").is_file()
    assert "stopped before its final test and report" in (out / "log.txt").read_text()


def test_a_nan_loss_keeps_a_model_records_the_error_and_reports_it(tmp_path):
    out = tmp_path / "nan"
    assert _train(tmp_path, out, "--optimizer", "sgd", "--lr", "1e30") == 6
    assert RunDir(out).failure().startswith("the loss became nan")
    assert (out / "model" / "last" / "weights.safetensors").is_file()
    report = (out / "report.html").read_text()
    assert "The run stopped early:</b> the loss became nan" in report
    assert str(tmp_path) not in report  # a shared report names no local folder


def _failed_early(path: Path, *extra: str) -> Path:
    path.mkdir(parents=True)
    for name in (RUN_MARKER, "config.yaml", *extra):
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("")
    (path / "log.txt").write_text(f"run directory: {path}\n{FAILURE}the loss became nan\n")
    return path


def test_a_directory_whose_run_failed_before_its_first_checkpoint_is_reused(tmp_path):
    requested = _failed_early(tmp_path / "run")
    assert new_run_dir(requested, overwrite=False) == requested
    assert sorted(p.name for p in requested.iterdir()) == [RUN_MARKER]


@pytest.mark.parametrize("extra", ["checkpoint/last.ckpt", "notes.txt"])
def test_a_failed_directory_with_a_checkpoint_or_a_foreign_file_is_kept(tmp_path, extra):
    requested = _failed_early(tmp_path / "run", extra)
    assert new_run_dir(requested, overwrite=False) == tmp_path / "run-2"
    assert (requested / extra).exists()
