"""The analytical cost model of the chunk-based systolic accelerator: one implementation.

Every function here is written once over an array namespace: pass numpy arrays (int64) for the
exact path, torch tensors for the search (the search weights these exact integer costs by its
Gumbel-softmax probabilities, so gradients flow through the probabilities, see
`codesign.search`). All arguments broadcast, so one call scores many layers on many
accelerator candidates at once.

Cycle model of one layer on one chunk (rows R, cols C, dataflow OS or WS):

* GEMM view (SCALE-Sim's): output M x N, reduction K, G independent GEMMs (depthwise: G =
  channels, N = 1). OS keeps outputs in the PEs: (Sr, Sc, T) = (M, N, K); WS keeps weights:
  (Sr, Sc, T) = (K, N, M). Folds F = ceil(Sr/R) * ceil(Sc/C). Our array runs a depthwise layer
  on OS as one GEMM of N = channels, K = taps in which each PE reads its own channel's
  activation (`engine_view`); `tile_plan` and `layer_cycles` price that view.
* SCALE-Sim's compute cycles: G * F * P - 1 with P = R + C + T - 2 (OS) or 2R + C + T - 2 (WS):
  `scalesim_compute_cycles`, the figure tests compare with SCALE-Sim.
* Our array runs each WS fold in the same P cycles plus FOLD_OVERHEAD cycles (the block RAM's
  read, the operand register, the PE's output register), and OS folds back to back: a fold's
  operands follow the previous fold's at once, so folds are max(T, R + C - 2 + FOLD_OVERHEAD)
  apart; LAYER_OVERHEAD cycles per layer (start, last write-back): `array_cycles`.
  These two constants are the controller's; tests/test_rtl_sim.py compares the model's layer
  cycles with the RTL's counters exactly.
* Non-GEMM layers (pool, add) run on the chunk's C vector lanes, one output channel per lane:
  per output pixel ceil(out_c / C) groups of (vec_elems / outputs) reduction steps (the pool
  window, the global-pool pixels, 1 for add) plus VECTOR_OVERHEAD: `vector_cycles`.
* The RTL's schedule per layer is sequential, and `layer_cycles` describes exactly it:
  load each input tensor, then the layer's parameter block (weights padded to 64 bytes, then 8
  bytes per output channel; ADD_HEAD_BYTES more for add), compute, drain (OS: the last fold's R rows of
  results through the requantisers, 2R for a layer of two MACs per PE), store the output.
* A dense GEMM layer of weights of at most PACK_BITS bits on an OS chunk does two MACs per PE a
  cycle (`pe_macs`): each column runs two output channels, so a fold covers 2C of them. Each AXI transfer (`transfer_cycles`)
  moves 64-byte bursts of `bytes_per_cycle`-byte beats with up to `dma_outstanding` bursts in
  flight (DMA_WINDOW_BEATS beats): DMA_OVERHEAD cycles to start and finish it, READ_HANDSHAKE
  (WRITE_HANDSHAKE) cycles to its first address (first W beat), the memory's read (write)
  latency, then the beats, beat_cycles apart, as one stream while the window hides the latency;
  otherwise each group of `dma_outstanding` bursts takes (burst beats - 1) x beat_cycles + the
  latency + READ_TURN (WRITE_TURN): the cycles from a burst's last R beat (its B response) to the
  first beat of the burst that reuses its place in the window. The memory's timing
  (`MemoryTiming`) comes from the target file (`memory_timing`); these constants are the DMA's
  (templates/verilog/rtl/axi_dma.v), and tests/test_rtl_sim.py holds the sum to the RTL's
  counters under several memory timings, latencies below and above what the window hides.
  A layer's output stays in the activation buffer for the next layer of its chunk when that
  layer reads only it and both are untiled (`on_chip`): the next layer skips its load, and the
  output is not stored unless another layer (or the host) reads it. The next layer's parameter
  block loads during this layer's compute where `prefetch` allows; every other transfer runs in
  sequence with the compute.
  With random backpressure the RTL takes at least these cycles and at most these plus one
  cycle per stalled handshake (the simulated memory counts them), the bound `codesign sim` checks.
* A layer whose activations (inputs + output) or parameters do not fit act_buf / wgt_buf runs in
  tiles (`tile_plan`, the one rule the IR lowers and this model prices): input tiles are bands of
  output rows (each loads only the input rows it needs), weight tiles are slices of output
  channels (each one contiguous parameter block). A layer runs as bands x slices sub-layers in
  the chunk's loop order; `layer_cycles` is the exact sum of its sub-layers' cycles (closed form
  over the band and slice classes). A layer no tiling fits costs INFEASIBLE_CYCLES.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

try:  # torch is a dependency, but the exact path must not need it
    import torch
except ImportError:  # pragma: no cover
    torch = None

FOLD_OVERHEAD = 3    # cycles per fold beyond SCALE-Sim's P: the block RAM's read, the operand register, the array's output register
LAYER_OVERHEAD = 5   # cycles per GEMM layer: controller start/end, the requantiser pipeline
VECTOR_OVERHEAD = 7  # the same for a pool/add layer on the vector lanes (two more: the buffer's registered read, the lanes' operand registers)
DMA_OVERHEAD = 3     # cycles to start one AXI transfer (a tensor or a parameter block) and see it done
READ_HANDSHAKE = 1   # per read transfer: the cycle axi_dma takes to raise its first ARVALID
WRITE_HANDSHAKE = 2  # per write transfer: the cycle to raise AWVALID, the one more the first W beat takes (the buffer's read)
READ_TURN = 1        # from a read burst's last R beat to the AR handshake of the burst that takes its window place
WRITE_TURN = 2       # from a B response to the first W beat of the burst that takes its window place
DMA_WINDOW_BEATS = 64  # beats in flight: dma_outstanding = 64 / beats per burst (8 bursts at 64 bits, 16 at 128)
BURST_BYTES = 64     # one AXI burst moves one 64-byte block (the IR aligns every region to it)
PARAM_BYTES_PER_CHANNEL = 8  # int32 bias, uint16 multiplier, uint8 shift, 1 pad byte
ADD_HEAD_BYTES = 16  # an add's two int16 input multipliers, padded to one beat of the widest (128-bit) AXI port,
                     # so that its records start on a beat (the RTL writes whole beats of records)
NO_LOAD_CYCLES = 1   # a table row that loads nothing (input on chip, parameters prefetched): the sequencer's look at its flags
PREFETCH_COMPUTE_LAG = 0  # a prefetching layer's compute phase against the prefetch: calibrated on the RTL
PREFETCH_DMA_LAG = 1
INFEASIBLE_CYCLES = 1 << 40  # a layer no tiling fits into its chunk's buffers: the search drops it, `codesign hw` refuses it

KIND_CODES = {"conv": 0, "dwconv": 1, "fc": 2, "avgpool": 3, "maxpool": 4, "add": 5}


def _xp(*arrays):
    if torch is not None and any(isinstance(a, torch.Tensor) for a in arrays):
        return torch
    return np


def ceil_div(a, b):
    return (a + b - 1) // b


PACK_BITS = 4   # weights of at most this many bits are stored two to a byte (DRAM and weight buffer)


def weights_per_byte(w_bits):
    """2 for weights of 1 .. PACK_BITS bits (a byte holds two: low nibble first), else 1."""
    xp = _xp(w_bits)
    return xp.where((w_bits > 0) & (w_bits <= PACK_BITS), 2, 1)


def pe_macs(gemm, dw, ws, w_bits, n, cols):
    """MACs a PE does a cycle on this layer: 2 for a dense GEMM layer (conv, fc) of packed weights
    (<= PACK_BITS bits) and more than C output channels on an OS chunk, which runs two output
    channels per column (one multiply a (w1 2^13 + w0), its two products split exactly:
    chunk_engine.v, pe.v), else 1. Depthwise layers (a PE's own activation) and WS layers keep one, and
    so does a layer of at most C channels (one fold either way, and the drain would take 2R rows)."""
    xp = _xp(gemm, dw, ws, w_bits, n, cols)
    return xp.where(gemm & (dw == 0) & (ws == 0) & (weights_per_byte(w_bits) == 2) & (n > cols), 2, 1)


def weight_bytes(count, w_bits):
    """Bytes of `count` consecutive weights of w_bits bits in the parameter block (packed)."""
    return ceil_div(count, weights_per_byte(w_bits))


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
    # geometry for input tiles (bands of output rows); band_ok 0: the layer cannot be banded (fc, avgpool)
    out_h: object = 1    # output rows
    in_h: object = 1     # input rows
    in_row: object = 0   # bytes of one input row (in_w * in_c)
    out_row: object = 0  # bytes of one output row (out_w * out_c)
    win: object = 1      # window rows (the kernel; 1 for add)
    stride: object = 1
    pad: object = 0
    band_ok: object = 0
    dw: object = 0       # 1 for a depthwise layer (G = channels GEMMs of M x 1 x taps; `engine_view` lowers it)
    # activations kept on chip between neighbours (`on_chip`): chain_in 1 when the layer's one input
    # is the previous layer's output (an add's second input); chain_out 1 when the next layer chains in and
    # reads the only copy anyone needs (no other reader); prev_act / next_act the activation
    # buffer bytes the neighbour needs (`act_bytes`)
    chain_in: object = 0
    chain_out: object = 0
    prev_act: object = 0
    next_act: object = 0
    # parameter prefetch (`prefetch`): pf_prev 1 when the previous layer may load this one's
    # parameters while it computes (there is one, and this layer is not an add), pf_next 1 when this
    # layer may load the next one's; the neighbour's parameter bytes and output channels
    pf_prev: object = 0
    pf_next: object = 0
    prev_w: object = 0
    next_w: object = 0
    out_c: object = 0
    prev_oc: object = 0
    next_oc: object = 0
    w_row: object = None  # weight bytes per output channel in the parameter block (`engine_view` sets it; else k)
    macs_pe: object = None  # MACs per PE a cycle (`pe_macs`; `engine_view` sets it)

    def to(self, xp_name: str, device=None) -> "LayerArrays":
        conv = (lambda v: torch.as_tensor(np.asarray(v), device=device)) if xp_name == "torch" \
            else np.asarray
        return LayerArrays(**{f.name: None if getattr(self, f.name) is None else conv(getattr(self, f.name))
                              for f in fields(self)})

    def select(self, idx) -> "LayerArrays":
        return LayerArrays(**{f.name: None if getattr(self, f.name) is None else getattr(self, f.name)[idx]
                              for f in fields(self)})


def engine_view(L: LayerArrays, cols, ws) -> LayerArrays:
    """The layers as the array runs them on C columns (broadcast against cols and ws). A depthwise
    layer of ch channels on OS becomes one GEMM of N = ch output channels and K = taps in which
    every PE reads its own activation: PE (i, j) of the fold of columns n0 .. n0 + C - 1 multiplies
    pixel i's tap t of channel n0 + j by w[n0 + j, t] (row i's copy of the activation buffer reads
    C consecutive bytes, one per column; chunk_engine.v), so R pixels x C channels run per fold
    and each reduction step is one tap. Its parameter block keeps each channel's taps (w_row =
    taps). On WS a depthwise layer stays G = ch GEMMs of N = 1 (one column; its taps are what the
    weight loader reads). w_row (weight bytes per output channel) is the layer's K; macs_pe the
    MACs a PE does a cycle (`pe_macs`: 2 runs 2C channels a fold); the result has dw 0 (a second
    call changes nothing)."""
    xp = _xp(L.g, cols, ws)
    dw = (L.dw > 0) & ~ws if not isinstance(ws, bool) else (L.dw > 0) & (not ws)
    chans = L.n * L.g
    w_row = L.k if L.w_row is None else L.w_row
    macs_pe = pe_macs(L.g > 0, L.dw, ws, L.w_bits, L.n, cols) if L.macs_pe is None else L.macs_pe
    return replace(L, n=xp.where(dw, chans, L.n), g=xp.where(dw, 1, L.g), w_row=w_row,
                   dw=xp.where(L.dw > 0, 0, L.dw), macs_pe=macs_pe)


def scalesim_compute_cycles(rows, cols, ws, m, n, k, g=1):
    """SCALE-Sim's compute cycles (Total - Stall) for G GEMMs of M x N x K on an R x C array."""
    xp = _xp(rows, cols, ws, m, n, k)
    sr = xp.where(ws, k, m)
    t = xp.where(ws, m, k)
    folds = ceil_div(sr, rows) * ceil_div(n, cols)
    per_fold = xp.where(ws, 2 * rows, rows) + cols + t - 2
    return g * folds * per_fold - 1


def array_cycles(rows, cols, ws, m, n, k, g, macs_pe=1):
    """Cycles our array spends computing a GEMM layer (0 where g == 0).

    WS: folds one after another, each its P + FOLD_OVERHEAD. OS: folds back to back
    (chunk_engine.v): a fold's T operands follow the previous fold's at once, and only its last
    one waits until the previous fold's results have left the array for the drain bank
    (drain = R + C - 2 + FOLD_OVERHEAD cycles after that fold's last operand), until the bank
    will have drained them when its own arrive (macs_pe R rows of results, R apart: the bank
    must not be overwritten before), and, in the first fold, until the row walkers have run R
    cycles; so folds are max(T, drain, macs_pe R) apart, and the last one's results reach the
    bank `drain` cycles after its last operand. macs_pe 2 (`pe_macs`): a fold covers 2C channels."""
    xp = _xp(rows, cols, ws, m, n, k, g)
    sr = xp.where(ws, k, m)
    t = xp.where(ws, m, k)
    folds = g * ceil_div(sr, rows) * ceil_div(n, cols * macs_pe)
    ws_cycles = folds * (2 * rows + cols + t - 2 + FOLD_OVERHEAD)
    drain = rows + cols - 2 + FOLD_OVERHEAD
    os_cycles = (folds - 1) * maximum(maximum(t, drain), macs_pe * rows) + maximum(t, rows) + drain
    return xp.where(g > 0, xp.where(ws, ws_cycles, os_cycles) + LAYER_OVERHEAD, 0)


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


def dma_outstanding(bytes_per_cycle):
    """Bursts axi_dma keeps in flight (its N_OUT): DMA_WINDOW_BEATS beats of bytes_per_cycle bytes."""
    return maximum(DMA_WINDOW_BEATS * bytes_per_cycle // BURST_BYTES, 1)


def transfer_cycles(nbytes, bytes_per_cycle, latency, beat_cycles=1, write=False):
    """Cycles of one AXI transfer of nbytes (0 bytes: no transfer), a read or a write: bursts of
    BURST_BYTES, up to dma_outstanding in flight, the memory's latency and beats beat_cycles apart.

    The first beats of bursts i = q N + r come at q x period + r x (burst beats x beat_cycles)
    after the first one: a steady stream while N bursts' beats cover the latency, else one group
    of N bursts per period (a burst's last beat, the turn, the latency of the burst N later)."""
    g = beat_cycles
    beats, bursts = ceil_div(nbytes, bytes_per_cycle), ceil_div(nbytes, BURST_BYTES)
    per_burst = BURST_BYTES // bytes_per_cycle
    n_out = dma_outstanding(bytes_per_cycle)
    lead, turn = (WRITE_HANDSHAKE, WRITE_TURN) if write else (READ_HANDSHAKE, READ_TURN)
    period = maximum(n_out * per_burst * g, (per_burst - 1) * g + latency + turn)
    before = maximum(bursts - 1, 0)            # the bursts before the last one
    tail = beats - before * per_burst          # the last burst's beats
    cycles = (DMA_OVERHEAD + lead + latency + 1 + (tail - 1) * g
              + (before % n_out) * per_burst * g + (before // n_out) * period)
    return _xp(nbytes).where(nbytes > 0, cycles, 0)


def dram_bytes_per_cycle(target) -> int:
    """Bytes of one AXI beat, what `transfer_cycles` takes as bytes_per_cycle: the port's width.
    A DRAM slower than the port is `memory_timing`'s beat_cycles (a beat every that many cycles);
    capping the beat here as well counted the cap twice (ulx3s: 3-byte beats, each 3 cycles)."""
    return target.axi_data_bits // 8


def align(x):
    return ceil_div(x, BURST_BYTES) * BURST_BYTES


def _rows_aligned(row_bytes):
    """The fewest rows whose bytes are a multiple of BURST_BYTES (a power of two up to 64)."""
    low = row_bytes & -row_bytes   # the lowest set bit
    return BURST_BYTES // minimum(maximum(low, 1), BURST_BYTES)


def num_inputs(L: LayerArrays):
    """2 for an add (it reads two tensors of its output's size), else 1."""
    xp = _xp(L.m, L.in_bytes)
    is_add = (L.g == 0) & (L.in_bytes == 2 * L.out_bytes) & (L.vec_elems == L.out_bytes) & (L.out_bytes > 0)
    return xp.where(is_add, 2, 1)


def act_bytes(L: LayerArrays):
    """Activation buffer bytes a whole (untiled) layer needs: its inputs and its output, each
    region padded to a burst."""
    n_in = num_inputs(L)
    return n_in * align(L.in_bytes // n_in) + align(L.out_bytes)


def on_chip(L: LayerArrays, act_buf_bytes, first_in_chunk, last_in_chunk):
    """(keep_in, keep_out): the layer reads its input from the activation buffer, where the
    previous layer left it, instead of loading it (keep_in; an add keeps its second input, the
    previous layer's output, and loads only its first); it does not store its output, which
    only the next layer reads and reads from the buffer (keep_out). Both need the two layers on
    one chunk and each untiled (its inputs and output fit act_buf): the output of a layer whose
    input sits at the bottom of the buffer goes to the top and the next one's output to the
    bottom, so the fit rule stays act_bytes <= act_buf (codesign.backend.verilog.place_row)."""
    fits = act_bytes(L) <= act_buf_bytes
    keep_in = (L.chain_in > 0) & ~first_in_chunk & fits & (L.prev_act <= act_buf_bytes)
    keep_out = (L.chain_out > 0) & ~last_in_chunk & fits & (L.next_act <= act_buf_bytes)
    return keep_in, keep_out


REC_ROWS = 512     # a lane's record bank: two neighbours' records share its 512 words (one RAMB36), each block
                   # with a spare row (a 128-bit beat's record past the block's end: verilog.place_params)


def prefetch(L: LayerArrays, cols, act_buf_bytes, wgt_buf_bytes, first_in_chunk, last_in_chunk):
    """(pf_in, pf_out): this layer's parameters were loaded while the previous layer computed
    (pf_in: no parameter load of its own); this layer loads the next one's while it computes
    (pf_out). Both layers on one chunk and untiled (one table row each), the next one not an add,
    and the two parameter blocks together fit the weight buffer, their records the record banks:
    the next block goes to the other end of the buffer (codesign.backend.verilog.place_params)."""
    single = (act_bytes(L) <= act_buf_bytes) & (L.w_bytes <= wgt_buf_bytes)
    rows = lambda oc: ceil_div(oc, cols)  # noqa: E731
    pair_in = ((align(L.prev_w) + align(L.w_bytes) <= wgt_buf_bytes) & (rows(L.prev_oc) + rows(L.out_c) + 2 <= REC_ROWS)
               & (L.prev_act <= act_buf_bytes))
    pair_out = ((align(L.w_bytes) + align(L.next_w) <= wgt_buf_bytes) & (rows(L.out_c) + rows(L.next_oc) + 2 <= REC_ROWS)
                & (L.next_act <= act_buf_bytes))
    pf_in = (L.pf_prev > 0) & ~first_in_chunk & single & pair_in
    pf_out = (L.pf_next > 0) & ~last_in_chunk & single & pair_out
    return pf_in, pf_out


def tile_plan(L: LayerArrays, cols, ws, act_buf_bytes, wgt_buf_bytes) -> dict:
    """How a layer is tiled to fit its chunk's buffers (broadcast arrays): `slice_ch` output
    channels per weight slice (the last slice the rest) in `slices` slices, `band_rows` output rows
    per input band (the last band the rest) in `bands` bands, and `ok` (False: no tiling fits).

    Weight slices (GEMM layers only): each slice's block, its weights padded to BURST_BYTES then
    its records, fits wgt_buf; a multiple of C channels where that many fit. `double`: the slices
    are double-buffered, each fits half of wgt_buf and two slices' records the record banks, so the
    next slice's block loads while this one computes (a layer none of whose channels fits half the
    buffer keeps full-size slices, loaded in turn). Input bands (conv,
    dwconv, maxpool, add): each band's input rows (plus a lead of up to 63 bytes: its DRAM start
    rounded down to a burst) and output rows fit act_buf; band_rows is a multiple of the rows
    that make both a band's output and its input step whole bursts (so every band's transfers
    start burst-aligned, and all inner bands have the same lead), and band_rows * stride >= pad
    (only the first band meets the top padding)."""
    L = engine_view(L, cols, ws)
    xp = _xp(L.m, cols, act_buf_bytes, wgt_buf_bytes)
    gemm = L.g > 0
    chans = L.n * L.g
    fits_w = L.w_bytes <= wgt_buf_bytes
    pack = weights_per_byte(L.w_bits)

    def slice_channels(space):   # ns channels fit when ceil(ns * w_row / pack) + 8 ns <= space - 63
        ns = pack * (space - (BURST_BYTES - 1)) // (L.w_row + pack * PARAM_BYTES_PER_CHANNEL)
        return xp.where(ns >= cols, ns // cols * cols, ns)
    ns_full, ns_half = slice_channels(wgt_buf_bytes), slice_channels(wgt_buf_bytes // 2)
    # double-buffered slices: two fit the buffer (and their records the record banks) together,
    # so each slice's block loads while the previous slice computes
    dbl = ~fits_w & gemm & (ns_half >= 1) & (2 * ceil_div(ns_half, cols) + 2 <= REC_ROWS)
    ns = xp.where(dbl, ns_half, ns_full)
    slices = xp.where(fits_w, 1, ceil_div(chans, maximum(ns, 1)))
    ok_w = fits_w | (gemm & (ns >= 1))

    n_in = num_inputs(L)
    fits_a = act_bytes(L) <= act_buf_bytes
    fixed = (BURST_BYTES - 1) + n_in * ((L.win - L.stride) * L.in_row + 2 * (BURST_BYTES - 1))
    bh = (act_buf_bytes - fixed) // maximum(n_in * L.stride * L.in_row + L.out_row, 1)
    q = maximum(_rows_aligned(L.out_row), _rows_aligned(L.stride * L.in_row))
    bh = bh // q * q
    ok_a = fits_a | ((L.band_ok > 0) & (bh >= 1) & (bh * L.stride >= L.pad))
    band_rows = xp.where(fits_a, L.out_h, maximum(bh, 1))
    bands = xp.where(fits_a, 1, ceil_div(L.out_h, band_rows))
    return dict(slice_ch=xp.where(fits_w, chans, maximum(ns, 1)), slices=slices, band_rows=band_rows, bands=bands,
                double=dbl, ok=ok_w & ok_a)


def band_geometry(L: LayerArrays, band_rows, b):
    """Band b's output rows, its first and last + 1 input rows (clipped to the image) and the lead
    bytes before its first input row in its burst-aligned transfer."""
    r0 = b * band_rows
    rows = minimum(band_rows, L.out_h - r0)
    lo = maximum(r0 * L.stride - L.pad, 0)
    hi = minimum((r0 + rows - 1) * L.stride - L.pad + L.win, L.in_h)
    return rows, lo, hi, (lo * L.in_row) % BURST_BYTES


def slice_param_bytes(L: LayerArrays, ch):
    """Bytes of a weight slice of ch channels (L: `engine_view`'s): its weights padded to a burst, then its records."""
    return align(weight_bytes(ch * L.w_row, L.w_bits)) + PARAM_BYTES_PER_CHANNEL * ch


def layer_cycles(layers: LayerArrays, rows, cols, ws, act_buf_bytes, wgt_buf_bytes,
                 weights_outer, first_in_chunk, last_in_chunk, bytes_per_cycle, memory: MemoryTiming = MemoryTiming()):
    """Cycles of each layer on its chunk; all chunk arguments broadcast against the layers.

    bytes_per_cycle is the AXI beat's bytes, memory the DRAM's timing (`memory_timing(target)`).
    A tiled layer (`tile_plan`) runs bands x slices sub-layers, each with the sequential schedule
    above; a sub-layer skips a transfer whose tensor is already on chip or not yet complete (zero
    cycles). inputs_outer (and whenever only one of the two is tiled): for each band, for each
    slice: the band's input loaded by its first slice, the slice's weights by every band (once
    when there is one slice), the band's output stored by its last slice. weights_outer with both
    tiled: for each slice, for each band: the band's input loaded, the slice's weights by the
    first band, the band's output read back from DRAM first by every slice after the first (it
    holds the earlier slices' channels) and stored by every slice. Double-buffered slices
    (`tile_plan`'s `double`): every row whose successor in the layer loads parameters loads them
    while it computes instead (the longer of the two, as a prefetching layer), so only the first
    row loads a block itself, and an inputs_outer row after a band's first loads nothing.

    Returns (total, compute, dram) cycles, each broadcast to the common shape.
    """
    L = engine_view(layers, cols, ws)
    xp = _xp(L.m, rows, cols, act_buf_bytes)
    gemm = L.g > 0
    plan = tile_plan(L, cols, ws, act_buf_bytes, wgt_buf_bytes)
    S, B, bh = plan["slices"], plan["bands"], plan["band_rows"]
    wo = weights_outer & (S > 1) & (B > 1)
    n_in = num_inputs(L)
    read = lambda n: transfer_cycles(n, bytes_per_cycle, memory.read_latency, memory.beat_cycles)  # noqa: E731
    write = lambda n: transfer_cycles(n, bytes_per_cycle, memory.write_latency, memory.beat_cycles, write=True)  # noqa: E731

    chans = L.n * L.g
    last_ch = chans - (S - 1) * plan["slice_ch"]
    read_full, read_last = read(slice_param_bytes(L, plan["slice_ch"])), read(slice_param_bytes(L, last_ch))
    params = xp.where(S > 1, (S - 1) * read_full + read_last, read(L.w_bytes))
    # compute and output transfers: all bands but the last have band_rows rows; full slices and the last
    oh = maximum(L.out_h, 1)
    dbl = plan["double"]
    # a double-buffered slice's row computes while the next slice's block loads: the longer of the two
    stall = lambda c, r: maximum(c + PREFETCH_COMPUTE_LAG, r + PREFETCH_DMA_LAG) - c  # noqa: E731
    compute = outputs = stores = waits = 0
    for count, r, last_band in ((B - 1, bh, False), (1, xp.where(B > 1, L.out_h - (B - 1) * bh, oh), True)):
        out_b = L.out_bytes * r // oh
        outputs = outputs + count * read(out_b)
        stores = stores + count * write(out_b)
        row = lambda ch: (array_cycles(rows, cols, ws, L.m * r // oh, xp.where(L.g > 1, L.n, ch),  # noqa: E731
                                       L.k, xp.where(L.g > 1, ch, L.g), L.macs_pe)
                          + xp.where(gemm & ~ws, L.macs_pe * rows, 0))
        c_full, c_last = row(plan["slice_ch"]), row(last_ch)
        compute = compute + count * (vector_cycles(cols, L.vec_elems * r // oh, out_b, L.vec_c)
                                     + (S - 1) * c_full + c_last)
        # slice s prefetches slice s + 1 (the last slice the next band's first, inputs_outer);
        # weights_outer: only each slice's last band row, whose successor loads parameters
        to_last = maximum(S - 2, 0) * stall(c_full, read_full) + stall(c_full, read_last)
        per_band = xp.where(wo, to_last if last_band else 0, to_last + (0 if last_band else stall(c_last, read_full)))
        waits = waits + xp.where(dbl, count * per_band, 0)
    # input loads: bands fall in four classes (the first, the inner ones: all alike, the last two)
    banded = 0
    for count, b in ((1, 0), (maximum(B - 3, 0), 1), (xp.where(B >= 3, 1, 0), B - 2), (1, B - 1)):
        _, lo, hi, lead = band_geometry(L, bh, b)
        banded = banded + count * read((hi - lo) * L.in_row + lead)
    keep_in, keep_out = on_chip(L, act_buf_bytes, first_in_chunk, last_in_chunk)
    one_input = read(L.in_bytes // n_in)
    inputs = xp.where(keep_in, (n_in - 1) * one_input, n_in * xp.where(B > 1, banded, one_input))
    stores = xp.where(keep_out, 0, stores)
    pf_in, pf_out = prefetch(L, cols, act_buf_bytes, wgt_buf_bytes, first_in_chunk, last_in_chunk)
    params = xp.where(pf_in, 0, params)
    params = xp.where(dbl, read_full, xp.where((S > 1) & ~wo, B, 1) * params)   # double: the first slice only
    idle_rows = xp.where(keep_in & pf_in, 1, 0) + xp.where(dbl & ~wo, B * (S - 1), 0)   # rows that load nothing
    dram = (xp.where(wo, S, 1) * (inputs + stores) + params + waits
            + xp.where(wo, S - 1, 0) * outputs + idle_rows * NO_LOAD_CYCLES)
    # the next layer's parameters load while this one computes: the longer of the two
    busy = xp.where(pf_out, maximum(compute + PREFETCH_COMPUTE_LAG, read(L.next_w) + PREFETCH_DMA_LAG), compute)
    total = xp.where(plan["ok"], busy + dram, INFEASIBLE_CYCLES)
    return total, compute, total - compute
