"""cocotb testbench of templates/verilog/rtl/axi_dma.v alone (sim/hdl/tb_dma.v) against
cocotbext-axi's AxiRam, a strict AXI4 slave (it asserts that no burst crosses 4 KB and that WLAST
falls on the burst's last beat). The on-chip buffer is a Python bytearray with the block RAM's
timing: read data one cycle after its address. A monitor checks what AxiRam does not: every VALID
of the master (AR, AW, W) stays high, its payload unchanged, until its handshake; bursts of at most
256 beats; it counts the bursts outstanding and the W beats accepted before their burst's AW.

The job ($CODESIGN_SIM_IO/job.json) lists cases run in order on one simulation:
  exact      transfers without backpressure, their cycles from the start to done
  random     random transfers (reads and writes, any length, any beat-aligned address) under
             random backpressure on every channel
  w_first    a write whose AW channel is held closed for a while: W beats go first, up to the window
  window     a read (write) whose R (B) channel is held closed: the bursts outstanding stop at N_OUT
  reset      a reset in the middle of a read and of a write, then the exact transfers again
Results go to result.json: cycles, data mismatches, protocol violations, the monitor's counts."""

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge
from cocotbext.axi import AxiBus, AxiRam

BUF_BYTES = 1 << 16


class Monitor:
    """Per-cycle checks of the master's side of the bus, sampled at the falling edge."""

    def __init__(self, dut, db):
        self.dut, self.db = dut, db
        self.violations = []
        self.held = {"ar": None, "aw": None, "w": None}
        self.out_r = self.out_w = self.max_r = self.max_w = 0
        self.aw_bursts = self.w_bursts = self.early_w = self.w_waits = self.split = 0

    def payload(self, ch):
        d = self.dut
        names = {"ar": ("araddr", "arlen"), "aw": ("awaddr", "awlen"), "w": ("wdata", "wstrb", "wlast")}[ch]
        return tuple(int(getattr(d, f"m_axi_{n}").value) for n in names)

    def fire(self, ch):
        return bool(getattr(self.dut, f"m_axi_{ch}valid").value) and bool(getattr(self.dut, f"m_axi_{ch}ready").value)

    def burst(self, ch):
        addr, length = self.payload(ch)
        end = (addr & 0xFFF) + (length + 1) * self.db
        if length > 255 or end > 0x1000:
            self.violations.append(f"{ch} burst at {addr:#x} of {length + 1} beats")
        self.split += end == 0x1000 and (addr + self.db * 8) & 0xFFF != 0 and length < 7   # cut at 4 KB

    def sample(self):
        d = self.dut
        if d.rst.value:         # a reset drops every VALID; the bursts in flight are gone
            self.held = dict.fromkeys(self.held)
            self.out_r = self.out_w = self.aw_bursts = self.w_bursts = 0
            return
        if d.m_axi_wvalid.value and self.w_bursts >= self.aw_bursts:
            self.w_waits += 1     # WVALID high for a burst whose AW has not been accepted
        for ch in self.held:
            valid = bool(getattr(d, f"m_axi_{ch}valid").value)
            if self.held[ch] is not None and (not valid or self.payload(ch) != self.held[ch]):
                self.violations.append(f"{ch.upper()}VALID or its payload changed before the handshake")
            self.held[ch] = self.payload(ch) if valid and not self.fire(ch) else None
        if self.fire("ar"):
            self.burst("ar")
            self.out_r += 1
        if self.fire("r") and d.m_axi_rlast.value:
            self.out_r -= 1
        if self.fire("aw"):
            self.burst("aw")
            self.aw_bursts += 1
            self.out_w += 1
        if self.fire("w"):
            if self.w_bursts >= self.aw_bursts:    # this beat's burst has no AW handshake yet
                self.early_w += 1
            self.w_bursts += int(d.m_axi_wlast.value)
        if self.fire("b"):
            self.out_w -= 1
        self.max_r, self.max_w = max(self.max_r, self.out_r), max(self.max_w, self.out_w)


class Bench:
    def __init__(self, dut, ram, db):
        self.dut, self.ram, self.db = dut, ram, db
        self.buf = bytearray(BUF_BYTES + db)
        self.monitor = Monitor(dut, db)
        self.mismatches = []

    async def run_buffer(self):
        """The block RAM: a write with buf_wr_en, read data one cycle after buf_addr."""
        d, pending = self.dut, 0
        while True:
            await RisingEdge(d.clk)
            d.buf_rd_data.value = pending
            await FallingEdge(d.clk)
            addr = int(d.buf_addr.value) % BUF_BYTES
            if d.buf_wr_en.value:
                self.buf[addr:addr + self.db] = int(d.buf_wr_data.value).to_bytes(self.db, "little")
            pending = int.from_bytes(self.buf[addr:addr + self.db], "little")
            self.monitor.sample()

    async def start(self, to_dram, addr, off, n):
        d = self.dut
        while True:
            await FallingEdge(d.clk)
            if d.idle.value:
                break
        d.start.value, d.to_dram.value, d.dram_addr.value, d.buf_off.value, d.nbytes.value = 1, int(to_dram), addr, off, n
        await RisingEdge(d.clk)        # the edge that takes the start
        d.start.value = 0

    async def transfer(self, to_dram, addr, off, n, check=True):
        """One transfer; returns its cycles (falling edges from the start's edge to done)."""
        rng = random.Random(addr * 7 + n)
        if to_dram:
            self.buf[off:off + n] = bytes(rng.randrange(256) for _ in range(n))
            self.ram.write(addr, bytes(rng.randrange(256) for _ in range(n + 2 * self.db)))
        else:
            self.ram.write(addr, bytes(rng.randrange(256) for _ in range(n)))
        before = self.ram.read(addr, n + 2 * self.db)
        await self.start(to_dram, addr, off, n)
        cycles = 0
        while True:
            await FallingEdge(self.dut.clk)
            cycles += 1
            if self.dut.done.value:
                break
        if check:
            self.check(to_dram, addr, off, n, before)
        return cycles

    def check(self, to_dram, addr, off, n, before):
        if to_dram:   # the bytes moved, and the rest of the last beat untouched (WSTRB)
            got, want = self.ram.read(addr, n + 2 * self.db), bytes(self.buf[off:off + n]) + before[n:]
        else:
            got, want = bytes(self.buf[off:off + n]), before[:n]
        if got != want:
            self.mismatches.append({"to_dram": to_dram, "addr": addr, "n": n})


def set_backpressure(ram, seed):
    channels = (ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel,
                ram.write_if.w_channel, ram.write_if.b_channel)
    for i, ch in enumerate(channels):
        if seed is None:
            ch.clear_pause_generator()
            ch.pause = False
        else:
            rng = random.Random(seed * 10 + i)
            ch.set_pause_generator(iter(lambda rng=rng: rng.random() < 0.3, None))


@cocotb.test()
async def dma_cases(dut):
    io = Path(os.environ["CODESIGN_SIM_IO"])
    job = json.loads((io / "job.json").read_text())
    db = job["db"]
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    ram = AxiRam(AxiBus.from_prefix(dut, "m_axi"), dut.clk, dut.rst, reset_active_level=True, size=1 << 20)
    bench = Bench(dut, ram, db)
    dut.start.value = 0
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    cocotb.start_soon(bench.run_buffer())
    res = {}

    res["exact"] = [await bench.transfer(w, a, 0, n) for w, a, n in job["exact"]]

    set_backpressure(ram, job["seed"])
    rng = random.Random(job["seed"])
    for _ in range(job["random"]):
        n = rng.randrange(1, 2500)
        addr = rng.choice([rng.randrange(0, 1 << 19, db), 0x1000 * rng.randrange(1, 64) - db * rng.randrange(1, 40)])
        await bench.transfer(rng.random() < 0.5, addr, rng.randrange(0, BUF_BYTES - n, db), n)
    set_backpressure(ram, None)

    # AxiRam queues at most 2 transactions per channel (its acceptance); for the next two cases it
    # takes 64, as an interconnect with deep FIFOs would. AW closed: the W beats go without it, up
    # to the window; R (B) held back: the window fills and stops there
    channels = [ram.read_if.ar_channel, ram.read_if.r_channel, ram.write_if.aw_channel, ram.write_if.w_channel,
                ram.write_if.b_channel]
    for ch in channels:
        ch.queue_occupancy_limit = 64
    ram.write_if.aw_channel.pause = True        # AW closed: the W beats must not wait for it
    m = bench.monitor
    early, aws, waits = m.early_w, m.aw_bursts, m.w_waits
    task = cocotb.start_soon(bench.transfer(True, 0x3000, 0, 1024))
    await ClockCycles(dut.clk, 120)
    res["w_first"] = {"early_w_beats": m.early_w - early, "aw_bursts_during": m.aw_bursts - aws,
                      "wvalid_cycles_without_aw": m.w_waits - waits}
    ram.write_if.aw_channel.pause = False
    await task

    res["window"] = []
    for to_dram, channel in ((False, ram.read_if.r_channel), (True, ram.write_if.b_channel)):
        channel.pause = True
        w0 = m.w_bursts
        task = cocotb.start_soon(bench.transfer(to_dram, 0x20000, 0, 4096))
        await ClockCycles(dut.clk, 150)
        res["window"].append({"outstanding": m.out_w if to_dram else m.out_r, "w_bursts": m.w_bursts - w0})
        channel.pause = False
        await task
    for ch in channels:
        ch.queue_occupancy_limit = 2

    res["reset"] = []
    for to_dram in (False, True):       # a reset in the middle of a long transfer
        await bench.start(to_dram, 0x8000, 0, 4000)
        await ClockCycles(dut.clk, 30)
        dut.rst.value = 1
        await ClockCycles(dut.clk, 2)
        dut.rst.value = 0
        await FallingEdge(dut.clk)
        res["reset"].append({"idle": int(dut.idle.value), "valids": [int(getattr(dut, f"m_axi_{c}valid").value)
                                                                     for c in ("ar", "aw", "w")]})
    res["exact_after_reset"] = [await bench.transfer(w, a, 0, n) for w, a, n in job["exact"]]

    res["max_outstanding"] = [m.max_r, m.max_w]
    res["split_bursts"] = m.split
    res["mismatches"] = bench.mismatches
    res["violations"] = bench.monitor.violations[:20]
    (io / "result.json").write_text(json.dumps(res, indent=1))
