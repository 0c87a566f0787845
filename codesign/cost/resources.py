"""FPGA resources and ASIC area/energy of an accelerator: one vectorised implementation.

FPGA (per chunk, summed over chunks):
* DSP: one DSP48 per PE whose multiplier is wider than LUT_MULT_MAX_BITS bits; narrower
  multipliers are built from LUTs (as Yosys maps them); plus REQUANT_DSP per requantiser lane
  (C lanes per chunk: the 32 x 15-bit multiply of the requantiser).
* LUT / FF: per PE by multiplier width, plus a fixed controller/AXI share per chunk.
* BRAM36: each buffer is banked by its port width (R bytes for activations, C bytes for
  weights); a bank of W bits and D words takes ceil(W / 72) * ceil(D / 512) BRAM36.
The DSP term is held exactly by tests/test_yosys.py against Yosys `synth_xilinx` of the
generated RTL's arithmetic (one chunk's array and requantiser lanes: one DSP48E1 per PE when
mult_bits > LUT_MULT_MAX_BITS, the PE otherwise multiplies by shift-and-add in LUTs, and 2 per
requantiser lane). The LUT/FF/BRAM constants are not yet calibrated against the whole top
(Yosys maps its many-ported buffers to registers and runs for tens of minutes).

ASIC (per inference, Horowitz ISSCC 2014 at 45 nm, multiplier cost quadratic in width):
energy = MACs * (mult + add) + SRAM bytes / 8 * sram_read + DRAM bytes / 8 * dram;
area = PEs * (mult + add) + buffers * sram_per_kib.
"""

from __future__ import annotations

import numpy as np

from codesign.cost.model import _xp, ceil_div, maximum

LUT_MULT_MAX_BITS = 4
REQUANT_DSP = 2
LUT_PER_PE_DSP = 40          # operand/accumulator muxing and the adder around a DSP MAC
LUT_PER_PE_BIT2 = 3          # LUT multiplier: about 3 LUTs per partial-product bit pair
FF_PER_PE = 56               # weight, activation and 32-bit accumulator registers
LUT_PER_CHUNK = 1500         # controller, address generators, AXI engine, requantisers
FF_PER_CHUNK = 1200


def fpga_resources(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib) -> dict:
    """dsp, lut, ff, bram36 per chunk (broadcast over candidates); sum over the chunk axis."""
    xp = _xp(rows, cols, mult_bits, act_buf_kib)
    pes = rows * cols
    dsp_mac = mult_bits > LUT_MULT_MAX_BITS
    dsp = xp.where(dsp_mac, pes, 0) + REQUANT_DSP * cols
    lut = xp.where(dsp_mac, LUT_PER_PE_DSP, LUT_PER_PE_DSP + LUT_PER_PE_BIT2 * mult_bits * mult_bits) * pes + LUT_PER_CHUNK
    ff = FF_PER_PE * pes + FF_PER_CHUNK
    bram = bram36_for(act_buf_kib * 1024, rows * 8) + bram36_for(wgt_buf_kib * 1024, cols * 8)
    return {"dsp": dsp, "lut": lut, "ff": ff, "bram36": bram}


def bram36_for(bytes_, width_bits):
    depth = ceil_div(bytes_ * 8, width_bits)
    return ceil_div(width_bits, 72) * ceil_div(depth, 512)


def asic_area_mm2(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib, target) -> object:
    a = target.area_um2
    pe = a["mult_8b"] * (mult_bits / 8.0) ** 2 + a["add_32b"]
    return (rows * cols * pe + (act_buf_kib + wgt_buf_kib) * a["sram_per_kib"]) / 1e6


def asic_energy_uj(macs, w_bits, a_bits, sram_bytes, dram_bytes, target) -> object:
    """Energy of the given work in microjoules (all arguments broadcast; sum over layers)."""
    e = target.energy_pj
    width = maximum(w_bits, a_bits)
    mac = e["mult_8b"] * (width / 8.0) ** 2 + e["add_32b"]
    return (macs * mac + sram_bytes / 8.0 * e["sram_read_64b_32kib"] + dram_bytes / 8.0 * e["dram_64b"]) / 1e6


def as_numpy(resources: dict) -> dict:
    return {k: np.asarray(v) for k, v in resources.items()}
