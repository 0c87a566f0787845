"""The simulated DRAM's latency / bandwidth / backpressure sweep on one design: one Verilator
build, then one `codesign sim` run per memory timing; prints a Markdown table (docs/verilog.md
keeps one) of bit-exactness and cycles against the cost model for each.

    python bench/mem_sweep.py [--design examples/two_chunk_mixed.json] [--frames 2]

Rule checked per row (what `codesign sim` exits 1 on): without stalls every count equals the
model; with stalls model <= measured <= model + stall cycles."""

import argparse
import tempfile
import time
from pathlib import Path

from codesign.backend.hw import generate
from codesign.backend.sim import simulate

ROOT = Path(__file__).resolve().parents[1]
# (read latency, write latency, beat cycles, stall %); None: the target file's
SETTINGS = [(1, 1, 1, 0), (2, 2, 1, 0), (None, None, None, 0), (64, 32, 1, 0), (100, 80, 1, 0), (150, 130, 2, 0),
            (None, None, 2, 0), (8, 8, 4, 0),
            (None, None, None, 10), (None, None, None, 30), (None, None, None, 60), (64, 32, 2, 30)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--design", default=str(ROOT / "examples" / "two_chunk_mixed.json"))
    p.add_argument("--frames", type=int, default=2)
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        hw = Path(tmp) / "hw"
        generate(args.design, hw)
        t0 = time.perf_counter()
        simulate(hw, images=1)
        print(f"design {args.design}: build + first run {time.perf_counter() - t0:.1f} s; {args.frames} frame(s) a row\n")
        print("| read lat | write lat | beat cycles | stall % | bit-exact | run cycles | model | stall cycles "
              "| run - model | rule holds |")
        print("|---:|---:|---:|---:|:---:|---:|---:|---:|---:|:---:|")
        for rd, wr, beat, stall in SETTINGS:
            r = simulate(hw, images=args.frames, read_latency=rd, write_latency=wr, beat_cycles=beat, stall_pct=stall,
                         mem_seed=args.seed)
            m = r["memory"]
            print(f"| {m['read_latency']} | {m['write_latency']} | {m['beat_cycles']} | {stall} | {r['bit_exact']} "
                  f"| {r['run_cycles']} | {r['predicted_run_cycles']} | {sum(m['stall_cycles'])} "
                  f"| {r['run_cycles'] - r['predicted_run_cycles']} | {r['cycles_ok']} |")


if __name__ == "__main__":
    main()
