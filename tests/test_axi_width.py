"""128-bit AXI ports (issue 11 item 6): designs for zcu102 and ultra96, whose HP ports are 128 bits
wide, generate and simulate on the fast testbench: every layer of every frame bit-exact, every
cycle counter equal to the cost model under the target's DRAM latencies and under latencies the
DMA's window of 16 outstanding bursts (64 beats) does not hide, and within the model's
stall bound under 25 % random backpressure on every AXI channel (the same rule as
tests/test_rtl_sim.py). The DMA moves the model's 64-byte bursts as 4 beats of 16 bytes.
The driver test (tests/test_driver.py) runs the 128-bit core under cocotbext-axi's AxiRam too."""

import sys
from pathlib import Path

import pytest

from codesign.backend.hw import generate
from codesign.backend.ir import lower
from codesign.design import load_design, save_design
from conftest import EXAMPLES
from test_rtl_sim import MEMORIES, simulate_memories

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design, run_seed  # noqa: E402


@pytest.mark.slow
@pytest.mark.parametrize("target", ["ultra96", "zcu102"])
def test_128_bit_design_generates_and_simulates(tmp_path, target):
    if target == "ultra96":
        path = EXAMPLES / "two_chunk_mixed.json"
    else:   # a fresh random design of this run (CODESIGN_SEED), 3 chunks, both dataflows
        path = tmp_path / "design.json"
        save_design(random_design(run_seed(), n_chunks=3), path)
    generate(path, tmp_path / "hw", target)
    design = load_design(tmp_path / "hw" / "design.json")
    assert design.accelerator.target == target and lower(design).axi_bytes == 16
    params = (tmp_path / "hw" / "rtl" / "accel_params.vh").read_text()
    assert "`define BURST_BEATS 4" in params and "`define DMA_OUTSTANDING 16" in params
    simulate_memories(tmp_path / "hw", design, MEMORIES[::3] + MEMORIES[4:], frames=2)   # the target's, past the window, stalls


def test_128_bit_rtl_is_lint_clean(tmp_path):
    from test_rtl_lint import lint

    from codesign.backend import verilog
    from codesign.backend.hw import retarget
    from codesign.backend.ir import design_params
    design = retarget(load_design(EXAMPLES / "two_chunk_mixed.json"), "ultra96")
    verilog.render(design, lower(design), design_params(design), tmp_path / "rtl")
    proc = lint(tmp_path / "rtl")
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[-4000:]
