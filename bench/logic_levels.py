"""Logic levels of the longest register-to-register path of one chunk engine, 8x8 against 32x32.

    python bench/logic_levels.py [RTL_DIR]

Synthesises templates/verilog/rtl's chunk_engine (or RTL_DIR's) with yosys synth_xilinx for each
array size and dataflow and prints the cells on its longest path (codesign.backend.yosys.
engine_logic_levels: buffers, array, flip-flops and DSP48s end a path) and the synthesis time."""

import sys
import time
from pathlib import Path

from codesign.backend.verilog import TEMPLATES
from codesign.backend.yosys import engine_logic_levels

SIZES = [(8, 8), (32, 32)]


def main() -> None:
    rtl = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATES / "rtl"
    print(f"{'array':>7} {'dataflow':>8} {'levels':>6} {'synth s':>8}")
    for ws in (False, True):
        for rows, cols in SIZES:
            start = time.monotonic()
            levels = engine_logic_levels(rtl, rows, cols, ws)
            print(f"{rows:>3}x{cols:<3} {'ws' if ws else 'os':>8} {levels:>6} {time.monotonic() - start:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
