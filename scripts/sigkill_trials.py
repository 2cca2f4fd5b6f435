"""SIGKILL a short training run at random moments, resume it, and check that every run
directory ends complete and bit-identical to an uninterrupted run's (issue 22).

Each kill lands at a random moment of one part of the run, in turn: anywhere after the
run directory appears, twice in the training (after the first checkpoint), right after
the last epoch (the final save and test evaluation), and once metrics.json is written
(the report). After each kill, ``cnnkit train --resume``
must exit 0 and leave report.html, metrics.json, history.csv and model/best + model/last,
with the weights, metrics.json and the history's numbers equal byte for byte to the
uninterrupted run's.

    python scripts/sigkill_trials.py            # 20 trials
    python scripts/sigkill_trials.py --trials 5 --seed 1 --aim "final evaluation"

Exit status 1 when any trial ended incomplete or different.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
- Conv2D: {filters: 8, kernel_size: 3, activation: relu}
- MaxPooling2D: {pool_size: 2}
- Flatten
- Dropout: {rate: 0.3}
- Dense: {units: auto, activation: softmax}
"""
COMPARED = ("metrics.json", "model/last/weights.safetensors", "model/best/weights.safetensors",
            "model/last/model.json")
KINDS = ("anywhere", "training", "training", "final evaluation", "report")  # aims, in turn
HISTORY_NUMBERS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def command(out: Path, spec: Path) -> list[str]:
    """A short deterministic run, checkpointed every 4 steps."""
    return [sys.executable, "-m", "cnnkit", "train", "fashion-mnist-mini", "--model", str(spec),
            "--epochs", "2", "--fraction", "0.2", "--batch-size", "32", "--augment", "flip",
            "--deterministic", "--threads", "1", "--seed", "5", "--checkpoint-steps", "4",
            "--out", str(out), "-q"]


def _wait_for(process: subprocess.Popen, ready, poll: float = 0.005) -> bool:
    """Poll until ``ready()``; False when the process ended first."""
    while not ready():
        if process.poll() is not None:
            return False
        time.sleep(poll)
    return True


def _last_epoch_logged(out: Path, epochs: int = 2) -> bool:
    log = out / "log.txt"
    return log.exists() and f"epoch {epochs}:" in log.read_text(errors="replace")


def phase(out: Path) -> str:
    """Where the run was when it died, from the files it left."""
    if not (out / "checkpoint" / "last.ckpt").exists():
        return "before the first checkpoint"
    if not _last_epoch_logged(out):
        return "training"
    if not (out / "metrics.json").exists():
        return "final save / test evaluation"
    if not (out / "report.html").exists():
        return "report"
    return "finished"


def timed_reference(out: Path, spec: Path, env: dict) -> tuple[float, float]:
    """Run uninterrupted; the seconds from the run directory's config.yaml to the end, and
    from its first checkpoint to its last epoch (the training a kill should hit)."""
    process = subprocess.Popen(command(out, spec), env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)
    _wait_for(process, (out / "config.yaml").exists)
    start = time.monotonic()
    _wait_for(process, (out / "checkpoint" / "last.ckpt").exists)
    trained = time.monotonic()
    _wait_for(process, lambda: _last_epoch_logged(out))
    training = time.monotonic() - trained
    _, err = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"the reference run failed:\n{err}")
    return time.monotonic() - start, training


def trial(out: Path, spec: Path, env: dict, aim: str, spans: tuple[float, float],
          rng: random.Random) -> str:
    """Start a run, SIGKILL it at a moment chosen by ``aim`` (anywhere, in training, right
    after training, once metrics.json is written); the phase it died in."""
    for attempt in range(4):
        shutil.rmtree(out, ignore_errors=True)
        process = subprocess.Popen(command(out, spec), env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        if aim == "anywhere":
            started = _wait_for(process, (out / "config.yaml").exists)
            delay = rng.uniform(0.0, spans[0] / (attempt + 1))
        elif aim == "training":
            started = _wait_for(process, (out / "checkpoint" / "last.ckpt").exists)
            delay = rng.uniform(0.0, spans[1] / (attempt + 1))
        elif aim == "final evaluation":
            started = _wait_for(process, lambda: _last_epoch_logged(out))
            delay = rng.uniform(0.0, 0.1 / (attempt + 1))
        else:  # the report
            started = _wait_for(process, (out / "metrics.json").exists)
            delay = rng.uniform(0.0, 0.2 / (attempt + 1))
        time.sleep(delay if started else 0)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            process.wait()
            where = phase(out)
            if where != "finished":
                return where
        process.wait()
    return "finished"


def differences(reference: Path, out: Path) -> list[str]:
    """What ``out`` lacks or holds differently from ``reference``."""
    problems = [f"no {name}" for name in ("report.html", "history.csv", "metrics.json")
                if not (out / name).is_file()]
    for name in COMPARED:
        a, b = reference / name, out / name
        if not b.is_file() or a.read_bytes() != b.read_bytes():
            problems.append(f"{name} differs")
    if (out / "history.csv").is_file() and _numbers(reference) != _numbers(out):
        problems.append("history.csv numbers differ")
    return problems


def _numbers(run: Path) -> list[list[str]]:
    rows = [line.split(",") for line in (run / "history.csv").read_text().splitlines()]
    keep = [rows[0].index(k) for k in HISTORY_NUMBERS if k in rows[0]]
    return [[row[i] for i in keep] for row in rows]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--aim", choices=KINDS, help="aim every kill at this part of the run "
                        "(default: each part in turn)")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    root = Path(tempfile.mkdtemp(prefix="cnnkit-sigkill-"))
    env = {**os.environ, "CNNKIT_CACHE": str(root / "cache"), "PYTHONUNBUFFERED": "1"}
    spec = root / "tiny.yaml"
    spec.write_text(SPEC)
    try:
        spans = timed_reference(root / "reference", spec, env)
        print(f"uninterrupted run: {spans[0]:.1f} s from its config.yaml to its end, "
              f"{spans[1]:.1f} s of it training after the first checkpoint")
        aims = [args.aim or KINDS[i % len(KINDS)] for i in range(args.trials)]
        print("| trial | aimed at | died during | resume exit | result |\n|---|---|---|---|---|")
        failures = 0
        for number, aim in enumerate(aims, 1):
            out = root / f"trial-{number}"
            died = trial(out, spec, env, aim, spans, rng)
            done = subprocess.run([*command(out, spec)[:3], "train", "--resume", str(out), "-q"],
                                  env=env, capture_output=True, text=True)
            problems = differences(root / "reference", out) if done.returncode == 0 else [
                done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"]
            failures += bool(problems)
            print(f"| {number} | {aim} | {died} | {done.returncode} | "
                  f"{'; '.join(problems) or 'complete, bit-identical'} |", flush=True)
        print(f"\n{len(aims) - failures} of {len(aims)} trials complete and bit-identical")
        return 1 if failures else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
