"""Quantisers at a soft mixture of bitwidths that still cost one convolution and constant memory.

`mixed_weight_quant` mixes the per-channel fake-quantised weights of every width (weights are
small). `mixed_act_quant` is one fused autograd op: forward sums p_b * q_b(y) over widths and
saves only y; backward recomputes each width's codes, so memory does not grow with the number
of widths. Both follow codesign.quant (round half up, per-channel symmetric weights, unsigned
activations after ReLU, signed otherwise) with straight-through rounding; the activation scale
of width b is clip / qmax(b), and clip gets the LSQ/PACT gradient.
"""

from __future__ import annotations

import torch

from codesign.quant import act_bounds, fake_quant_weight


def mixed_weight_quant(w: torch.Tensor, probs: torch.Tensor, bits: tuple[int, ...]) -> torch.Tensor:
    out = probs[0] * fake_quant_weight(w, bits[0])
    for p, b in zip(probs[1:], bits[1:]):
        out = out + p * fake_quant_weight(w, b)
    return out


def _codes(y, clip, bits, signed):
    lo, hi = act_bounds(bits, signed)
    scale = clip / hi
    z = y / scale
    inside = (z >= lo) & (z <= hi)
    return torch.floor(torch.clamp(z, lo, hi) + 0.5), z, inside, scale, hi


class _MixedActQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, y, probs, clip, bits, signed):
        out = torch.zeros_like(y)
        for p, b in zip(probs, bits):
            r, _, _, scale, _ = _codes(y, clip, b, signed)
            out.add_(r * (scale * p))
        ctx.save_for_backward(y, probs, clip)
        ctx.bits, ctx.signed = bits, signed
        return out

    @staticmethod
    def backward(ctx, grad):
        y, probs, clip = ctx.saved_tensors
        grad_y = torch.zeros_like(y)
        grad_p = torch.zeros_like(probs)
        grad_clip = torch.zeros_like(clip)
        for i, b in enumerate(ctx.bits):
            r, z, inside, scale, hi = _codes(y, clip, b, ctx.signed)
            grad_y.add_(grad * inside * probs[i])
            grad_p[i] = (grad * r).sum() * scale
            grad_clip += probs[i] * (grad * (r - z * inside)).sum() / hi
        return grad_y, grad_p, grad_clip, None, None


def mixed_act_quant(y: torch.Tensor, probs: torch.Tensor, clip: torch.Tensor, bits: tuple[int, ...],
                    signed: bool) -> torch.Tensor:
    return _MixedActQuant.apply(y, probs, clip.abs().clamp_min(1e-3), tuple(bits), signed)
