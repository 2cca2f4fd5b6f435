"""Layer-spec files and resolve_model: the forms a spec may take, and errors that say where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnkit import layers
from cnnkit.errors import ConfigError, LayerError, ShapeError
from cnnkit.models import ModelFileError
from cnnkit.spec import is_saved_model, model_from_spec, resolve_model
from tiny_model import TINY_PARAMS, trained_model

# The Keras MNIST tutorial CNN, as a spec: 225,034 parameters on 28x28x1 with 10 classes.
TUTORIAL = """\
- Conv2D: {filters: 32, kernel_size: 3, activation: relu}
- MaxPooling2D: {pool_size: 2}
- Conv2D: {filters: 64, kernel_size: 3, activation: relu}
- MaxPooling2D: 2
- Flatten
- Dense: {units: 128, activation: relu}
- Dense: {units: 10, activation: softmax}
"""
TUTORIAL_PARAMS = 225_034


def write(tmp_path: Path, text: str, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def layer_summary(model) -> list[tuple[str, tuple]]:
    return [(type(layer).__name__, shape)
            for layer, shape in zip(model.layers, model.net.shapes, strict=True)]


def test_yaml_list_builds_the_tutorial_cnn(tmp_path):
    model = model_from_spec(write(tmp_path, TUTORIAL), input_shape=(28, 28, 1))
    assert model.count_params() == TUTORIAL_PARAMS
    assert layer_summary(model) == [
        ("Conv2D", (26, 26, 32)), ("MaxPooling2D", (13, 13, 32)), ("Conv2D", (11, 11, 64)),
        ("MaxPooling2D", (5, 5, 64)), ("Flatten", (1600,)), ("Dense", (128,)),
        ("Dense", (10,))]
    assert model.layers[-1].activation == "softmax"


def test_json_file_and_parsed_data_give_the_same_model(tmp_path):
    data = [{"Conv2D": {"filters": 4, "kernel_size": 3}}, "Flatten", {"Dense": {"units": 3}}]
    from_json = model_from_spec(write(tmp_path, json.dumps(data), "spec.json"), (8, 8, 1))
    from_data = model_from_spec(data, (8, 8, 1))
    assert layer_summary(from_json) == layer_summary(from_data) == [
        ("Conv2D", (6, 6, 4)), ("Flatten", (144,)), ("Dense", (3,))]


def test_mapping_form_gives_name_and_input_shape(tmp_path):
    path = write(tmp_path, "name: digits\ninput_shape: [28, 28, 1]\nlayers:\n"
                 + "".join(f"  {line}\n" for line in TUTORIAL.splitlines()))
    model = model_from_spec(path, input_shape=(99, 99, 3))  # the spec's own shape wins
    assert model.name == "digits"
    assert model.input_shape == (None, 28, 28, 1)
    assert model.count_params() == TUTORIAL_PARAMS


def test_short_forms_and_keras_form():
    model = model_from_spec([
        {"Input": [12, 12, 3]},                     # a non-mapping value: first argument
        {"Conv2D": {"filters": 2, "kernel_size": 3}},
        {"Activation": "relu"},
        {"class_name": "MaxPooling2D", "config": {"pool_size": 2}},
        "GlobalAveragePooling2D",
        {"Dropout": 0.5},
        {"Dense": None},                           # `- Dense:` with nothing: units auto
    ], num_classes=4)
    assert model.input_shape == (None, 12, 12, 3)
    assert layer_summary(model)[-1] == ("Dense", (4,))
    assert model.layers[1].activation == "relu"
    assert model.layers[4].rate == 0.5


@pytest.mark.parametrize("last", ["{units: auto, activation: softmax}", "{activation: softmax}",
                                  "auto"])
def test_auto_units_follow_the_classes(tmp_path, last):
    path = write(tmp_path, f"- Flatten\n- Dense: 16\n- Dense: {last}\n- Activation: linear\n")
    model = model_from_spec(path, (4, 4, 1), num_classes=7)
    assert model.output_shape == (None, 7)
    assert [layer.units for layer in model.layers if isinstance(layer, layers.Dense)] == [16, 7]


def test_units_that_disagree_with_the_data_say_what_to_set(tmp_path):
    path = write(tmp_path, "- Flatten\n- Dense: {units: 10, activation: softmax}\n")
    with pytest.raises(ShapeError) as info:
        model_from_spec(path, (4, 4, 1), num_classes=3)
    message = str(info.value)
    assert f"{path}, layer 2 (line 2)" in message
    assert "the data has 3 classes, but the spec's last Dense layer has 10 units" in message
    assert "set its units to 3, or to auto" in message
    assert info.value.exit_code == 5


def test_one_sigmoid_unit_fits_two_classes():
    model = model_from_spec(["Flatten", {"Dense": {"units": 1, "activation": "sigmoid"}}],
                            (4, 4, 1), num_classes=2)
    assert model.output_shape == (None, 1)


def test_auto_needs_classes_and_only_the_last_dense_may_use_it():
    with pytest.raises(ShapeError, match="units: auto needs the number of classes"):
        model_from_spec(["Flatten", {"Dense": "auto"}], (4, 4, 1))
    with pytest.raises(ConfigError, match="layer 2: only the last Dense layer"):
        model_from_spec(["Flatten", {"Dense": "auto"}, {"Dense": 3}], (4, 4, 1), 3)


def test_unknown_layer_names_line_and_suggests(tmp_path):
    path = write(tmp_path, "- Conv2D: {filters: 8, kernel_size: 3}\n\n- MaxPoolng2D: 2\n")
    with pytest.raises(LayerError) as info:
        model_from_spec(path, (28, 28, 1))
    assert info.value.message == f"{path}, layer 2 (line 3): unknown layer 'MaxPoolng2D'"
    assert "did you mean 'MaxPooling2D'?" in info.value.hint
    assert info.value.exit_code == 4


def test_bad_yaml_gives_the_line(tmp_path):
    path = write(tmp_path, "layers:\n  - Flatten\n   - Dense: 3\n")
    with pytest.raises(ConfigError) as info:
        model_from_spec(path, (4, 4, 1), 3)
    assert info.value.message.startswith(f"{path}, line 3, column 11: not valid YAML")
    assert info.value.exit_code == 2


def test_unclosed_brace_names_where_it_opened(tmp_path):
    path = write(tmp_path, "- Flatten\n- Dense: {units: 3\n- Activation: relu\n")
    with pytest.raises(ConfigError, match="flow mapping that starts on line 2"):
        model_from_spec(path, (4, 4, 1), 3)


def test_bad_json_gives_the_line(tmp_path):
    path = write(tmp_path, '[\n  "Flatten",\n  {"Dense": {"units": 3}\n]\n', "spec.json")
    with pytest.raises(ConfigError, match=r"spec\.json, line 4, column 1: not valid JSON"):
        model_from_spec(path, (4, 4, 1), 3)


@pytest.mark.parametrize("text, problem", [
    ("", "got nothing"),
    ("Conv2D: {filters: 3}\n", "unknown key 'Conv2D'"),
    ("layers: Flatten\n", "got 'Flatten'"),
    ("- 3\n", "layer 1 (line 1): expected a layer"),
    ("- {Flatten: {}, Dense: {units: 3}}\n", "layer 1 (line 1): expected a layer"),
])
def test_a_spec_that_is_not_a_layer_list(tmp_path, text, problem):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        model_from_spec(path, (4, 4, 1), 3)
    assert str(path) in info.value.message
    assert problem in info.value.message


def test_layer_argument_errors_say_which_layer(tmp_path):
    path = write(tmp_path, "- Flatten\n- Dense: {units: 3, activaton: relu}\n")
    with pytest.raises(LayerError) as info:
        model_from_spec(path, (4, 4, 1), 3)
    assert f"{path}, layer 2 (line 2):" in info.value.message
    assert "unknown argument 'activaton'" in info.value.message
    assert "did you mean 'activation'?" in info.value.hint
    with pytest.raises(LayerError, match="layer 1: Conv2D: missing 1 required positional "
                                         "argument: 'kernel_size'"):
        model_from_spec([{"Conv2D": {"filters": 3}}], (4, 4, 1))
    with pytest.raises(LayerError, match="Flatten takes no positional argument"):
        model_from_spec([{"Flatten": 2}], (4, 4, 1))


def test_no_input_shape_anywhere(tmp_path):
    path = write(tmp_path, TUTORIAL)
    with pytest.raises(ShapeError) as info:
        model_from_spec(path)
    assert "does not give the model's input shape" in info.value.message
    assert "input_shape: [28, 28, 1]" in info.value.hint


def test_missing_spec_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        model_from_spec(tmp_path / "nope.yaml")


# resolve_model --------------------------------------------------------------------------

def test_resolve_builtin_name_and_spec_file(tmp_path):
    assert resolve_model("tutorial_mnist", (28, 28, 1), 10).count_params() == TUTORIAL_PARAMS
    spec = write(tmp_path, TUTORIAL.replace("units: 10", "units: auto"), "cnn.yml")
    assert resolve_model(spec, (28, 28, 1), 10).count_params() == TUTORIAL_PARAMS


@pytest.mark.parametrize("name", ["saved", "saved.keras", "saved.cnnkit"])
def test_resolve_saved_model(tmp_path, name):
    trained_model().save(tmp_path / name)
    assert is_saved_model(tmp_path / name)
    model = resolve_model(str(tmp_path / name), (28, 28, 1), 10)
    assert model.count_params() == TINY_PARAMS
    assert model.class_names == trained_model().class_names
    assert resolve_model(tmp_path / name, None, None).input_shape == (None, 28, 28, 1)


def test_saved_model_that_does_not_fit_the_data_explains(tmp_path):
    trained_model().save(tmp_path / "m.keras")
    with pytest.raises(ShapeError) as info:
        resolve_model(tmp_path / "m.keras", (32, 32, 3), 10)
    assert info.value.message == (f"model {tmp_path / 'm.keras'} was trained on 28x28x1 images "
                                  "with 10 classes; the data has 32x32x3 images with 10 classes")
    assert info.value.hint == ("resize the images to 28x28 (cnnkit train does so itself with a "
                               "saved model) and load the images as grayscale, or train a "
                               "new model on this data")
    with pytest.raises(ShapeError, match="the data has 28x28x1 images with 3 classes") as info:
        resolve_model(tmp_path / "m.keras", (28, 28, 1), 3)
    assert "use data with the model's 10 classes" in info.value.hint


def test_resolve_unknown_or_missing():
    with pytest.raises(ConfigError) as info:
        resolve_model("smal-cnn", (28, 28, 1), 10)
    assert "not a file, a folder or a built-in architecture" in info.value.message
    assert "did you mean 'small-cnn'?" in info.value.hint
    with pytest.raises(ShapeError) as info:
        resolve_model("small-cnn", None, 10)
    assert info.value.message == "built-in architecture 'small-cnn' needs an input shape"
    with pytest.raises(ModelFileError, match="does not exist"):
        resolve_model("runs/nothing/model.keras", (28, 28, 1), 10)


def test_yaml_alias_bomb_is_refused_before_it_expands(tmp_path):
    """A 9-level 'billion laughs' spec (a few hundred bytes standing for 10**9 values) is
    refused at once with a short message, instead of taking minutes and gigabytes."""
    lines = ["a0: &a0 [Conv2D, Conv2D, Conv2D, Conv2D, Conv2D, Conv2D, Conv2D, Conv2D, Conv2D]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
    lines += ["layers: *a9"]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match="aliases") as info:
        model_from_spec(path, (28, 28, 1), 10)
    assert len(str(info.value)) < 1000


def test_yaml_aliases_within_bounds_still_work(tmp_path):
    """Aliases are YAML: a spec that reuses an anchored layer a few times still loads."""
    path = tmp_path / "reuse.yaml"
    path.write_text("layers:\n- &conv {Conv2D: {filters: 4, kernel_size: 3}}\n- *conv\n"
                    "- Flatten\n- Dense: {units: auto, activation: softmax}\n")
    model = model_from_spec(path, (8, 8, 1), 3)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Conv2D", "Conv2D", "Flatten", "Dense"]


def test_error_messages_cut_huge_user_values():
    """An error quoting a megabyte-long value prints a bounded message that says so."""
    err = ConfigError("unknown model " + "x" * 1_000_000, hint="y" * 50_000)
    assert len(err.message) < 2100 and "characters cut" in err.message
    assert len(err.hint) < 2100 and err.message.startswith("unknown model xxx")
