"""Integer export: a trained QuantNet -> per-layer params in golden.py's format.

Per layer, with s_in the input's scale, s_w the per-channel weight scale and s_out the output's:
  conv/dwconv/fc: w = the fake quantiser's integer codes of the BN-folded weights (golden layout),
                  bias = round(b / (s_in * s_w)), (mult, shift) = choose_mult_shift(s_in * s_w / s_out);
  maxpool:        (mult, shift) realise s_in / s_out;
  avgpool:        (mult, shift) realise s_in / (H * W * s_out) (the accumulator is the sum);
  add:            add_mult = s_a, s_b relative to the larger, times 2^14; (mult, shift) the rest.
The ratios come from the layer modules (acc_scale, requantizer), which the model's exact eval
mode uses too, so the export and the emulation cannot drift apart.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from codesign.backend.golden import weight_range
from codesign.quant import weight_qmax, weight_scale
from codesign.train.model import INPUT_SCALE, GemmOp, QuantNet, add_multipliers

INT32 = np.iinfo(np.int32)


@torch.no_grad()
def layer_scales(model: QuantNet) -> tuple[float, list[float]]:
    """(input scale, every layer's output scale) as float64."""
    was = (model.training, model.quantize)
    model.eval()
    model.quantize = True
    h, w, c = model.design.dataset.input_shape
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    _, scales = model.run(torch.zeros(1, c, h, w, device=device, dtype=dtype))
    model.train(was[0])
    model.quantize = was[1]
    return INPUT_SCALE, [float(s) for s in scales]


@torch.no_grad()
def gemm_weights(op: GemmOp) -> tuple[np.ndarray, np.ndarray]:
    """(integer weights in golden layout, folded float bias)."""
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
    return codes.cpu().numpy().astype(np.int8), b.double().cpu().numpy()


def export_params(model: QuantNet) -> list[dict]:
    """Integer params of every layer; computed in float64, as the model's exact mode runs."""
    model = copy.deepcopy(model).double()
    design = model.design
    s_input, s_out = layer_scales(model)
    params: list[dict] = []
    for layer, op in zip(design.layers, model.ops):
        s_in = [s_input if j == -1 else s_out[j] for j in layer.inputs]
        p: dict = {}
        if isinstance(op, GemmOp):
            p["w"], b = gemm_weights(op)
            p["bias"] = np.clip(np.floor(b / op.acc_scale(s_in) + 0.5), INT32.min, INT32.max).astype(np.int32)
        if layer.kind == "add":
            p["add_mult"] = add_multipliers(*s_in)[0].astype(np.int32)
        mult, shift = op.requantizer(s_in, s_out[len(params)])
        p["mult"], p["shift"] = mult.astype(np.int32), shift.astype(np.int32)
        params.append(p)
    return params
