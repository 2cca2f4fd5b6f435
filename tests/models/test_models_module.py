"""ModuleModel: a plain torch module that follows the zoo protocol, as a Keras model."""

import numpy as np
import pytest
import torch
from torch import nn

from cnnkit import data, keras
from cnnkit.errors import ConfigError, ShapeError
from cnnkit.keras import layers
from cnnkit.models import Model, ModuleModel, Sequential
from cnnkit.zoo.catalog import Network


class TwoBlocks(nn.Module):
    """A 2-block CNN in torchvision's style (stem, one stage, avgpool + fc head)."""

    def __init__(self, num_classes: int = 1000, in_chans: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(in_chans, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=False),
                                    nn.BatchNorm2d(16), nn.ReLU(inplace=True))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, num_classes)
        self.num_features = 16

    def forward_features(self, x):
        return self.layer1(self.relu(self.bn1(self.conv1(x))))

    def forward_head(self, features):
        return self.fc(torch.flatten(self.avgpool(features), 1))

    def forward(self, x):
        return self.forward_head(self.forward_features(x))


# mean 0, std 1: the model feeds the module pixels / 255, as the references below do
TWO_BLOCKS = Network("two-blocks", TwoBlocks, "test", input_size=32, min_input=8,
                     mean=(0.0,), std=(1.0,))
HEAD = ("fc.weight", "fc.bias")


@pytest.fixture(scope="module")
def fashion():
    dataset = data.load("fashion-mnist-mini")
    return dataset.images[:256], dataset.labels[:256]


def grey(**kwargs) -> ModuleModel:
    return ModuleModel(TWO_BLOCKS, input_shape=(28, 28, 1), in_chans=1, **kwargs)


def test_state_dict_keys_are_the_modules_and_a_torch_checkpoint_loads_strictly(fashion):
    model = grey(classes=10)
    reference = TwoBlocks(10, in_chans=1).eval()
    assert list(model.net.state_dict()) == list(reference.state_dict())
    model.torch_module.load_state_dict(reference.state_dict(), strict=True)
    assert model.count_params() == sum(
        t.numel() for k, t in reference.state_dict().items()
        if not k.endswith("num_batches_tracked"))
    x = fashion[0][:8]
    with torch.no_grad():
        expected = torch.softmax(reference(torch.from_numpy(x).float().permute(0, 3, 1, 2)
                                           / 255), 1)
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("pooling, shape", [(None, (14, 14, 16)), ("avg", (16,)),
                                            ("max", (16,))])
def test_without_the_top_the_head_is_gone_and_pooling_is_keras(fashion, pooling, shape):
    model = grey(include_top=False, pooling=pooling)
    assert not set(HEAD) & set(model.net.state_dict())
    assert model.output_shape == (None, *shape)
    x = fashion[0][:4]
    features = model.torch_module.eval().forward_features(
        torch.from_numpy(x).float().permute(0, 3, 1, 2) / 255).detach()
    expected = {None: features.permute(0, 2, 3, 1), "avg": features.mean((2, 3)),
                "max": features.amax((2, 3))}[pooling]
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-5, atol=1e-6)


def test_it_trains_saves_and_loads(fashion, tmp_path):
    torch.manual_seed(0)
    model = grey(classes=10)
    model.compile(optimizer=keras.optimizers.Adam(0.03),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(*fashion, batch_size=32, epochs=3, verbose=0)
    assert history.history["loss"][-1] < 0.9 * history.history["loss"][0]
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    assert type(loaded) is ModuleModel and loaded.get_config() == model.get_config()
    np.testing.assert_array_equal(loaded.predict(fashion[0]), model.predict(fashion[0]))
    weights = model.get_weights()
    fresh = grey(classes=10)
    fresh.set_weights(weights)
    np.testing.assert_array_equal(fresh.predict(fashion[0][:4]), model.predict(fashion[0][:4]))


def test_transfer_learning_trains_only_the_new_head(fashion, tmp_path):
    torch.manual_seed(0)
    base = grey(include_top=False, pooling="avg")
    base.trainable = False
    model = Sequential([layers.Input((28, 28, 1)), base, layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    frozen = {k: v.clone() for k, v in base.net.state_dict().items()}
    modes = []
    base.torch_module.bn1.register_forward_hook(lambda m, i, o: modes.append(m.training))
    head = model.layers[-1].get_weights()[0].copy()
    model.fit(*fashion, batch_size=64, epochs=1, verbose=0)
    assert modes and not any(modes)  # batch norm in inference mode, as Keras runs it
    for key, value in base.net.state_dict().items():
        assert torch.equal(value, frozen[key]), key
    assert not np.array_equal(model.layers[-1].get_weights()[0], head)
    assert model.count_params() == base.count_params() + 16 * 10 + 10
    model.save(tmp_path / "transfer.keras")
    loaded = keras.models.load_model(tmp_path / "transfer.keras")
    np.testing.assert_array_equal(loaded.predict(fashion[0][:16]), model.predict(fashion[0][:16]))


def test_a_wrapped_module_in_a_functional_graph(fashion):
    inputs = keras.Input((28, 28, 1))
    features = grey(include_top=False)(inputs)
    assert features.shape == (None, 14, 14, 16)
    outputs = layers.Dense(10)(layers.GlobalMaxPooling2D()(features))
    model = Model(inputs, outputs)
    assert model.predict(fashion[0][:2]).shape == (2, 10)


def test_class_probabilities_follow_the_classifier_activation(fashion):
    from cnnkit.models.probabilities import class_probabilities

    x = fashion[0][:4]
    for activation in ("softmax", None):
        model = grey(classes=10, classifier_activation=activation)
        model.torch_module.load_state_dict(TwoBlocks(10, in_chans=1).state_dict())
        probabilities = class_probabilities(model, model.predict(x))
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert Sequential([grey(classes=10), layers.Dense(3)]).final_activation is None
    assert Sequential([layers.Input((28, 28, 1)), grey(classes=10)]).final_activation == \
        "softmax"


def test_summary_has_a_row_per_top_level_child():
    lines = []
    grey(classes=10, name="two").summary(print_fn=lines.append)
    rows = [line.split("│")[1:4] for line in "\n".join(lines).splitlines()
            if line.startswith("│")]
    assert [[cell.strip() for cell in row] for row in rows] == [
        ["conv1 (Conv2d)", "(None, 28, 28, 8)", "72"],
        ["bn1 (BatchNorm2d)", "(None, 28, 28, 8)", "32"],
        ["relu (ReLU)", "(None, 28, 28, 8)", "0"],
        ["layer1 (Sequential)", "(None, 14, 14, 16)", "1,216"],
        ["avgpool (AdaptiveAvgPool2d)", "(None, 1, 1, 16)", "0"],
        ["fc (Linear)", "(None, 10)", "170"]]


def test_bad_options_get_clear_errors():
    with pytest.raises(ShapeError, match="at least 8x8"):
        ModuleModel(TWO_BLOCKS, input_shape=(4, 4, 3))
    with pytest.raises(ShapeError, match=r"cannot take inputs of shape \(32, 32, 3\)"):
        ModuleModel(TWO_BLOCKS, input_shape=(32, 32, 3), in_chans=1)  # built for 1 channel
    with pytest.raises(ConfigError, match="pooling='mean' is not one of"):
        ModuleModel(TWO_BLOCKS, include_top=False, pooling="mean")
    with pytest.raises(ConfigError, match=r"two-blocks: .*depth"):
        ModuleModel(TWO_BLOCKS, depth=3)
    with pytest.raises(ConfigError, match="unknown network 'two-block'"):
        ModuleModel("two-block")


def test_grayscale_images_reach_an_rgb_network_repeated_and_normalised(fashion):
    """A 3-channel network takes 1-channel images as the same gray in R, G and B, after
    the network's own normalisation (raw pixels in, as Keras's EfficientNet takes them)."""
    entry = Network("two-blocks-imagenet", TwoBlocks, "test", input_size=32, min_input=8)
    model = ModuleModel(entry, input_shape=(28, 28, 1), classes=10)
    reference = model.torch_module.eval()
    x = fashion[0][:4]
    rgb = torch.from_numpy(x).float().permute(0, 3, 1, 2).expand(-1, 3, -1, -1) / 255
    mean = torch.tensor(entry.mean).view(1, 3, 1, 1)
    std = torch.tensor(entry.std).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = torch.softmax(reference((rgb - mean) / std), 1)
    np.testing.assert_allclose(model.predict(x), expected.numpy(), rtol=1e-4, atol=1e-6)
