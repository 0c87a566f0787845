"""The integer golden model: the definition of the network's arithmetic.

Every simulator (fake-quant PyTorch, g++ C simulation, cocotb + Verilator) is checked against
this module bit for bit. The arithmetic, per layer:

* tensors are HWC integer arrays; a tensor of `bits` b is unsigned [0, 2^b - 1] after a ReLU,
  signed [-2^(b-1), 2^(b-1) - 1] otherwise; the network input is unsigned 8-bit.
* weights are symmetric signed integers per output channel, in [-(2^(b-1) - 1), 2^(b-1) - 1],
  laid out (N, kh, kw, Cin) (depthwise: (C, kh, kw, 1); fully connected: (N, 1, 1, H*W*Cin)
  with the input flattened in HWC order).
* every layer first forms an int32 accumulator per output element:
    conv / dwconv / fc:  sum over (kh, kw, cin) of x * w, plus the int32 bias of the channel
                         (zero padding; batch norm is folded into w and bias);
    avgpool (global):    sum over H x W;
    maxpool:             max over the window (padding never wins);
    add:                 a * add_mult[0] + b * add_mult[1].
* then requantises it: y = clamp((acc * mult[n] + 2^(shift[n]-1)) >> shift[n]) with an
  arithmetic shift (floor), i.e. round half up; no rounding term when shift is 0; the clamp is
  the output tensor's range (its a_bits, signed unless the layer has relu).
  mult is in [0, 2^15), shift in [0, 47]: acc * mult fits in 48 bits (one DSP48 cascade).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from codesign.design import DesignPoint, Layer
from codesign.errors import CodesignError

MULT_BITS = 15
MAX_SHIFT = 47


def act_range(bits: int, signed: bool) -> tuple[int, int]:
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)


def weight_range(bits: int) -> tuple[int, int]:
    q = (1 << (bits - 1)) - 1
    return -q, q


def requantize(acc: np.ndarray, mult: np.ndarray, shift: np.ndarray, bits: int, signed: bool) -> np.ndarray:
    """acc (..., N) int -> clamp(round_half_up(acc * mult / 2^shift)) per channel."""
    acc = acc.astype(np.int64)
    mult = np.asarray(mult, dtype=np.int64)
    shift = np.asarray(shift, dtype=np.int64)
    rounding = np.where(shift > 0, np.left_shift(1, np.maximum(shift - 1, 0)), 0)
    y = (acc * mult + rounding) >> shift
    lo, hi = act_range(bits, signed)
    return np.clip(y, lo, hi)


def pad_hw(x: np.ndarray, pad: int, value: int = 0) -> np.ndarray:
    return np.pad(x, ((pad, pad), (pad, pad), (0, 0)), constant_values=value) if pad else x


def im2col(x: np.ndarray, kernel: int, stride: int, pad: int, value: int = 0) -> np.ndarray:
    """(H, W, C) -> (OH*OW, kernel*kernel, C) windows, row-major over output pixels."""
    xp = pad_hw(x, pad, value)
    h, w, _ = xp.shape
    oh, ow = (h - kernel) // stride + 1, (w - kernel) // stride + 1
    rows = [xp[i:i + stride * oh:stride, j:j + stride * ow:stride, :] for i in range(kernel) for j in range(kernel)]
    return np.stack(rows, axis=2).reshape(oh * ow, kernel * kernel, x.shape[2])


def accumulate(layer: Layer, params: dict, inputs: list[np.ndarray]) -> np.ndarray:
    """The int accumulator of a layer, shaped (OH, OW, N), before requantisation."""
    x = inputs[0].astype(np.int64)
    oh, ow, oc = layer.out_shape
    if layer.kind == "conv":
        cols = im2col(x, layer.kernel, layer.stride, layer.padding).reshape(oh * ow, -1)
        acc = cols @ params["w"].reshape(oc, -1).astype(np.int64).T + params["bias"]
    elif layer.kind == "dwconv":
        cols = im2col(x, layer.kernel, layer.stride, layer.padding)  # (M, kk, C)
        w = params["w"].reshape(oc, -1).astype(np.int64)             # (C, kk)
        acc = np.einsum("mkc,ck->mc", cols, w) + params["bias"]
    elif layer.kind == "fc":
        acc = x.reshape(1, -1) @ params["w"].reshape(oc, -1).astype(np.int64).T + params["bias"]
    elif layer.kind == "avgpool":
        acc = x.sum(axis=(0, 1)).reshape(1, -1)
    elif layer.kind == "maxpool":
        acc = im2col(x, layer.kernel, layer.stride, layer.padding, value=np.iinfo(np.int32).min).max(axis=1)
    elif layer.kind == "add":
        am = params["add_mult"].astype(np.int64)
        acc = x * am[0] + inputs[1].astype(np.int64) * am[1]
    else:  # pragma: no cover - the schema admits no other kind
        raise CodesignError(f"layer {layer.name!r}: unsupported layer kind {layer.kind!r}")
    return acc.reshape(oh, ow, oc)


def run_layer(layer: Layer, params: dict, inputs: list[np.ndarray]) -> np.ndarray:
    acc = accumulate(layer, params, inputs)
    y = requantize(acc, params["mult"], params["shift"], layer.a_bits, layer.signed_output)
    return y.astype(np.int32)


def run_network(design: DesignPoint, params: list[dict], image: np.ndarray) -> list[np.ndarray]:
    """All layer outputs for one uint8 HWC image."""
    outputs: list[np.ndarray] = []
    for layer, p in zip(design.layers, params):
        ins = [image if j == -1 else outputs[j] for j in layer.inputs]
        outputs.append(run_layer(layer, p, ins))
    return outputs


def predict(design: DesignPoint, params: list[dict], images: np.ndarray) -> np.ndarray:
    """Predicted class per image (argmax of the last layer, first index on ties)."""
    return np.array([int(np.argmax(run_network(design, params, im)[-1].reshape(-1))) for im in images])


# ---------------------------------------------------------------- weights: files and seeded random

def _layer_keys(i: int) -> dict[str, str]:
    return {"w": f"l{i}_w", "bias": f"l{i}_bias", "mult": f"l{i}_mult", "shift": f"l{i}_shift",
            "add_mult": f"l{i}_add_mult"}


def save_params(params: list[dict], path: str | Path) -> None:
    arrays = {}
    for i, p in enumerate(params):
        for key, name in _layer_keys(i).items():
            if key in p:
                arrays[name] = np.asarray(p[key])
    np.savez_compressed(path, **arrays)


def load_params(design: DesignPoint, path: str | Path) -> list[dict]:
    path = Path(path)
    if not path.is_file():
        raise CodesignError(f"{path}: integer weights not found; run `codesign train` or drop the "
                            f"'weights' field to use seeded random weights")
    data = np.load(path)
    params = []
    for i, layer in enumerate(design.layers):
        p = {key: data[name] for key, name in _layer_keys(i).items() if name in data}
        check_params(layer, p, i)
        params.append(p)
    return params


def weight_shape(layer: Layer) -> tuple[int, ...] | None:
    h, w, c = layer.in_shape
    oc = layer.out_shape[2]
    return {"conv": (oc, layer.kernel, layer.kernel, c), "dwconv": (oc, layer.kernel, layer.kernel, 1),
            "fc": (oc, 1, 1, h * w * c)}.get(layer.kind)


def check_params(layer: Layer, p: dict, i: int) -> None:
    shape = weight_shape(layer)
    oc = layer.out_shape[2]
    need = ["mult", "shift"] + (["w", "bias"] if shape else []) + (["add_mult"] if layer.kind == "add" else [])
    for key in need:
        if key not in p:
            raise CodesignError(f"weights: layer {i} ({layer.name!r}) has no '{key}'; re-export the weights")
    if shape and tuple(p["w"].shape) != shape:
        raise CodesignError(f"weights: layer {i} ({layer.name!r}) has w of shape {tuple(p['w'].shape)}, "
                            f"the design needs {shape}")
    if shape:
        lo, hi = weight_range(layer.w_bits)
        if p["w"].min() < lo or p["w"].max() > hi:
            raise CodesignError(f"weights: layer {i} ({layer.name!r}) has weights outside {layer.w_bits}-bit range")
    if len(p["mult"]) != oc or len(p["shift"]) != oc:
        raise CodesignError(f"weights: layer {i} ({layer.name!r}) needs {oc} multipliers and shifts")
    if p["mult"].min() < 0 or p["mult"].max() >= 1 << MULT_BITS or p["shift"].min() < 0 or p["shift"].max() > MAX_SHIFT:
        raise CodesignError(f"weights: layer {i} ({layer.name!r}) has a multiplier or shift out of range")


def choose_mult_shift(scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Integer (mult, shift) with mult / 2^shift ~= scale, mult in [2^14, 2^15) where possible."""
    scale = np.asarray(scale, dtype=np.float64)
    mult = np.zeros(scale.shape, np.int64)
    shift = np.zeros(scale.shape, np.int64)
    for idx, s in np.ndenumerate(scale):
        if s <= 0:
            continue
        sh = int(np.clip(np.floor(MULT_BITS - 1 - np.log2(s)), 0, MAX_SHIFT))
        m = int(round(s * 2.0 ** sh))
        while m >= 1 << MULT_BITS and sh > 0:
            sh -= 1
            m = int(round(s * 2.0 ** sh))
        mult[idx], shift[idx] = min(m, (1 << MULT_BITS) - 1), sh
    return mult, shift


def random_params(design: DesignPoint, seed: int = 0) -> list[dict]:
    """Seeded random integer weights with requantisers calibrated on a random image.

    Each layer's multiplier maps the 90th percentile of |accumulator| onto half its output
    range: outputs use the range, and the largest few saturate (the clamp is exercised).
    """
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, size=design.dataset.input_shape)
    params: list[dict] = []
    outputs: list[np.ndarray] = []
    for layer in design.layers:
        oc = layer.out_shape[2]
        p: dict = {}
        shape = weight_shape(layer)
        if shape:
            lo, hi = weight_range(layer.w_bits)
            p["w"] = rng.integers(lo, hi + 1, size=shape).astype(np.int8)
            p["bias"] = rng.integers(-64, 65, size=oc).astype(np.int32)
        if layer.kind == "add":
            p["add_mult"] = rng.integers(1 << 12, 1 << 14, size=2).astype(np.int32)
        p["mult"] = np.ones(oc, np.int32)
        p["shift"] = np.zeros(oc, np.int32)
        ins = [image if j == -1 else outputs[j] for j in layer.inputs]
        acc = accumulate(layer, p, ins).reshape(-1, oc).astype(np.float64)
        lo, hi = act_range(layer.a_bits, layer.signed_output)
        spread = np.percentile(np.abs(acc), 90, axis=0) + 1.0
        mult, shift = choose_mult_shift((hi + 1) / 2 / spread)
        p["mult"], p["shift"] = mult.astype(np.int32), shift.astype(np.int32)
        params.append(p)
        outputs.append(run_layer(layer, p, ins))
    return params
