"""The Fashion-MNIST accuracy run of the models issue, in Keras itself, for comparison.

    benchmarks/.venv-keras/bin/python benchmarks/keras_fashion_accuracy.py SEED [DATA_DIR]

The MNIST tutorial CNN with Dropout(0.4) before each Dense layer, batch 32, Adam, 10 epochs,
on the Fashion-MNIST IDX files scaled by 1/255; prints one JSON line with the test accuracy.
Compare with ``python examples/accuracy_runs.py fashion --seed SEED`` (cnnkit).
"""

import gzip
import json
import sys
import time
from pathlib import Path

import keras
import numpy as np
from keras import layers


def idx(path: Path, offset: int) -> np.ndarray:
    """The bytes of a gzipped IDX file after its header."""
    with gzip.open(path) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main() -> None:
    """Train and test once with the seed given on the command line."""
    seed = int(sys.argv[1])
    data = Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/data") / "fashion-mnist"
    keras.utils.set_random_seed(seed)
    x_train = idx(data / "train-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1) / 255.0
    y_train = idx(data / "train-labels-idx1-ubyte.gz", 8)
    x_test = idx(data / "t10k-images-idx3-ubyte.gz", 16).reshape(-1, 28, 28, 1) / 255.0
    y_test = idx(data / "t10k-labels-idx1-ubyte.gz", 8)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.4),
        layers.Dense(128, activation="relu"), layers.Dropout(0.4),
        layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    started = time.time()
    model.fit(x_train, y_train, epochs=10, batch_size=32, verbose=2)
    accuracy = float(model.evaluate(x_test, y_test, verbose=0)[1])
    print(json.dumps({"keras_seed": seed, "test_accuracy": round(accuracy, 4),
                      "seconds": round(time.time() - started)}))


if __name__ == "__main__":
    main()
