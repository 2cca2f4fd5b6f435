"""summary() of functional models in Keras 3's format.

Keras 3 prints a branching model with a fourth column, "Connected to", naming each call's
inputs as ``layer[node][tensor]``, and lists the InputLayer; a functional model that is a
simple chain gets the three-column table, still with its InputLayer. Columns split the
line at 0.3/0.56/0.74 (0.45/0.80 for three), then rich fits them, with a space of padding
either side, into the line: at Keras's default in an 80-column terminal (76 characters),
21/19/12/19 characters between the borders. Cells wrap at spaces, and a word longer
than its column ends in "…". The expected tables below are written out from those rules
for the Keras code in each test.
"""

from cnnkit import keras
from cnnkit.keras import backend, layers
from cnnkit.models.summary import column_widths

BRANCHING = """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━┓
┃ Layer (type)        ┃ Output Shape      ┃    Param # ┃ Connected to      ┃
┡━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━┩
│ input_layer         │ (None, 32, 32, 3) │          0 │ -                 │
│ (InputLayer)        │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ conv2d (Conv2D)     │ (None, 32, 32,    │        448 │ input_layer[0][0] │
│                     │ 16)               │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ conv2d_1 (Conv2D)   │ (None, 32, 32,    │      2,320 │ conv2d[0][0]      │
│                     │ 16)               │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ add (Add)           │ (None, 32, 32,    │          0 │ conv2d[0][0],     │
│                     │ 16)               │            │ conv2d_1[0][0]    │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ concatenate         │ (None, 32, 32,    │          0 │ add[0][0],        │
│ (Concatenate)       │ 32)               │            │ conv2d[0][0]      │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ global_average_poo… │ (None, 32)        │          0 │ concatenate[0][0] │
│ (GlobalAveragePool… │                   │            │                   │
├─────────────────────┼───────────────────┼────────────┼───────────────────┤
│ dense (Dense)       │ (None, 10)        │        330 │ global_average_p… │
└─────────────────────┴───────────────────┴────────────┴───────────────────┘
 Total params: 3,098 (12.10 KB)
 Trainable params: 3,098 (12.10 KB)
 Non-trainable params: 0 (0.00 B)"""

CHAIN = """\
Model: "functional"
┏━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━┓
┃ Layer (type)                    ┃ Output Shape           ┃       Param # ┃
┡━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━┩
│ input_layer (InputLayer)        │ (None, 28, 28, 1)      │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ conv2d (Conv2D)                 │ (None, 26, 26, 8)      │            80 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ flatten (Flatten)               │ (None, 5408)           │             0 │
├─────────────────────────────────┼────────────────────────┼───────────────┤
│ dense (Dense)                   │ (None, 10)             │        54,090 │
└─────────────────────────────────┴────────────────────────┴───────────────┘
 Total params: 54,170 (211.60 KB)
 Trainable params: 54,170 (211.60 KB)
 Non-trainable params: 0 (0.00 B)"""


def _printed(model, **kwargs) -> str:
    lines = []
    model.summary(print_fn=lines.append, **kwargs)
    return "\n".join(lines)


def test_a_branching_model_prints_the_connected_to_column():
    backend.clear_session()
    inputs = keras.Input(shape=(32, 32, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    y = layers.Conv2D(16, 3, padding="same")(x)
    added = layers.Add()([x, y])
    joined = layers.Concatenate()([added, x])
    pooled = layers.GlobalAveragePooling2D()(joined)
    outputs = layers.Dense(10, activation="softmax")(pooled)
    model = keras.Model(inputs=inputs, outputs=outputs)
    assert _printed(model) == BRANCHING


def test_a_chain_prints_the_sequential_table_with_its_input_layer():
    backend.clear_session()
    inputs = keras.Input((28, 28, 1))
    outputs = layers.Dense(10)(layers.Flatten()(layers.Conv2D(8, 3)(inputs)))
    assert _printed(keras.Model(inputs, outputs)) == CHAIN


def test_a_shared_layer_lists_each_call():
    backend.clear_session()
    inputs = keras.Input((4,))
    shared = layers.Dense(4, name="shared")
    model = keras.Model(inputs, shared(shared(inputs)))
    row = next(line for line in _printed(model, line_length=140).splitlines()
               if line.startswith("│ shared"))
    assert row.split("│")[4].strip() == "input_layer[0][0], shared[0][0]"


def test_line_length_and_positions_lay_out_the_columns_as_keras():
    # Keras 3 at line_length=108 draws its four columns 31, 27, 17 and 28 wide
    assert column_widths(108, (0.3, 0.56, 0.74, 1.0)) == [31, 27, 17, 28]
    assert column_widths(76, (0.45, 0.80, 1.0)) == [33, 24, 15]
    backend.clear_session()
    inputs = keras.Input((28, 28, 1))
    model = keras.Model(inputs, layers.Flatten()(inputs))
    assert len(_printed(model, line_length=100).splitlines()[1]) == 100
