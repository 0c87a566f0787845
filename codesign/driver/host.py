"""Host driver of a generated accelerator: loads the parameters, sets the base addresses, runs N
frames, waits for the interrupt or polls, checks the error status and returns the outputs.

It needs only numpy and the project's `driver/` folder (written by `codesign hw`: layout.json,
params.bin, accel_regs.py), so it runs on a board as `driver/accel.py` (a copy of this file) with
PYNQ:

    from pynq import MMIO, Overlay, allocate
    ol = Overlay("accel.bit")
    acc = Accelerator("driver", MMIO(base, 0x1000), allocate)
    logits = acc.run(images)[-1]

`mmio` has read(offset) -> int and write(offset, value) (PYNQ's MMIO); `allocate(shape=, dtype=)`
returns a contiguous uint8 buffer with `physical_address`, `flush()` and `invalidate()` (PYNQ's
allocate). Here the same class runs against the RTL under cocotb (sim/tb_driver.py, a simulation
bridge with the same two interfaces). Register offsets come from accel_regs.py, generated from
codesign/driver/regmap.toml.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

try:
    from codesign.driver import accel_regs as regs
except ImportError:   # on a board: the project's driver folder, without codesign installed
    import accel_regs as regs

KINDS = {1: "read response", 2: "write response", 3: "misaligned DRAM address"}
RESPS = {0: "OKAY", 1: "EXOKAY", 2: "SLVERR", 3: "DECERR"}


class AcceleratorError(RuntimeError):
    """The core ended a run on an AXI error (or did not end it): the fields of ERR_STATUS/ERR_ADDR."""

    def __init__(self, message: str, kind: int = 0, resp: int = 0, chunk: int = 0, address: int = 0):
        super().__init__(message)
        self.kind, self.resp, self.chunk, self.address = kind, resp, chunk, address


def field(value: int, mask: int, shift: int) -> int:
    return (value & mask) >> shift


class Accelerator:
    def __init__(self, folder, mmio, allocate, sleep=time.sleep, wait_irq=None, poll_s: float = 1e-3):
        """folder: the project's driver/ folder; wait_irq(timeout_s): blocks until the core's
        interrupt (or the timeout); without it the driver polls STATUS, sleep(poll_s) apart."""
        folder = Path(folder)
        self.layout = json.loads((folder / "layout.json").read_text())
        self.params = np.frombuffer((folder / "params.bin").read_bytes(), np.uint8)
        self.mmio, self.allocate, self.sleep, self.wait_irq, self.poll_s = mmio, allocate, sleep, wait_irq, poll_s
        self.param_buf = None
        self.counters: dict = {}

    def check_design(self) -> None:
        """The core behind mmio is this folder's design (DESIGN_ID, LAYER_COUNT)."""
        got = self.mmio.read(regs.REG_DESIGN_ID)
        layers = self.mmio.read(regs.REG_LAYER_COUNT)
        if got != self.layout["design_id"] or layers != len(self.layout["layers"]):
            raise AcceleratorError(f"the core is design {got:08x} with {layers} layers, this driver folder is "
                                   f"{self.layout['design_name']} ({self.layout['design_id']:08x}, "
                                   f"{len(self.layout['layers'])} layers): load the matching bitstream")

    def load_params(self) -> None:
        """Copy the parameters into a DRAM buffer (once; every run uses them)."""
        buf = self.allocate(shape=(len(self.params),), dtype=np.uint8)
        buf[:] = self.params
        buf.flush()
        self.param_buf = buf

    def run(self, images, timeout_s: float = 10.0, all_layers: bool = False) -> list:
        """Run the core on one HWC image or a stack of them (one frame each, pipelined over the
        chunks). Returns, per frame, the last layer's output (HWC int32), or with all_layers the
        list of every layer's output (None for a layer whose output the core keeps on chip: it is
        not in DRAM). Raises AcceleratorError on an error status or a timeout."""
        if self.param_buf is None:
            self.load_params()
        images = np.asarray(images)
        images = images[None] if images.ndim == 3 else images
        shape = tuple(self.layout["input"]["shape"])
        if images.ndim != 4 or images.shape[1:] != shape:
            raise ValueError(f"images of shape {images.shape}: give HWC images of shape {shape} (or a stack of them)")
        stride, frames = self.layout["frame_bytes"], len(images)
        act = self.allocate(shape=(frames * stride,), dtype=np.uint8)
        act[:] = 0
        at = self.layout["input"]["offset"]
        for f, image in enumerate(images):
            raw = image.astype(np.int64).astype(np.uint8).reshape(-1)
            act[f * stride + at:f * stride + at + raw.size] = raw
        act.flush()
        self.start(self.param_buf.physical_address, act.physical_address, stride, frames)
        self.wait(timeout_s)
        act.invalidate()
        out = []
        for f in range(frames):
            tensors = [self._tensor(act, f * stride, layer) if layer.get("stored", True) else None
                       for layer in self.layout["layers"]]
            out.append(tensors if all_layers else tensors[-1])
        return out

    def start(self, param_base: int, act_base: int, frame_stride: int, frames: int) -> None:
        m = self.mmio
        m.write(regs.REG_IRQ_STATUS, regs.IRQ_STATUS_DONE_MASK | regs.IRQ_STATUS_ERROR_MASK)
        m.write(regs.REG_IRQ_ENABLE, (regs.IRQ_ENABLE_DONE_MASK | regs.IRQ_ENABLE_ERROR_MASK) if self.wait_irq else 0)
        m.write(regs.REG_PARAM_BASE, param_base)
        m.write(regs.REG_ACT_BASE, act_base)
        m.write(regs.REG_FRAME_STRIDE, frame_stride)
        m.write(regs.REG_FRAMES, frames)
        m.write(regs.REG_CONTROL, regs.CONTROL_START_MASK)

    def wait(self, timeout_s: float) -> int:
        """Wait for the end of the run; the STATUS read then. Raises on an error or a timeout."""
        m = self.mmio
        if self.wait_irq:
            self.wait_irq(timeout_s)
            status = m.read(regs.REG_STATUS)
        else:
            deadline = time.monotonic() + timeout_s
            while True:
                status = m.read(regs.REG_STATUS)
                if status & (regs.STATUS_DONE_MASK | regs.STATUS_ERROR_MASK) or time.monotonic() > deadline:
                    break
                self.sleep(self.poll_s)
        m.write(regs.REG_IRQ_STATUS, regs.IRQ_STATUS_DONE_MASK | regs.IRQ_STATUS_ERROR_MASK)
        if status & regs.STATUS_ERROR_MASK:
            raise self.error()
        if not status & regs.STATUS_DONE_MASK:
            raise AcceleratorError(f"the core did not finish within {timeout_s} s (STATUS {status:#x})")
        self.counters = {"frame_cycles": m.read(regs.REG_FRAME_CYCLES), "run_cycles": m.read(regs.REG_RUN_CYCLES),
                         "period_cycles": m.read(regs.REG_PERIOD_CYCLES),
                         "layer_cycles": [m.read(regs.REG_LAYER_CYCLES + 4 * i)
                                          for i in range(len(self.layout["layers"]))]}
        return status

    def error(self) -> AcceleratorError:
        """The error the core recorded (ERR_STATUS, ERR_ADDR) as an exception."""
        st, addr = self.mmio.read(regs.REG_ERR_STATUS), self.mmio.read(regs.REG_ERR_ADDR)
        kind = field(st, regs.ERR_STATUS_KIND_MASK, regs.ERR_STATUS_KIND_SHIFT)
        resp = field(st, regs.ERR_STATUS_RESP_MASK, regs.ERR_STATUS_RESP_SHIFT)
        chunk = field(st, regs.ERR_STATUS_CHUNK_MASK, regs.ERR_STATUS_CHUNK_SHIFT)
        what = (f"{KINDS.get(kind, f'kind {kind}')} {RESPS[resp]} at DRAM address" if kind in (1, 2)
                else KINDS.get(kind, f"kind {kind} at"))
        return AcceleratorError(f"the run ended on an AXI error: {what} {addr:#010x} (chunk {chunk})",
                                kind, resp, chunk, addr)

    @staticmethod
    def _tensor(act, base: int, layer: dict) -> np.ndarray:
        shape = tuple(layer["shape"])
        n = int(np.prod(shape))
        at = base + layer["offset"]
        raw = np.asarray(act[at:at + n]).view(np.int8 if layer["signed"] else np.uint8)
        return raw.astype(np.int32).reshape(shape)


__all__ = ["Accelerator", "AcceleratorError"]
