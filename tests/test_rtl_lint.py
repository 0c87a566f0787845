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
from designs import random_design, random_tiled_design  # noqa: E402
from runner import verilator_env  # noqa: E402


def lint(rtl_dir: Path) -> subprocess.CompletedProcess:
    verilator_env()
    files = [str(p) for p in verilog.rtl_sources(rtl_dir)]
    return subprocess.run(["verilator", "--lint-only", "-Wall", f"-I{rtl_dir}", "--top-module", verilog.TOP_NAME,
                           *files], capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("name", ["single_chunk_os_int8", "two_chunk_mixed", "random", "tiled"])
def test_generated_rtl_is_lint_clean(tmp_path, name):
    design = {"random": lambda: random_design(5, n_chunks=6), "tiled": lambda: random_tiled_design(5)}.get(
        name, lambda: load_design(EXAMPLES / f"{name}.json"))()
    verilog.render(design, lower(design), design_params(design), tmp_path / "rtl")
    proc = lint(tmp_path / "rtl")
    assert proc.returncode == 0 and "%Warning" not in proc.stderr, proc.stderr[-4000:]


def test_render_tiles_what_does_not_fit_and_names_what_no_tiling_fits(tmp_path):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    chunk = design.accelerator.chunks[0].model_copy(update={"act_buf_kib": 1})
    design = design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": [chunk]})})
    ir = lower(design)
    assert [j.bands for j in ir.layers][1:5] == [2, 4, 2, 3]   # b1_expand .. b1_add run in bands of rows
    verilog.render(design, ir, design_params(design), tmp_path / "rtl")
    assert "b1_dw [tile]" in (tmp_path / "rtl" / f"{verilog.TOP_NAME}.v").read_text()
    # 24 x 3-byte rows: a band must be a multiple of 8 rows (whole bursts), more than 1 KiB holds
    design = random_design(3, 2, shape=(24, 24, 3), act_buf_kib=1, wgt_buf_kib=1)
    with pytest.raises(CodesignError, match=r"layer 0 \('l0_conv'\) does not fit chunk 0's buffers even in tiles "
                                            r"\(act_buf_kib=1, wgt_buf_kib=1\): raise them"):
        verilog.render(design, lower(design), design_params(design), tmp_path / "rtl2")


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
