"""The analytical cost model of the chunk-based systolic accelerator: one implementation.

Every function here is written once over an array namespace: pass numpy arrays (int64) for the
exact path, torch tensors for the search (the search weights these exact integer costs by its
Gumbel-softmax probabilities, so gradients flow through the probabilities, see
`codesign.search`). All arguments broadcast, so one call scores many layers on many
accelerator candidates at once.

Cycle model of one layer on one chunk (rows R, cols C, dataflow OS or WS):

* GEMM view (SCALE-Sim's): output M x N, reduction K, G independent GEMMs (depthwise: G =
  channels, N = 1). OS keeps outputs in the PEs: (Sr, Sc, T) = (M, N, K); WS keeps weights:
  (Sr, Sc, T) = (K, N, M). Folds F = ceil(Sr/R) * ceil(Sc/C).
* SCALE-Sim's compute cycles: G * F * P - 1 with P = R + C + T - 2 (OS) or 2R + C + T - 2 (WS):
  `scalesim_compute_cycles`, the figure tests compare with SCALE-Sim.
* Our array runs each fold in the same P cycles plus FOLD_OVERHEAD cycles the controller spends
  between folds (draining the OS accumulators through the requantiser row by row / reloading
  WS weights), and LAYER_OVERHEAD cycles per layer (start, last write-back): `array_cycles`.
  These two constants are what the RTL measures; `tests/test_rtl_cycles.py` holds them to it.
* Non-GEMM layers (pool, add) stream through the chunk's C-lane post-processing unit.
* DRAM: weights (1 byte per weight whatever its bits, plus 8 bytes of bias/requant per output
  channel) are fetched per layer, double-buffered, so they overlap the previous layer's compute
  except the first tile of the chunk's first layer; activations stay on chip when the layer's
  input and output fit `act_buf`, else they spill and are re-read once per weight tile.
  Layer cycles = max(array, dram) + exposed first-tile load.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

try:  # torch is a dependency, but the exact path must not need it
    import torch
except ImportError:  # pragma: no cover
    torch = None

FOLD_OVERHEAD = 0    # cycles between folds beyond SCALE-Sim's P (calibrated against the RTL)
LAYER_OVERHEAD = 8   # cycles per layer: controller start + pipeline flush of the last fold
VECTOR_OVERHEAD = 4  # cycles per pool/add layer beyond ceil(elements / C)
PARAM_BYTES_PER_CHANNEL = 8  # int32 bias, uint16 multiplier, uint8 shift, 1 pad byte

KIND_CODES = {"conv": 0, "dwconv": 1, "fc": 2, "avgpool": 3, "maxpool": 4, "add": 5}


def _xp(*arrays):
    if torch is not None and any(isinstance(a, torch.Tensor) for a in arrays):
        return torch
    return np


def ceil_div(a, b):
    return (a + b - 1) // b


def _pair(a, b):
    """torch's maximum/minimum take tensors only: lift a Python number to the other's device."""
    if torch is not None and isinstance(a, torch.Tensor) and not isinstance(b, torch.Tensor):
        return a, torch.as_tensor(b, device=a.device)
    if torch is not None and isinstance(b, torch.Tensor) and not isinstance(a, torch.Tensor):
        return torch.as_tensor(a, device=b.device), b
    return a, b


def maximum(a, b):
    return _xp(a, b).maximum(*_pair(a, b))


def minimum(a, b):
    return _xp(a, b).minimum(*_pair(a, b))


@dataclass
class LayerArrays:
    """Per-layer figures the cost model needs, as broadcastable arrays (one entry per layer)."""

    m: object          # GEMM M (output pixels); 0 for non-GEMM layers
    n: object          # GEMM N (output channels)
    k: object          # GEMM K (reduction)
    g: object          # independent GEMMs (depthwise groups); 0 for non-GEMM layers
    vec_elems: object  # elements through the post-processing unit for pool/add; 0 for GEMMs
    in_bytes: object   # input activation bytes (all inputs)
    out_bytes: object  # output activation bytes
    w_bytes: object    # weight + parameter bytes
    macs: object
    w_bits: object     # 0 for layers without weights
    a_bits: object     # bits of the input activation

    def to(self, xp_name: str, device=None) -> "LayerArrays":
        conv = (lambda v: torch.as_tensor(np.asarray(v), device=device)) if xp_name == "torch" \
            else np.asarray
        return LayerArrays(**{f.name: conv(getattr(self, f.name)) for f in fields(self)})

    def select(self, idx) -> "LayerArrays":
        return LayerArrays(**{f.name: getattr(self, f.name)[idx] for f in fields(self)})


def scalesim_compute_cycles(rows, cols, ws, m, n, k, g=1):
    """SCALE-Sim's compute cycles (Total - Stall) for G GEMMs of M x N x K on an R x C array."""
    xp = _xp(rows, cols, ws, m, n, k)
    sr = xp.where(ws, k, m)
    t = xp.where(ws, m, k)
    folds = ceil_div(sr, rows) * ceil_div(n, cols)
    per_fold = xp.where(ws, 2 * rows, rows) + cols + t - 2
    return g * folds * per_fold - 1


def array_cycles(rows, cols, ws, m, n, k, g):
    """Cycles our array spends computing a GEMM layer (0 where g == 0)."""
    xp = _xp(rows, cols, ws, m, n, k, g)
    sr = xp.where(ws, k, m)
    t = xp.where(ws, m, k)
    folds = g * ceil_div(sr, rows) * ceil_div(n, cols)
    per_fold = xp.where(ws, 2 * rows, rows) + cols + t - 2 + FOLD_OVERHEAD
    return xp.where(g > 0, folds * per_fold + LAYER_OVERHEAD, 0)


def vector_cycles(cols, vec_elems):
    xp = _xp(cols, vec_elems)
    return xp.where(vec_elems > 0, ceil_div(vec_elems, cols) + VECTOR_OVERHEAD, 0)


def dram_bytes_per_cycle(target) -> int:
    """Whole bytes per accelerator cycle: the AXI port width, capped by the DRAM's bandwidth."""
    return max(1, min(target.axi_data_bits // 8, int(target.dram_bytes_per_cycle)))


def layer_cycles(layers: LayerArrays, rows, cols, ws, act_buf_bytes, wgt_buf_bytes,
                 weights_outer, first_in_chunk, last_in_chunk, bytes_per_cycle):
    """Cycles of each layer on its chunk; all chunk arguments broadcast against the layers.

    Returns (total, compute, dram) cycles, each broadcast to the common shape.
    """
    L = layers
    xp = _xp(L.m, rows, cols, act_buf_bytes)
    compute = array_cycles(rows, cols, ws, L.m, L.n, L.k, L.g) + vector_cycles(cols, L.vec_elems)

    half_wgt = maximum(wgt_buf_bytes // 2, 1)           # double-buffered weight tiles
    w_tiles = maximum(ceil_div(L.w_bytes, half_wgt), 1)
    fits = (L.in_bytes + L.out_bytes) <= act_buf_bytes
    # Spilled activations: weights_outer re-reads the input per weight tile; inputs_outer
    # re-reads the weights per input tile (input tiles of half the activation buffer).
    in_tiles = maximum(ceil_div(L.in_bytes, maximum(act_buf_bytes // 2, 1)), 1)
    spill_in = xp.where(weights_outer, L.in_bytes * w_tiles, L.in_bytes)
    spill_w = xp.where(weights_outer, L.w_bytes, L.w_bytes * in_tiles)
    in_traffic = xp.where(fits, xp.where(first_in_chunk, L.in_bytes, 0), spill_in)
    out_traffic = xp.where(fits & ~last_in_chunk, 0, L.out_bytes)
    w_traffic = xp.where(fits, L.w_bytes, spill_w)
    dram = ceil_div(in_traffic + out_traffic + w_traffic, bytes_per_cycle)

    first_tile = minimum(L.w_bytes, half_wgt) + xp.where(first_in_chunk, minimum(L.in_bytes, act_buf_bytes // 2), 0)
    exposed = xp.where(first_in_chunk, ceil_div(first_tile, bytes_per_cycle), 0)
    total = maximum(compute, dram) + exposed
    return total, compute, dram
