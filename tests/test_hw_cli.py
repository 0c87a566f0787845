"""`codesign hw` refuses a design that does not fit its board, naming the resource and the amount."""

import json

from codesign.cost.resources import fpga_resources
from conftest import run_cli


def test_hw_refuses_design_over_the_board(example_dict, tmp_path):
    raw = example_dict("single_chunk_os_int8")
    raw["accelerator"]["chunks"][0].update(rows=24, cols=24)
    design = tmp_path / "big.json"
    design.write_text(json.dumps(raw))
    proc = run_cli("hw", "--design", design, "--target", "ultra96", "--out", tmp_path / "hw")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    dsp = int(fpga_resources(24, 24, 8, 16, 8)["dsp"])          # 576 MAC DSPs + the requantisers
    assert dsp > 576
    assert f"does not fit ultra96: dsp {dsp} > 360 (over by {dsp - 360}, {100 * (dsp - 360) / 360:.0f} %)" in proc.stderr
    assert not (tmp_path / "hw").exists()


def test_hw_unknown_target(example_path, tmp_path):
    proc = run_cli("hw", "--design", example_path("single_chunk_os_int8"), "--target", "zc7", "--out", tmp_path)
    assert proc.returncode == 2
    assert "unknown target 'zc7'; choose one of: asic45, ecp5-evn, pynq-z2, ultra96, ulx3s, zc706, zcu102" in proc.stderr
