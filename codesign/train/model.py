"""The design's network as a torch module, built straight from its layer list.

`QuantNet` is a small graph executor over `design.layers`. Each layer is one module that takes
its input tensors and their scales and returns its output and its scale. Quantisation emulates
the golden model (codesign.backend.golden):

* the network input is uint8 / 255: scale 1/255, so its integer codes are the image itself;
* weights are fake-quantised per output channel at `w_bits` (codesign.quant);
* every layer's output is fake-quantised at its `a_bits` with a learned per-tensor scale,
  unsigned after a ReLU, signed otherwise; a pool whose output has its input's bits and
  signedness keeps its input's scale (so its requantiser is exact);
* conv/dwconv train with BatchNorm; in eval mode they run folded (w * g / sigma, bias), with the
  bias quantised to the accumulator's scale s_in * s_w as the export quantises it.

With `quantize=False` the same module is the float network (used for the float warm-up and the
float accuracy). With `exact=True` (eval mode, run on a float64 copy) every layer recovers its
integer accumulator and requantises it with the (mult, shift) the export writes, so its outputs
are golden.py's integers bit for bit; plain eval mode uses the real-valued scale ratios instead.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from codesign.backend.golden import choose_mult_shift
from codesign.design import DesignPoint, Layer
from codesign.quant import act_bounds, fake_quant_act, fake_quant_weight, round_half_up_ste, weight_scale

INPUT_SCALE = 1.0 / 255.0
CALIBRATION_QUANTILE = 0.999
ADD_MULT_BITS = 14  # add_mult are int16 in DRAM; the larger input's is 2^14


class ActQuant(nn.Module):
    """Per-tensor learned scale (stored as its log) for one layer's output."""

    def __init__(self, bits: int, signed: bool):
        super().__init__()
        self.bits, self.signed = bits, signed
        self.log_scale = nn.Parameter(torch.tensor(math.log(0.05)))

    @property
    def qmax(self) -> int:
        return act_bounds(self.bits, self.signed)[1]

    def calibrate(self, y: torch.Tensor) -> None:
        ref = y.detach().clamp_min(0) if not self.signed else y.detach().abs()
        flat = ref.flatten().float()
        if flat.numel() > 100_000:
            flat = flat[torch.randperm(flat.numel(), device=flat.device)[:100_000]]
        amax = torch.quantile(flat, CALIBRATION_QUANTILE).clamp_min(1e-4)
        self.log_scale.data.fill_(math.log(float(amax) / self.qmax))

    def forward(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scale = self.log_scale.exp()
        return fake_quant_act(y, scale, self.bits, self.signed), scale


class LayerOp(nn.Module):
    """Base of one layer: holds its output quantiser (or ties its scale to the input's)."""

    def __init__(self, layer: Layer, in_bits: int, in_signed: bool):
        super().__init__()
        self.layer = layer
        tied = layer.kind in ("maxpool", "avgpool") and in_bits == layer.a_bits and in_signed == layer.signed_output
        self.act = None if tied else ActQuant(layer.a_bits, layer.signed_output)

    def compute(self, xs: list[torch.Tensor], scales: list[torch.Tensor], quantize: bool, exact: bool) -> torch.Tensor:
        raise NotImplementedError

    def acc_scale(self, scales: list[torch.Tensor]) -> np.ndarray:
        """Per output channel, the real value of one unit of the layer's int32 accumulator."""
        raise NotImplementedError

    def requantizer(self, scales: list[torch.Tensor], s_out: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(mult, shift) per output channel, as the export writes them."""
        return choose_mult_shift(self.acc_scale(scales) / float(s_out))

    def requantize_exact(self, y: torch.Tensor, scales, s_out: torch.Tensor) -> torch.Tensor:
        """golden.requantize on the accumulator that y represents (call in float64)."""
        unit = torch.as_tensor(self.acc_scale(scales), dtype=y.dtype, device=y.device).view(1, -1, 1, 1)
        mult, shift = (torch.as_tensor(v, dtype=y.dtype, device=y.device).view(1, -1, 1, 1)
                       for v in self.requantizer(scales, s_out))
        acc = torch.round(y / unit)
        rounding = torch.where(shift > 0, 2.0 ** (shift - 1), 0.0)
        lo, hi = act_bounds(self.layer.a_bits, self.layer.signed_output)
        return torch.clamp(torch.floor((acc * mult + rounding) * 2.0 ** -shift), lo, hi) * s_out

    def forward(self, xs, scales, quantize: bool, calibrating: bool, exact: bool = False):
        y = self.compute(xs, scales, quantize, exact)
        if self.layer.relu:
            y = F.relu(y)
        if not quantize:
            return y, None
        if self.act is None:
            s_out = scales[0]
        else:
            if calibrating:
                self.act.calibrate(y)
            s_out = self.act.log_scale.exp()
        if exact:
            return self.requantize_exact(y, scales, s_out), s_out
        return fake_quant_act(y, s_out, self.layer.a_bits, self.layer.signed_output), s_out


class GemmOp(LayerOp):
    """conv / dwconv (with BatchNorm while training) or fc; input flattened in HWC order."""

    def __init__(self, layer: Layer, in_bits: int, in_signed: bool):
        super().__init__(layer, in_bits, in_signed)
        h, w, c = layer.in_shape
        oc = layer.out_shape[2]
        if layer.kind == "fc":
            self.weight = nn.Parameter(torch.empty(oc, h * w * c))
            self.bias = nn.Parameter(torch.zeros(oc))
            self.bn = None
        else:
            groups = c if layer.kind == "dwconv" else 1
            self.weight = nn.Parameter(torch.empty(oc, c // groups, layer.kernel, layer.kernel))
            self.bias = None
            self.bn = nn.BatchNorm2d(oc)
        nn.init.kaiming_normal_(self.weight, nonlinearity="relu")

    @property
    def groups(self) -> int:
        return self.layer.in_shape[2] if self.layer.kind == "dwconv" else 1

    def folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Weights and bias with BatchNorm (running statistics) folded in."""
        if self.bn is None:
            return self.weight, self.bias
        bn = self.bn
        a = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        return self.weight * a.view(-1, 1, 1, 1), bn.bias - bn.running_mean * a

    def linear(self, x: torch.Tensor, w: torch.Tensor, b: torch.Tensor | None) -> torch.Tensor:
        if self.layer.kind == "fc":
            return F.linear(x.permute(0, 2, 3, 1).flatten(1), w, b)[:, :, None, None]
        return F.conv2d(x, w, b, stride=self.layer.stride, padding=self.layer.padding, groups=self.groups)

    def weight_scale(self) -> torch.Tensor:
        return weight_scale(self.folded()[0], self.layer.w_bits).flatten()

    def acc_scale(self, scales):
        return float(scales[0]) * self.weight_scale().detach().double().cpu().numpy()

    def compute(self, xs, scales, quantize, exact):
        x = xs[0]
        train_bn = self.bn is not None and self.training
        if train_bn:
            w = fake_quant_weight(self.weight, self.layer.w_bits) if quantize else self.weight
            return self.bn(self.linear(x, w, None))
        w, b = self.folded()
        if not quantize:
            return self.linear(x, w, b)
        acc_scale = scales[0] * self.weight_scale()
        b = round_half_up_ste(b / acc_scale) * acc_scale
        return self.linear(x, fake_quant_weight(w, self.layer.w_bits), b)


class PoolOp(LayerOp):
    def acc_scale(self, scales):
        h, w, c = self.layer.in_shape
        per_unit = float(scales[0]) / (h * w if self.layer.kind == "avgpool" else 1)  # avgpool accumulates the sum
        return np.full(c, per_unit)

    def compute(self, xs, scales, quantize, exact):
        if self.layer.kind == "avgpool":
            return xs[0].mean(dim=(2, 3), keepdim=True)
        return F.max_pool2d(xs[0], self.layer.kernel, self.layer.stride, self.layer.padding)


def add_multipliers(s_a: float, s_b: float) -> tuple[np.ndarray, float]:
    """Integer input multipliers of an add (the larger scale's is 2^14) and the value of one unit."""
    big = max(s_a, s_b)
    return np.array([round(s / big * 2 ** ADD_MULT_BITS) for s in (s_a, s_b)], np.int64), big / 2 ** ADD_MULT_BITS


class AddOp(LayerOp):
    def acc_scale(self, scales):
        return np.full(self.layer.out_shape[2], add_multipliers(float(scales[0]), float(scales[1]))[1])

    def compute(self, xs, scales, quantize, exact):
        if not exact:
            return xs[0] + xs[1]
        mults, unit = add_multipliers(float(scales[0]), float(scales[1]))
        return sum(torch.round(x / s) * int(m) * unit for x, s, m in zip(xs, scales, mults))


def make_op(design: DesignPoint, layer: Layer) -> LayerOp:
    j = layer.inputs[0]
    in_bits = 8 if j == -1 else design.layers[j].a_bits
    in_signed = False if j == -1 else design.layers[j].signed_output
    cls = {"conv": GemmOp, "dwconv": GemmOp, "fc": GemmOp, "avgpool": PoolOp, "maxpool": PoolOp, "add": AddOp}
    return cls[layer.kind](layer, in_bits, in_signed)


class QuantNet(nn.Module):
    """forward(images NCHW in [0, 1]) -> logits (N, classes) of the last layer."""

    def __init__(self, design: DesignPoint):
        super().__init__()
        self.design = design
        self.ops = nn.ModuleList(make_op(design, layer) for layer in design.layers)
        self.quantize = True
        self.calibrating = False
        self.exact = False  # eval only: requantise with the exported (mult, shift); run in float64

    def run(self, images: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor | None]]:
        """Every layer's output (NCHW, dequantised) and its scale."""
        x0 = images
        s0 = torch.tensor(INPUT_SCALE, device=images.device, dtype=images.dtype)
        outs: list[torch.Tensor] = []
        scales: list[torch.Tensor | None] = []
        for layer, op in zip(self.design.layers, self.ops):
            xs = [x0 if j == -1 else outs[j] for j in layer.inputs]
            ss = [s0 if j == -1 else scales[j] for j in layer.inputs]
            y, s = op(xs, ss, self.quantize, self.calibrating, self.exact and self.quantize and not self.training)
            outs.append(y)
            scales.append(s)
        return outs, scales

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.run(images)[0][-1].flatten(1)

    @torch.no_grad()
    def calibrate(self, images: torch.Tensor) -> None:
        """Set every learned activation scale from a batch (quantile of the layer's output)."""
        self.quantize, self.calibrating = True, True
        self.run(images)
        self.calibrating = False
