"""Integer export: a trained QuantNet -> per-layer params in golden.py's format.

Per layer, with s_in the input's scale, s_w the per-channel weight scale and s_out the output's:
  conv/dwconv/fc: w = the fake quantiser's integer codes of the BN-folded weights (golden layout),
                  bias = round(b / (s_in * s_w)), (mult, shift) = choose_mult_shift(s_in * s_w / s_out);
  maxpool:        (mult, shift) realise s_in / s_out;
  avgpool:        (mult, shift) realise s_in / (H * W * s_out) (the accumulator is the sum);
  add:            add_mult = s_a, s_b relative to the larger, times 2^14; (mult, shift) the rest.
"""

from __future__ import annotations

import numpy as np
import torch

from codesign.backend.golden import choose_mult_shift, weight_range
from codesign.quant import weight_qmax, weight_scale
from codesign.train.model import INPUT_SCALE, GemmOp, QuantNet

ADD_MULT_BITS = 14  # add_mult are int16 in DRAM; the larger input's is 2^14
INT32 = np.iinfo(np.int32)


@torch.no_grad()
def layer_scales(model: QuantNet) -> tuple[float, list[float]]:
    """(input scale, every layer's output scale) as float64."""
    was = (model.training, model.quantize)
    model.eval()
    model.quantize = True
    h, w, c = model.design.dataset.input_shape
    device = next(model.parameters()).device
    _, scales = model.run(torch.zeros(1, c, h, w, device=device))
    model.train(was[0])
    model.quantize = was[1]
    return INPUT_SCALE, [float(s) for s in scales]


@torch.no_grad()
def gemm_weights(op: GemmOp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(integer weights in golden layout, per-channel weight scale, folded float bias)."""
    w, b = op.folded()
    bits = op.layer.w_bits
    s_w = weight_scale(w, bits)
    q = weight_qmax(bits)
    codes = torch.clamp(torch.floor(w / s_w + 0.5), -q, q)
    if op.layer.kind == "fc":
        codes = codes[:, None, None, :]
    else:
        codes = codes.permute(0, 2, 3, 1)  # (N, Cin, kh, kw) -> (N, kh, kw, Cin)
    lo, hi = weight_range(bits)
    assert lo <= codes.min() and codes.max() <= hi
    return (codes.cpu().numpy().astype(np.int8), s_w.flatten().double().cpu().numpy(),
            b.double().cpu().numpy())


def requantizer(scale) -> dict:
    mult, shift = choose_mult_shift(np.asarray(scale, np.float64))
    return {"mult": mult.astype(np.int32), "shift": shift.astype(np.int32)}


def export_params(model: QuantNet) -> list[dict]:
    design = model.design
    s_input, s_out = layer_scales(model)
    params: list[dict] = []
    for i, (layer, op) in enumerate(zip(design.layers, model.ops)):
        s_in = [s_input if j == -1 else s_out[j] for j in layer.inputs]
        oc = layer.out_shape[2]
        if isinstance(op, GemmOp):
            w, s_w, b = gemm_weights(op)
            acc_scale = s_in[0] * s_w
            bias = np.clip(np.floor(b / acc_scale + 0.5), INT32.min, INT32.max).astype(np.int32)
            p = {"w": w, "bias": bias, **requantizer(acc_scale / s_out[i])}
        elif layer.kind == "maxpool":
            p = requantizer(np.full(oc, s_in[0] / s_out[i]))
        elif layer.kind == "avgpool":
            h, w_, _ = layer.in_shape
            p = requantizer(np.full(oc, s_in[0] / (h * w_ * s_out[i])))
        else:  # add
            big = max(s_in)
            add_mult = np.array([round(s / big * 2 ** ADD_MULT_BITS) for s in s_in], np.int32)
            p = {"add_mult": add_mult, **requantizer(np.full(oc, big / 2 ** ADD_MULT_BITS / s_out[i]))}
        params.append(p)
    return params
