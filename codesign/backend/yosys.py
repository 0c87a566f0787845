"""Resource counts of the generated Verilog from Yosys `synth_xilinx` (DSP48E1, LUT, FF, BRAM).

`synth_counts` runs yosys on a set of Verilog files and returns the cell counts of the flattened
top; `chunk_datapath_counts` does it for one chunk's arithmetic (its systolic array and its
requantiser lanes, templates/verilog/yosys/chunk_datapath.v around the rendered modules), which
is what the DSP term of `codesign.cost.resources.fpga_resources` counts. The whole top with its
buffers is not synthesised here: Yosys maps the many-ported activation/weight buffers to
registers and takes tens of minutes; BRAM is the model's figure (reported beside).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from codesign.backend.verilog import TEMPLATES
from codesign.cost.resources import LUT_MULT_MAX_BITS
from codesign.errors import CodesignError

LUT_CELLS = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5}


def synth_counts(sources: list[Path], top: str, params: dict[str, int] | None = None, family: str = "xc7",
                 timeout: int = 600) -> dict:
    """{dsp, lut, ff, bram36, cells} of `top` after `synth_xilinx -family FAMILY -flatten`."""
    if shutil.which("yosys") is None:
        raise CodesignError("yosys not found on PATH; install it (Debian: apt-get install -y yosys)")
    chparam = " ".join(f"-set {k} {v}" for k, v in (params or {}).items())
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.json"
        script = (f"read_verilog -sv {' '.join(str(s) for s in sources)}; "
                  + (f"chparam {chparam} {top}; " if chparam else "")
                  + f"synth_xilinx -family {family} -flatten -top {top}; tee -q -o {stat} stat -json")
        proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not stat.is_file():
            raise CodesignError(f"yosys synth_xilinx of {top} failed (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        cells = parse_stat(stat.read_text())
    return {"dsp": cells.get("DSP48E1", 0), "lut": sum(cells.get(c, 0) for c in LUT_CELLS),
            "ff": sum(cells.get(c, 0) for c in FF_CELLS),
            "bram36": sum(cells.get(c, 0) * w for c, w in BRAM_CELLS.items()), "cells": cells}


def parse_stat(text: str) -> dict[str, int]:
    """Cell counts by type of the (flattened, single-module) design in `stat -json` output."""
    try:
        data = json.loads(text)
        return {k: int(v) for k, v in data["design"]["num_cells_by_type"].items()}
    except (json.JSONDecodeError, KeyError):   # yosys 0.23 may interleave text: read the last block
        blocks = re.findall(r'"num_cells_by_type":\s*\{([^}]*)\}', text)
        if not blocks:
            raise CodesignError("yosys stat output has no cell counts; check the yosys version (>= 0.23)")
        return {k: int(v) for k, v in re.findall(r'"(\w+)":\s*(\d+)', blocks[-1])}


def chunk_datapath_counts(rtl_dir: Path, rows: int, cols: int, mult_bits: int, ws: bool) -> dict:
    """Yosys counts of one chunk's array and requantiser lanes, from the rendered RTL in rtl_dir."""
    rtl_dir = Path(rtl_dir)
    sources = [rtl_dir / "pe.v", rtl_dir / "systolic_array.v", rtl_dir / "requant.v",
               TEMPLATES / "yosys" / "chunk_datapath.v"]
    return synth_counts(sources, "chunk_datapath", {"R": rows, "C": cols, "MB": mult_bits, "WS": int(ws),
                                                    "LUT_MULT_BITS": LUT_MULT_MAX_BITS})
