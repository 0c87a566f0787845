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
  These two constants are the controller's; tests/test_rtl_sim.py compares the model's layer
  cycles with the RTL's counters exactly.
* Non-GEMM layers (pool, add) run on the chunk's C vector lanes, one output channel per lane:
  per output pixel ceil(out_c / C) groups of (vec_elems / outputs) reduction steps (the pool
  window, the global-pool pixels, 1 for add) plus VECTOR_OVERHEAD: `vector_cycles`.
* The RTL's schedule per layer is sequential, and `layer_cycles` describes exactly it:
  load each input tensor, then the layer's parameter block (weights padded to 64 bytes, then 8
  bytes per output channel; 8 more for add), compute, drain (OS: the last fold's R rows of
  results through the requantisers), store the output. Each AXI transfer (`transfer_cycles`)
  moves 64-byte bursts, one at a time, of `bytes_per_cycle`-byte beats: DMA_OVERHEAD cycles to
  start and finish it, and per burst its beats (beat_cycles apart: the memory's bandwidth cap)
  plus READ_HANDSHAKE + the memory's read latency (AR to first R beat), or WRITE_HANDSHAKE + its
  write latency (last W beat to B). The memory's timing (`MemoryTiming`) comes from the target
  file (`memory_timing`); these constants are the DMA's (templates/verilog/rtl/axi_dma.v), and
  tests/test_rtl_sim.py holds the sum to the RTL's counters under several memory timings.
  Activations go back to DRAM after every layer; there is no overlap of transfers and compute.
  With random backpressure the RTL takes at least these cycles and at most these plus one
  cycle per stalled handshake (the simulated memory counts them), the bound `codesign sim` checks.
* A layer whose activations (inputs + output) or parameters do not fit act_buf / wgt_buf is
  rejected by the Verilog backend (it does not tile); the model charges such a layer the DRAM
  traffic of re-reading its spilled operands (weights_outer: the input once per weight tile;
  inputs_outer: the weights once per input tile), so that the search avoids them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

try:  # torch is a dependency, but the exact path must not need it
    import torch
except ImportError:  # pragma: no cover
    torch = None

FOLD_OVERHEAD = 3    # cycles per fold beyond SCALE-Sim's P: the block RAM's read, the operand register, the array's output register
LAYER_OVERHEAD = 5   # cycles per GEMM layer: controller start/end, the requantiser pipeline
VECTOR_OVERHEAD = 6  # the same for a pool/add layer on the vector lanes (one more: the buffer's registered read)
DMA_OVERHEAD = 3     # cycles to start one AXI transfer (a tensor or a parameter block) and see it done
READ_HANDSHAKE = 1   # per read burst: the cycle axi_dma takes to raise ARVALID
WRITE_HANDSHAKE = 2  # per write burst: the cycle to raise AWVALID, the cycle from AW to the first W beat
BURST_BYTES = 64     # one AXI burst moves one 64-byte block (the IR aligns every region to it)
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
    vec_c: object = 0  # output channels of a pool/add layer (its vector groups are per pixel); 0 for GEMMs

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


def vector_cycles(cols, vec_elems, out_elems=None, out_c=None):
    """Cycles of a pool/add layer on C lanes: per output pixel ceil(out_c / C) groups (lane j takes
    channel c0 + j), each of vec_elems / outputs steps.

    Without out_elems every element is its own output (one step each); without out_c (or 0) the
    outputs are one pixel of out_elems channels."""
    xp = _xp(cols, vec_elems)
    outs = vec_elems if out_elems is None else out_elems
    chans = outs if out_c is None else xp.where(out_c > 0, out_c, outs)
    steps = vec_elems // maximum(outs, 1)
    groups = (outs // maximum(chans, 1)) * ceil_div(chans, cols)
    return xp.where(vec_elems > 0, groups * steps + VECTOR_OVERHEAD, 0)


@dataclass(frozen=True)
class MemoryTiming:
    """The DRAM as the accelerator's AXI masters see it (sim/hdl/axi_mem_port.v simulates it)."""

    read_latency: int = 2    # cycles from the AR handshake to the first R beat (>= 1)
    write_latency: int = 2   # cycles from the last W beat to BVALID (>= 1)
    beat_cycles: int = 1     # cycles per data beat within a burst (>= 1; > 1 where the DRAM caps the port)


def memory_timing(target) -> MemoryTiming:
    """The target file's DRAM latencies; the beat rate from its bandwidth against the AXI width."""
    beat_bytes = target.axi_data_bits // 8
    return MemoryTiming(read_latency=target.dram_read_latency_cycles, write_latency=target.dram_write_latency_cycles,
                        beat_cycles=max(1, -(-beat_bytes // max(1, int(target.dram_bytes_per_cycle)))))


def transfer_cycles(nbytes, bytes_per_cycle, burst_overhead, beat_cycles=1):
    """Cycles of one AXI transfer of nbytes (0 bytes: no transfer): bursts of BURST_BYTES, one at
    a time, each burst_overhead cycles plus its beats, beat_cycles apart."""
    xp = _xp(nbytes)
    beats, bursts = ceil_div(nbytes, bytes_per_cycle), ceil_div(nbytes, BURST_BYTES)
    cycles = beats + (beat_cycles - 1) * (beats - bursts) + burst_overhead * bursts + DMA_OVERHEAD
    return xp.where(nbytes > 0, cycles, 0)


def dram_bytes_per_cycle(target) -> int:
    """Whole bytes per accelerator cycle: the AXI port width, capped by the DRAM's bandwidth."""
    return max(1, min(target.axi_data_bits // 8, int(target.dram_bytes_per_cycle)))


def layer_cycles(layers: LayerArrays, rows, cols, ws, act_buf_bytes, wgt_buf_bytes,
                 weights_outer, first_in_chunk, last_in_chunk, bytes_per_cycle, memory: MemoryTiming = MemoryTiming()):
    """Cycles of each layer on its chunk; all chunk arguments broadcast against the layers.

    bytes_per_cycle is the AXI beat's bytes, memory the DRAM's timing (`memory_timing(target)`).

    Returns (total, compute, dram) cycles, each broadcast to the common shape.
    """
    L = layers
    xp = _xp(L.m, rows, cols, act_buf_bytes)
    gemm = L.g > 0
    compute = (array_cycles(rows, cols, ws, L.m, L.n, L.k, L.g) + xp.where(gemm & ~ws, rows, 0)
               + vector_cycles(cols, L.vec_elems, L.out_bytes, L.vec_c))

    # the sequential schedule: each input tensor, the parameter block, compute, the output
    # an add reads two tensors of its output's size (LayerArrays has no kind: in = 2 out = 2 vec)
    is_add = ~gemm & (L.in_bytes == 2 * L.out_bytes) & (L.vec_elems == L.out_bytes)
    n_in = xp.where(is_add, 2, 1)
    read = READ_HANDSHAKE + memory.read_latency
    loads = n_in * transfer_cycles(L.in_bytes // n_in, bytes_per_cycle, read, memory.beat_cycles) \
        + transfer_cycles(L.w_bytes, bytes_per_cycle, read, memory.beat_cycles)
    store = transfer_cycles(L.out_bytes, bytes_per_cycle, WRITE_HANDSHAKE + memory.write_latency, memory.beat_cycles)

    # operands that do not fit the buffers: the extra traffic of re-reading them
    half_wgt = maximum(wgt_buf_bytes // 2, 1)
    w_tiles = maximum(ceil_div(L.w_bytes, half_wgt), 1)
    in_tiles = maximum(ceil_div(L.in_bytes, maximum(act_buf_bytes // 2, 1)), 1)
    fits = ((L.in_bytes + L.out_bytes) <= act_buf_bytes) & (L.w_bytes <= wgt_buf_bytes)
    reread = xp.where(weights_outer, L.in_bytes * (w_tiles - 1), L.w_bytes * (in_tiles - 1))
    spill = xp.where(fits, 0, ceil_div(reread, bytes_per_cycle))

    dram = loads + store + spill
    total = compute + dram
    return total, compute, dram
