"""Simulated cycles per second of the Verilator + cocotb testbench on a mid-size (8x8 OS) design.

    python bench/sim_speed.py [--rows 8] [--cols 8] [--dataflow os]

Prints the build time, the frame's cycles and the wall time of the frame's simulation (including
cocotb's start-up, about a second), and the simulated cycles per second."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design  # noqa: E402
from runner import build, run_frames  # noqa: E402

from codesign.backend import verilog  # noqa: E402
from codesign.backend.ir import design_params, dram_image, lower  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--cols", type=int, default=8)
    p.add_argument("--dataflow", choices=["os", "ws"], default="os")
    args = p.parse_args()
    base = random_design(1, n_chunks=1)
    chunk = base.accelerator.chunks[0].model_copy(update={"rows": args.rows, "cols": args.cols,
                                                          "dataflow": args.dataflow})
    design = base.model_copy(update={"accelerator": base.accelerator.model_copy(update={"chunks": [chunk]})})
    ir = lower(design)
    params = design_params(design)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        verilog.render(design, ir, params, tmp / "rtl")
        t0 = time.perf_counter()
        build(tmp / "rtl", tmp / "build")
        t1 = time.perf_counter()
        image = np.random.default_rng(0).integers(0, 256, size=design.dataset.input_shape)
        _, cycles, counters = run_frames(tmp / "build", dram_image(ir, params, image), len(ir.layers), len(ir.chunks),
                                         1, 10_000_000)
        frame = counters["frame_cycles"]
        t2 = time.perf_counter()
    print(f"array {args.rows}x{args.cols} {args.dataflow}: build {t1 - t0:.1f} s, frame {frame} cycles "
          f"({len(ir.layers)} layers) in {t2 - t1:.2f} s -> {frame / (t2 - t1):,.0f} simulated cycles/s")


if __name__ == "__main__":
    main()
