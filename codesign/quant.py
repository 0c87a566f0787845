"""Fake quantisers that emulate the golden model's integer arithmetic (codesign.backend.golden).

Weights: symmetric per output channel, q in [-(2^(b-1) - 1), 2^(b-1) - 1], scale max|w| / qmax.
Activations: per tensor with a learned scale s; unsigned [0, 2^b - 1] after a ReLU, signed
[-2^(b-1), 2^(b-1) - 1] otherwise; rounding half up, as the requantiser rounds.
Rounding passes gradients straight through (STE); the clamp gives the scale its gradient
(as in PACT / LSQ). Bits may be a tensor, so one call can quantise at a soft mix of widths.
"""

from __future__ import annotations

import torch


def round_half_up_ste(x: torch.Tensor) -> torch.Tensor:
    return x + (torch.floor(x + 0.5) - x).detach()


def weight_qmax(bits) -> torch.Tensor | int:
    return 2 ** (bits - 1) - 1


def weight_scale(w: torch.Tensor, bits) -> torch.Tensor:
    """Per-output-channel scale, shaped to broadcast over w (channel first)."""
    amax = w.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-8)
    return (amax / weight_qmax(bits)).view(-1, *([1] * (w.dim() - 1)))


def fake_quant_weight(w: torch.Tensor, bits: int) -> torch.Tensor:
    s = weight_scale(w, bits)
    q = weight_qmax(bits)
    return torch.clamp(round_half_up_ste(w / s), -q, q) * s


def act_bounds(bits: int, signed: bool) -> tuple[int, int]:
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2 ** bits - 1)


def fake_quant_act(x: torch.Tensor, scale: torch.Tensor, bits: int, signed: bool) -> torch.Tensor:
    lo, hi = act_bounds(bits, signed)
    return round_half_up_ste(torch.clamp(x / scale, lo, hi)) * scale


def quantize_act_int(x: torch.Tensor, scale: float, bits: int, signed: bool) -> torch.Tensor:
    """The integer codes a float activation maps to (no gradient): for export and checks."""
    lo, hi = act_bounds(bits, signed)
    return torch.clamp(torch.floor(x / scale + 0.5), lo, hi).to(torch.int64)
