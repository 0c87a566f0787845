"""cocotb test of templates/verilog/rtl/pe.v alone (OS, DUAL): one operand pair a cycle from
$CODESIGN_SIM_IO/vectors.json (a, b, dual), each a fold of one step (first and last), its results
collected a cycle later (result, result_hi) into out.json for tests/test_pe_rtl.py to compare
with integer products."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge


@cocotb.test()
async def pe_vectors(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    vectors = json.loads((io / "vectors.json").read_text())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.w_load.value = 0
    dut.psum_in.value = 0
    out = []
    for i in range(len(vectors) + 1):
        await FallingEdge(dut.clk)
        if i >= 1:
            out.append([dut.result.value.to_signed(), dut.result_hi.value.to_signed()])
        a, b, dual = vectors[i] if i < len(vectors) else (0, 0, 0)
        dut.a_in.value = a & 0x1FF
        dut.b_in.value = b & 0xFF
        dut.dual.value = dual
        dut.a_valid_in.value = int(i < len(vectors))
        dut.a_first_in.value = 1
        dut.a_last_in.value = 1
    (io / "out.json").write_text(json.dumps(out))
