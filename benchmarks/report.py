"""A run's results as printed tables and as a JSON file.

The tables are what docs/performance.md shows; the JSON file keeps every sample, the
settings and the machine, so a result can be re-read and compared later.
"""

from __future__ import annotations

import json
from pathlib import Path

from machine import one_line

TRAIN_CONTENDERS = ("cnnkit", "torch", "keras")
INFER_CONTENDERS = ("cnnkit predict", "keras predict", "keras predict_on_batch")


def _table(header: list[str], rows: list[list[str]]) -> str:
    """Left-aligned first column, right-aligned others, in Markdown pipe syntax."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths, strict=True))
                                 ) + " |"

    rule = "|" + "|".join("-" * (w + 1) + (":" if i else "-") for i, w in enumerate(widths)) + "|"
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def _train(results: dict) -> str:
    peak = results.get("peak", {}).get("gflops", {}).get("median")
    rows, flop_rows, bf16_rows = [], [], []
    for row in results["train"]:
        img_s, precision = row["img_s"], row["precision"]
        rows.append([row["model"], row["batch"], precision,
                     *(f"{img_s[c]['median']:,.0f}" for c in TRAIN_CONTENDERS),
                     f"{row['ratios']['cnnkit/keras']:.2f}x",
                     f"{row['ratios']['cnnkit/torch']:.2f}x"])
        share = peak and precision == "fp32"  # the peak is fp32's
        flop_rows.append([row["model"], row["batch"], precision,
                          f"{row['flops_per_image'] / 1e6:.1f}",
                          *(f"{row['gflops'][c]:.0f}"
                            + (f" ({100 * row['gflops'][c] / peak:.0f} %)" if share else "")
                            for c in TRAIN_CONTENDERS)])
        if "over_fp32" in row:
            bf16_rows.append([row["model"], row["batch"],
                              *(f"{row['over_fp32'][c]:.2f}x" for c in TRAIN_CONTENDERS)])
    text = ("Training, fit() img/s, each contender in the precision named (median of the "
            "rounds; ratios: median of per-round ratios)\n"
            + _table(["model", "batch", "precision", "cnnkit", "torch loop", "Keras-TF",
                      "cnnkit/Keras", "cnnkit/torch"], rows))
    peak_text = (f"fp32 rows: share of the {peak:.0f} GFLOP/s fp32 matmul peak" if peak
                 else "no peak measured")
    text += (f"\n\nAchieved training GFLOP/s ({peak_text})\n"
             + _table(["model", "batch", "precision", "MFLOP/img", "cnnkit", "torch loop",
                       "Keras-TF"], flop_rows))
    if bf16_rows:
        text += ("\n\nbf16 over fp32, each contender (median of per-round ratios, same rounds)\n"
                 + _table(["model", "batch", "cnnkit", "torch loop", "Keras-TF"], bf16_rows))
    return text


def _infer(results: dict) -> str:
    rows = []
    for row in results["infer"]:
        rows.append([row["model"],
                     *(f"{row['img_s'][c]['median']:,.0f}" for c in INFER_CONTENDERS),
                     f"{row['ratios']['cnnkit/best keras']:.2f}x",
                     *(f"{row['latency_ms'][c]['median']:.2f}" for c in INFER_CONTENDERS),
                     f"{row['compile_seconds']:.1f} s"])
    batch = results["infer"][0]["batch"]
    return (f"Inference, fp32: img/s at batch {batch}; one image, median ms per call; cnnkit with "
            "jit_compile=True (torch.compile, compiled in the untimed warm-up)\n"
            + _table(["model", "cnnkit predict", "Keras predict", "Keras predict_on_batch",
                      "cnnkit/best Keras", "1 img cnnkit ms", "1 img Keras predict ms",
                      "1 img Keras p_o_b ms", "cnnkit warm-up incl. compile"], rows))


def _tta(results: dict) -> str:
    rows = [[r["run"], f"{100 * r['target']:.1f} %",
             f"{r['seconds']:.0f} s" if r["reached"] else "not reached",
             r["epochs"] or f"> {r['max_epochs']}", f"{100 * r['best_accuracy']:.2f} %",
             f"{r['cpu_seconds']:.0f} s" if "cpu_seconds" in r else "",
             f"{r['budget_seconds']:.0f} s" if r.get("budget_seconds") else ""]
            for r in results["tta"]]
    return ("Time to accuracy (wall time from process start; tutorial runs: batch 32, Adam, "
            "fp32; recipes: their own settings, CPU time user + system)\n"
            + _table(["run", "target", "time", "epochs", "best test accuracy", "CPU time",
                      "budget"], rows))


def _peak(results: dict) -> str:
    gflops = results["peak"]["gflops"]
    return (f"fp32 matmul peak ({results['peak']['size']}^2, "
            f"{results['machine']['torch_threads']} threads): median {gflops['median']:.0f}, "
            f"best {gflops['max']:.0f} GFLOP/s over {len(gflops['samples'])} samples")


def _targets(results: dict) -> str:
    lines = [f"  [{'PASS' if c['passed'] else 'FAIL'}] {c['what']}: {c['value']} "
             f"(target {c['relation']} {c['limit']})" for c in results["targets"]]
    return "Targets of the Speed issue\n" + "\n".join(lines)


def format_results(results: dict) -> str:
    """Every measured part as text tables, with the machine line first."""
    parts = [one_line(results["machine"])]
    if results.get("quick"):
        parts.append("QUICK MODE: a smoke test of the suite, not a measurement.")
    sections = (("train", _train), ("infer", _infer), ("peak", _peak), ("tta", _tta),
                ("targets", _targets))
    parts += [show(results) for key, show in sections if results.get(key)]
    return "\n\n".join(parts)


def write_json(results: dict, path: Path) -> None:
    """Write ``results`` to ``path`` (folders created), indented."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1) + "\n")
