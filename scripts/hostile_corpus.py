"""A corpus of hostile and careless inputs, each run through the ``cnnkit`` command line in
its own process under a 2 GB address-space limit and a time limit (issue 22).

Every case must end without a Python traceback, within its time, and without writing
anything outside its own work folder (its inputs and the shared files are compared before
and after). The table printed at the end gives each case's exit code.

    python scripts/hostile_corpus.py            # the whole corpus, 2 cases at a time
    python scripts/hostile_corpus.py --only safetensors-random units-500000

Exit status 1 when any case broke a rule. tests/test_hostile_corpus.py runs a few cases.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

MEMORY_LIMIT = 2 * 2**30  # RLIMIT_AS; importing torch needs about 1 GB of it
TIME_LIMIT = 120.0  # seconds per case, on a loaded 2-core machine
TRAIN = ["train", "fashion-mnist-mini", "--model", "{shared}/spec.yaml", "--epochs", "1",
         "--fraction", "0.02", "--threads", "1", "--out", "run", "-q"]


@dataclass
class Case:
    """One hostile input: ``setup(inputs, shared)`` writes its files, ``argv`` (after
    ``cnnkit``; ``{inputs}`` and ``{shared}`` are filled in) runs it."""

    name: str
    argv: list[str]
    setup: Callable[[Path, Path], None] = lambda inputs, shared: None


@dataclass
class Result:
    """What a case did."""

    name: str
    exit_code: int | None
    seconds: float
    traceback: bool = False
    hung: bool = False
    foreign: list[str] = field(default_factory=list)
    last_line: str = ""

    @property
    def ok(self) -> bool:
        return not (self.traceback or self.hung or self.foreign)


# -- shared inputs: a small saved model, a layer spec and a real image ---------------------

def make_shared(shared: Path) -> None:
    """The saved model, spec and image the cases start from (made once per corpus run)."""
    from cnnkit import layers as L
    from cnnkit.data import load
    from cnnkit.models import Sequential

    shared.mkdir(parents=True, exist_ok=True)
    (shared / "spec.yaml").write_text("- Conv2D: {filters: 4, kernel_size: 3, activation: relu}\n"
                                      "- MaxPooling2D: {pool_size: 2}\n- Flatten\n"
                                      "- Dense: {units: auto, activation: softmax}\n")
    data = load("fashion-mnist-mini", split="test", progress=False)
    model = Sequential([L.Input((28, 28, 1)), L.Conv2D(4, 3, activation="relu"),
                        L.MaxPooling2D(2), L.Flatten(), L.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.class_names = list(data.class_names)
    model.save(shared / "model")
    model.save(shared / "model.keras")
    Image.fromarray(data.images[0][..., 0]).save(shared / "image.png")


def _png(side: int = 28) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((side, side), 128, np.uint8)).save(buffer, "PNG")
    return buffer.getvalue()


def _bomb_png() -> bytes:
    """A valid PNG header claiming 100,000 x 100,000 pixels (40 GB decoded)."""
    import struct
    import zlib

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(
            ">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 0, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * (100_001 * 50), 9)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
            + chunk(b"IEND", b""))


# -- model mutations -------------------------------------------------------------------------

def _model_copy(inputs: Path, shared: Path) -> Path:
    target = inputs / "model"
    shutil.copytree(shared / "model", target)
    return target


def _edit_config(change: Callable[[dict], object]):
    def setup(inputs: Path, shared: Path) -> None:
        model = _model_copy(inputs, shared)
        data = json.loads((model / "model.json").read_text())
        change(data)
        (model / "model.json").write_text(json.dumps(data))
    return setup


def _dense(data: dict) -> dict:
    return next(layer for layer in data["layers"] if layer["class_name"] == "Dense")["config"]


def _conv(data: dict) -> dict:
    return next(layer for layer in data["layers"] if layer["class_name"] == "Conv2D")["config"]


def _model_file(name: str, payload: Callable[[Path], bytes]):
    def setup(inputs: Path, shared: Path) -> None:
        model = _model_copy(inputs, shared)
        (model / name).write_bytes(payload(model / name))
    return setup


def _safetensors(header: dict, body: bytes = b"") -> bytes:
    text = json.dumps(header).encode()
    return len(text).to_bytes(8, "little") + text + body


def _keras_file(write: Callable[[Path, Path], None]):
    def setup(inputs: Path, shared: Path) -> None:
        write(inputs / "model.keras", shared)
    return setup


def _deflate_bomb(path: Path, shared: Path) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model.json", b" " * 300_000_000)
        archive.writestr("weights.safetensors", (shared / "model" / "weights.safetensors")
                         .read_bytes())


def _pickle_as_keras(path: Path, shared: Path) -> None:
    import pickle

    class Boom:
        def __reduce__(self):
            return (os.system, ("touch PWNED",))
    path.write_bytes(pickle.dumps(Boom()))


def _truncated_keras(path: Path, shared: Path) -> None:
    data = (shared / "model.keras").read_bytes()
    path.write_bytes(data[: len(data) // 2])


# -- data mutations --------------------------------------------------------------------------

def _folder(files: dict[str, bytes]):
    def setup(inputs: Path, shared: Path) -> None:
        for name, payload in files.items():
            (inputs / name).parent.mkdir(parents=True, exist_ok=True)
            (inputs / name).write_bytes(payload)
    return setup


def _tar(members: list[tuple[str, bytes | None, str | None]]):
    """A tar of ``(name, payload, link target)`` members (a symlink when target is set)."""
    def setup(inputs: Path, shared: Path) -> None:
        with tarfile.open(inputs / "data.tar", "w") as archive:
            for name, payload, target in members:
                info = tarfile.TarInfo(name)
                if target is not None:
                    info.type, info.linkname = tarfile.SYMTYPE, target
                    archive.addfile(info)
                else:
                    info.size = len(payload)
                    archive.addfile(info, io.BytesIO(payload))
    return setup


def _zip(members: dict[str, bytes], method=zipfile.ZIP_STORED):
    def setup(inputs: Path, shared: Path) -> None:
        with zipfile.ZipFile(inputs / "data.zip", "w", method) as archive:
            for name, payload in members.items():
                archive.writestr(name, payload)
    return setup


def _idx_huge(inputs: Path, shared: Path) -> None:
    header = bytes([0, 0, 8, 3]) + b"".join(n.to_bytes(4, "big") for n in (2**31 - 1, 60000,
                                                                             60000))
    (inputs / "idx").mkdir()
    (inputs / "idx" / "train-images-idx3-ubyte").write_bytes(header + b"\x00" * 100)
    (inputs / "idx" / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + (
        2**31 - 1).to_bytes(4, "big") + b"\x00" * 100)


def _fifo(name: str):
    def setup(inputs: Path, shared: Path) -> None:
        os.mkfifo(inputs / name)
    return setup


def _link(name: str, target: str):
    def setup(inputs: Path, shared: Path) -> None:
        (inputs / name).symlink_to(target)
    return setup


def _text(name: str, text: str):
    def setup(inputs: Path, shared: Path) -> None:
        (inputs / name).write_text(text)
    return setup


def _alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _run_dir(inputs: Path, shared: Path) -> None:
    shutil.copytree(shared / "model", inputs / "runs" / "tiny" / "model" / "best")


def _bad_checkpoint(inputs: Path, shared: Path) -> None:
    run = inputs / "oldrun"
    (run / "checkpoint").mkdir(parents=True)
    (run / "config.yaml").write_text(f"data: fashion-mnist-mini\nmodel: {shared}/spec.yaml\n")
    (run / "checkpoint" / "last.ckpt").write_bytes(os.urandom(4000))


PREDICT = ["predict", "{inputs}/model", "{shared}/image.png"]
EVALUATE = ["evaluate", "{inputs}/model", "fashion-mnist-mini", "-q"]
STRANGE_HEADER = {"w": {"dtype": "F32", "shape": [10**6, 10**6], "data_offsets": [0, 4]}}


def cases() -> list[Case]:
    """Every case of the corpus, in table order."""
    png = _png()
    model = [
        Case("safetensors-random", PREDICT, _model_file("weights.safetensors",
                                                        lambda p: os.urandom(3000))),
        Case("safetensors-empty", PREDICT, _model_file("weights.safetensors", lambda p: b"")),
        Case("safetensors-huge-header", PREDICT, _model_file(
            "weights.safetensors", lambda p: (2**62).to_bytes(8, "little") + b"{}")),
        Case("safetensors-lying-shape", PREDICT, _model_file(
            "weights.safetensors", lambda p: _safetensors(STRANGE_HEADER, b"\0" * 4))),
        Case("safetensors-bad-dtype", PREDICT, _model_file("weights.safetensors", lambda p: (
            _safetensors({"w": {"dtype": "X99", "shape": [1], "data_offsets": [0, 4]}},
                         b"\0" * 4)))),
        Case("safetensors-truncated", PREDICT, _model_file(
            "weights.safetensors", lambda p: p.read_bytes()[:-100])),
        Case("units-500000", PREDICT, _edit_config(lambda d: _dense(d).update(units=500_000))),
        Case("units-1e12", PREDICT, _edit_config(lambda d: _dense(d).update(units=10**12))),
        Case("filters-1e9", PREDICT, _edit_config(lambda d: _conv(d).update(filters=10**9))),
        Case("filters-negative", PREDICT, _edit_config(lambda d: _conv(d).update(filters=-4))),
        Case("kernel-100000", PREDICT,
             _edit_config(lambda d: _conv(d).update(kernel_size=[100000, 100000]))),
        Case("units-string", PREDICT, _edit_config(lambda d: _dense(d).update(units="ten"))),
        Case("unknown-layer", PREDICT,
             _edit_config(lambda d: d["layers"][0].update(class_name="EvilLayer"))),
        Case("no-format", PREDICT, _edit_config(lambda d: d.pop("format"))),
        Case("unknown-argument", PREDICT, _edit_config(
            lambda d: d["layers"][0]["config"].update(batch_shape=[None, 10**6, 10**6, 1]))),
        Case("json-not-json", PREDICT, _model_file("model.json", lambda p: b"{not json")),
        Case("json-deep-nesting", PREDICT, _model_file("model.json",
                                                       lambda p: b"[" * 200_000)),
        Case("json-a-list", PREDICT, _model_file("model.json", lambda p: b"[1, 2]")),
        Case("keras-deflate-bomb", ["predict", "{inputs}/model.keras", "{shared}/image.png"],
             _keras_file(_deflate_bomb)),
        Case("keras-is-a-pickle", ["predict", "{inputs}/model.keras", "{shared}/image.png"],
             _keras_file(_pickle_as_keras)),
        Case("keras-truncated", ["predict", "{inputs}/model.keras", "{shared}/image.png"],
             _keras_file(_truncated_keras)),
        Case("keras-random", ["predict", "{inputs}/model.keras", "{shared}/image.png"],
             _keras_file(lambda p, s: p.write_bytes(os.urandom(5000)))),
        Case("model-fifo", ["predict", "{inputs}/m.keras", "{shared}/image.png"],
             _fifo("m.keras")),
        Case("model-missing", ["predict", "{inputs}/nothing", "{shared}/image.png"]),
        Case("model-is-run-dir", ["predict", "{inputs}/runs/tiny", "{shared}/image.png"],
             _run_dir),
        Case("evaluate-units-bomb", EVALUATE, _edit_config(
            lambda d: _dense(d).update(units=500_000))),
        Case("evaluate-random-weights", EVALUATE, _model_file(
            "weights.safetensors", lambda p: os.urandom(2000))),
        Case("summary-units-bomb", ["summary", "{inputs}/model"],
             _edit_config(lambda d: _dense(d).update(units=10**12))),
    ]
    images = [
        Case("png-bomb", ["predict", "{shared}/model", "{inputs}/bomb.png"],
             _folder({"bomb.png": _bomb_png()})),
        Case("png-truncated", ["predict", "{shared}/model", "{inputs}/t.png"],
             _folder({"t.png": png[: len(png) // 2]})),
        Case("png-random", ["predict", "{shared}/model", "{inputs}/r.png"],
             _folder({"r.png": os.urandom(500)})),
        Case("png-empty", ["predict", "{shared}/model", "{inputs}/e.png"],
             _folder({"e.png": b""})),
        Case("jpg-is-text", ["predict", "{shared}/model", "{inputs}/x.jpg"],
             _text("x.jpg", "hello")),
        Case("image-fifo", ["predict", "{shared}/model", "{inputs}/f.png"], _fifo("f.png")),
        Case("image-dev-zero", ["predict", "{shared}/model", "{inputs}/z.png"],
             _link("z.png", "/dev/zero")),
        Case("image-folder-empty", ["predict", "{shared}/model", "{inputs}/empty"],
             lambda i, s: (i / "empty").mkdir()),
        Case("image-missing", ["predict", "{shared}/model", "{inputs}/none.png"]),
    ]
    inspect = ["data", "inspect"]
    data = [
        Case("zip-bomb", [*inspect, "{inputs}/data.zip"],
             _zip({f"a/{i}.png": b"\0" * 50_000_000 for i in range(4)}, zipfile.ZIP_DEFLATED)),
        Case("tar-traversal", [*inspect, "{inputs}/data.tar"],
             _tar([("../../evil.png", png, None), ("a/ok.png", png, None),
                   ("b/ok.png", png, None)])),
        Case("tar-symlink-out", [*inspect, "{inputs}/data.tar"],
             _tar([("a/passwd.png", None, "/etc/passwd"), ("a/ok.png", png, None),
                   ("b/ok.png", png, None)])),
        Case("zip-absolute-path", [*inspect, "{inputs}/data.zip"],
             _zip({"/tmp/evil/a.png": png, "a/ok.png": png, "b/ok.png": png})),
        Case("csv-traversal", [*inspect, "{inputs}/list.csv"],
             _text("list.csv", "path,label\n../../../../etc/passwd,a\n/etc/shadow,b\n")),
        Case("csv-garbage", [*inspect, "{inputs}/list.csv"],
             _folder({"list.csv": os.urandom(3000)})),
        Case("idx-huge-header", [*inspect, "{inputs}/idx"], _idx_huge),
        Case("folder-empty", [*inspect, "{inputs}/empty"], lambda i, s: (i / "empty").mkdir()),
        Case("folder-only-broken", [*inspect, "{inputs}/tree"],
             _folder({"tree/a/1.png": b"x", "tree/b/2.png": os.urandom(100)})),
        Case("data-fifo", [*inspect, "{inputs}/d.zip"], _fifo("d.zip")),
        Case("data-dev-zero", [*inspect, "{inputs}/d.tar"], _link("d.tar", "/dev/zero")),
        Case("data-missing", [*inspect, "{inputs}/nowhere"]),
        Case("inspect-image-size-50000", [*inspect, "fashion-mnist-mini", "--image-size",
                                          "50000"]),
        Case("inspect-image-size-0", [*inspect, "fashion-mnist-mini", "--image-size", "0"]),
    ]
    options = [
        Case(f"train{flag}={value}", [*TRAIN, flag, value]) for flag, value in (
            ("--threads", "-2"), ("--threads", "0"), ("--weight-decay", "nan"),
            ("--lr", "inf"), ("--lr", "-1"), ("--epochs", "0"), ("--epochs", "-1"),
            ("--batch-size", "0"), ("--image-size", "100000"), ("--fraction", "2"),
            ("--val-split", "1.5"), ("--checkpoint-steps", "0"), ("--augment", "bogus"),
            ("--schedule", "bogus"), ("--class-weight", "bogus"), ("--momentum", "nan"))]
    runs = [
        Case("train-out-is-a-file", [*TRAIN[:-3], "--out", "{inputs}/file", "-q"],
             _text("file", "x")),
        Case("train-out-unwritable", [*TRAIN[:-3], "--out", "/proc/cnnkit-run", "-q"]),
        Case("train-out-under-a-file", [*TRAIN[:-3], "--out", "{inputs}/file/run", "-q"],
             _text("file", "x")),
        Case("train-config-epochs-two", ["train", "--config", "{inputs}/run.yaml", "-q"],
             _text("run.yaml", "data: fashion-mnist-mini\nepochs: two\n")),
        Case("train-config-alias-bomb", ["train", "--config", "{inputs}/run.yaml", "-q"],
             _text("run.yaml", _alias_bomb())),
        Case("train-spec-alias-bomb", ["train", "fashion-mnist-mini", "--model",
                                       "{inputs}/spec.yaml", "-q", "--out", "run"],
             _text("spec.yaml", _alias_bomb())),
        Case("train-spec-units-1e9", ["train", "fashion-mnist-mini", "--model",
                                      "{inputs}/spec.yaml", "-q", "--out", "run"],
             _text("spec.yaml", "- Flatten\n- Dense: {units: 1000000000}\n"
                                "- Dense: {units: auto, activation: softmax}\n")),
        Case("train-model-units-bomb", ["train", "fashion-mnist-mini", "--model",
                                        "{inputs}/model", "-q", "--out", "run"],
             _edit_config(lambda d: _dense(d).update(units=500_000))),
        Case("train-data-missing", ["train", "{inputs}/nothing", "-q"]),
        Case("resume-not-a-run", ["train", "--resume", "{inputs}", "-q"]),
        Case("resume-random-checkpoint", ["train", "--resume", "{inputs}/oldrun", "-q"],
             _bad_checkpoint),
        Case("train-nan-loss", [*TRAIN, "--optimizer", "sgd", "--lr", "1e30"]),
    ]
    return model + images + data + options + runs


# -- running ---------------------------------------------------------------------------------

def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _snapshot(*folders: Path) -> dict[str, str]:
    """Every file and folder under ``folders`` with a fingerprint of its content."""
    seen = {}
    for folder in folders:
        for path in [folder, *folder.rglob("*")]:
            if path.is_symlink() or not path.exists():
                seen[str(path)] = "link"
            elif path.is_file():
                seen[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
            else:
                seen[str(path)] = "dir" if not _is_special(path) else "special"
    return seen


def _is_special(path: Path) -> bool:
    return not (path.is_dir() or path.is_file())


def run_case(case: Case, root: Path, shared: Path) -> Result:
    """Set up ``case`` in ``root/cases/<name>`` and run it; check the rules."""
    home = root / "cases" / case.name.replace("/", "_")
    inputs, work, private = home / "inputs", home / "work", home / "private"
    for folder in (inputs, work, private):
        folder.mkdir(parents=True)
    case.setup(inputs, shared)
    argv = [a.format(inputs=inputs, shared=shared) for a in case.argv]
    watched = (inputs, shared)
    before = _snapshot(*watched)
    top_before = sorted(p.name for p in root.iterdir())
    env = {**os.environ, "CNNKIT_CACHE": str(private / "cache"), "TMPDIR": str(private),
           "MPLCONFIGDIR": str(private / "mpl"), "HOME": str(private), "COLUMNS": "100",
           "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    start = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "cnnkit", *argv], cwd=work, env=env,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace",
                               preexec_fn=_limit_memory, start_new_session=True)
    try:
        out, err = process.communicate(timeout=TIME_LIMIT)
        hung = False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        out, err = process.communicate()
        hung = True
    seconds = time.monotonic() - start
    after = _snapshot(*watched)
    foreign = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    foreign += sorted(set(p.name for p in root.iterdir()) - set(top_before) - {"cases"})
    lines = [line for line in (err or out).splitlines() if line.strip()]
    return Result(case.name, None if hung else process.returncode, seconds,
                  traceback="Traceback" in out + err, hung=hung, foreign=foreign,
                  last_line=(lines[0] if lines else "")[:90])


def run_corpus(selected: list[Case], root: Path, jobs: int = 2) -> list[Result]:
    """Run ``selected`` (shared inputs made first) under ``root``; the results in order."""
    shared = root / "shared"
    make_shared(shared)
    with ThreadPoolExecutor(jobs) as pool:
        return list(pool.map(lambda case: run_case(case, root, shared), selected))


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    rows = ["| case | exit | s | traceback | hang | outside writes | first line of output |",
            "|---|---|---|---|---|---|---|"]
    for r in results:
        rows.append(f"| {r.name} | {r.exit_code} | {r.seconds:.1f} | {'YES' if r.traceback else 0}"
                    f" | {'YES' if r.hung else 0} | {len(r.foreign) or 0} | "
                    f"{r.last_line.replace('|', '/')} |")
    bad = [r for r in results if not r.ok]
    rows.append(f"\n{len(results)} cases: {sum(r.traceback for r in results)} traceback(s), "
                f"{sum(r.hung for r in results)} hang(s), "
                f"{sum(bool(r.foreign) for r in results)} with writes outside; "
                f"{len(bad)} broke a rule")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="case names to run (default: all)")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the case folders")
    args = parser.parse_args(argv)
    selected = [c for c in cases() if not args.only or c.name in args.only]
    root = Path(tempfile.mkdtemp(prefix="cnnkit-hostile-"))
    try:
        results = run_corpus(selected, root, args.jobs)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print(table(results))
    for r in results:
        if r.foreign:
            print(f"{r.name} changed: {', '.join(r.foreign[:5])}")
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
