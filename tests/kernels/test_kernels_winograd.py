"""The Winograd convolution + ReLU (+ 2x2 max pooling) kernel (kernels/winograd.py) against
torch's own ops, on the features a first layer makes of real images."""

import pytest
import torch
import torch.autograd.forward_ad as forward_ad
import torch.nn.functional as F

from cnnkit import layers as L
from cnnkit.kernels.build import KERNELS_ENV
from cnnkit.kernels.winograd import fusable, relu_fusable, winograd_pool_relu, winograd_relu
from cnnkit.models import Sequential
from real_batches import assert_repeats_and_matches_one_thread, real_batch


def conv_and_pool(filters=64, channels=32, kernel=3, padding="valid", strides=1, hw=(13, 13),
                  use_bias=True, dilation=1):
    """A Keras-initialised convolution (bias drawn too, so it matters) and its pooling."""
    layer = L.Conv2D(filters, kernel, padding=padding, strides=strides, use_bias=use_bias,
                     dilation_rate=dilation, activation="relu")
    shape = (*hw, channels)
    conv = layer.build_module(shape)
    if use_bias:
        with torch.no_grad():
            conv.bias.uniform_(-0.05, 0.05)
    pool = L.MaxPooling2D(2).build_module(layer.compute_output_shape(shape))
    return conv.to(memory_format=torch.channels_last), pool


def features(count=16, channels=32, size=28):
    """What a ReLU first layer with 2x2 pooling makes of real images: (count, channels,
    (size-2)//2, ...) non-negative features with many exact zeros, channels_last."""
    torch.manual_seed(0)
    first = torch.nn.Conv2d(1, channels, 3)
    images = F.interpolate(real_batch(count), size=size) if size != 28 else real_batch(count)
    with torch.no_grad():
        return torch.relu(F.max_pool2d(first(images), 2)).contiguous(
            memory_format=torch.channels_last)


def with_torch_ops(conv, pool, x):
    return torch.relu(pool(conv(x)))


def outputs_and_gradients(function, conv, pool, x):
    """The output, then the input, weight and bias gradients of a fixed, uneven function
    of it."""
    conv.zero_grad(set_to_none=True)
    x = x.clone().requires_grad_()
    out = function(conv, pool, x)
    assert out is not None, "the kernel did not run"
    (out * torch.linspace(-1, 2, out.numel()).reshape(out.shape)).sum().backward()
    return out.detach(), x.grad, conv.weight.grad, conv.bias.grad


def assert_close_to_torch(conv, pool, x, kernel=winograd_pool_relu, reference=with_torch_ops):
    got = outputs_and_gradients(kernel, conv, pool, x)
    want = outputs_and_gradients(reference, conv, pool, x)
    assert got[0].is_contiguous(memory_format=torch.channels_last)
    for mine, theirs in zip(got, want, strict=True):
        assert mine.shape == theirs.shape
        torch.testing.assert_close(mine, theirs, rtol=1e-4,
                                   atol=1e-5 * max(1.0, theirs.abs().max().item()))


@pytest.mark.parametrize("size, padding, filters, channels", [
    (28, "valid", 64, 32),  # MNIST tutorial: 13x13 in, 11x11 out, 5x5 pooled (10x10 read)
    (32, "valid", 64, 32),  # CIFAR-10 tutorial: 15x15 in, 13x13 out, 6x6 pooled
    (28, "same", 32, 16),   # VGG style: 13x13 in and out, 6x6 pooled
    (20, "same", 80, 48),   # more than one block of 64 channels, even size
    (30, "valid", 16, 16),  # one vector of channels each way
    (50, "same", 64, 64),   # 144 tiles an image: two runs of tiles (128, 16) each
])
def test_equals_torch_ops_forward_and_backward(size, padding, filters, channels):
    x = features(channels=channels, size=size)
    conv, pool = conv_and_pool(filters, channels, padding=padding, hw=x.shape[2:])
    assert fusable(conv, pool)
    assert_close_to_torch(conv, pool, x)


def test_weight_and_input_gradients_are_as_close_to_float64_as_torchs():
    x = features(count=64)
    conv, pool = conv_and_pool()
    exact, _ = conv_and_pool()
    exact = exact.double()
    exact.load_state_dict({k: v.double() for k, v in conv.state_dict().items()})
    truth = outputs_and_gradients(with_torch_ops, exact, pool, x.double())

    def errors(function):
        got = outputs_and_gradients(function, conv, pool, x)
        return [((a.double() - b).abs().max() / b.abs().max()).item()
                for a, b in zip(got, truth, strict=True)]

    for mine, torchs in zip(errors(winograd_pool_relu), errors(with_torch_ops), strict=True):
        assert mine <= 2 * torchs


def test_an_input_without_gradient_still_gives_weight_gradients():
    x = features(count=8)
    conv, pool = conv_and_pool()
    out = winograd_pool_relu(conv, pool, x)
    out.sum().backward()
    weight_grad = conv.weight.grad.clone()
    conv.zero_grad(set_to_none=True)
    with_torch_ops(conv, pool, x).sum().backward()
    torch.testing.assert_close(weight_grad, conv.weight.grad, rtol=1e-4,
                               atol=1e-5 * conv.weight.grad.abs().max().item())


def test_ties_go_to_the_first_window_position_as_in_torch():
    # Zero features (as ReLU makes them) give a window of four equal outputs (the bias):
    # the gradient must reach the input through the first position, as torch routes it.
    x = features(count=4)
    x[:, :, :6] = 0
    conv, pool = conv_and_pool(hw=x.shape[2:])
    assert_close_to_torch(conv, pool, x)


def test_a_nan_in_the_input_gives_nan_where_torch_does():
    x = features(count=2)
    x[1, 5, 4, 7] = float("nan")
    conv, pool = conv_and_pool()
    got, want = winograd_pool_relu(conv, pool, x), with_torch_ops(conv, pool, x)
    assert torch.equal(got.isnan(), want.isnan())
    assert want.isnan().any()
    torch.testing.assert_close(got.nan_to_num(), want.nan_to_num(), rtol=1e-4, atol=1e-5)


def test_a_non_contiguous_input_is_read_correctly():
    x = features(count=6).contiguous()  # NCHW memory, not channels_last
    conv, pool = conv_and_pool()
    assert_close_to_torch(conv, pool, x[:, :, 1:, :12])


@pytest.mark.parametrize("change", [
    {"kernel": 5}, {"channels": 24, "hw": (13, 13)}, {"filters": 24}, {"strides": 2},
    {"dilation": 2},
])
def test_shapes_it_does_not_cover_are_not_fusable(change):
    assert not fusable(*conv_and_pool(**change))


def test_declines_what_it_cannot_run():
    conv, pool = conv_and_pool()
    x = features(count=4)
    assert winograd_pool_relu(conv, pool, x.double()) is None
    assert winograd_pool_relu(conv, pool, x[:, :16]) is None  # 16 channels, 32 expected
    assert winograd_pool_relu(conv, pool, x[0]) is None  # no batch axis
    assert winograd_pool_relu(conv, pool, x[:1]) is None  # one image: torch is faster
    assert winograd_pool_relu(conv, pool, x[:, :, :3, :3]) is None  # too small to pool
    handle = conv.register_forward_hook(lambda *args: None)
    assert winograd_pool_relu(conv, pool, x) is None
    handle.remove()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert winograd_pool_relu(conv, pool, x) is None
    assert winograd_pool_relu(conv, pool, x) is not None


def test_a_batch_split_over_threads_repeats_and_matches_one_thread():
    conv, pool = conv_and_pool(padding="same")
    x = features(count=24)
    assert_repeats_and_matches_one_thread(
        lambda: outputs_and_gradients(winograd_pool_relu, conv, pool, x))



def unpooled_with_torch_ops(conv, pool, x):
    return torch.relu(conv(x))


def unpooled_kernel(conv, pool, x):
    return winograd_relu(conv, torch.nn.ReLU(), x)


@pytest.mark.parametrize("size, padding, filters, channels, count", [
    (32, "valid", 64, 64, 16),  # CIFAR-10 tutorial's third layer: 6x6 in, 4x4 out
    (32, "valid", 64, 64, 11),  # ... 4 tiles an image: groups of 8 images, a short last one
    (28, "valid", 32, 32, 16),  # 13x13 in, 11x11 out: an odd output, its last tiles cut
    (28, "same", 48, 16, 5),    # 13x13 in and out: groups of 1 image
    (20, "same", 80, 32, 7),
    (50, "same", 64, 32, 3),    # 144 tiles an image: two runs of tiles (128, 16) each
])
def test_unpooled_equals_torch_ops_forward_and_backward(size, padding, filters, channels,
                                                        count):
    x = features(count=count, channels=channels, size=size)
    if channels == 64:
        with torch.no_grad():
            x = torch.relu(F.max_pool2d(torch.nn.Conv2d(64, 64, 3)(x), 2)).contiguous(
                memory_format=torch.channels_last)
    conv, pool = conv_and_pool(filters, channels, padding=padding, hw=x.shape[2:])
    assert relu_fusable(conv)
    assert_close_to_torch(conv, pool, x, unpooled_kernel, unpooled_with_torch_ops)


def test_unpooled_declines_what_it_cannot_run():
    conv, _ = conv_and_pool(channels=32)
    x = features(count=4)
    assert not relu_fusable(conv_and_pool(channels=24, hw=(13, 13))[0])
    assert winograd_relu(conv, torch.nn.ReLU(), x[:, :, :2, :2]) is None  # no output
    assert winograd_relu(conv, torch.nn.ReLU(), x[:1]) is None
    assert winograd_relu(conv, torch.nn.ReLU(), x.double()) is None
    assert winograd_relu(conv, torch.nn.ReLU(), x) is not None


def test_unpooled_a_nan_in_the_input_is_never_lost():
    # Winograd's transforms spread a NaN over the whole 2x2 block of outputs its 4x4 patch
    # feeds (torch's direct convolution: only the outputs whose 3x3 window reads it)
    x = features(count=2, channels=32)
    x[1, 5, 4, 7] = float("nan")
    conv, _ = conv_and_pool(32, 32)
    got, want = winograd_relu(conv, torch.nn.ReLU(), x), torch.relu(conv(x))
    assert want.isnan().any()
    assert not (want.isnan() & ~got.isnan()).any()
    assert got.isnan().sum() <= 16 * 32  # at most a 4x4 block of outputs per channel
    finite = ~got.isnan()
    torch.testing.assert_close(got[finite], want[finite], rtol=1e-4, atol=1e-5)


def vgg_style():
    """Two 3x3 ReLU convolutions on 16 channels, the second pooled: both on the kernel."""
    torch.manual_seed(0)
    model = Sequential([L.Input((12, 12, 16)), L.Conv2D(16, 3, activation="relu", name="c1"),
                        L.Conv2D(16, 3, activation="relu", name="c2"), L.MaxPooling2D(2),
                        L.Flatten(), L.Dense(3)])
    model.build()
    assert model.net.fused == {"c2"} and model.net.fused_relu == {"c1"}
    return model.net


def vgg_input():
    return features(count=4, channels=16, size=28)[:, :, :12, :12]


@pytest.mark.parametrize("hook", ["backward", "relu forward"])
def test_hooks_on_a_fused_layer_or_its_relu_run_as_with_torch_ops(hook):
    net = vgg_style()
    seen = []
    if hook == "backward":
        handles = [net.ops[name].register_full_backward_hook(
            lambda *args, name=name: seen.append(name)) for name in ("c1", "c2")]
    else:
        handles = [net.acts["c1"].register_forward_hook(lambda *args: seen.append("relu"))]
    net(vgg_input().requires_grad_()).sum().backward()
    for handle in handles:
        handle.remove()
    assert seen == (["c2", "c1"] if hook == "backward" else ["relu"])


def test_gradients_of_gradients_equal_torch_ops(monkeypatch):
    # a gradient penalty: the kernels' backward under create_graph=True answers with
    # torch's differentiable gradients
    net = vgg_style()

    def penalty_gradients():
        net.zero_grad(set_to_none=True)
        x = vgg_input().requires_grad_()
        grad_x, = torch.autograd.grad(net(x).sum(), x, create_graph=True)
        grad_x.pow(2).sum().backward()
        return {name: p.grad for name, p in net.named_parameters() if p.grad is not None}

    with_kernels = penalty_gradients()
    assert {"ops.c1.weight", "ops.c2.weight"} <= set(with_kernels)
    monkeypatch.setenv(KERNELS_ENV, "0")
    on_torch_ops = penalty_gradients()
    assert set(with_kernels) == set(on_torch_ops)
    for name, want in on_torch_ops.items():
        torch.testing.assert_close(with_kernels[name], want, rtol=1e-4,
                                   atol=1e-5 * want.abs().max().item())


def test_torch_func_transforms_run_on_torch_ops():
    net = vgg_style()
    x = vgg_input()
    params = {name: p.detach() for name, p in net.named_parameters()}
    grads = torch.func.grad(lambda p: torch.func.functional_call(net, p, (x,)).sum())(params)
    net.zero_grad(set_to_none=True)
    net(x).sum().backward()
    for name, p in net.named_parameters():
        torch.testing.assert_close(grads[name], p.grad, rtol=1e-4,
                                   atol=1e-5 * p.grad.abs().max().item())
    _, tangent = torch.func.jvp(net, (x,), (torch.ones_like(x),))
    assert tangent.shape == (4, 3)
    with forward_ad.dual_level():  # forward-mode AD without torch.func
        out = net(forward_ad.make_dual(x, torch.ones_like(x)))
        torch.testing.assert_close(forward_ad.unpack_dual(out).tangent, tangent)
