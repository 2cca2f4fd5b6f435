"""A Keras CNN tutorial script runs after changing only its import lines."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

# The TensorFlow "CNN" tutorial, as written for Keras, with only the import changed
# (slices keep the test short).
KERAS_TUTORIAL = textwrap.dedent("""
    from cnnkit.keras import datasets, layers, models, callbacks, optimizers, losses

    (train_images, train_labels), (test_images, test_labels) = datasets.cifar10.load_data()
    train_images, test_images = train_images / 255.0, test_images / 255.0
    train_images, train_labels = train_images[:3000], train_labels[:3000]
    test_images, test_labels = test_images[:500], test_labels[:500]

    model = models.Sequential()
    model.add(layers.Conv2D(32, (3, 3), activation='relu', input_shape=(32, 32, 3)))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.MaxPooling2D((2, 2)))
    model.add(layers.Conv2D(64, (3, 3), activation='relu'))
    model.add(layers.Flatten())
    model.add(layers.Dense(64, activation='relu'))
    model.add(layers.Dense(10))
    model.summary()

    model.compile(optimizer=optimizers.Adam(learning_rate=1e-3),
                  loss=losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=['accuracy'])
    history = model.fit(train_images, train_labels, epochs=2,
                        validation_data=(test_images, test_labels),
                        callbacks=[callbacks.EarlyStopping(patience=3)], verbose=2)
    test_loss, test_acc = model.evaluate(test_images, test_labels, verbose=2)
    print("RESULT", test_acc, sorted(history.history))
""")


def test_keras_cnn_tutorial_runs_with_only_the_imports_changed(shared_data, tmp_path):
    script = tmp_path / "tutorial.py"
    script.write_text(KERAS_TUTORIAL)
    env = {"CNNKIT_DATA": str(shared_data), "CNNKIT_CACHE": os.environ["CNNKIT_CACHE"],
           "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Total params: 122,570" in done.stdout
    result = next(line for line in done.stdout.splitlines() if line.startswith("RESULT"))
    accuracy = float(result.split()[1])
    assert accuracy > 0.2  # 10 classes: chance is 0.1; two epochs on 3,000 images
    assert "'val_accuracy'" in result and "'learning_rate'" in result
