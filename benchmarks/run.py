"""The speed benchmark suite (``make bench``): cnnkit against a plain PyTorch loop and Keras.

    .venv/bin/python benchmarks/run.py [--quick] [--only train|infer|tta|peak ...]
                                       [--repeats 5] [--images 6400] [--threads N]
                                       [--bf16 auto|always|never]
                                       [--out benchmarks/results/NAME.json]

Parts (all by default):

- train: ``fit()`` img/s of the two tutorial CNNs at batch 32 and 128, for cnnkit, the
  plain PyTorch loop (torch_loop.py) and Keras 3 on TensorFlow (keras_bench.py, in its
  own venv, created on first use by keras_env.py), interleaved round by round with an
  fp32 matmul peak sample; achieved GFLOP/s from flops.py. All three train in fp32 (set
  explicitly, whatever ``CNNKIT_PRECISION`` says). Where the CPU computes bf16 natively
  (``--bf16 auto``; ``always`` also where it is emulated), the same rounds also train
  each in bf16: cnnkit with ``model.precision = "bf16"``, the torch loop under
  ``torch.autocast("cpu", dtype=torch.bfloat16)``, Keras under the ``mixed_bfloat16``
  policy; every row names its precision. The Speed issue's targets are checked on the
  fp32 rows.
- infer: ``predict()`` img/s at batch 256 and one-image latency, cnnkit against Keras's
  ``predict()`` and ``predict_on_batch()``, all in fp32.
- peak: the fp32 matmul peak alone (it is also sampled in every training round).
- tta: time to accuracy of the three tutorial runs and of every recipe (tta.py), one
  process each (--quick: the recipes run one epoch; not a measurement).

It prints the tables and the targets of the Speed issue, and writes everything, every
sample included, to the JSON file. ``--quick`` is a smoke test of the whole suite (few
images and rounds, time-to-accuracy cut short): its numbers are not measurements.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import torch

import keras_env
import machine
import report
import targets
import tta
from cnnkit import recipes as cnnkit_recipes
from cnnkit.train.precision import native_bf16
from cnnkit_bench import CnnkitFit, CnnkitPredict, compiled_model
from flops import training_flops
from interleave import interleaved, paired_ratio, summary
from keras_client import KerasWorker
from peak import SIZE, MatmulPeak
from torch_loop import NETS, TorchLoop
from workload import WORKLOADS, Sample, Workload, load_sample

HERE = Path(__file__).resolve().parent
PARTS = ("train", "infer", "peak", "tta")
BATCHES = (32, 128)
PREDICT_BATCH = 256
FULL = {"images": 6400, "repeats": 5, "warmup_batches": 10, "predict_images": 2560,
        "latency_calls": 100, "tta_train_images": None}
QUICK = {"images": 640, "repeats": 2, "warmup_batches": 2, "predict_images": 512,
         "latency_calls": 5, "tta_train_images": 2000}


def log(text: str) -> None:
    """Progress on stderr, with the time."""
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def check_same_model(workload: Workload, keras_params: dict[str, int]) -> int:
    """Training FLOPs per image, after checking that cnnkit, the torch loop and Keras build
    the same network (same parameter count, same FLOPs)."""
    model = compiled_model(workload)
    torch_net = NETS[workload.name]()
    counts = {"cnnkit": model.count_params(),
              "torch": sum(p.numel() for p in torch_net.parameters()),
              "keras": keras_params[workload.name]}
    h, w, c = workload.image_shape
    flops = {"cnnkit": training_flops(model.net, (c, h, w)),
             "torch": training_flops(torch_net, (c, h, w))}
    if len(set(counts.values())) != 1 or len(set(flops.values())) != 1:
        raise RuntimeError(f"{workload.name}: the three networks differ: parameters {counts}, "
                           f"training FLOPs per image {flops}")
    return flops["cnnkit"]


def training_precisions(bf16: str) -> list[str]:
    """The precisions the train part measures: fp32, and bf16 where the CPU computes it
    natively (``bf16="auto"``), always (``"always"``) or never (``"never"``)."""
    with_bf16 = {"auto": native_bf16(), "always": True, "never": False}[bf16]
    return ["fp32", "bf16"] if with_bf16 else ["fp32"]


def training_jobs(workload: Workload, sample: Sample, batch: int, warm: int,
                  keras: KerasWorker, precision: str) -> dict:
    """The three contenders' measurements in one precision, keyed ``"<contender> <precision>"``;
    each is warmed up (Keras: its first call builds, traces and fits once)."""
    name = workload.name
    jobs = {
        "cnnkit": CnnkitFit(workload, sample, batch, warm, precision).images_per_second,
        "torch": TorchLoop(name, sample, batch, warm, precision).images_per_second,
        "keras": lambda: keras.train_images_per_second(name, batch, len(sample.images), warm,
                                                        precision),
    }
    jobs["keras"]()
    return {f"{contender} {precision}": job for contender, job in jobs.items()}


def precision_row(runs: dict[str, list[float]], precision: str, flops: int) -> dict:
    """One precision's img/s, cnnkit's ratios to the others and GFLOP/s; bf16 rows also
    hold each contender's bf16/fp32 ratio over the same rounds."""
    mine = {c: runs[f"{c} {precision}"] for c in report.TRAIN_CONTENDERS}
    row = {"precision": precision, "flops_per_image": flops,
           "img_s": {c: summary(s) for c, s in mine.items()},
           "ratios": {"cnnkit/keras": paired_ratio(mine["cnnkit"], mine["keras"]),
                      "cnnkit/torch": paired_ratio(mine["cnnkit"], mine["torch"])},
           "gflops": {c: summary(s)["median"] * flops / 1e9 for c, s in mine.items()}}
    if precision != "fp32" and "cnnkit fp32" in runs:
        row["over_fp32"] = {c: paired_ratio(s, runs[f"{c} fp32"]) for c, s in mine.items()}
    return row


def train_part(settings: dict, samples: dict[str, Sample], keras: KerasWorker,
               peak: MatmulPeak, peak_samples: list[float], keras_params: dict) -> list[dict]:
    """fit() img/s of cnnkit, the torch loop and Keras per model, batch and precision, all
    precisions in the same interleaved rounds."""
    rows = []
    warm = settings["warmup_batches"]
    for name, workload in WORKLOADS.items():
        flops = check_same_model(workload, keras_params)
        for batch in BATCHES:
            log(f"train {name} batch {batch}: warm-up ({', '.join(settings['precisions'])})")
            sample = samples[name]
            jobs = {"peak": peak}
            for precision in settings["precisions"]:
                jobs.update(training_jobs(workload, sample, batch, warm, keras, precision))
            runs = interleaved(jobs, settings["repeats"], log)
            peak_samples += runs.pop("peak")
            rows += [{"model": name, "batch": batch, "images": len(sample.images),
                      **precision_row(runs, precision, flops)}
                     for precision in settings["precisions"]]
    return rows


def infer_part(settings: dict, samples: dict[str, Sample], keras: KerasWorker) -> list[dict]:
    """predict() img/s at batch 256 and one-image latency, cnnkit against Keras."""
    rows = []
    count, calls = settings["predict_images"], settings["latency_calls"]
    for name, workload in WORKLOADS.items():
        log(f"infer {name}")
        predictor = CnnkitPredict(workload, samples[name])
        throughput = interleaved({
            "cnnkit predict": lambda p=predictor: p.images_per_second(PREDICT_BATCH, count),
            **{f"keras {method}": lambda n=name, m=method:
               keras.predict_images_per_second(n, m, PREDICT_BATCH, count)
               for method in ("predict", "predict_on_batch")},
        }, settings["repeats"], log)
        latency = interleaved({
            "cnnkit predict": lambda p=predictor: p.latency_ms(calls),
            **{f"keras {method}": lambda n=name, m=method: keras.latency_ms(n, m, calls)
               for method in ("predict", "predict_on_batch")},
        }, settings["repeats"], log)
        best_keras = min(paired_ratio(throughput["cnnkit predict"], throughput[k])
                         for k in ("keras predict", "keras predict_on_batch"))
        rows.append({"model": name, "batch": PREDICT_BATCH, "images": count,
                     "precision": "fp32", "latency_calls": calls,
                     "compile_seconds": predictor.compile_seconds,
                     "img_s": {c: summary(s) for c, s in throughput.items()},
                     "latency_ms": {c: summary(s) for c, s in latency.items()},
                     "ratios": {"cnnkit/best keras": best_keras}})
    return rows


def tta_part(settings: dict, data_dir: Path) -> list[dict]:
    """Time to accuracy of each tutorial run, one fresh process each."""
    rows = []
    for name, (_, _, epochs, _) in tta.recipes().items():
        max_epochs = 1 if settings["tta_train_images"] else 2 * epochs
        log(f"time to accuracy: {name} (at most {max_epochs} epochs)")
        rows.append(tta.time_to_accuracy(name, data_dir, max_epochs,
                                         settings["tta_train_images"], settings["threads"]))
        log(f"  {rows[-1]['curve']}")
    for name in cnnkit_recipes.names():
        log(f"time to accuracy: recipe {name}")
        rows.append(tta.recipe_time(name, data_dir,
                                    epochs=1 if settings["tta_train_images"] else None))
        log(f"  {rows[-1]['curve']}, {rows[-1]['cpu_seconds']} CPU s, "
            f"load {rows[-1]['load_average']}")
    return rows


def measure(args: argparse.Namespace, settings: dict, parts: list[str], out: Path) -> dict:
    """Run the chosen parts; returns the results (without the target checks)."""
    results: dict = {"quick": args.quick, "started": datetime.now().isoformat(timespec="seconds"),
                     "command": " ".join(sys.argv), "parts": parts, "settings": settings,
                     "machine": machine.describe()}
    peak_samples: list[float] = []
    peak = MatmulPeak() if {"train", "peak"} & set(parts) else None
    if {"train", "infer"} & set(parts):
        log("Keras venv: checking (created on first use)")
        keras_env.ensure(log)
        log("loading data (decoded into cnnkit's cache on the first run)")
        count = max(settings["images"], settings["predict_images"])
        samples = {name: load_sample(w, args.data, count) for name, w in WORKLOADS.items()}
        log("starting the Keras worker")
        with KerasWorker(out.with_suffix(".keras.log"), settings["threads"]) as keras, \
                tempfile.TemporaryDirectory() as folder:
            keras_info = results["machine"]["keras_venv"] = keras.call("info")
            for name, sample in samples.items():
                keras.load(name, sample.save_npy(Path(folder), name))
            train_samples = {n: Sample(s.images[:settings["images"]],
                                       s.labels[:settings["images"]])
                             for n, s in samples.items()}
            if "train" in parts:
                results["train"] = train_part(settings, train_samples, keras, peak,
                                              peak_samples, keras_info["params"])
            if "infer" in parts:
                results["infer"] = infer_part(settings, samples, keras)
    if "peak" in parts and not peak_samples:
        peak_samples = interleaved({"peak": peak}, settings["repeats"], log)["peak"]
    if peak_samples:
        results["peak"] = {"size": SIZE, "gflops": summary(peak_samples)}
    if "tta" in parts:
        results["tta"] = tta_part(settings, args.data)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def main() -> None:
    """Parse the options, run, print the tables, write the JSON file."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: few images and rounds; not a measurement")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="run only this part (repeatable); default: all")
    parser.add_argument("--repeats", type=int, default=None,
                        help=f"interleaved rounds (default {FULL['repeats']}, quick "
                             f"{QUICK['repeats']})")
    parser.add_argument("--images", type=int, default=None,
                        help=f"training images per measurement (default {FULL['images']}; a "
                             "multiple of 128 keeps every batch full)")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads for torch and TensorFlow alike (default: each library's "
                             "own choice, all cores); 1 keeps a busy machine's numbers steadier")
    parser.add_argument("--bf16", choices=("auto", "always", "never"), default="auto",
                        help="also train in bf16 (cnnkit bf16, torch loop under bf16 autocast, "
                             "Keras under mixed_bfloat16): auto, where the CPU computes bf16 "
                             "natively (default); always, also where it is emulated (slow); "
                             "never")
    parser.add_argument("--data", type=Path,
                        default=Path(os.environ.get("CNNKIT_DATA", HERE.parent.parent / "shared"
                                                    / "data")))
    parser.add_argument("--out", type=Path, default=None,
                        help="JSON file (default benchmarks/results/<timestamp>.json)")
    args = parser.parse_args()
    settings = dict(QUICK if args.quick else FULL)
    settings.update({k: v for k, v in (("repeats", args.repeats), ("images", args.images))
                     if v is not None})
    if args.threads:
        torch.set_num_threads(args.threads)
    settings["threads"] = args.threads
    settings["torch_threads"] = torch.get_num_threads()
    settings["native_bf16"] = native_bf16()
    settings["precisions"] = training_precisions(args.bf16)
    parts = args.only or list(PARTS)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S") + ("-quick" if args.quick else "")
    out = args.out or HERE / "results" / f"{stamp}.json"
    results = measure(args, settings, [p for p in PARTS if p in parts], out)
    results["targets"] = targets.check(results)
    print(report.format_results(results))
    report.write_json(results, out)
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
