"""Simulated cycles per second of the two RTL testbenches on the same mid-size design, same run.

    python bench/sim_speed.py [--rows 8] [--cols 8] [--dataflow os] [--frames 16]
                              [--shape 32 32 3 --act-kib 64 --wgt-kib 16]   (a CIFAR-10-sized input)

old: sim/tb_accel.py, cocotbext-axi AxiRam slaves and a Python clock (Python every cycle).
new: sim/hdl/tb_top.v.j2, the Verilog clock, DRAM model and AXI4-Lite master (what `codesign sim`
runs); memory timing AxiRam's (read / write latency 2) so that both runs take the same cycles.
Prints each build's time, each run's simulated cycles and wall time (including cocotb's start-up,
about half a second) and cycles per second, the new testbench's on one frame, on --frames frames,
and in the steady state (the difference of the two runs, start-up taken out), and the ratios
new / old."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design  # noqa: E402
from runner import MAX_FRAMES, build, build_fast, run_fast, run_frames  # noqa: E402

from codesign.backend import verilog  # noqa: E402
from codesign.backend.ir import design_params, dram_bytes, dram_image, lower  # noqa: E402

AXIRAM = {"rd_lat": 2, "wr_lat": 2, "beat_gap": 1, "stall_pct": 0, "seed": 1}


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--rows", type=int, default=8)
    p.add_argument("--cols", type=int, default=8)
    p.add_argument("--dataflow", choices=["os", "ws"], default="os")
    p.add_argument("--frames", type=int, default=MAX_FRAMES)
    p.add_argument("--shape", type=int, nargs=3, default=None, help="input H W C (default: the random one)")
    p.add_argument("--act-kib", type=int, default=8)
    p.add_argument("--wgt-kib", type=int, default=4)
    args = p.parse_args()
    base = random_design(1, n_chunks=1, shape=args.shape, act_buf_kib=args.act_kib, wgt_buf_kib=args.wgt_kib)
    chunk = base.accelerator.chunks[0].model_copy(update={"rows": args.rows, "cols": args.cols,
                                                          "dataflow": args.dataflow})
    design = base.model_copy(update={"accelerator": base.accelerator.model_copy(update={"chunks": [chunk]})})
    ir, params = lower(design), design_params(design)
    images = np.random.default_rng(0).integers(0, 256, size=(args.frames, *design.dataset.input_shape))
    n = (len(ir.layers), len(ir.chunks))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        verilog.render(design, ir, params, tmp / "rtl")
        _, b_old = timed(lambda: build(tmp / "rtl", tmp / "old"))
        _, b_new = timed(lambda: build_fast(tmp / "rtl", tmp / "new", design.name, len(ir.chunks), len(ir.layers),
                                            ir.axi_bytes, dram_bytes(ir, MAX_FRAMES)))
        (mem_old, cyc_old, c_old), t_old = timed(lambda: run_frames(tmp / "old", dram_image(ir, params, images[0]),
                                                                    *n, 1, 10_000_000))
        (mem_1, cyc_1, c_1), t_1 = timed(lambda: run_fast(tmp / "new", dram_image(ir, params, images[0]), *n, 1,
                                                          10_000_000, ir.axi_bytes, AXIRAM))
        (_, _, c_n), t_n = timed(lambda: run_fast(tmp / "new", dram_image(ir, params, images), *n, args.frames,
                                                  100_000_000, ir.axi_bytes, AXIRAM))
    assert cyc_old == cyc_1 and mem_old == mem_1, "the two testbenches disagree"
    f_old, f_1, f_n = c_old["run_cycles"], c_1["run_cycles"], c_n["run_cycles"]
    print(f"design: one {args.rows}x{args.cols} {args.dataflow} chunk, input {design.dataset.input_shape}, "
          f"{len(ir.layers)} layers, "
          f"{f_old} cycles a frame (both testbenches: same cycles, same DRAM)")
    print(f"old (cocotbext-axi): build {b_old:5.1f} s, 1 frame {f_old:>9} cycles in {t_old:6.2f} s -> "
          f"{f_old / t_old:>12,.0f} cycles/s")
    print(f"new (Verilog tb)   : build {b_new:5.1f} s, 1 frame {f_1:>9} cycles in {t_1:6.2f} s -> "
          f"{f_1 / t_1:>12,.0f} cycles/s")
    print(f"new (Verilog tb)   : {args.frames} frames {f_n:>9} cycles in {t_n:6.2f} s -> {f_n / t_n:>12,.0f} cycles/s")
    steady = (f_n - f_1) / max(t_n - t_1, 1e-9)   # the start-up (cocotb, Python, $readmemh) taken out
    print(f"new (Verilog tb)   : steady state ({args.frames} frames minus 1) {steady:>12,.0f} cycles/s")
    print(f"ratio new / old: {f_1 / t_1 / (f_old / t_old):.1f}x on one frame, "
          f"{f_n / t_n / (f_old / t_old):.1f}x on {args.frames} frames, {steady / (f_old / t_old):.1f}x steady state")


if __name__ == "__main__":
    main()
