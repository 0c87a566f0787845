"""The golden integer model against float PyTorch, and its edge cases."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from codesign.backend import golden
from codesign.backend.golden import accumulate, act_range, choose_mult_shift, requantize, run_layer
from codesign.design import Layer
from codesign.errors import CodesignError


def conv_layer(kind, h, c, oc, k, s, p, w_bits=8, a_bits=8, relu=True):
    oh = (h + 2 * p - k) // s + 1
    return Layer(name="l", kind=kind, inputs=[-1], in_shape=(h, h, c), out_shape=(oh, oh, oc), kernel=k,
                 stride=s, padding=p, relu=relu, w_bits=w_bits, a_bits=a_bits)


def torch_acc(layer, x, w, bias):
    """Float64 PyTorch reference of the accumulator (exact for these integer magnitudes)."""
    xt = torch.tensor(x, dtype=torch.float64).permute(2, 0, 1)[None]
    wt = torch.tensor(w, dtype=torch.float64).permute(0, 3, 1, 2)
    groups = layer.in_shape[2] if layer.kind == "dwconv" else 1
    y = F.conv2d(xt, wt, torch.tensor(bias, dtype=torch.float64), stride=layer.stride, padding=layer.padding,
                 groups=groups)
    return y[0].permute(1, 2, 0).numpy()


LAYERS = [("conv", 9, 3, 5, 3, 1, 1), ("conv", 10, 4, 6, 3, 2, 1), ("conv", 7, 6, 4, 1, 1, 0),
          ("conv", 8, 2, 3, 5, 2, 2), ("dwconv", 9, 5, 5, 3, 1, 1), ("dwconv", 10, 4, 4, 5, 2, 2),
          ("dwconv", 6, 3, 3, 3, 2, 0)]


@pytest.mark.parametrize("bits", range(2, 9))
@pytest.mark.parametrize("spec", LAYERS, ids=lambda s: f"{s[0]}{s[4]}s{s[5]}")
def test_conv_matches_float_pytorch(spec, bits):
    rng = np.random.default_rng(bits * 100 + len(spec))
    layer = conv_layer(*spec, w_bits=bits, a_bits=bits)
    shape = golden.weight_shape(layer)
    x = rng.integers(0, 2 ** bits, size=layer.in_shape)
    lo, hi = golden.weight_range(bits)
    w = rng.integers(lo, hi + 1, size=shape)
    bias = rng.integers(-100, 100, size=layer.out_shape[2])
    acc = accumulate(layer, {"w": w, "bias": bias}, [x])
    ref = torch_acc(layer, x, w, bias)
    np.testing.assert_array_equal(acc, ref)            # the accumulator is exact
    scale = rng.uniform(0.5, 2.0, size=layer.out_shape[2]) * (2 ** bits) / (np.abs(ref).max() + 1)
    mult, shift = choose_mult_shift(scale)
    y = run_layer(layer, {"w": w, "bias": bias, "mult": mult, "shift": shift}, [x])
    y_float = np.clip(np.floor(ref * scale + 0.5), 0, 2 ** bits - 1)
    assert np.abs(y - y_float).max() <= 1               # within one quantisation step
    assert (y == y_float).mean() >= 0.95


def test_fc_and_pools_match_pytorch():
    rng = np.random.default_rng(3)
    x = rng.integers(-128, 128, size=(4, 4, 6))
    fc = Layer(name="fc", kind="fc", inputs=[-1], in_shape=(4, 4, 6), out_shape=(1, 1, 7), w_bits=8)
    w = rng.integers(-127, 128, size=(7, 1, 1, 96))
    acc = accumulate(fc, {"w": w, "bias": np.zeros(7, int)}, [x])
    ref = torch.tensor(w.reshape(7, -1), dtype=torch.float64) @ torch.tensor(x.reshape(-1), dtype=torch.float64)
    np.testing.assert_array_equal(acc.reshape(-1), ref.numpy())        # HWC flatten order
    gap = Layer(name="gap", kind="avgpool", inputs=[-1], in_shape=(4, 4, 6), out_shape=(1, 1, 6))
    np.testing.assert_array_equal(accumulate(gap, {}, [x]).reshape(-1), x.sum(axis=(0, 1)))
    mp = Layer(name="mp", kind="maxpool", inputs=[-1], in_shape=(4, 4, 6), out_shape=(2, 2, 6), kernel=3,
               stride=2, padding=1)
    ref = F.max_pool2d(torch.tensor(x, dtype=torch.float64).permute(2, 0, 1)[None], 3, 2, 1)[0].permute(1, 2, 0)
    np.testing.assert_array_equal(accumulate(mp, {}, [x]), ref.numpy())   # negative values: padding never wins


def test_residual_add():
    a = np.array([[[10, -20]]])
    b = np.array([[[3, 4]]])
    add = Layer(name="add", kind="add", inputs=[-1, -1], in_shape=(1, 1, 2), out_shape=(1, 1, 2), a_bits=6)
    y = run_layer(add, {"add_mult": np.array([3, 5]), "mult": np.array([1, 1]), "shift": np.array([1, 1])}, [a, b])
    # (10*3 + 3*5 + 1) >> 1 = 23; (-60 + 20 + 1) >> 1 = -20
    np.testing.assert_array_equal(y.reshape(-1), [23, -20])


def test_requantize_rounds_half_up_and_saturates():
    acc = np.array([1, -1, 3, -3, 5, 1000, -1000])
    y = requantize(acc, np.ones(7, int), np.ones(7, int), bits=4, signed=True)
    # 0.5 -> 1, -0.5 -> 0, 1.5 -> 2, -1.5 -> -1, 2.5 -> 3, saturate at [-8, 7]
    np.testing.assert_array_equal(y, [1, 0, 2, -1, 3, 7, -8])
    assert requantize(np.array([7]), np.array([3]), np.array([0]), 8, False)[0] == 21   # shift 0: no rounding
    assert requantize(np.array([-5]), np.array([1]), np.array([0]), 8, False)[0] == 0    # relu clamp


@pytest.mark.parametrize("bits", range(2, 9))
def test_ranges(bits):
    assert act_range(bits, False) == (0, 2 ** bits - 1)
    assert act_range(bits, True) == (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    assert golden.weight_range(bits) == (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1)


def test_mult_shift_precision():
    scales = np.geomspace(1e-7, 50.0, 200)
    mult, shift = choose_mult_shift(scales)
    assert mult.max() < 2 ** 15 and shift.max() <= golden.MAX_SHIFT
    rel = np.abs(mult / 2.0 ** shift - scales) / scales
    assert rel.max() < 2 ** -13


def test_params_round_trip_and_errors(tmp_path, example_path):
    from codesign.design import load_design
    design = load_design(example_path("two_chunk_mixed"))
    params = golden.random_params(design, seed=5)
    golden.save_params(params, tmp_path / "w.npz")
    back = golden.load_params(design, tmp_path / "w.npz")
    image = np.random.default_rng(0).integers(0, 256, size=(16, 16, 1))
    for a, b in zip(golden.run_network(design, params, image), golden.run_network(design, back, image)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(CodesignError, match="integer weights not found"):
        golden.load_params(design, tmp_path / "missing.npz")
    params[1]["w"] = params[1]["w"][:, :, :, :1]
    golden.save_params(params, tmp_path / "bad.npz")
    with pytest.raises(CodesignError, match="layer 1 .* has w of shape"):
        golden.load_params(design, tmp_path / "bad.npz")


def test_random_params_use_the_output_range(example_path):
    """Calibrated random weights: no layer is stuck at one value or saturated everywhere."""
    from codesign.design import load_design
    design = load_design(example_path("single_chunk_os_int8"))
    outs = golden.run_network(design, golden.random_params(design, 0), np.random.default_rng(1).integers(0, 256, (16, 16, 1)))
    for layer, y in zip(design.layers, outs):
        lo, hi = act_range(layer.a_bits, layer.signed_output)
        assert len(np.unique(y)) > 1 or y.size == 1, layer.name
        assert ((y > lo) & (y < hi)).mean() > 0.3, layer.name
