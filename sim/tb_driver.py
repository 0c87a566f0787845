"""cocotb testbench of the host driver (codesign/driver/host.py) against accel_top: a simulation
bridge gives the driver the two interfaces it has on a board, PYNQ's MMIO (read/write over a
cocotbext-axi AxiLiteMaster) and allocate (numpy buffers on the cocotbext-axi AxiRam's memory at
chosen physical addresses, coherent: flush/invalidate do nothing), and the driver runs in a
bridge thread as blocking code (cocotb.task.bridge / resume). Faults are injected per case: an
address range whose reads (or writes) the AxiRam answers with SLVERR or DECERR, and random
backpressure on every AXI channel.

The job (CODESIGN_SIM_IO/job.json) lists cases, run in order on one simulation without a reset in
between; results go to result.json and every layer's output of every frame to outputs.npz.
"""

import json
import os
import random
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, First, RisingEdge
from cocotbext.axi import AxiBus, AxiLiteBus, AxiLiteMaster, AxiRam, AxiResp

from codesign.driver import accel_regs as regs
from codesign.driver.host import Accelerator, AcceleratorError


class SimBuffer(np.ndarray):
    """A PYNQ-allocate-shaped buffer: a uint8 view of the simulated DRAM at physical_address."""

    def __new__(cls, mem, address, nbytes):
        obj = np.frombuffer(mem, np.uint8, nbytes, address).view(cls)
        obj.physical_address = address
        return obj

    def __array_finalize__(self, obj):
        self.physical_address = getattr(obj, "physical_address", 0)

    def flush(self):
        pass

    def invalidate(self):
        pass


class SimAllocate:
    """allocate(shape=, dtype=) handing out the given physical addresses in turn."""

    def __init__(self, mem, addresses):
        self.mem, self.addresses = mem, list(addresses)

    def __call__(self, shape, dtype=np.uint8):
        assert np.dtype(dtype) == np.uint8 and len(shape) == 1
        return SimBuffer(self.mem, self.addresses.pop(0), shape[0])


class SimMMIO:
    """PYNQ-MMIO-shaped read/write over AXI4-Lite; a response other than OKAY raises (a bus fault)."""

    def __init__(self, master):
        self.master = master
        self.on_start = None   # called once after the next CONTROL.START write (the core busy)

    def read(self, offset):
        resp = resume(self.master.read)(offset, 4)
        if resp.resp != AxiResp.OKAY:
            raise IOError(f"AXI4-Lite read of {offset:#x} answered {resp.resp!r}")
        return int.from_bytes(resp.data, "little")

    def write(self, offset, value):
        resp = resume(self.master.write)(offset, int(value).to_bytes(4, "little"))
        if resp.resp != AxiResp.OKAY:
            raise IOError(f"AXI4-Lite write of {offset:#x} answered {resp.resp!r}")
        if offset == regs.REG_CONTROL and value & regs.CONTROL_START_MASK and self.on_start:
            hook, self.on_start = self.on_start, None
            hook()


class Fault:
    """Answer reads (or writes) of [lo, hi) with `resp` instead of OKAY."""

    def __init__(self):
        self.read = self.write = None

    def install(self, ram):
        for side, channel in (("read", ram.read_if.r_channel), ("write", ram.write_if.b_channel)):
            send = channel.send

            async def faulty(txn, side=side, send=send):
                f = getattr(self, side)
                if f is not None and getattr(txn, "rresp" if side == "read" else "bresp") == AxiResp.SLVERR:
                    setattr(txn, "rresp" if side == "read" else "bresp", AxiResp(f["resp"]))
                await send(txn)
            channel.send = faulty
        rd, wr = ram.read_if._read, ram.write_if._write

        async def read(address, length):
            f = self.read
            if f is not None and f["lo"] <= address < f["hi"]:
                raise IOError("injected read fault")
            return await rd(address, length)

        async def write(address, data):
            f = self.write
            if f is not None and f["lo"] <= address < f["hi"]:
                raise IOError("injected write fault")
            return await wr(address, data)
        ram.read_if._read, ram.write_if._write = read, write


def set_backpressure(rams, seed):
    """Random backpressure on every channel of every port (seed None: none): each cycle each of
    AR, R, AW, W and B is paused with probability 1/4 (the AxiRam still checks every burst)."""
    channels = [ch for ram in rams for ch in (ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel,
                                               ram.write_if.w_channel, ram.write_if.b_channel)]
    for i, ch in enumerate(channels):
        if seed is None:
            ch.clear_pause_generator()
            ch.pause = False   # clearing the generator leaves the channel as it was, maybe paused
        else:
            rng = random.Random(seed * 1000 + i)
            ch.set_pause_generator(iter(lambda rng=rng: rng.random() < 0.25, None))


class Monitor:
    """Counts the DMAs' bursts that end on a 4 KB boundary short of BURST_BEATS (the 4 KB split)."""

    def __init__(self, dut, n_chunks, db, beats):
        self.split = 0
        for c in range(n_chunks):
            for ch in ("ar", "aw"):
                cocotb.start_soon(self.watch(dut, f"m_axi_c{c}_{ch}", db, beats))

    async def watch(self, dut, prefix, db, beats):
        valid, ready = getattr(dut, prefix + "valid"), getattr(dut, prefix + "ready")
        addr, length = getattr(dut, prefix + "addr"), getattr(dut, prefix + "len")
        while True:
            await RisingEdge(dut.clk)
            if valid.value and ready.value:
                n = int(length.value) + 1
                end = int(addr.value) + n * db
                if n < beats and end % 4096 == 0:
                    self.split += 1


def busy_checks(master, out):
    """Accesses while the core runs: locked registers refuse writes (SLVERR, no effect)."""
    m = resume(master.read)
    w = resume(master.write)
    out["busy_status"] = int.from_bytes(m(regs.REG_STATUS, 4).data, "little")
    out["busy_frames_write"] = int(w(regs.REG_FRAMES, b"\7\0\0\0").resp)
    out["busy_frames_after"] = int.from_bytes(m(regs.REG_FRAMES, 4).data, "little")
    out["busy_base_write"] = int(w(regs.REG_ACT_BASE, b"\0\0\0\0").resp)
    out["busy_start_write"] = int(w(regs.REG_CONTROL, b"\1\0\0\0").resp)
    out["busy_irq_enable_write"] = int(w(regs.REG_IRQ_ENABLE, b"\0\0\0\0").resp)


def register_checks(mmio_master):
    """Raw AXI4-Lite accesses: responses and effects (the core idle)."""
    m = resume(mmio_master.read)
    w = resume(mmio_master.write)
    out = {}
    out["unmapped_read"] = int(m(0x0F0, 4).resp)
    out["unmapped_write"] = int(w(0x0F0, b"\1\0\0\0").resp)
    out["past_layers_read"] = int(m(regs.REG_LAYER_CYCLES + 4 * 0x300, 4).resp)
    out["ro_write"] = int(w(regs.REG_STATUS, b"\1\0\0\0").resp)
    out["layer_cycles_write"] = int(w(regs.REG_LAYER_CYCLES, b"\1\0\0\0").resp)
    w(regs.REG_FRAMES, (0x01020304).to_bytes(4, "little"))
    out["byte1_write"] = int(w(regs.REG_FRAMES + 1, b"\x55").resp)          # WSTRB 0b0010
    out["frames_after_byte1"] = int.from_bytes(m(regs.REG_FRAMES, 4).data, "little")
    out["high_half_write"] = int(w(regs.REG_FRAMES + 2, b"\xaa\xbb").resp)   # WSTRB 0b1100
    out["frames_after_half"] = int.from_bytes(m(regs.REG_FRAMES, 4).data, "little")
    w(regs.REG_FRAMES, (1).to_bytes(4, "little"))
    # a CONTROL write whose START byte is not strobed does not start the core
    w(regs.REG_CONTROL + 1, b"\x01")
    out["status_after_unstrobed_start"] = int.from_bytes(m(regs.REG_STATUS, 4).data, "little")
    out["design_id"] = int.from_bytes(m(regs.REG_DESIGN_ID, 4).data, "little")
    return out


@cocotb.test()
async def driver_cases(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    job = json.loads((io / "job.json").read_text())
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dram = bytearray(job["ram_size"])   # one memory behind every chunk's master, as the HP ports share the DDR
    rams = [AxiRam(AxiBus.from_prefix(dut, f"m_axi_c{c}"), dut.clk, dut.rst_n, reset_active_level=False, mem=dram)
            for c in range(job["n_chunks"])]
    fault = Fault()
    for ram in rams:
        fault.install(ram)
    master = AxiLiteMaster(AxiLiteBus.from_prefix(dut, "s_axil"), dut.clk, dut.rst_n, reset_active_level=False)
    monitor = Monitor(dut, job["n_chunks"], job["axi_bytes"], job["burst_beats"])
    dut.rst_n.value = 0
    await ClockCycles(dut.clk, 5)
    dut.rst_n.value = 1
    await ClockCycles(dut.clk, 2)
    mmio = SimMMIO(master)
    irq_seen = []

    async def irq_wait(timeout_s):
        if not dut.irq.value:
            await First(RisingEdge(dut.irq), ClockCycles(dut.clk, job["timeout_cycles"]))
        irq_seen.append(bool(dut.irq.value))

    async def sleep(_):
        await ClockCycles(dut.clk, 64)

    def run_cases():
        results, outputs = {}, {}
        images = np.load(io / "images.npy")
        for case in job["cases"]:
            name = case["name"]
            if case.get("registers"):
                results[name] = register_checks(master)
                continue
            fault.read, fault.write = case.get("fault_read"), case.get("fault_write")
            set_backpressure(rams, case.get("backpressure_seed"))
            acc = Accelerator(job["driver"], mmio, SimAllocate(dram, [case["param_base"], case["act_base"]]),
                              sleep=resume(sleep), wait_irq=resume(irq_wait) if case["irq"] else None)
            acc.check_design()
            split_before, irq_before = monitor.split, len(irq_seen)
            res = {"error": None}
            if case.get("busy_checks"):
                mmio.on_start = lambda: busy_checks(master, res)
            try:
                out = acc.run(images[:case["frames"]], timeout_s=600, all_layers=True)
                for f, tensors in enumerate(out):
                    for i, t in enumerate(tensors):
                        if t is not None:     # None: kept on chip
                            outputs[f"{name}/{f}/{i}"] = t
                res["counters"] = acc.counters
            except AcceleratorError as e:
                res["error"] = {"kind": e.kind, "resp": e.resp, "chunk": e.chunk, "address": e.address,
                                "message": str(e)}
            res["irq"] = irq_seen[irq_before:]
            res["split_bursts"] = monitor.split - split_before
            res["status"] = mmio.read(regs.REG_STATUS)
            if res["error"]:
                mmio.write(regs.REG_CONTROL, regs.CONTROL_CLEAR_ERROR_MASK)
                res["status_after_clear"] = mmio.read(regs.REG_STATUS)
            results[name] = res
        fault.read = fault.write = None
        set_backpressure(rams, None)
        return results, outputs

    results, outputs = await bridge(run_cases)()
    np.savez(io / "outputs.npz", **outputs)
    (io / "result.json").write_text(json.dumps(results, indent=1))
