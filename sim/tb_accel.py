"""cocotb testbench of accel_top: DRAM is one memory behind one cocotbext-axi AxiRam per chunk
(each chunk has its own AXI4 master, m_axi_c<i>; the AxiRams share their `mem`, as the Zynq HP
ports share the DDR), control goes through an AxiLiteMaster, exactly as the Zynq PS would drive
the core: write the frame count, start, poll done, read the counters."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

REG_CONTROL, REG_STATUS, REG_FRAME_CYCLES, REG_FRAMES = 0x00, 0x04, 0x08, 0x10
REG_RUN_CYCLES, REG_PERIOD_CYCLES, REG_LAYER_CYCLES = 0x14, 0x18, 0x100


@cocotb.test()
async def run_frames(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    job = json.loads((io / "job.json").read_text())
    dram = (io / "dram_in.bin").read_bytes()
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    rams = []
    for c in range(job["n_chunks"]):
        mem = rams[0].mem if rams else None
        rams.append(AxiRam(AxiBus.from_prefix(dut, f"m_axi_c{c}"), dut.clk, dut.rst_n, reset_active_level=False,
                           size=len(dram), mem=mem))
    rams[0].write(0, dram)
    ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n, reset_active_level=False)
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 5)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    await ctrl.write_dword(REG_FRAMES, job["frames"])
    await ctrl.write_dword(REG_CONTROL, 1)
    done = False
    waited = 0
    while waited < job["timeout_cycles"]:
        await ClockCycles(dut.clk, 256)
        waited += 256
        if (await ctrl.read_dword(REG_STATUS)) & 1:
            done = True
            break
    layer_cycles = [await ctrl.read_dword(REG_LAYER_CYCLES + 4 * i) for i in range(job["n_layers"])]
    counters = {name: await ctrl.read_dword(reg) for name, reg in
                (("frames", REG_FRAMES), ("frame_cycles", REG_FRAME_CYCLES), ("run_cycles", REG_RUN_CYCLES),
                 ("period_cycles", REG_PERIOD_CYCLES))}
    (io / "dram_out.bin").write_bytes(rams[0].read(0, len(dram)))
    (io / "result.json").write_text(json.dumps({"done": done, "layer_cycles": layer_cycles, **counters}))
    await RisingEdge(dut.clk)
