"""cocotb test of templates/verilog/rtl/requant.v alone: one vector a cycle from
$CODESIGN_SIM_IO/vectors.json (acc, mult, shift, lo, hi), each output byte collected two cycles
later (the lane's latency), written to out.json for tests/test_requant_rtl.py to compare with the
golden model."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge

LATENCY = 2


@cocotb.test()
async def requant_vectors(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    vectors = json.loads((io / "vectors.json").read_text())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    out = []
    for i in range(len(vectors) + LATENCY):
        await FallingEdge(dut.clk)
        if i >= LATENCY:   # the result of vector i - LATENCY, its address tagging it
            assert int(dut.out_valid.value) == 1 and int(dut.out_addr.value) == (i - LATENCY) & 0xFFFF
            out.append(int(dut.out_byte.value))
        acc, mult, shift, lo, hi = vectors[i] if i < len(vectors) else (0, 0, 0, 0, 0)
        dut.in_valid.value = int(i < len(vectors))
        dut.acc.value = acc
        dut.mult.value = mult
        dut.shift.value = shift
        dut.lo.value = lo
        dut.hi.value = hi
        dut.in_addr.value = i & 0xFFFF
    (io / "out.json").write_text(json.dumps(out))
