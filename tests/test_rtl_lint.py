"""The generated RTL is lint-clean under `verilator --lint-only -Wall` (no waivers on the command line)."""

import subprocess
import sys
from pathlib import Path

import pytest

from codesign.backend import verilog
from codesign.backend.ir import design_params, lower
from codesign.design import load_design
from codesign.errors import CodesignError
from conftest import EXAMPLES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design  # noqa: E402
from runner import verilator_env  # noqa: E402


def lint(rtl_dir: Path) -> subprocess.CompletedProcess:
    verilator_env()
    files = [str(p) for p in verilog.rtl_sources(rtl_dir)]
    return subprocess.run(["verilator", "--lint-only", "-Wall", f"-I{rtl_dir}", "--top-module", verilog.TOP_NAME,
                           *files], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["single_chunk_os_int8", "two_chunk_mixed", "random"])
def test_generated_rtl_is_lint_clean(tmp_path, name):
    design = random_design(5, n_chunks=6) if name == "random" else load_design(EXAMPLES / f"{name}.json")
    verilog.render(design, lower(design), design_params(design), tmp_path / "rtl")
    proc = lint(tmp_path / "rtl")
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[-4000:]


def test_render_names_the_layer_and_buffer_that_do_not_fit(tmp_path):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    chunk = design.accelerator.chunks[0].model_copy(update={"act_buf_kib": 1})
    design = design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": [chunk]})})
    with pytest.raises(CodesignError, match=r"layer 1 \('b1_expand'\) needs 1536 bytes of activation buffer.*"
                                            r"raise act_buf_kib to 2"):
        verilog.render(design, lower(design), design_params(design), tmp_path / "rtl")


def test_each_chunk_has_its_own_axi_master_and_hp_port(tmp_path):
    """Six chunks: six AXI4 masters m_axi_c<i>, wired to S_AXI_HP<i mod 4> in the block design."""
    design = random_design(5, n_chunks=6)
    ir = lower(design)
    verilog.render(design, ir, design_params(design), tmp_path / "rtl")
    top = (tmp_path / "rtl" / "accel_top.v").read_text()
    bd = (tmp_path / "rtl" / "block_design.tcl").read_text()
    for c in range(6):
        assert f"output wire        m_axi_c{c}_arvalid" in top and f".start(chunk_start[{c}])" in top
        assert f'Master "/core/m_axi_c{c}" Slave "/ps7/S_AXI_HP{c % 4}"' in bd
    assert "m_axi_c6" not in top and all(f"CONFIG.PCW_USE_S_AXI_HP{k} {{1}}" in bd for k in range(4))
    assert f"FRAME_BYTES = 32'd{ir.frame_bytes};" in top
