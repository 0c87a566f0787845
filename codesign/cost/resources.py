"""FPGA resources and ASIC area/energy of an accelerator: one vectorised implementation.

FPGA (per chunk, summed over chunks), fitted to Yosys `synth_xilinx` of the generated RTL
(tests/test_yosys.py holds the whole top of held-out designs to it):
* DSP48E1: one per PE whose multiplier is wider than LUT_MULT_MAX_BITS bits (narrower ones
  multiply by shift-and-add in LUTs), plus per column lane REQUANT_DSP (the requantiser's
  32 x 16-bit multiply) and ADD_DSP (the residual add's two 9 x 16-bit input scalings). Exact.
* LUT / FF: a per-design share (AXI4-Lite registers, period sequencer: TOP_LUT / TOP_FF) and,
  per chunk, terms per chunk, column lane, vector lane, array row and PE, plus the registers of
  the row and column walkers (counted from their widths) (a LUT multiplier adds
  LUT_PER_PE_BIT2 * bits^2; an OS PE keeps its accumulator and result in fabric registers, a WS
  PE's partial sum sits in the DSP48's P register). Fitted on ten random tops: LUT within 9 %,
  FF within 3 % there; held-out designs in docs/verilog.md.
* BRAM36: the buffers as the RTL builds them (docs/verilog.md, `buffer_banks`): NB one-byte
  banks per buffer copy (NB = max(8, C rounded up to a power of two)); the activation buffer has
  one copy per array row (two for a chunk of pool/add layers only with an add, else one), the
  weight buffer one copy (none without GEMM layers); a bank of D bytes takes ceil(D / 2048) RAMB18
  (2K x 9) = 0.5 BRAM36 each; the records one RAMB36 (512 x 72) per requantiser lane. Exact
  against synth_xilinx (tests/test_yosys.py) while no layer has more than 512 C output channels.

ECP5 (`ecp5_resources`, family "ecp5"; Yosys `synth_ecp5`, codesign impl): MULT18X18D counted as
the DSP48E1 above (one per PE wider than LUT_MULT_MAX_BITS, two per requantiser lane, two per
add lane: a 32 x 16 multiply splits into two 18 x 18 blocks, as into two DSP48E1); DP16KD: the
same banks, ceil(D / 2048) DP16KD (2K x 9) a byte bank, two (512 x 36) a lane's records;
LUT4 / FF scaled from the LUT / FF terms above by ECP5_LUT4_PER_LUT and ECP5_FF_PER_FF, ratios
measured on synth_ecp5 and synth_xilinx of the same tops, buffers set aside (docs/impl.md).

ASIC (per inference, Horowitz ISSCC 2014 at 45 nm, multiplier cost quadratic in width):
energy = MACs * (mult + add) + SRAM bytes / 8 * sram_read + DRAM bytes / 8 * dram;
area = PEs * (mult + add) + buffers * sram_per_kib.
"""

from __future__ import annotations

import numpy as np

from codesign.cost.model import _xp, ceil_div, maximum

LUT_MULT_MAX_BITS = 4
REQUANT_DSP = 2
ADD_DSP = 2
# LUT/FF constants: non-negative least squares on Yosys counts of ten seeded random tops
# (1..3 chunks, 2..8 rows and columns, OS and WS, 5..8 bits; docs/verilog.md); LUT_PER_PE_BIT2
# from chunk engines synthesised alone (the random tops have no chunk of 4 bits or fewer).
TOP_LUT, TOP_FF = 4000, 1020
# the streaming DMA (axi_dma.v, one per chunk) synthesised alone: 426 LUT / 405 FF before its
# window of bursts, 703 / 510 with it; the difference is added per chunk (LUT_PER_CHUNK, FF_PER_CHUNK)
LUT_PER_CHUNK = 277
# the parameter prefetch's weight and record offsets on a WS chunk's walkers (a 4 x 4 engine
# synthesised alone: 8,211 -> 8,601 LUT; an OS engine's were unchanged, 8,016 -> 8,013)
LUT_PER_WS_CHUNK = 390
LUT_PER_COL = 800            # requantiser lane, weight column addressing, its share of the controller
LUT_PER_VEC_LANE = 240       # a vector lane (pooling / add), when the chunk has such layers
LUT_PER_ROW = 4              # an array row's walker stage: refitted on random_design(2, 2) after the walkers were registered (was 280)
LUT_PER_PE = 32
# a chunk with packed (<= 4-bit) weights: per column the nibble select of its weight (a 2:1 and a
# 3:1 mux) and the half-address read; random_design(21, 3) (15 columns) synthesised with and
# without: 26,147 -> 26,275 LUT, 13,186 -> 13,248 FF
LUT_PER_PACK_COL = 9
FF_PER_PACK_COL = 4
# a chunk with a layer of two MACs per PE (codesign.cost.model.pe_macs; OS only): per PE the second
# accumulator and result and the drain bank's second row of results (3 x 32 bits), and with DSP
# multipliers the weight pair's operand and the product's split (with LUT multipliers a second
# one, 2.6 b^2, and the weight operand widened to 8 bits). Measured with synth_xilinx on whole tops
# with an 8 x 8 chunk built with and without it (HAS_DUAL): 8-bit multipliers +5,027 LUT and
# +6,272 FF, 4-bit ones +6,589 LUT and +6,412 FF (docs/verilog.md, "Two MACs per PE").
LUT_PER_DUAL_PE = 62
LUT_PER_DSP_DUAL_PE = 16
FF_PER_DUAL_PE = 98
# a chunk with a depthwise layer on OS (every PE its own activation; docs/verilog.md, "Depthwise on
# OS"): per PE a 9-bit operand register and the PE's operand select, the rows' C-byte reads (their
# rotation); per row the operands' skew, delays of 1 .. C - 1 cycles of 9 bits (1 and 2 in
# flip-flops, longer ones an SRL LUT a bit). Whole tops with an 8 x 8 chunk built with and without
# it (HAS_DW): +2,698 LUT (320 of them SRLs) and +769 FF.
LUT_PER_DW_PE = 37
FF_PER_DW_PE = 9
# and per array row of such a chunk: fitted on the default searched design's whole top (32x8, 16x16
# and 16x4 OS chunks, all with depthwise layers; synth_xilinx 101,957 LUT, the model without this
# term 71,799) and the same top with its first chunk at 16 rows (85,738 against 62,183): 16 rows of
# 8 columns cost 16,219 LUT where the per-PE terms gave 9,616, and the totals miss 471 and 491 LUT
# a row. The fits above came from tops of 2..8 rows, which could not separate it from the PE terms.
LUT_PER_DW_ROW = 470
LUT_PER_PE_BIT2 = 2.6        # a shift-and-add multiplier of b <= LUT_MULT_MAX_BITS bits: 2.6 b^2 more
FF_PER_CHUNK = 441 + 105      # refitted (least squares of the per-chunk residual) on the whole tops of both examples and random_design(100, 2), buffers included; + the DMA's window
FF_PER_COL = 92              # 70 before the block-RAM buffers, - 32 (no channel register), + 54 (the record register)
FF_PER_VEC_LANE = 61 + 18    # + the lane's two 9-bit operand registers
FF_PER_PE_OS = 114           # operand registers, the accumulator and the result
FF_PER_PE_WS = 12            # the partial sum sits in the DSP48's P register
# the registered walkers (docs/verilog.md), counted from their register widths, not fitted: an
# array row's stage holds a pixel and a reduction state (2 x 112 bits), its M/K index (32) and
# three flags, plus its operand flags (4 + 3 delayed) and operand register (9 bits); a column's
# stage its N index (32) and two flags, plus its operand flags (2 + 1) and register (8); row 0 and
# column 0 have no stage. Delay lines (column j's weight byte: j cycles; a WS lane's write: C - 1 - j cycles of
# 9 bits): synth_xilinx keeps delays of 1 and 2 in flip-flops and packs longer ones into SRL LUTs.
FF_PER_ROW_STAGE = 259
FF_PER_ROW_OPERAND = 16
FF_PER_COL_STAGE = 34
FF_PER_COL_OPERAND = 11


def fpga_resources(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib, ws=0, gemm=1, vec=1, add=1,
                   family="xc7", pack=1, dual=1, dw=1) -> dict:
    """dsp, lut, ff, bram36 per chunk (broadcast over candidates); sum over the chunk axis and
    add `top_share(family)` once per design. gemm / vec / add: whether the chunk's layers use
    the array, the vector lanes (pool, add) and the add's input scaling, pack whether a layer has
    packed (<= 4-bit) weights, dual whether a layer does two MACs per PE, dw whether a depthwise
    layer runs on the array (both OS chunks only) (the RTL drops what is unused); the defaults are
    the upper bound. family "ecp5": see `ecp5_resources`."""
    if family == "ecp5":
        return ecp5_resources(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib, ws, gemm, vec, add, pack, dual, dw)
    xp = _xp(rows, cols, mult_bits, act_buf_kib)
    pes = rows * cols
    dsp_mac = mult_bits > LUT_MULT_MAX_BITS
    dsp = gemm * xp.where(dsp_mac, pes, 0) + (REQUANT_DSP + add * ADD_DSP) * cols
    two = dual * (ws == 0)   # the RTL builds the second MAC on OS chunks only
    own = dw * (ws == 0)     # and the PEs' own activations
    lut_pe = (LUT_PER_PE + xp.where(dsp_mac, 0, LUT_PER_PE_BIT2 * mult_bits * mult_bits * (1 + two))
              + two * (LUT_PER_DUAL_PE + xp.where(dsp_mac, LUT_PER_DSP_DUAL_PE, 0)) + own * LUT_PER_DW_PE)
    # delay-line bits: (held in flip-flops: delays 1 and 2, in SRLs: one LUT per bit of a longer one)
    dl_ff, dl_srl = 2 * cols - 3 + (cols < 2) * (3 - 2 * cols), cols - 3 + (cols < 3) * (3 - cols)
    delays = gemm * 8 + (ws != 0) * 9
    own_ff = xp.where(cols > 2, 3, cols - 1)   # a row's depthwise skew: delays 1 .. C - 1 of 9 bits
    own_srl = maximum(cols - 3, 0)
    lut = (LUT_PER_CHUNK + (ws != 0) * LUT_PER_WS_CHUNK + (LUT_PER_COL + vec * LUT_PER_VEC_LANE) * cols
           + gemm * ((LUT_PER_ROW + own * LUT_PER_DW_ROW) * rows + lut_pe * pes + pack * LUT_PER_PACK_COL * cols
                     + own * 9 * rows * own_srl)
           + delays * dl_srl)
    ff_pe = (FF_PER_PE_OS + (ws != 0) * (FF_PER_PE_WS - FF_PER_PE_OS) + two * (FF_PER_DUAL_PE + maximum(8 - mult_bits, 0))
             + own * FF_PER_DW_PE)
    walkers = (FF_PER_ROW_STAGE * (rows - 1) + FF_PER_ROW_OPERAND * rows
               + FF_PER_COL_STAGE * (cols - 1) + FF_PER_COL_OPERAND * cols)
    ff = (FF_PER_CHUNK + (FF_PER_COL + vec * FF_PER_VEC_LANE) * cols
          + gemm * (ff_pe * pes + walkers + pack * FF_PER_PACK_COL * cols + own * 9 * rows * own_ff) + delays * dl_ff)
    act_banks, act_depth, wgt_banks, wgt_depth = buffer_banks(rows, cols, act_buf_kib, wgt_buf_kib, gemm, add)
    bram = (0.5 * (act_banks * ceil_div(act_depth, 2048) + wgt_banks * ceil_div(wgt_depth, 2048))
            + REC_BRAM36 * cols)
    return {"dsp": dsp, "lut": lut, "ff": ff, "bram36": bram}


AXI_BYTES = 8      # the DMA's beat: the smallest bank count (one beat is one write)
REC_BRAM36 = 1     # a lane's record bank: 64 bits x at most 512 words, one RAMB36 (512 x 72)
REC_DP16KD = 2     # the same on ECP5: two DP16KD (512 x 36)


def buffer_banks(rows, cols, act_buf_kib, wgt_buf_kib, gemm=1, add=1):
    """(activation banks, bytes per activation bank, weight banks, bytes per weight bank) of a
    chunk as the RTL builds them (act_buffer.v, byte_ram.v): NB = max(AXI_BYTES, C rounded up to a
    power of two) one-byte banks per copy; a copy of the activations per array row (a chunk without
    GEMM layers: two with an add, else one), one copy of the weights (none without GEMM layers)."""
    xp = _xp(rows, cols, act_buf_kib, wgt_buf_kib)
    c = cols * 1.0   # float, for log2
    nb = maximum(xp.exp2(xp.ceil(xp.log2(c))), AXI_BYTES)
    g, a = (gemm != 0) * 1, (add != 0) * 1
    copies = g * (rows + (rows < 2) * a * (2 - rows)) + (1 - g) * (1 + a)
    return copies * nb, act_buf_kib * 1024 / nb, g * nb, wgt_buf_kib * 1024 / nb


# synth_ecp5 / model on whole tops with the buffers set aside (docs/impl.md): LUT4 1.0 on the
# 4 x 4 test design, 1.55 on single_chunk_os_int8 (muxes and the OS accumulators, which synth_xilinx
# folds into the DSP48, cost more LUT4s than LUT6s); FF 0.90 and 1.07 (the same registers).
ECP5_LUT4_PER_LUT = 1.4
ECP5_FF_PER_FF = 1.0


def ecp5_resources(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib, ws=0, gemm=1, vec=1, add=1, pack=1,
                   dual=1, dw=1) -> dict:
    """mult18 (MULT18X18D), dp16kd, lut4, ff per chunk on an ECP5 (broadcast like fpga_resources)."""
    x = fpga_resources(rows, cols, mult_bits, act_buf_kib, wgt_buf_kib, ws, gemm, vec, add, pack=pack, dual=dual, dw=dw)
    act_banks, act_depth, wgt_banks, wgt_depth = buffer_banks(rows, cols, act_buf_kib, wgt_buf_kib, gemm, add)
    dp16kd = act_banks * ceil_div(act_depth, 2048) + wgt_banks * ceil_div(wgt_depth, 2048) + REC_DP16KD * cols
    return {"mult18": x["dsp"], "dp16kd": dp16kd, "lut4": x["lut"] * ECP5_LUT4_PER_LUT, "ff": x["ff"] * ECP5_FF_PER_FF}


def top_share(family="xc7") -> dict:
    """The design's resources outside its chunks (AXI4-Lite registers, period sequencer)."""
    if family == "ecp5":
        return {"lut4": TOP_LUT * ECP5_LUT4_PER_LUT, "ff": TOP_FF * ECP5_FF_PER_FF}
    return {"lut": TOP_LUT, "ff": TOP_FF}


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
