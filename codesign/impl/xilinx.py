"""The Xilinx flow: Debian's Yosys `synth_xilinx` of the whole top, buffers included (no wrapper:
the top's ports stay ports), counting DSP48, block RAM (RAMB36 = 1, RAMB18 = 0.5 BRAM36), LUT,
LUTRAM and FF, and the longest combinational path in logic levels: Yosys `ltp` over the LUT,
MUXF and CARRY cells of the mapped netlist (flip-flops, DSPs and block RAM end a path). Vivado's
placement, routing and timing closure stay the user's."""

from __future__ import annotations

import re
from pathlib import Path

from codesign.backend.yosys import parse_stat
from codesign.errors import CodesignError
from codesign.impl.tools import last_error, native_yosys, run_tool

LUT_LOGIC = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
LUT_RAM = {"SRL16E": 1, "SRLC32E": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM32M": 4, "RAM64M": 4, "RAM128X1D": 4,
           "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM32M16": 8, "RAM64M8": 8}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "RAMB36E2": 1.0, "RAMB18E2": 0.5}
DSP = ("DSP48E1", "DSP48E2")


def xilinx_counts(cells: dict[str, int]) -> dict:
    """dsp, bram36, lut (logic + LUTRAM, as Vivado's utilisation counts them), lutram, ff."""
    lutram = sum(cells.get(c, 0) * n for c, n in LUT_RAM.items())
    return {"dsp": sum(cells.get(c, 0) for c in DSP), "bram36": sum(cells.get(c, 0) * w for c, w in BRAM.items()),
            "lut": sum(cells.get(c, 0) for c in LUT_LOGIC) + lutram, "lutram": lutram,
            "ff": sum(cells.get(c, 0) for c in FF_CELLS)}


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
