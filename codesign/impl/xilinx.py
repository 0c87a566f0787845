"""The Xilinx flow: Debian's Yosys `synth_xilinx` of the whole top, buffers included (no wrapper:
the top's ports stay ports), counting DSP48, block RAM (RAMB36 = 1, RAMB18 = 0.5 BRAM36), LUT,
LUTRAM and FF, and the longest combinational path in logic levels: Yosys `ltp` over the LUT,
MUXF and CARRY cells of the mapped netlist (flip-flops, DSPs and block RAM end a path). Vivado's
placement, routing and timing closure stay the user's."""

from __future__ import annotations

import re
from pathlib import Path

from codesign.backend.yosys import parse_stat, xilinx_counts
from codesign.errors import CodesignError
from codesign.impl.tools import last_error, native_yosys, run_tool


def synthesise(work: Path, sources: list[Path], top: str, include: Path, family: str, timeout: float) -> dict:
    """{cells, resources, logic_levels, seconds} of `top` after synth_xilinx -family FAMILY -flatten."""
    src = " ".join(str(Path(s).resolve()) for s in sources)
    (work / "synth_xilinx.ys").write_text(
        f"read_verilog -sv -I{Path(include).resolve()} {src}\n"
        f"synth_xilinx -family {family} -flatten -top {top}\n"
        "tee -q -o stat_xilinx.json stat -json\n"
        "tee -q -o ltp.txt ltp -noff w:* t:LUT* t:MUXF* t:CARRY*\n")
    code, secs = run_tool([*native_yosys(), "-q", "-l", "synth_xilinx.log", "synth_xilinx.ys"], work,
                          work / "synth_xilinx.out", timeout)
    if code != 0 or not (work / "ltp.txt").is_file():
        raise CodesignError(f"yosys synth_xilinx failed ({last_error(work / 'synth_xilinx.log')}); "
                            f"see {work}/synth_xilinx.log")
    cells = parse_stat((work / "stat_xilinx.json").read_text())
    levels = re.search(r"\(length=(-?\d+)\)", (work / "ltp.txt").read_text())
    return {"cells": cells, "resources": xilinx_counts(cells), "logic_levels": int(levels[1]) if levels else None,
            "seconds": secs}
