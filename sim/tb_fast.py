"""cocotb side of the fast testbench (sim/hdl/tb_top.v.j2): the clock, reset, DRAM and the PS's
AXI4-Lite accesses all run in Verilog, so this test only waits, once, for tb_done."""

import cocotb
from cocotb.triggers import RisingEdge


@cocotb.test()
async def run_frames(dut):
    await RisingEdge(dut.tb_done)
