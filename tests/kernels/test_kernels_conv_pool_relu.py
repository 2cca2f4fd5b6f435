"""The fused convolution + ReLU + 2x2 max pooling kernel (kernels/conv_pool_relu.py) against
torch's own ops, on real images, and the network's choice of when to use it."""

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.nn.utils import prune

from cnnkit import data, zoo
from cnnkit import layers as L
from cnnkit.kernels import conv_pool_relu as kernel_module
from cnnkit.kernels import fused
from cnnkit.kernels import plan as plan_module
from cnnkit.kernels.build import KERNELS_ENV
from cnnkit.kernels.conv_pool_relu import conv_pool_relu, fusable
from cnnkit.models import Sequential
from real_batches import assert_repeats_and_matches_one_thread, real_batch


@pytest.fixture(autouse=True)
def _seeded():
    """Fixed initial weights: a pooling window whose two best outputs lie within float
    rounding of each other routes its gradient by rounding, in any two implementations,
    and some random initialisations make one on these real images (zero borders give
    exact ties under 'same' padding)."""
    torch.manual_seed(0)


def conv_and_pool(filters=32, kernel=3, padding="valid", channels=1, use_bias=True,
                  pool=2, pool_padding="valid", strides=1, hw=(28, 28)):
    """A Keras-initialised convolution (bias drawn too, so it matters) and its pooling."""
    layer = L.Conv2D(filters, kernel, padding=padding, strides=strides, use_bias=use_bias,
                     activation="relu")
    shape = (*hw, channels)
    conv = layer.build_module(shape)
    if use_bias:
        with torch.no_grad():
            conv.bias.uniform_(-0.05, 0.05)
    pooling = L.MaxPooling2D(pool, padding=pool_padding).build_module(
        layer.compute_output_shape(shape))
    return conv.to(memory_format=torch.channels_last), pooling


def with_torch_ops(conv, pool, x):
    return torch.relu(pool(conv(x)))


def gradients(conv, out):
    """The weight and bias gradients of a fixed, uneven function of ``out``."""
    conv.zero_grad(set_to_none=True)
    (out * torch.linspace(-1, 2, out.numel()).reshape(out.shape)).sum().backward()
    return [p.grad.clone() for p in conv.parameters()]


def assert_close_to_torch(conv, pool, x):
    expected = with_torch_ops(conv, pool, x)
    expected_grads = gradients(conv, expected)
    got = conv_pool_relu(conv, pool, x)
    assert got is not None, "the kernel did not run"
    assert got.shape == expected.shape
    assert got.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)
    for grad, want in zip(gradients(conv, got), expected_grads, strict=True):
        assert grad.shape == want.shape
        torch.testing.assert_close(grad, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


@pytest.mark.parametrize("kernel, channels, padding, use_bias", [
    (3, 1, "valid", True), (3, 3, "valid", True), (5, 1, "same", True), (5, 3, "valid", False),
    (3, 2, "same", True), (3, 4, "valid", True), (5, 4, "same", False),
])
def test_kernel_equals_torch_ops_on_real_images(kernel, channels, padding, use_bias):
    x = real_batch(16, channels)
    conv, pool = conv_and_pool(kernel=kernel, channels=channels, padding=padding,
                               use_bias=use_bias)
    assert fusable(conv, pool)
    assert_close_to_torch(conv, pool, x)


@pytest.mark.parametrize("hw", [(27, 28), (28, 27), (9, 10)])
def test_odd_sizes_drop_the_last_row_or_column_as_pooling_does(hw):
    x = real_batch(8)[:, :, :hw[0], :hw[1]]  # a view: not contiguous in any layout
    conv, pool = conv_and_pool(hw=hw, padding="same", filters=48)
    assert_close_to_torch(conv, pool, x)


def test_a_tie_goes_to_the_first_window_position_as_in_torch():
    conv, pool = conv_and_pool()
    with torch.no_grad():  # every output equals the bias: a four-way tie in each window
        conv.weight.zero_()
        conv.bias.uniform_(0.1, 0.2)
    assert_close_to_torch(conv, pool, real_batch(8))


def test_nan_in_an_image_gives_nan_where_torch_gives_nan():
    x = real_batch(4).clone()
    x[1, 0, 11, 11] = float("nan")  # NaN in positions 1-3 of some windows, not only in 0
    conv, pool = conv_and_pool()
    with torch.no_grad():
        got, expected = conv_pool_relu(conv, pool, x), with_torch_ops(conv, pool, x)
    assert torch.isnan(expected).any()
    assert torch.equal(torch.isnan(got), torch.isnan(expected))


def test_a_nan_weight_passes_gradients_where_torch_does():
    conv, pool = conv_and_pool()
    with torch.no_grad():
        conv.weight[0, 0, 1, 1] = float("nan")  # channel 0 is NaN everywhere
    x = real_batch(4)
    expected = gradients(conv, with_torch_ops(conv, pool, x))
    got = gradients(conv, conv_pool_relu(conv, pool, x))
    for grad, want in zip(got, expected, strict=True):
        assert torch.equal(torch.isnan(grad), torch.isnan(want))
        torch.testing.assert_close(grad.nan_to_num(), want.nan_to_num(), rtol=1e-4,
                                   atol=1e-4 * want.nan_to_num().abs().max().item())


@pytest.mark.parametrize("change", [
    dict(filters=8), dict(channels=5), dict(kernel=4), dict(strides=2), dict(pool=3),
    dict(hw=(27, 27), pool_padding="same"),
])
def test_shapes_the_kernel_does_not_cover_are_not_fused(change):
    assert not fusable(*conv_and_pool(**change))


def test_kernel_declines_where_it_would_be_wrong(monkeypatch):
    conv, pool = conv_and_pool()
    x = real_batch(4)
    assert conv_pool_relu(conv, pool, x.clone().requires_grad_()) is None  # no input grad
    assert conv_pool_relu(conv, pool, x.double()) is None
    assert conv_pool_relu(conv, pool, real_batch(4, 3)) is None  # 3 channels, 1 expected
    assert conv_pool_relu(conv, pool, x[0]) is None  # one image without its batch axis
    assert conv_pool_relu(conv, pool, x[:, :, :3, :3]) is None  # too small to pool
    for other in (dict(filters=8), dict(strides=2), dict(pool=3)):
        assert conv_pool_relu(*conv_and_pool(**other), x) is None
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert conv_pool_relu(conv, pool, x) is None
    monkeypatch.setenv(KERNELS_ENV, "0")
    assert conv_pool_relu(conv, pool, x) is None
    monkeypatch.setenv(KERNELS_ENV, "1")
    assert conv_pool_relu(conv, pool, x) is not None


def test_a_float64_default_dtype_does_not_leak_into_the_kernels_buffers():
    conv, pool = conv_and_pool()
    x = real_batch(4)
    expected = with_torch_ops(conv, pool, x)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = conv_pool_relu(conv, pool, x)
        grads = gradients(conv, got)
    finally:
        torch.set_default_dtype(before)
    assert got.dtype == torch.float32 and all(g.dtype == torch.float32 for g in grads)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_hooks_on_the_layers_keep_them_on_torch_ops():
    conv, pool = conv_and_pool()
    x = real_batch(4)
    seen = []
    handle = conv.register_forward_hook(lambda module, args, out: seen.append(out.shape))
    assert conv_pool_relu(conv, pool, x) is None
    handle.remove()
    handle = pool.register_forward_pre_hook(lambda module, args: None)
    assert conv_pool_relu(conv, pool, x) is None
    handle.remove()
    assert conv_pool_relu(conv, pool, x) is not None


def test_pruning_the_first_layer_trains_on_torch_ops():
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.build()
    net = model.net.train()
    first = net.ops[net.names[0]]
    prune.l1_unstructured(first, "weight", amount=0.5)
    x = real_batch(8)
    for _ in range(2):  # a stale pruned weight would fail the second backward
        outputs_and_grads(net, x)
    assert first.weight_orig.grad is not None
    assert (first.weight_orig.grad[first.weight_mask == 0] == 0).all()


def outputs_and_grads(net, x):
    net.zero_grad(set_to_none=True)
    out = net(x)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), [p.grad.clone() for p in net.parameters()]


@pytest.mark.parametrize("build, rgb, relu_layers", [
    (lambda: zoo.tutorial_mnist((28, 28, 1), 10), False, 0),
    (lambda: zoo.tutorial_cifar10((32, 32, 3), 10), True, 1),
])
def test_tutorial_networks_run_their_convolutions_on_kernels(build, rgb, relu_layers,
                                                             monkeypatch):
    # The first layer runs on conv_pool_relu, the second (32 channels in) on the Winograd
    # kernel, and so does CIFAR-10's third (unpooled). Seeded: weights that leave two
    # outputs of a pooling window within float rounding of each other (2 seeds in 12 do,
    # once in 32 x 64 x 36 windows) let rounding pick the winner, differently in any two
    # implementations, and the gradient follows it.
    torch.manual_seed(0)
    model = build()
    model.build()
    net = model.net.train()
    assert net.fused == {net.names[0], net.names[2]}
    assert net.fused_relu == set(net.names[4:4 + relu_layers])
    calls = []

    def counted(kernel):
        def call(*args):
            out = kernel(*args)
            calls.append(out is not None)
            return out
        return call

    monkeypatch.setattr(plan_module, "conv_pool_relu", counted(fused.conv_pool_relu))
    monkeypatch.setattr(plan_module, "conv_relu", counted(fused.conv_relu))
    x = real_batch(channels=3 if rgb else 1)
    if rgb:
        x = torch.nn.functional.pad(x, (2, 2, 2, 2))
    with_kernels, with_kernels_grads = outputs_and_grads(net, x)
    assert calls == [True] * (2 + relu_layers)
    monkeypatch.setenv(KERNELS_ENV, "0")
    plain, plain_grads = outputs_and_grads(net, x)
    assert calls == [True] * (2 + relu_layers) + [False] * (2 + relu_layers)
    torch.testing.assert_close(with_kernels, plain, rtol=1e-4, atol=1e-5)
    for got, want in zip(with_kernels_grads, plain_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4 * want.abs().max().item())


def test_layers_no_kernel_covers_stay_on_torch_ops():
    model = Sequential([L.Input((28, 28, 1)),
                        L.Conv2D(16, 3, activation="relu", name="first"), L.MaxPooling2D(2),
                        L.Conv2D(24, 3, activation="relu", name="second"), L.MaxPooling2D(2),
                        L.Conv2D(16, 3, activation="relu", name="third"), L.MaxPooling2D(2),
                        L.Flatten(), L.Dense(10)])
    model.build()
    assert set(model.net.pool_first) == {"first", "second", "third"}
    assert model.net.fused == {"first"}  # 24 filters; then 24 input channels


def test_tracing_for_export_records_torch_ops_not_the_kernel():
    model = zoo.tutorial_mnist((28, 28, 1), 10)
    model.build()
    net = model.net.eval()
    x = real_batch(4)
    with torch.no_grad():
        traced = torch.jit.trace(net, x)
        torch.testing.assert_close(traced(x), net(x), rtol=1e-4, atol=1e-5)
    graph = str(traced.inlined_graph)
    assert graph.count("aten::max_pool2d(") == 2  # both poolings, none inside the kernel
    assert "ConvPoolReLU" not in graph


def test_a_batch_split_over_torch_threads_repeats_and_matches_one_thread():
    conv, pool = conv_and_pool(channels=3, padding="same")
    x = real_batch(24, 3)

    def run():
        out = conv_pool_relu(conv, pool, x)
        return out.detach(), *gradients(conv, out)

    assert_repeats_and_matches_one_thread(run)


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="needs Linux's /proc")
def test_the_kernel_uses_torchs_openmp_runtime_not_a_second_one():
    assert conv_pool_relu(*conv_and_pool(), real_batch(8)) is not None
    maps = Path("/proc/self/maps").read_text().splitlines()
    runtimes = {line.split()[-1] for line in maps
                if re.search(r"/lib(g|i)?omp[^/]*\.so", line)}  # GNU, Intel or LLVM
    assert len(runtimes) <= 1, runtimes


@pytest.mark.parametrize("channels", [1, 3])
def test_weight_gradient_is_as_close_to_float64_as_torchs(channels):
    # A batch of 64 sums 43,000 products per weight: a long chain of float additions
    # would drift from the true sum further than oneDNN's blocked sums do.
    conv, pool = conv_and_pool(channels=channels)
    x = real_batch(64, channels)
    grad_out = torch.linspace(-1, 1, 64 * 32 * 13 * 13).reshape(64, 32, 13, 13)
    exact = conv_and_pool(channels=channels)[0].double()
    exact.load_state_dict({k: v.double() for k, v in conv.state_dict().items()})
    torch.relu(pool(exact(x.double()))).backward(grad_out.double())

    def error(out):
        conv.zero_grad(set_to_none=True)
        out.backward(grad_out)
        return ((conv.weight.grad.double() - exact.weight.grad).abs().max()
                / exact.weight.grad.abs().max()).item()

    assert error(conv_pool_relu(conv, pool, x)) <= error(with_torch_ops(conv, pool, x))


@pytest.mark.skipif(shutil.which("g++") is None and shutil.which("c++") is None,
                    reason="no C++ compiler: neither torch.compile nor the kernel can build")
def test_compiled_prediction_runs_the_kernel_between_its_graphs(monkeypatch):
    calls = []
    apply = kernel_module._ConvPoolReLU.apply
    monkeypatch.setattr(kernel_module._ConvPoolReLU, "apply",
                        lambda *args: calls.append(args[1].shape) or apply(*args))
    images = data.load("fashion-mnist-mini").images[:64]
    compiled, eager = (zoo.tutorial_mnist((28, 28, 1), 10) for _ in range(2))
    for model, jit in ((compiled, True), (eager, False)):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      jit_compile=jit)
    eager.build()
    eager.set_weights(compiled.get_weights())
    got = compiled.predict(images, batch_size=32)
    assert compiled._inference.compiled not in (None, False)
    assert [shape[0] for shape in calls] == [32, 32]  # the kernel ran inside each batch
    np.testing.assert_allclose(got, eager.predict(images, batch_size=32), atol=1e-5)


def test_gradients_of_its_gradients_equal_torch_ops():
    # a penalty on the weight gradient's size: the backward pass under create_graph=True
    # answers with torch's differentiable gradients
    conv, pool = conv_and_pool()
    x = real_batch(8)

    def penalty_gradient(function):
        conv.zero_grad(set_to_none=True)
        out = function(conv, pool, x)
        assert out is not None
        grad_w, = torch.autograd.grad((out * out).sum(), conv.weight, create_graph=True)
        grad_w.pow(2).sum().backward()
        return conv.weight.grad.clone(), conv.bias.grad.clone()

    for got, want in zip(penalty_gradient(conv_pool_relu), penalty_gradient(with_torch_ops),
                         strict=True):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5 * want.abs().max().item())
