"""Resource counts of the generated Verilog from Yosys `synth_xilinx` (DSP48E1, LUT, FF, BRAM).

`synth_counts` runs yosys on a set of Verilog files and returns the cell counts of the flattened
top. `top_counts` synthesises a rendered project's whole `accel_top`, buffers included: every
buffer bank is a block RAM with a registered read (byte_ram.v, rec_ram.v), which synth_xilinx maps
to RAMB18E1/RAMB36E1; `codesign.cost.resources.fpga_resources` predicts the counts (BRAM36 and
DSP exactly, LUT and FF by fitted terms).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from codesign.backend.verilog import TOP_NAME, rtl_sources
from codesign.errors import CodesignError

LUT_LOGIC = ("LUT1", "LUT2", "LUT3", "LUT4", "LUT5", "LUT6")
# LUTs used as memory or shift registers (counted as LUTs, as Vivado's utilisation does)
LUT_RAM = {"SRL16E": 1, "SRLC32E": 1, "RAM32X1D": 2, "RAM64X1D": 2, "RAM32M": 4, "RAM64M": 4, "RAM128X1D": 4,
           "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "RAM32M16": 8, "RAM64M8": 8}
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM_CELLS = {"RAMB36E1": 1.0, "RAMB18E1": 0.5, "RAMB36E2": 1.0, "RAMB18E2": 0.5}
DSP_CELLS = ("DSP48E1", "DSP48E2")


def xilinx_counts(cells: dict[str, int]) -> dict:
    """dsp, bram36 (RAMB18 = 0.5), lut (logic + LUTRAM, as Vivado's utilisation counts them),
    lutram, ff from synth_xilinx's cell counts (7-series and UltraScale cells)."""
    lutram = sum(cells.get(c, 0) * n for c, n in LUT_RAM.items())
    return {"dsp": sum(cells.get(c, 0) for c in DSP_CELLS),
            "bram36": sum(cells.get(c, 0) * w for c, w in BRAM_CELLS.items()),
            "lut": sum(cells.get(c, 0) for c in LUT_LOGIC) + lutram, "lutram": lutram,
            "ff": sum(cells.get(c, 0) for c in FF_CELLS)}


def synth_counts(sources: list[Path], top: str, family: str = "xc7", timeout: int = 1200,
                 blackboxes: tuple[str, ...] = (), include_dir: Path | None = None) -> dict:
    """{dsp, lut, ff, bram36, cells} of `top` after `synth_xilinx -family FAMILY -flatten`,
    with the modules named in `blackboxes` kept as empty boxes."""
    if shutil.which("yosys") is None:
        raise CodesignError("yosys not found on PATH; install it (Debian: apt-get install -y yosys)")
    with tempfile.TemporaryDirectory() as tmp:
        stat = Path(tmp) / "stat.json"
        include = f"-I{include_dir} " if include_dir else ""
        script = (f"read_verilog -sv {include}{' '.join(str(s) for s in sources)}; "
                  + "".join(f"blackbox {name}; " for name in blackboxes)
                  + f"synth_xilinx -family {family} -flatten -top {top}; tee -q -o {stat} stat -json")
        proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0 or not stat.is_file():
            raise CodesignError(f"yosys synth_xilinx of {top} failed (exit {proc.returncode}): "
                                f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
        cells = parse_stat(stat.read_text())
    return {**xilinx_counts(cells), "cells": cells}


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


def top_counts(rtl_dir: Path) -> dict:
    """Yosys counts of a rendered project's whole top, buffers included (see above)."""
    rtl_dir = Path(rtl_dir)
    return synth_counts(rtl_sources(rtl_dir), TOP_NAME, include_dir=rtl_dir)


ENGINE_MODULES = ["pe.v", "systolic_array.v", "requant.v", "byte_ram.v", "act_buffer.v", "rec_ram.v", "delay_line.v",
                  "weight_columns.v", "lane.v", "chunk_engine.v"]


def engine_logic_levels(rtl_dir: Path, rows: int, cols: int, ws: bool, timeout: int = 1800) -> int:
    """Cells on the longest register-to-register path of one chunk engine (R x C, OS or WS) after
    `synth_xilinx` (yosys `ltp`; a CARRY4 counts as one level). Flip-flops, DSP48s, block RAMs
    and the array (systolic_array: a mesh of PE-local paths) end a path; what is left is the
    engine's own logic: walkers, buffer banking (address, rotation), fold control, requantiser and
    vector lanes."""
    if shutil.which("yosys") is None:
        raise CodesignError("yosys not found on PATH; install it (Debian: apt-get install -y yosys)")
    sources = " ".join(str(Path(rtl_dir) / m) for m in ENGINE_MODULES)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ltp.txt"
        script = (f"read_verilog -sv {sources}; blackbox systolic_array; "
                  f"chparam -set R {rows} -set C {cols} -set WS {int(ws)} chunk_engine; "
                  "synth_xilinx -family xc7 -flatten -top chunk_engine; "
                  "select -set logic t:FD* t:DSP48E1 t:RAMB18E1 t:RAMB36E1 t:systolic_array %u %u %u %u %n; "
                  f"tee -q -o {out} ltp -noff @logic")
        proc = subprocess.run(["yosys", "-q", "-p", script], capture_output=True, text=True, timeout=timeout)
        found = re.search(r"length=(\d+)", out.read_text()) if out.is_file() else None
        if proc.returncode != 0 or not found:
            raise CodesignError(f"yosys ltp of chunk_engine {rows}x{cols} failed (exit {proc.returncode})")
    return int(found.group(1))

