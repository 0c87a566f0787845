"""The ECP5 flow, open tools only (the YoWASP wheels): Yosys `synth_ecp5` of the board wrapper and
the whole core (its buffers included, nothing set aside) -> nextpnr-ecp5 placement and routing
with the clock constraint and its timing report -> ecppack bitstream. Files under the work
folder: impl_top.v, board.lpf, synth.ys/.log, accel.json, stat.json, pnr.log, report.json,
accel.config, accel.bit."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from codesign.errors import CodesignError
from codesign.impl.tools import last_error, run_tool, yowasp
from codesign.impl.wrapper import WRAPPER_NAME, lpf, write_wrapper


def ecp5_counts(cells: dict[str, int]) -> dict[str, int]:
    """mult18, dp16kd, lut4, ff of a synth_ecp5 netlist (a CCU2C carry cell holds two LUT4s, a
    TRELLIS_DPR16X4 distributed RAM four)."""
    return {"mult18": cells.get("MULT18X18D", 0), "dp16kd": cells.get("DP16KD", 0),
            "lut4": cells.get("LUT4", 0) + 2 * cells.get("CCU2C", 0) + 4 * cells.get("TRELLIS_DPR16X4", 0),
            "ff": cells.get("TRELLIS_FF", 0)}


def rel(paths, work: Path) -> list[str]:
    """Paths relative to the work folder: the YoWASP tools see the file system through it."""
    return [os.path.relpath(Path(p).resolve(), Path(work).resolve()) for p in paths]


def synthesise(work: Path, sources: list[Path], core: str, include: Path, timeout: float,
               params: dict[str, int] | None = None) -> tuple[dict, float | None]:
    """Yosys synth_ecp5 of the wrapper around `core`; (cell counts by type, seconds), seconds None
    when the netlist of an earlier run in `work` is reused (same sources, script and wrapper)."""
    ports = work / "ports.txt"
    src = " ".join(rel(sources, work))
    inc = rel([include], work)[0]
    sets = "".join(f" -set {k} {v}" for k, v in (params or {}).items())
    chparam = f"chparam{sets} {core}\n" if sets else ""
    (work / "ports.ys").write_text(f"read_verilog -sv -I{inc} {src}\n{chparam}hierarchy -top {core}\n"
                                   "tee -q -o ports.txt portlist A:top\n")
    code, _ = run_tool([*yowasp("yosys"), "-q", "ports.ys"], work, work / "ports.log", timeout)
    if code != 0 or not ports.is_file():
        raise CodesignError(f"yosys could not read the RTL ({last_error(work / 'ports.log')}); see {work}/ports.log")
    write_wrapper(work, ports.read_text(), core, params)
    (work / "synth.ys").write_text(f"read_verilog -sv -I{inc} {src} {WRAPPER_NAME}.v\n"
                                   f"synth_ecp5 -top {WRAPPER_NAME} -json accel.json\n"
                                   "tee -q -o stat.json stat -json\n")
    key, done = synth_key(work, sources, include), work / "synth.key"
    if done.is_file() and done.read_text() == key and (work / "accel.json").is_file():
        return cell_counts(work / "stat.json"), None
    for stale in (done, work / "stat.json", work / "accel.json"):
        stale.unlink(missing_ok=True)
    code, secs = run_tool([*yowasp("yosys"), "-q", "-l", "synth.log", "synth.ys"], work, work / "synth.out", timeout)
    if code != 0 or not (work / "stat.json").is_file():
        raise CodesignError(f"yosys synth_ecp5 failed ({last_error(work / 'synth.log')}); see {work}/synth.log")
    done.write_text(key)
    return cell_counts(work / "stat.json"), secs


def synth_key(work: Path, sources: list[Path], include: Path) -> str:
    """A digest of the synthesis script, the wrapper, every source and every header of the include
    folder (accel_params.vh: the design's parameters and layer table): an unchanged key means the
    netlist in accel.json is this design's (a rerun at another --clock reuses it)."""
    digest = hashlib.sha256()
    for path in (work / "synth.ys", work / f"{WRAPPER_NAME}.v", *sources, *sorted(Path(include).glob("*.vh"))):
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


def cell_counts(stat_json: Path) -> dict[str, int]:
    stat = json.loads(Path(stat_json).read_text())
    return {k: int(v) for k, v in stat["design"]["num_cells_by_type"].items()}


def place_and_route(work: Path, target, clock_mhz: float, timeout: float) -> dict:
    """nextpnr-ecp5 on accel.json: {fmax_mhz, timing_met, utilisation, seconds}. Timing may fail
    (it is reported, not raised); a design that cannot be placed raises."""
    (work / "board.lpf").write_text(lpf(target, clock_mhz))
    cmd = [*yowasp("nextpnr-ecp5"), f"--{target.device}", "--package", target.package, "--speed", str(target.speed),
           "--json", "accel.json", "--lpf", "board.lpf", "--textcfg", "accel.config", "--report", "report.json",
           "--freq", f"{clock_mhz:g}", "--seed", "1", "--timing-allow-fail", "-l", "pnr.log"]
    code, secs = run_tool(cmd, work, work / "pnr.out", timeout)
    if code != 0 or not (work / "report.json").is_file():
        raise CodesignError(f"nextpnr-ecp5 failed ({last_error(work / 'pnr.log')}); see {work}/pnr.log")
    report = json.loads((work / "report.json").read_text())
    clocks = report.get("fmax", {})
    if not clocks:
        raise CodesignError(f"nextpnr-ecp5 reported no clock; see {work}/pnr.log")
    fmax = min(c["achieved"] for c in clocks.values())
    util = {k: v["used"] for k, v in report.get("utilization", {}).items() if v.get("used")}
    return {"fmax_mhz": round(fmax, 2), "timing_met": fmax >= clock_mhz, "utilisation": util, "seconds": secs}


def bitstream(work: Path, timeout: float) -> tuple[Path, float]:
    code, secs = run_tool([*yowasp("ecppack"), "--input", "accel.config", "--bit", "accel.bit"], work,
                          work / "ecppack.log", timeout)
    if code != 0 or not (work / "accel.bit").is_file():
        raise CodesignError(f"ecppack failed ({last_error(work / 'ecppack.log')}); see {work}/ecppack.log")
    return work / "accel.bit", secs


def logic_counts(work: Path, sources: list[Path], top: str, include: Path, timeout: float,
                 blackboxes: tuple[str, ...] = ("byte_ram",)) -> dict[str, int]:
    """ecp5_counts of `top` by synth_ecp5 with `blackboxes` set aside: the logic the model's
    mult18 / LUT4 / FF terms describe (the buffers are the dp16kd term)."""
    boxes = "".join(f"blackbox {b}\n" for b in blackboxes)
    (work / "logic.ys").write_text(f"read_verilog -sv -I{rel([include], work)[0]} {' '.join(rel(sources, work))}\n"
                                   f"{boxes}synth_ecp5 -top {top}\ntee -q -o logic_stat.json stat -json\n")
    code, _ = run_tool([*yowasp("yosys"), "-q", "-l", "logic.log", "logic.ys"], work, work / "logic.out", timeout)
    if code != 0 or not (work / "logic_stat.json").is_file():
        raise CodesignError(f"yosys synth_ecp5 failed ({last_error(work / 'logic.log')}); see {work}/logic.log")
    return ecp5_counts(cell_counts(work / "logic_stat.json"))
