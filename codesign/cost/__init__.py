"""Cost of a whole DesignPoint on its target, from the one model in `model` and `resources`."""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from codesign.cost.model import (ADD_HEAD_BYTES, PARAM_BYTES_PER_CHANNEL, LayerArrays, act_bytes, align,
                                 dram_bytes_per_cycle, weight_bytes, weights_per_byte,
                                 layer_cycles, memory_timing, pe_macs, scalesim_compute_cycles)
from codesign.cost.resources import asic_area_mm2, asic_energy_uj, fpga_resources, top_share
from codesign.design import GEMM_KINDS, DesignPoint, Layer, Predicted, chunk_units, layer_in_bits
from codesign.errors import CodesignError
from codesign.targets import Target, load_target

__all__ = ["LayerArrays", "layer_arrays", "evaluate", "check_fits", "DesignCost", "scalesim_compute_cycles",
           "pipeline_periods"]


def _vec_elems(layer: Layer) -> int:
    h, w, c = layer.in_shape
    oh, ow, _ = layer.out_shape
    return {"avgpool": h * w * c, "maxpool": oh * ow * c * layer.kernel ** 2, "add": h * w * c}.get(layer.kind, 0)


def param_block_bytes(layer: Layer) -> int:
    """Bytes of the layer's parameter block in DRAM: weights (two to a byte at <= 4 bits) padded to
    BURST_BYTES, then one record per output channel (add: its two input multipliers first). See codesign.backend.ir."""
    head = align(int(weight_bytes(layer.weight_count, layer.w_bits))) if layer.kind in GEMM_KINDS else 0
    if layer.kind == "add":
        head = ADD_HEAD_BYTES
    return head + PARAM_BYTES_PER_CHANNEL * layer.out_shape[2]


def layer_figures(layer: Layer, in_bits: int) -> dict:
    """The per-layer numbers the cost model reads (plain ints)."""
    gemm = layer.gemm() if layer.kind in GEMM_KINDS else (0, 0, 0, 0)
    h, w, c = layer.in_shape
    oh, ow, oc = layer.out_shape
    n_inputs = len(layer.inputs)
    return dict(m=gemm[0], n=gemm[1], k=gemm[2], g=gemm[3], vec_elems=_vec_elems(layer),
                in_bytes=h * w * c * n_inputs, out_bytes=oh * ow * oc,
                w_bytes=param_block_bytes(layer),
                macs=layer.macs, w_bits=layer.w_bits or 0, a_bits=in_bits,
                vec_c=oc if _vec_elems(layer) else 0, out_c=oc, dw=int(layer.kind == "dwconv"), w_row=gemm[2],
                **band_figures(layer))


def band_figures(layer: Layer) -> dict:
    """The geometry input bands need (`codesign.cost.model.tile_plan`): conv, dwconv, maxpool and
    add layers can run in bands of output rows; fc and the global avgpool cannot."""
    h, w, c = layer.in_shape
    oh, ow, oc = layer.out_shape
    windowed = layer.kind in ("conv", "dwconv", "maxpool")
    return dict(out_h=oh, in_h=h, in_row=w * c, out_row=ow * oc, win=layer.kernel if windowed else 1,
                stride=layer.stride if windowed else 1, pad=layer.padding if windowed else 0,
                band_ok=int(windowed or layer.kind == "add"))


def chain_figures(layers: list[Layer], figs: list[dict]) -> list[dict]:
    """The LayerArrays fields `on_chip` and `prefetch` read, from the layer graph: chain_in (the
    layer's one input is the previous layer's output; an add's second one), chain_out (the next layer chains in, and no
    other layer reads this output; the last layer's output is the host's), pf_prev / pf_next (a
    neighbour that may prefetch this layer's parameters / whose parameters this layer may
    prefetch: not an add), and each neighbour's `act_bytes`, parameter bytes and output channels.
    figs: `layer_figures` of the same layers; returns them with these fields added."""
    need = [int(act_bytes(SimpleNamespace(**f))) for f in figs]
    n = len(layers)
    readers = [[j for j, other in enumerate(layers) if i in other.inputs] for i in range(n)]
    # an add chains in through its second input (its branch; the first, the skip, loads)
    chain_in = [int(i > 0 and (layer.inputs[-1] == i - 1 and len(layer.inputs) == 2 if layer.kind == "add"
                               else layer.inputs == [i - 1])) for i, layer in enumerate(layers)]
    out = []
    for i in range(n):
        prev, nxt = (figs[i - 1] if i else None), (figs[i + 1] if i + 1 < n else None)
        out.append(dict(figs[i], chain_in=chain_in[i], chain_out=int(nxt is not None and chain_in[i + 1] == 1 and readers[i] == [i + 1]),
                        prev_act=need[i - 1] if prev else 0, next_act=need[i + 1] if nxt else 0,
                        pf_prev=int(prev is not None and layers[i].kind != "add"),
                        pf_next=int(nxt is not None and layers[i + 1].kind != "add"),
                        prev_w=prev["w_bytes"] if prev else 0, next_w=nxt["w_bytes"] if nxt else 0,
                        prev_oc=prev["out_c"] if prev else 0, next_oc=nxt["out_c"] if nxt else 0))
    return out


def layer_arrays(design: DesignPoint) -> LayerArrays:
    figs = [layer_figures(layer, layer_in_bits(design, layer)) for layer in design.layers]
    figs = chain_figures(design.layers, figs)
    return LayerArrays(**{key: np.array([f[key] for f in figs], dtype=np.int64) for key in figs[0]})


def chunk_arrays(design: DesignPoint) -> dict:
    """Per-layer view of each layer's chunk parameters (int64 arrays, one entry per layer)."""
    chunks = design.accelerator.chunks
    idx = np.array([design.chunk_of(i) for i in range(len(design.layers))])
    pick = lambda f: np.array([f(chunks[c]) for c in idx], dtype=np.int64)  # noqa: E731
    first = np.array([i == chunks[c].first_layer for i, c in enumerate(idx)])
    last = np.array([i == chunks[c].last_layer for i, c in enumerate(idx)])
    return dict(chunk=idx, rows=pick(lambda c: c.rows), cols=pick(lambda c: c.cols),
                ws=pick(lambda c: c.dataflow == "ws").astype(bool),
                act_buf_bytes=pick(lambda c: c.act_buf_kib * 1024), wgt_buf_bytes=pick(lambda c: c.wgt_buf_kib * 1024),
                weights_outer=pick(lambda c: c.loop_order == "weights_outer").astype(bool),
                first_in_chunk=first, last_in_chunk=last)


@dataclass
class DesignCost:
    layer_cycles: np.ndarray
    layer_compute: np.ndarray
    layer_dram: np.ndarray
    chunk_cycles: np.ndarray
    fps: float
    latency_ms: float
    resources: dict[str, float]
    capacity: dict[str, float]

    def predicted(self) -> Predicted:
        return Predicted(layer_cycles=[int(v) for v in self.layer_cycles],
                         chunk_cycles=[int(v) for v in self.chunk_cycles], fps=self.fps,
                         latency_ms=self.latency_ms, resources=self.resources)


def evaluate(design: DesignPoint, target: Target | None = None, memory=None) -> DesignCost:
    """The design's costs; memory (a MemoryTiming) overrides the target file's DRAM timing."""
    target = target or load_target(design.accelerator.target)
    L = layer_arrays(design)
    ch = chunk_arrays(design)
    total, compute, dram = layer_cycles(L, ch["rows"], ch["cols"], ch["ws"], ch["act_buf_bytes"], ch["wgt_buf_bytes"],
                                        ch["weights_outer"], ch["first_in_chunk"], ch["last_in_chunk"],
                                        dram_bytes_per_cycle(target), memory or memory_timing(target))
    n_chunks = len(design.accelerator.chunks)
    chunk_cycles = np.bincount(ch["chunk"], weights=total, minlength=n_chunks).astype(np.int64)
    clock_hz = design.accelerator.clock_mhz * 1e6
    fps = clock_hz / chunk_cycles.max()            # chunks pipeline across frames
    latency_ms = chunk_cycles.sum() / clock_hz * 1e3
    resources, capacity = design_resources(design, target, L, dram)
    return DesignCost(total, compute, dram, chunk_cycles, float(fps), float(latency_ms), resources, capacity)


def pipeline_periods(chunk_cycles, frames: int) -> np.ndarray:
    """Cycles of each period of a run of `frames` frames pipelined over the chunks (what the RTL
    does): in period p chunk c runs frame p - c when 0 <= p - c < frames, and the period lasts as
    long as its slowest busy chunk. The steady-state period is chunk_cycles.max() (the FPS above),
    frame 0's latency the first len(chunk_cycles) periods, the run all of them."""
    n = len(chunk_cycles)
    return np.array([max(int(chunk_cycles[c]) for c in range(n) if 0 <= p - c < frames)
                     for p in range(frames + n - 1)], dtype=np.int64)


def chunk_fpga_resources(design: DesignPoint, family: str | None = "xc7") -> dict[str, np.ndarray]:
    """FPGA resources of each chunk (arrays, one entry per chunk; the top level's share, `top_share`,
    not included), for the FPGA family (xc7 or ecp5)."""
    cs = design.accelerator.chunks
    arr = lambda f: np.array([f(c) for c in cs], dtype=np.int64)  # noqa: E731
    units = [chunk_units(layer.kind for layer in design.layers[c.first_layer:c.last_layer + 1]) for c in cs]
    gemm, vec, add = (np.array([u[k] for u in units], dtype=np.int64) for k in ("gemm", "vec", "add"))
    layers = lambda c: design.layers[c.first_layer:c.last_layer + 1]  # noqa: E731
    pack = arr(lambda c: any(layer.kind in GEMM_KINDS and int(weights_per_byte(layer.w_bits)) == 2 for layer in layers(c)))
    dual = arr(lambda c: any(layer_macs_pe(layer, c) == 2 for layer in layers(c)))
    dw = arr(lambda c: any(layer.kind == "dwconv" for layer in layers(c)))
    return fpga_resources(arr(lambda c: c.rows), arr(lambda c: c.cols), arr(lambda c: c.mult_bits),
                          arr(lambda c: c.act_buf_kib), arr(lambda c: c.wgt_buf_kib),
                          arr(lambda c: c.dataflow == "ws"), gemm, vec, add, family or "xc7", pack, dual, dw)


def layer_macs_pe(layer: Layer, chunk) -> int:
    """MACs per PE a cycle of this layer on its chunk (`codesign.cost.model.pe_macs`)."""
    n = layer.gemm()[1] if layer.kind in GEMM_KINDS else 0
    return int(pe_macs(layer.kind in GEMM_KINDS, int(layer.kind == "dwconv"), int(chunk.dataflow == "ws"),
                       layer.w_bits or 0, n, chunk.cols))


def design_resources(design: DesignPoint, target: Target, L: LayerArrays, dram_cycles) -> tuple[dict, dict]:
    if target.kind == "fpga":
        res = {k: float(np.sum(v)) for k, v in chunk_fpga_resources(design, target.family).items()}
        for k, v in top_share(target.family).items():
            res[k] += v
        return res, {k: float(v) for k, v in target.resources.items()}
    cs = design.accelerator.chunks
    arr = lambda f: np.array([f(c) for c in cs], dtype=np.int64)  # noqa: E731
    rows, cols, mult = arr(lambda c: c.rows), arr(lambda c: c.cols), arr(lambda c: c.mult_bits)
    act, wgt = arr(lambda c: c.act_buf_kib), arr(lambda c: c.wgt_buf_kib)
    dram_bytes = dram_cycles * dram_bytes_per_cycle(target)
    sram_bytes = L.macs * 2  # every MAC reads one weight and one activation byte from a buffer
    energy = float(np.sum(asic_energy_uj(L.macs, L.w_bits, L.a_bits, sram_bytes, dram_bytes, target)))
    area = float(np.sum(asic_area_mm2(rows, cols, mult, act, wgt, target)))
    return {"area_mm2": area, "energy_uj": energy}, {"area_mm2": float(target.area_budget_mm2)}


def check_fits(design: DesignPoint, target: Target | None = None) -> DesignCost:
    """Evaluate, and raise a CodesignError naming the resource and the overshoot if it does not fit."""
    target = target or load_target(design.accelerator.target)
    cost = evaluate(design, target)
    for key, cap in cost.capacity.items():
        used = cost.resources[key]
        if used > cap:
            raise CodesignError(f"design {design.name!r} does not fit {target.name}: {key} {used:g} > {cap:g} "
                                f"(over by {used - cap:g}, {100 * (used - cap) / cap:.0f} %); use smaller arrays "
                                f"or buffers, fewer chunks, or a larger target")
    return cost
