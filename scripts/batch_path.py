"""List the cnnkit source files a training batch passes through, from the memory map to the
optimizer step: the files of every cnnkit function called while a batch is read and
converted (the prefetch thread) and during one whole step of the loop (from one
``on_train_batch_begin`` to the next: the step, its callbacks and hooks, the thread tuner,
on every thread).

    PYTHONPATH=src python scripts/batch_path.py --batch 32
"""

from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path


def main() -> None:
    import cnnkit
    from cnnkit import data, zoo
    from cnnkit.seeding import set_seed
    from cnnkit.train.callbacks import Callback

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    root = str(Path(cnnkit.__file__).parent)
    files: set[str] = set()
    inside = threading.Event()

    def profile(frame, event, arg):
        name = frame.f_code.co_filename
        if event == "call" and name.startswith(root) and (
                inside.is_set() or threading.current_thread().name == "cnnkit-batches"):
            files.add(name[len(root) + 1:])

    class Window(Callback):
        def on_train_batch_begin(self, batch, logs=None):
            (inside.set if batch == 1 else inside.clear)()

    import torch

    torch.set_num_threads(args.threads)
    train = data.load("fashion-mnist-mini")
    images, labels = train.images[:4 * args.batch], train.labels[:4 * args.batch]
    set_seed(0)
    model = zoo.tutorial_mnist((28, 28, 1), 10, dropout=0.5)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(images, labels, batch_size=args.batch, epochs=1, verbose=0)  # builds, probes
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        model.fit(images, labels, batch_size=args.batch, epochs=1, verbose=0,
                  callbacks=[Window()])
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    for name in sorted(files):
        print(name)
    print(f"{len(files)} files at batch {args.batch} on {args.threads} thread(s)")


if __name__ == "__main__":
    main()
