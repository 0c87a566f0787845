"""cocotb testbench of accel_top: DRAM is a cocotbext-axi AxiRam on the AXI4 master, control
goes through an AxiLiteMaster, exactly as the Zynq PS would drive the core."""

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam

REG_CONTROL, REG_STATUS, REG_FRAME_CYCLES, REG_LAYER_CYCLES = 0x00, 0x04, 0x08, 0x100


@cocotb.test()
async def run_frame(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    job = json.loads((io / "job.json").read_text())
    dram = (io / "dram_in.bin").read_bytes()
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst_n, reset_active_level=False, size=len(dram))
    ram.write(0, dram)
    ctrl = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n, reset_active_level=False)
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 5)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
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
    frame = await ctrl.read_dword(REG_FRAME_CYCLES)
    (io / "dram_out.bin").write_bytes(ram.read(0, len(dram)))
    (io / "result.json").write_text(json.dumps({"done": done, "layer_cycles": layer_cycles, "frame_cycles": frame}))
    await RisingEdge(dut.clk)
