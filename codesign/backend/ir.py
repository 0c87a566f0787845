"""The hardware IR: a DesignPoint plus integer weights lowered to integer layer jobs.

The cost model, the HLS and Verilog templates, the golden model's test vectors and the
testbenches all read this one IR, so a schedule and a memory map are written down once.

DRAM map (byte addresses, every region aligned to ALIGN bytes):
  [params of layer 0]...[params of layer L-1] | frame 0: [input image][output of layer 0]...[output of
  layer L-1] | frame 1: the same ... (each frame's activation region is `frame_bytes` long)
The parameters are shared by all frames; frame f's activation addresses are the frame-0 addresses
(`input_addr`, `out_addr`, `in_addrs`, starting at `act_addr`) plus f * frame_bytes, so that a run
of several frames pipelined over the chunks (the RTL) keeps every frame's tensors. `dram_size` is
the size for one frame; `dram_bytes(ir, frames)` for more.
Activations are HWC, one byte per element (two's complement for signed tensors, whatever the
bits). Params of a GEMM layer: weights, padded to ALIGN, in folds of the chunk's C columns
(`fold_layout`; 2C for a layer of two MACs per PE, whose column j takes filters n0 + j and
n0 + C + j): for each N tile n0 = 0, C, 2C, ... the tile's nv = min(C, N - n0)
filters as a K x nv block, weight (k, j) at k * nv + j (k in (kh, kw, Cin) order), so that one read
of nv consecutive weights gives every array column its weight of reduction step k; weights of at
most 4 bits lie two to a byte (weight 2i in the low nibble: `pack_weights`), the rest one a byte; then
per output channel 8 bytes little-endian: int32 bias, uint16 mult, uint8 shift, one zero
byte. Params of pool/add layers: the same 8-byte records (bias 0); an add layer first has
its two int16 input multipliers and 4 zero bytes (8 bytes).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

import numpy as np

from codesign.backend.golden import random_params
from codesign.cost import chunk_arrays, evaluate, layer_arrays
from codesign.cost.model import (ADD_HEAD_BYTES, dram_bytes_per_cycle, engine_view, on_chip, prefetch, slice_param_bytes,
                                 tile_plan, weights_per_byte)
from codesign.cost.model import weight_bytes as packed_bytes
from codesign.design import GEMM_KINDS, DesignPoint, layer_in_bits, layer_in_signed
from codesign.targets import load_target

ALIGN = 64
PARAM_RECORD = np.dtype([("bias", "<i4"), ("mult", "<u2"), ("shift", "u1"), ("pad", "u1")])


def align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class ChunkJob(BaseModel):
    model_config = ConfigDict(frozen=True)
    index: int
    first_layer: int
    last_layer: int
    rows: int
    cols: int
    dataflow: str
    mult_bits: int
    act_buf_bytes: int
    wgt_buf_bytes: int
    loop_order: str


class LayerJob(BaseModel):
    model_config = ConfigDict(frozen=True)
    index: int
    name: str
    kind: str
    chunk: int
    inputs: list[int]
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    kernel: int
    stride: int
    padding: int
    relu: bool
    m: int            # GEMM view (0 for pool/add)
    n: int
    k: int
    g: int
    w_bits: int       # 0 without weights
    in_bits: int
    in_signed: bool
    out_bits: int
    out_signed: bool
    in_addrs: list[int]     # DRAM byte address of each input tensor
    out_addr: int
    param_addr: int         # weights (GEMM) then the per-channel records
    weight_bytes: int       # bytes of weights before the records (0 for pool/add)
    record_addr: int        # address of the first per-channel record (of the first slice)
    w_cols: int             # the weight block's fold width (fold_layout): the chunk's columns x macs_pe
    macs_pe: int            # MACs a PE does a cycle on this layer (codesign.cost.model.pe_macs): 2 runs 2C channels a fold
    w_row: int              # weight bytes per output channel (K; a depthwise layer's taps)
    # tiling (codesign.cost.model.tile_plan): weight slices of slice_ch channels, parameter blocks
    # slice_stride bytes apart; input bands of band_rows output rows; weights_outer: both tiled and
    # the chunk's loop order is weights_outer; tiles_ok False: no tiling fits the chunk's buffers;
    # double_slices: two slices fit the weight buffer, and each row loads the next slice's block
    # while it computes
    slice_ch: int
    slices: int
    double_slices: bool
    slice_stride: int
    band_rows: int
    bands: int
    weights_outer: bool
    tiles_ok: bool
    # activations on chip (codesign.cost.model.on_chip): the input is the previous layer's output,
    # left in the activation buffer (no load); the output stays there for the next layer only (no store)
    keep_in: bool
    keep_out: bool
    # parameter prefetch (codesign.cost.model.prefetch): this layer's parameters were loaded while
    # the previous layer computed (pf_in); this layer loads the next one's while it computes (pf_out)
    pf_in: bool
    pf_out: bool
    predicted_cycles: int
    predicted_compute: int


class HardwareIR(BaseModel):
    model_config = ConfigDict(frozen=True)
    design_name: str
    design_digest: str
    target: str
    clock_mhz: float
    axi_bytes: int          # data bytes per AXI beat
    dram_bytes_per_cycle: int
    input_addr: int
    input_shape: tuple[int, int, int]
    output_addr: int
    act_addr: int           # start of frame 0's activations (after the parameters)
    frame_bytes: int        # one frame's activation region; frame f's tensors at + f * frame_bytes
    dram_size: int          # parameters + one frame
    chunks: list[ChunkJob]
    layers: list[LayerJob]


def lower(design: DesignPoint) -> HardwareIR:
    target = load_target(design.accelerator.target)
    cost = evaluate(design, target)
    arrays, ch = layer_arrays(design), chunk_arrays(design)
    plan = {k: np.asarray(v) for k, v in tile_plan(arrays, ch["cols"], ch["ws"], ch["act_buf_bytes"], ch["wgt_buf_bytes"]).items()}
    keep_in, keep_out = on_chip(arrays, ch["act_buf_bytes"], ch["first_in_chunk"], ch["last_in_chunk"])
    pf_in, pf_out = prefetch(arrays, ch["cols"], ch["act_buf_bytes"], ch["wgt_buf_bytes"], ch["first_in_chunk"],
                             ch["last_in_chunk"])
    arrays = engine_view(arrays, ch["cols"], ch["ws"])   # the GEMM each layer runs on its chunk (depthwise: dense, block-diagonal)
    addr = 0
    param_addrs = []
    for i, layer in enumerate(design.layers):
        oc = layer.out_shape[2]
        weight_bytes = align(int(packed_bytes(arrays.n[i] * arrays.w_row[i] * arrays.g[i], layer.w_bits))) \
            if layer.kind in GEMM_KINDS else \
            (ADD_HEAD_BYTES if layer.kind == "add" else 0)
        size = weight_bytes + PARAM_RECORD.itemsize * oc
        stride = size
        if plan["slices"][i] > 1:
            sl = int(plan["slice_ch"][i])
            weight_bytes = align(int(packed_bytes(sl * int(arrays.w_row[i]), layer.w_bits)))
            stride = align(int(slice_param_bytes(arrays.select(i), sl)))
            size = (int(plan["slices"][i]) - 1) * stride + int(slice_param_bytes(arrays.select(i), oc - (int(plan["slices"][i]) - 1) * sl))
        param_addrs.append((addr, weight_bytes, stride))
        addr = align(addr + size)
    act_addr = addr
    input_addr = addr
    h, w, c = design.dataset.input_shape
    addr = align(addr + h * w * c)
    out_addrs = []
    for layer in design.layers:
        out_addrs.append(addr)
        oh, ow, oc = layer.out_shape
        addr = align(addr + oh * ow * oc)
    frame_bytes = addr - act_addr
    jobs = []
    for i, layer in enumerate(design.layers):
        param_addr, weight_bytes, slice_stride = param_addrs[i]
        slices, bands = int(plan["slices"][i]), int(plan["bands"][i])
        m, n, k, g = (int(arrays.m[i]), int(arrays.n[i]), int(arrays.k[i]), int(arrays.g[i])) if layer.kind in GEMM_KINDS \
            else (0, 0, 0, 0)
        jobs.append(LayerJob(
            index=i, name=layer.name, kind=layer.kind, chunk=design.chunk_of(i), inputs=list(layer.inputs),
            in_shape=layer.in_shape, out_shape=layer.out_shape, kernel=layer.kernel, stride=layer.stride,
            padding=layer.padding, relu=layer.relu, m=m, n=n, k=k, g=g, w_bits=layer.w_bits or 0,
            in_bits=layer_in_bits(design, layer), in_signed=layer_in_signed(design, layer),
            out_bits=layer.a_bits, out_signed=layer.signed_output,
            in_addrs=[input_addr if j == -1 else out_addrs[j] for j in layer.inputs], out_addr=out_addrs[i],
            param_addr=param_addr, weight_bytes=weight_bytes, record_addr=param_addr + weight_bytes,
            slice_ch=int(plan["slice_ch"][i]) if slices > 1 else layer.out_shape[2], slices=slices,
            double_slices=bool(plan["double"][i]) and slices > 1,
            slice_stride=slice_stride, band_rows=int(plan["band_rows"][i]), bands=bands,
            weights_outer=bool(ch["weights_outer"][i]) and slices > 1 and bands > 1, tiles_ok=bool(plan["ok"][i]),
            keep_in=bool(keep_in[i]), keep_out=bool(keep_out[i]), pf_in=bool(pf_in[i]), pf_out=bool(pf_out[i]),
            w_cols=design.accelerator.chunks[design.chunk_of(i)].cols * int(arrays.macs_pe[i]),
            macs_pe=int(arrays.macs_pe[i]), w_row=int(arrays.w_row[i]) if g else 0,
            predicted_cycles=int(cost.layer_cycles[i]), predicted_compute=int(cost.layer_compute[i])))
    chunks = [ChunkJob(index=ci, first_layer=c.first_layer, last_layer=c.last_layer, rows=c.rows, cols=c.cols,
                       dataflow=c.dataflow, mult_bits=c.mult_bits, act_buf_bytes=c.act_buf_kib * 1024,
                       wgt_buf_bytes=c.wgt_buf_kib * 1024, loop_order=c.loop_order)
              for ci, c in enumerate(design.accelerator.chunks)]
    return HardwareIR(design_name=design.name, design_digest=design.digest(), target=target.name,
                      clock_mhz=design.accelerator.clock_mhz, axi_bytes=target.axi_data_bits // 8,
                      dram_bytes_per_cycle=dram_bytes_per_cycle(target), input_addr=input_addr,
                      input_shape=design.dataset.input_shape, output_addr=out_addrs[-1], act_addr=act_addr,
                      frame_bytes=frame_bytes, dram_size=act_addr + frame_bytes,
                      chunks=chunks, layers=jobs)


def fold_layout(w: np.ndarray, cols: int) -> np.ndarray:
    """Filters (an n x k array) in the engine's fold order: per N tile of `cols` filters, the tile
    as a k x nv block (tap-major)."""
    return np.concatenate([w[n0:n0 + cols].T.ravel() for n0 in range(0, len(w), cols)])


def pack_weights(w: np.ndarray, w_bits: int) -> bytes:
    """Weights in the order given as bytes: one a byte, or two a byte (element 2i in the low nibble,
    2i + 1 in the high one) when they have at most PACK_BITS bits (cost.model.weights_per_byte)."""
    if int(weights_per_byte(w_bits)) == 1:
        return w.astype(np.int8).tobytes()
    nib = np.append(w, [0] * (len(w) % 2)).astype(np.int64) & 0xF
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()


def param_block(job: LayerJob, p: dict) -> bytes:
    """The bytes of one layer's parameter region (see the module docstring)."""
    oc = job.out_shape[2]
    if job.kind in GEMM_KINDS:   # one block per weight slice (one slice: the layer), each its weights then its records
        blocks = []
        for c0 in range(0, oc, job.slice_ch):
            c1 = min(c0 + job.slice_ch, oc)
            w = np.asarray(p["w"]).astype(np.int64).reshape(oc, -1)[c0:c1]
            w = fold_layout(w, job.w_cols if job.g == 1 else 1)   # depthwise on WS: channel after channel
            w = pack_weights(w, job.w_bits)
            blocks.append(w.ljust(align(int(packed_bytes((c1 - c0) * job.w_row, job.w_bits))), b"\0") + records(p, c0, c1))
        return b"".join(b.ljust(job.slice_stride, b"\0") for b in blocks[:-1]) + blocks[-1]
    head = np.asarray(p["add_mult"], "<i2").tobytes().ljust(ADD_HEAD_BYTES, b"\0") if job.kind == "add" else b""
    return head + records(p, 0, oc)


def records(p: dict, c0: int, c1: int) -> bytes:
    """The {bias, mult, shift} records of output channels c0 .. c1 - 1."""
    rec = np.zeros(c1 - c0, PARAM_RECORD)
    rec["bias"] = np.asarray(p["bias"])[c0:c1] if "bias" in p else 0
    rec["mult"] = np.asarray(p["mult"])[c0:c1]
    rec["shift"] = np.asarray(p["shift"])[c0:c1]
    return rec.tobytes()


def dram_bytes(ir: HardwareIR, frames: int = 1) -> int:
    """DRAM bytes for a run of `frames` frames: the parameters, then one activation region per frame."""
    return ir.act_addr + frames * ir.frame_bytes


def dram_image(ir: HardwareIR, params: list[dict], images: np.ndarray) -> bytearray:
    """The DRAM contents before a run: every layer's parameters and the input image of each frame
    (`images` is one HWC image, or a stack of them: one frame each)."""
    images = np.asarray(images)
    images = images[None] if images.ndim == 3 else images
    mem = bytearray(dram_bytes(ir, len(images)))
    for f, image in enumerate(images):
        img = image.astype(np.int64).astype(np.uint8).tobytes()
        at = ir.input_addr + f * ir.frame_bytes
        mem[at:at + len(img)] = img
    for job, p in zip(ir.layers, params):
        block = param_block(job, p)
        assert job.param_addr + len(block) <= ir.act_addr, f"layer {job.index}'s parameters overrun their region"
        mem[job.param_addr:job.param_addr + len(block)] = block
    return mem


def read_tensor(mem: bytes, job: LayerJob, base: int = 0) -> np.ndarray:
    """A layer's output as the accelerator left it in DRAM (HWC int); frame f's at base f * ir.frame_bytes."""
    oh, ow, oc = job.out_shape
    at = job.out_addr + base
    raw = np.frombuffer(bytes(mem[at:at + oh * ow * oc]), np.int8 if job.out_signed else np.uint8)
    return raw.astype(np.int32).reshape(oh, ow, oc)


def design_params(design: DesignPoint, design_dir=None, seed: int = 0) -> list[dict]:
    """The design's trained integer weights if it names a file, else seeded random ones."""
    from pathlib import Path

    from codesign.backend.golden import load_params
    if design.weights:
        return load_params(design, Path(design_dir or ".") / design.weights)
    return random_params(design, seed)


__all__ = ["lower", "dram_bytes", "dram_image", "read_tensor", "design_params", "HardwareIR", "LayerJob", "ChunkJob",
           "chunk_arrays"]
