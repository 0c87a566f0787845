"""The Verilog backend: renders DIR/rtl from the hardware IR.

The datapath is hand-written, parameterised Verilog (templates/verilog/rtl: the PE, the
systolic array in either dataflow, the requantiser lane, the AXI4 burst engine and the chunk
engine that walks a layer table). Jinja renders only the glue: `accel_params.vh` (every
per-chunk parameter), `accel_top.v` (one engine and one AXI4 master per chunk, their layer
tables as ROMs, the period sequencer that pipelines the chunks over frames and the AXI4-Lite
registers) and the Vivado tcl. Every number in them comes from
the IR; `layer_fields` is the one place that turns an IR layer job into the engine's table row.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from types import SimpleNamespace

import jinja2

import codesign
from codesign.backend.golden import act_range
from codesign.backend.ir import ALIGN, PARAM_RECORD, HardwareIR, LayerJob, align
from codesign.cost.model import BURST_BYTES, band_geometry, dma_outstanding, weight_bytes, weights_per_byte
from codesign.cost.resources import LUT_MULT_MAX_BITS
from codesign.design import DesignPoint, chunk_units
from codesign.driver import regmap
from codesign.errors import CodesignError
from codesign.targets import load_target

TEMPLATES = Path(codesign.__file__).resolve().parent.parent / "templates" / "verilog"
RTL_MODULES = ["pe.v", "systolic_array.v", "requant.v", "axi_dma.v", "byte_ram.v", "act_buffer.v", "rec_ram.v",
               "delay_line.v", "weight_columns.v", "lane.v", "chunk_engine.v"]
REGS_FILE = "accel_regs.v"   # the AXI4-Lite slave, rendered from codesign/driver/regmap.toml
TOP_NAME = "accel_top"
AXI_WIDTHS = (64, 128)   # the AXI data widths the RTL's DMA drives (zc706 / pynq-z2: 64, zcu102 / ultra96: 128)


def burst_beats(axi_bytes: int) -> int:
    """Beats of one burst: one 64-byte block (the model's burst) of axi_bytes-byte beats."""
    return BURST_BYTES // axi_bytes
KIND_CODES = {"conv": 0, "fc": 0, "dwconv": 1, "avgpool": 2, "maxpool": 3, "add": 4}
FIELDS = ["kind", "in_h", "in_w", "in_c", "out_w", "out_c", "win_h", "win_w", "stride", "pad", "m", "n", "k",
          "g", "kc", "row_stride", "step_x", "step_y", "base0", "kw_step", "ck", "out_step_fold", "in_signed",
          "out_lo", "out_hi", "in0_addr", "in1_addr", "in_bytes", "out_addr", "out_bytes", "param_addr",
          "param_bytes", "rec_off", "in1_off", "out_off", "num_in", "mfolds", "nfolds", "kfolds",
          "red", "vgroups", "in1_signed", "iy0", "wr_off", "flags", "w_off", "rec_row0", "pf_addr", "pf_bytes",
          "pf_woff", "pf_rec_off", "pf_rec_row0"]
# flags: which transfers a table row (one sub-layer of a tiled layer, or a whole layer) makes, and
# whether it ends its layer (the layer's cycle counter is written then); W_PACKED: how its weights lie
LOAD_IN, LOAD_PARAMS, LOAD_OUT, STORE, LAYER_END = 1, 2, 4, 8, 16
ALL_FLAGS = LOAD_IN | LOAD_PARAMS | STORE | LAYER_END
W_PACKED = 32   # the row's weights lie two to a byte (codesign.cost.model.weights_per_byte)
W_DUAL = 64     # the row does two MACs per PE: column j runs channels n0 + j and n0 + C + j (cost.model.pe_macs)
KEEP_IN1 = 128  # an add's second input is on chip: only the first loads, to base0 (`place_row`)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def layer_geometry(job: LayerJob) -> dict:
    """The engine's view of a layer's input window: shapes, window, stride, padding."""
    h, w, c = job.in_shape
    oh, ow, oc = job.out_shape
    if job.kind == "fc":                       # one pixel whose channels are the flattened input
        return dict(in_h=1, in_w=1, in_c=h * w * c, out_w=1, win_h=1, win_w=1, stride=1, pad=0)
    win = {"avgpool": (h, w), "add": (1, 1)}.get(job.kind, (job.kernel, job.kernel))
    stride = job.stride if job.kind in ("conv", "dwconv", "maxpool") else 1
    pad = job.padding if job.kind in ("conv", "dwconv", "maxpool") else 0
    return dict(in_h=h, in_w=w, in_c=c, out_w=ow, win_h=win[0], win_w=win[1], stride=stride, pad=pad)


def layer_fields(job: LayerJob, rows: int, cols: int, in1_signed: bool) -> dict:
    """One row of a chunk's layer table (see chunk_engine.v for each field's use): shapes,
    addresses and loop counts only; every duration is the hardware's own (chunk_engine.v)."""
    geo = layer_geometry(job)
    in_c, pad, stride = geo["in_c"], geo["pad"], geo["stride"]
    kc = 1 if job.kind == "dwconv" else in_c   # depthwise: a reduction step is a tap (of the fold's C channels)
    row_stride = geo["in_w"] * in_c
    oh, ow, oc = job.out_shape
    h, w, c = job.in_shape
    in_bytes = h * w * c
    num_in = len(job.in_addrs)
    gemm = job.g > 0
    out_elems = oh * ow * oc
    lo, hi = act_range(job.out_bits, job.out_signed)
    return dict(
        kind=KIND_CODES[job.kind], **geo, out_c=oc, m=job.m, n=job.n, k=job.k, g=job.g, kc=kc,
        row_stride=row_stride, step_x=stride * in_c, step_y=stride * row_stride,
        base0=-pad * row_stride - pad * in_c, kw_step=in_c - kc + 1, ck=cols * job.macs_pe * job.w_row,
        out_step_fold=rows * oc, in_signed=int(job.in_signed), out_lo=lo, out_hi=hi,
        in0_addr=job.in_addrs[0], in1_addr=job.in_addrs[-1], in_bytes=in_bytes, out_addr=job.out_addr,
        out_bytes=out_elems, param_addr=job.param_addr, param_bytes=job.weight_bytes + PARAM_RECORD.itemsize * oc,
        rec_off=job.weight_bytes, in1_off=align(in_bytes), out_off=align(in_bytes) * num_in, num_in=num_in,
        mfolds=ceil_div(job.m, rows) if gemm else 0, nfolds=ceil_div(job.n, cols * job.macs_pe) if gemm else 0,
        kfolds=ceil_div(job.k, rows) if gemm else 0,
        red=geo["win_h"] * geo["win_w"], vgroups=oh * ow * ceil_div(oc, cols),
        in1_signed=int(in1_signed), iy0=-pad, wr_off=align(in_bytes) * num_in, flags=ALL_FLAGS | weight_flags(job),
        w_off=0, rec_row0=0, pf_addr=0, pf_bytes=0, pf_woff=0, pf_rec_off=0, pf_rec_row0=0)


def sub_layer_fields(job: LayerJob, rows: int, cols: int, in1_signed: bool) -> list[dict]:
    """The table rows of one layer: one row when it fits its chunk, else one per (band, slice) in
    the loop order (codesign.cost.model.layer_cycles prices the same schedule; docs/verilog.md,
    "Tiling")."""
    full = layer_fields(job, rows, cols, in1_signed)
    if job.slices == 1 and job.bands == 1:
        return [full]
    loops = [(b, s) for s in range(job.slices) for b in range(job.bands)] if job.weights_outer else \
        [(b, s) for b in range(job.bands) for s in range(job.slices)]
    entries = []
    for b, s in loops:
        f = band_fields(job, dict(full), b, rows, cols) if job.bands > 1 else dict(full)
        f["wr_off"] = f["out_off"]
        if job.slices > 1:
            slice_fields(job, f, s, cols)
        f["flags"] = row_flags(job, b, s) | weight_flags(job)
        entries.append(f)
    entries[-1]["flags"] |= LAYER_END
    return entries


def band_fields(job: LayerJob, f: dict, b: int, rows: int, cols: int) -> dict:
    """Band b: output rows band_rows * b .. from the input rows they need, loaded from their
    burst-aligned DRAM start (the lead bytes before the first row shift the walker's base), the
    window's first row iy0 in image rows (the walker pads at the image's edges as for the layer)."""
    geo = layer_geometry(job)
    oh, ow, oc = job.out_shape
    in_row, out_row, stride, pad = geo["in_w"] * geo["in_c"], ow * oc, geo["stride"], geo["pad"]
    L = SimpleNamespace(out_h=oh, in_h=job.in_shape[0], in_row=in_row, stride=stride, pad=pad, win=geo["win_h"])
    r, lo, hi, lead = (int(v) for v in band_geometry(L, job.band_rows, b))
    r0 = b * job.band_rows
    in_bytes = (hi - lo) * in_row + lead
    f.update(iy0=r0 * stride - pad, base0=lead + (r0 * stride - pad - lo) * in_row - pad * geo["in_c"],
             in0_addr=job.in_addrs[0] + lo * in_row - lead, in1_addr=job.in_addrs[-1] + lo * in_row - lead,
             in_bytes=in_bytes, in1_off=align(in_bytes), out_off=align(in_bytes) * f["num_in"],
             out_addr=job.out_addr + r0 * out_row, out_bytes=r * out_row, vgroups=r * ow * ceil_div(oc, cols))
    if job.g:
        f.update(m=r * ow, mfolds=ceil_div(r * ow, rows))
    return f


def weight_flags(job: LayerJob) -> int:
    """How the row's weights lie (W_PACKED) and how many MACs a PE does on them (W_DUAL)."""
    return (W_PACKED if job.g and int(weights_per_byte(job.w_bits)) == 2 else 0) | (W_DUAL if job.macs_pe == 2 else 0)


def slice_fields(job: LayerJob, f: dict, s: int, cols: int) -> None:
    """Slice s: output channels c0 .. from its own parameter block, written at channel c0 of the
    band's full-width output (a depthwise slice reads input channels c0 ..)."""
    c0 = s * job.slice_ch
    ch = min(job.slice_ch, job.out_shape[2] - c0)
    wbytes = align(int(weight_bytes(ch * job.w_row, job.w_bits)))
    f.update(param_addr=job.param_addr + s * job.slice_stride, param_bytes=wbytes + PARAM_RECORD.itemsize * ch,
             rec_off=wbytes, wr_off=f["out_off"] + c0)
    if job.g > 1:     # depthwise on WS: slices are groups
        f.update(g=ch, base0=f["base0"] + c0)
    else:             # a depthwise slice (OS) reads input channels c0 ..
        f.update(n=ch, nfolds=ceil_div(ch, cols * job.macs_pe), base0=f["base0"] + (c0 if job.kind == "dwconv" else 0))


def row_flags(job: LayerJob, b: int, s: int) -> int:
    """The transfers of row (band b, slice s); an operand already on chip, or an output a later
    row completes, is not moved (weights_outer here means both tiled, IR's LayerJob)."""
    if job.weights_outer:   # for each slice, each band: the output read back after the first slice
        flags = LOAD_IN | (LOAD_PARAMS if b == 0 else 0) | (LOAD_OUT if s > 0 else 0) | STORE
    else:                   # for each band, each slice (one slice: its weights stay resident)
        flags = (LOAD_IN if s == 0 else 0) | (LOAD_PARAMS if job.slices > 1 or b == 0 else 0) \
            | (STORE if s == job.slices - 1 else 0)
    assert flags & (LOAD_IN | LOAD_PARAMS | LOAD_OUT), "the engine's sequencer starts a row with a load"
    return flags


def check_layer_fits(job: LayerJob, f: dict, chunk) -> None:
    """A table row's operands fit the chunk's buffers and its bits the multipliers."""
    act_need = f["out_off"] + align(f["out_bytes"])
    if act_need > chunk.act_buf_bytes:
        raise CodesignError(f"layer {job.index} ({job.name!r}) needs {act_need} bytes of activation buffer on chunk "
                            f"{chunk.index} (act_buf_kib={chunk.act_buf_bytes // 1024}), more than its tile plan allows: raise act_buf_kib "
                            f"to {ceil_div(act_need, 1024)}")
    wgt_need = align(f["param_bytes"])
    if wgt_need > chunk.wgt_buf_bytes:
        raise CodesignError(f"layer {job.index} ({job.name!r}) needs {wgt_need} bytes of weight buffer on chunk "
                            f"{chunk.index} (wgt_buf_kib={chunk.wgt_buf_bytes // 1024}), more than its tile plan allows: raise wgt_buf_kib "
                            f"to {ceil_div(wgt_need, 1024)}")
    if job.g and max(job.w_bits, job.in_bits) > chunk.mult_bits:
        raise CodesignError(f"layer {job.index} ({job.name!r}) has {job.w_bits}-bit weights and {job.in_bits}-bit "
                            f"inputs but chunk {chunk.index} multiplies {chunk.mult_bits} bits: raise mult_bits")


def chunk_rows(ir: HardwareIR, chunk, keep_on_chip: bool = True) -> list[tuple[LayerJob, dict]]:
    """The chunk's layer table (shared with the HLS backend): (layer job, table row) per row, each
    checked against the chunk's buffers and multipliers. keep_on_chip False: every layer loads its
    inputs and parameters and stores its output (the HLS twin's schedule), else the activations
    stay on chip where `place_row` says and parameters are prefetched where `place_params` says."""
    rows, in_off = [], 0
    jobs = ir.layers[chunk.first_layer:chunk.last_layer + 1]
    for i, job in enumerate(jobs):
        if not job.tiles_ok:
            raise CodesignError(f"layer {job.index} ({job.name!r}) does not fit chunk {chunk.index}'s buffers even in "
                                f"tiles (act_buf_kib={chunk.act_buf_bytes // 1024}, wgt_buf_kib="
                                f"{chunk.wgt_buf_bytes // 1024}): raise them")
        second = job.inputs[-1]
        in1_signed = second >= 0 and ir.layers[second].out_signed
        out_off = None
        next_keeps = i + 1 < len(jobs) and jobs[i + 1].keep_in
        for f in sub_layer_fields(job, chunk.rows, chunk.cols, in1_signed):
            if keep_on_chip:
                place_row(f, job, in_off if job.keep_in else 0, next_keeps, chunk.act_buf_bytes)
                out_off = f["out_off"]
            rows.append((job, f))
        in_off = out_off     # where the next layer finds this one's output (a kept layer is untiled)
    if keep_on_chip:
        place_params(rows, chunk, rec_depth(jobs, chunk.cols))
    for job, f in rows:
        check_layer_fits(job, f, chunk)
    return rows


def rec_depth(jobs: list[LayerJob], cols: int) -> int:
    """Words of a lane's record bank: a power of two that holds any layer's records, and a
    prefetching layer's and the next one's together (two slices' of a double-buffered layer),
    each with a spare row (`place_params`)."""
    need = [ceil_div(j.out_shape[2], cols) for j in jobs]
    pairs = [a + b + 2 for a, b, j in zip(need, need[1:], jobs) if j.pf_out]
    pairs += [2 * ceil_div(j.slice_ch, cols) + 2 for j in jobs if j.double_slices]
    return 1 << max(1, (max(need + pairs) - 1).bit_length())


def place_params(rows: list[tuple[LayerJob, dict]], chunk, depth: int) -> None:
    """Parameter prefetch (codesign.cost.model.prefetch, and the double-buffered weight slices of
    tile_plan): a row whose parameters the previous row loads while it computes (a layer's first
    row: the layer's pf_in; a later row of a layer with double_slices that loads parameters) goes
    to the other end of the weight buffer (w_off: the top, wgt_buf - its block) and of the record
    banks (rec_row0: depth - its rows - 1) from the previous row's block; its row does not load
    them, and the previous row names the block (pf_*) to load beside its compute. A row that loads
    no parameters of its own (a later band of a slice) reads them where its predecessor did.
    Each block's records keep the row after them free: a 128-bit beat carries two records, and the
    block's last beat may carry one past its end (rec_ram writes it to the next row)."""
    top, prefetched = False, []
    for k, (job, f) in enumerate(rows):
        first = k == 0 or rows[k - 1][0] is not job
        pre = job.pf_in if first else job.double_slices and bool(f["flags"] & LOAD_PARAMS)
        prefetched.append(pre)
        if pre:
            top = not top
            f["flags"] &= ~LOAD_PARAMS
        elif first or f["flags"] & LOAD_PARAMS:
            top = False
        if top:
            recs = (f["param_bytes"] - f["rec_off"]) // PARAM_RECORD.itemsize
            f.update(w_off=chunk.wgt_buf_bytes - align(f["param_bytes"]), rec_row0=depth - ceil_div(recs, chunk.cols) - 1)
    for (_, f), (_, nxt), pre in zip(rows, rows[1:], prefetched[1:]):
        if pre:
            f.update(pf_addr=nxt["param_addr"], pf_bytes=nxt["param_bytes"], pf_woff=nxt["w_off"],
                     pf_rec_off=nxt["rec_off"], pf_rec_row0=nxt["rec_row0"])


def place_row(f: dict, job: LayerJob, in_off: int, out_top: bool, act_buf_bytes: int) -> None:
    """Activations kept on chip (codesign.cost.model.on_chip): a layer that keeps its input reads
    it at in_off, where the previous layer wrote it, and loads nothing; one that keeps its output
    stores nothing. Outputs alternate ends of the buffer: a layer whose input sits at the top
    writes at the bottom (0), one whose input sits at the bottom writes at the top when the next
    layer keeps it, so each layer needs only its own inputs + output (the fit rule). An add keeps
    its second input (the previous layer's output) at in_off and loads its first right beside it,
    below when the kept one sits at the top, above when at the bottom: the walker reads the second
    input in1_off (here in_off - base0, negative in the second case) past the first."""
    if job.keep_in and job.kind == "add":
        at = in_off - align(f["in_bytes"]) if in_off else align(f["in_bytes"])
        f.update(base0=f["base0"] + at, in1_off=in_off - at, flags=f["flags"] | KEEP_IN1)
    elif job.keep_in:
        f["base0"] += in_off
        f["flags"] &= ~LOAD_IN
    if job.keep_out:
        f["flags"] &= ~STORE
    if in_off or out_top:     # a weight slice writes at its first channel (wr_off - out_off) of the region
        at = 0 if in_off else act_buf_bytes - align(f["out_bytes"])
        f.update(out_off=at, wr_off=at + f["wr_off"] - f["out_off"])


def chunk_context(ir: HardwareIR, chunk) -> dict:
    jobs = [j for j in ir.layers if j.chunk == chunk.index]
    rows = chunk_rows(ir, chunk)
    entries = [dict(index=job.index, name=job.name if job.slices * job.bands == 1 else f"{job.name} [tile]",
                    kind=job.kind, m=f["m"] if job.g else 0, fields=[f[name] & 0xFFFFFFFF for name in FIELDS])
               for job, f in rows]
    acc_depth = 1 << max(1, (max([e["m"] for e in entries] + [1]) - 1).bit_length())
    depth = rec_depth(jobs, chunk.cols)
    addr_bits = max(chunk.act_buf_bytes, chunk.wgt_buf_bytes).bit_length() + 1
    units = chunk_units(job.kind for job in jobs)
    return dict(chunk.model_dump(), n_layers=len(jobs), layers=[dict(index=j.index) for j in jobs], entries=entries,
                n_entries=len(entries), acc_depth=acc_depth, rec_depth=depth, addr_bits=addr_bits,
                has_gemm=units["gemm"], has_vec=units["vec"], has_add=units["add"],
                has_pack=int(any(weight_flags(job) & W_PACKED for job in jobs)),
                has_dual=int(any(job.macs_pe == 2 for job in jobs)),
                has_dw=int(chunk.dataflow == "os" and any(job.kind == "dwconv" for job in jobs)))


def render(design: DesignPoint, ir: HardwareIR, params: list[dict], out_dir: Path) -> None:
    """Write the RTL project of `design` to out_dir (the `rtl` folder of `codesign hw`)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if ir.axi_bytes * 8 not in AXI_WIDTHS or ALIGN % BURST_BYTES:
        raise CodesignError(f"target {ir.target}: the RTL's AXI engine drives {' or '.join(map(str, AXI_WIDTHS))}-bit "
                            f"AXI ports (axi_data_bits), the target has {ir.axi_bytes * 8}")
    chunks = [chunk_context(ir, c) for c in ir.chunks]
    target = load_target(ir.target)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=False)
    ctx = dict(ir=ir, chunks=chunks, n_fields=len(FIELDS), lut_mult_bits=LUT_MULT_MAX_BITS, axi_size=int(math.log2(ir.axi_bytes)),
               burst_beats=burst_beats(ir.axi_bytes), dma_outstanding=int(dma_outstanding(ir.axi_bytes)), target=target, top=TOP_NAME, rtl_files=RTL_MODULES + [REGS_FILE, f"{TOP_NAME}.v"])
    for template, name in (("accel_params.vh.j2", "accel_params.vh"), ("accel_top.v.j2", f"{TOP_NAME}.v"),
                           ("vivado.tcl.j2", "vivado.tcl"), ("block_design.tcl.j2", "block_design.tcl")):
        (out_dir / name).write_text(env.get_template(template).render(**ctx))
    for name in RTL_MODULES:
        shutil.copyfile(TEMPLATES / "rtl" / name, out_dir / name)
    (out_dir / REGS_FILE).write_text(regmap.render(regmap.load(), "accel_regs.v.j2"))


def rtl_sources(rtl_dir: Path) -> list[Path]:
    """The Verilog files of a rendered project, leaves first, the top last."""
    return [Path(rtl_dir) / name for name in RTL_MODULES + [REGS_FILE, f"{TOP_NAME}.v"]]
