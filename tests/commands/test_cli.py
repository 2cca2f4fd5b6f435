"""The ``cnnkit`` command line: help everywhere, exit codes, quiet and JSON output."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

import cnnkit
from cnnkit import cli
from cnnkit.commands import data as data_command
from cnnkit.errors import DataError
from sample_images import mnist_pngs


def digits(root: Path, classes: tuple[str, ...] = ("even", "odd")) -> Path:
    for i, data in enumerate(mnist_pngs(6)):
        path = root / classes[i % len(classes)] / f"{i}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    """Every command and subcommand of the parser, as argument lists."""
    yield list(prefix)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from command_paths(sub, (*prefix, name))


def test_every_command_has_help(capsys):
    paths = list(command_paths(cli.build_parser()))
    assert ["data", "inspect"] in paths
    for path in paths:
        with pytest.raises(SystemExit) as done:
            cli.main([*path, "--help"])
        assert done.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith(f"usage: cnnkit {' '.join(path)}".rstrip())


def test_version(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == f"cnnkit {cnnkit.__version__}"


@pytest.mark.parametrize("argv", [[], ["data"], ["data", "inspect"],
                                  ["data", "inspect", "x", "--image-size", "0"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(argv)
    assert done.value.code == 2
    assert "usage: cnnkit" in capsys.readouterr().err


def test_inspect_json(tmp_path, capsys):
    root = digits(tmp_path / "data")
    assert cli.main(["data", "inspect", str(root), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # no progress bar when stderr is not a terminal
    result = json.loads(captured.out)
    assert result["source"] == str(root)
    assert result["splits"]["train"]["class_counts"] == {"even": 3, "odd": 3}


def test_inspect_text_with_image_size(tmp_path, capsys):
    root = digits(tmp_path / "data")
    assert cli.main(["data", "inspect", str(root), "--image-size", "14x20", "-q"]) == 0
    captured = capsys.readouterr()
    assert f"{root}: 2 classes, 6 images, stored as 14x20x1" in captured.out
    assert captured.err == ""


def test_inspect_takes_the_data_as_a_flag_too(tmp_path, capsys):
    root = digits(tmp_path / "data")
    outputs = []
    for spelling in ([str(root)], ["--data", str(root)]):
        assert cli.main(["data", "inspect", *spelling, "--json"]) == 0
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["source"] == str(root)


def test_inspect_reads_a_single_class_folder(tmp_path, capsys):
    root = digits(tmp_path / "data", classes=("only",))
    assert cli.main(["data", "inspect", str(root), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == ["only"]


@pytest.mark.parametrize("source, message", [
    ("missing/folder", "does not exist"),
    ("mnsit", "did you mean 'mnist'"),
])
def test_data_errors_print_message_and_hint(source, message, capsys):
    assert cli.main(["data", "inspect", source]) == DataError.exit_code == 3
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "\nhint: " in err and message in err
    assert "Traceback" not in err


def test_quiet_turns_progress_off(tmp_path, monkeypatch):
    seen = []

    def load(source, image_size, progress):
        seen.append(progress)
        raise DataError("stop here")

    monkeypatch.setattr(data_command, "load_for_inspection", load)
    cli.main(["data", "inspect", "x"])
    cli.main(["data", "inspect", "x", "--quiet"])
    assert seen == [True, False]


def test_ctrl_c_exits_130(monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_command, "load_for_inspection", interrupted)
    assert cli.main(["data", "inspect", "x"]) == 130
    assert capsys.readouterr().err.strip() == "interrupted"


def test_console_script_help():
    script = Path(sys.executable).parent / "cnnkit"
    if not script.exists():
        pytest.skip(f"{script} is not installed: run pip install -e . first")
    done = subprocess.run([str(script), "data", "inspect", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0
    assert done.stdout.startswith("usage: cnnkit data inspect")


def test_train_help_gives_the_defaults_of_epochs_and_optimizer(capsys):
    from cnnkit.train.config import RunConfig

    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert f"(default {RunConfig.epochs})" in text
    assert f"default {RunConfig.optimizer}" in text
