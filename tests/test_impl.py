"""`codesign impl`: the ECP5 open flow (synth_ecp5 -> nextpnr-ecp5 -> ecppack) and the Xilinx
synthesis, judged by the tools' own figures.

Here `codesign impl` places and routes a small design's whole top (one 4 x 4 chunk, 1 KiB buffers,
three layers; about 100 s of tools) at the board's clock and at one it cannot meet (the second run
reuses the netlist); bench/impl.py measures the larger designs (docs/impl.md)."""

import json
import subprocess

import pytest

from codesign.backend.hw import generate
from codesign.backend.verilog import rtl_sources
from codesign.cost.resources import fpga_resources
from codesign.impl import ecp5, header, run_ecp5, verdict
from codesign.impl.wrapper import WRAPPER_NAME, parse_portlist
from codesign.targets import load_target
from conftest import run_cli
from runner import verilator_env

SMALL = {"version": 1, "name": "impl_small", "dataset": {"name": "digits", "input_shape": [6, 6, 1], "num_classes": 10},
         "accelerator": {"target": "ulx3s", "clock_mhz": 50.0, "chunks": [
             {"first_layer": 0, "last_layer": 2, "rows": 4, "cols": 4, "dataflow": "os", "mult_bits": 8,
              "act_buf_kib": 1, "wgt_buf_kib": 1, "loop_order": "weights_outer"}]},
         "layers": [
             {"name": "c1", "kind": "conv", "inputs": [-1], "in_shape": [6, 6, 1], "out_shape": [3, 3, 4], "kernel": 3,
              "stride": 2, "padding": 1, "relu": True, "w_bits": 8, "a_bits": 8, "block": "stem"},
             {"name": "c2", "kind": "conv", "inputs": [0], "in_shape": [3, 3, 4], "out_shape": [1, 1, 8], "kernel": 3,
              "stride": 1, "padding": 0, "relu": True, "w_bits": 8, "a_bits": 8, "block": "b1"},
             {"name": "fc", "kind": "fc", "inputs": [1], "in_shape": [1, 1, 8], "out_shape": [1, 1, 10], "kernel": 1,
              "stride": 1, "padding": 0, "relu": False, "w_bits": 8, "a_bits": 8, "block": "head"}],
         "weights": None, "accuracy": None}


def small_project(root, target="ulx3s"):
    raw = json.loads(json.dumps(SMALL))
    raw["accelerator"]["target"] = target
    (root / "small.json").write_text(json.dumps(raw))
    generate(root / "small.json", root / f"hw-{target}")
    return root / f"hw-{target}"


@pytest.mark.slow
def test_small_whole_top_meets_its_clock_with_a_bitstream_and_misses_400_mhz(tmp_path):
    """`codesign impl` of the small design's whole top (one 4 x 4 chunk, its block-RAM buffers, the
    DMA and the register slave): synth_ecp5, nextpnr-ecp5 at the board's 50 MHz, ecppack; then the
    same project at --clock 400 on the same netlist. One test, so that pytest-xdist never runs the
    flow twice."""
    hw = small_project(tmp_path)
    work = hw / "impl"
    proc = run_cli("impl", hw, "--json", timeout=1800)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((work / "impl.json").read_text())
    assert json.loads(proc.stdout[:proc.stdout.rindex("}") + 1]) == result        # --json prints it
    print(json.dumps(result, indent=1))
    res, model, placed = result["resources"], result["model"], result["placed"]
    # what the model claims exactly: MULT18X18D (16 PEs, two per requantiser lane; no add layer, so
    # no add lanes) and DP16KD (4 activation copies x 8 banks, 8 weight banks, 4 x 2 record banks);
    # all of them placed
    assert res["mult18"] == model["mult18"] == 16 + 2 * 4 == placed["MULT18X18D"]
    assert res["dp16kd"] == model["dp16kd"] == 4 * 8 + 8 + 4 * 2 == placed["DP16KD"]
    assert result["fits"] is True and result["synth_reused"] is False
    assert result["fmax_mhz"] >= result["clock_mhz"] == 50.0 and result["timing_met"] is True
    assert "PASS at 50.00 MHz" in (work / "pnr.log").read_text()       # nextpnr's own verdict agrees
    bit = (work / "accel.bit").read_bytes()
    assert len(bit) > 100_000 and b"LFE5U-85F" in bit[:512]             # ecppack's header names the part
    assert proc.stdout.splitlines()[-1].startswith(
        f"codesign impl: fits ulx3s (LFE5U-85F-6BG381C) and meets 50 MHz (Fmax {result['fmax_mhz']:g} MHz)")
    wrapper_is_lint_clean_and_keeps_every_port(hw)

    # --clock 400: the netlist is reused (same RTL), nextpnr's Fmax falls short, one line names the
    # clock and the figure, exit 1, no bitstream
    proc = run_cli("impl", hw, "--clock", "400", timeout=1800)
    assert proc.returncode == 1, proc.stderr
    result = json.loads((work / "impl.json").read_text())
    assert result["synth_reused"] is True and "synth" not in result["seconds"]
    fmax = result["fmax_mhz"]
    assert result["timing_met"] is False and fmax < 400 and result["bitstream"] is None
    assert not (work / "accel.bit").exists()
    assert "FAIL at 400.00 MHz" in (work / "pnr.log").read_text()
    lines = [ln for ln in proc.stderr.splitlines() if not ln.startswith("impl: ")]    # progress lines aside
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert lines[0].startswith(f"codesign impl: misses its clock on ulx3s (LFE5U-85F-6BG381C): Fmax {fmax:g} MHz "
                               "< 400 MHz (nextpnr-ecp5)")


def wrapper_is_lint_clean_and_keeps_every_port(hw):
    rtl, work = hw / "rtl", hw / "impl"
    text = (work / f"{WRAPPER_NAME}.v").read_text()
    ports = [name for _, _, name in parse_portlist((work / "ports.txt").read_text())]   # accel_top's, by Yosys
    assert len(ports) > 40 and {"irq", "s_axil_rdata", "m_axi_c0_rdata", "m_axi_c0_wdata"} <= set(ports)
    for port in ports:
        assert f".{port}(" in text
    verilator_env()
    proc = subprocess.run(["verilator", "--lint-only", "-Wall", f"-I{rtl}", *map(str, rtl_sources(rtl)),
                           str(work / f"{WRAPPER_NAME}.v"), "--top-module", WRAPPER_NAME],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.slow
def test_over_the_board_is_refused_with_the_resource(tmp_path):
    """A 13 x 13 array needs 169 MULT18X18D, the 85F has 156: synthesis counts them, no P&R runs."""
    root = tmp_path
    rtl = small_project(root) / "rtl"
    target = load_target("ulx3s")
    out = run_ecp5([rtl / "pe.v", rtl / "systolic_array.v"], rtl, root, target, 50.0, 900,
                   core="systolic_array", params={"R": 13, "C": 13})
    result = {**header(target, 50.0), **out}
    assert result["resources"]["mult18"] == 169 and result["fits"] is False and result["fmax_mhz"] is None
    assert not (root / "pnr.log").exists()
    code, line = verdict(result)
    assert (code, line) == (1, "does not fit ulx3s (LFE5U-85F-6BG381C): mult18 169 > 156 from synthesis")


@pytest.mark.slow
def test_mult18_model_equals_synth_ecp5(tmp_path, example_dict):
    """The model's MULT18X18D count against synth_ecp5 of a whole top, its buffers set aside (they
    hold no multiplier): two_chunk_mixed with its second chunk narrowed to 4 bits, so one synthesis
    covers an 8-bit OS chunk, a LUT-multiplier WS chunk (no MULT18X18D per PE), the requantiser
    lanes and the add lanes."""
    raw = example_dict("two_chunk_mixed")
    raw["accelerator"]["chunks"][1]["mult_bits"] = 4
    for layer in raw["layers"][2:]:
        layer.update(a_bits=4, **({"w_bits": 4} if layer["w_bits"] else {}))
    (tmp_path / "d.json").write_text(json.dumps(raw))
    hw = tmp_path / "hw"
    generate(tmp_path / "d.json", hw, "ulx3s")
    model = json.loads((hw / "manifest.json").read_text())["resources"]
    counts = ecp5.logic_counts(tmp_path, rtl_sources(hw / "rtl"), "accel_top", hw / "rtl", 1800)
    print(counts, model)
    assert model["mult18"] == 4 * 8 + 2 * 8 + 2 * 4 + 2 * 4 == counts["mult18"]   # PEs, requant, requant, add


def test_impl_refuses_what_it_cannot_run(tmp_path):
    proc = run_cli("impl", tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "no manifest.json; generate the project first" in proc.stderr
    asic = small_project(tmp_path, "zc706")            # asic45 has no RTL project: retarget its design.json
    raw = json.loads((asic / "design.json").read_text())
    raw["accelerator"]["target"] = "asic45"
    (asic / "design.json").write_text(json.dumps(raw))
    proc = run_cli("impl", asic)
    assert proc.returncode == 2 and "an ASIC target; codesign impl needs an FPGA target" in proc.stderr
    proc = run_cli("impl", asic, "--timeout", "0")
    assert proc.returncode == 2 and "--timeout: 0 must be a positive finite number" in proc.stderr


def test_xilinx_synthesis_past_its_timeout_is_reported(tmp_path):
    """Whole-top synth_xilinx with today's buffers is long: past --timeout it is one line, exit 1."""
    hw = small_project(tmp_path, "zc706")
    proc = run_cli("impl", hw, "--timeout", "3", "--json")
    assert proc.returncode == 1, proc.stderr
    result = json.loads(proc.stdout)
    assert result["resources"] == "did not finish in 3 s" and result["fits"] is None
    assert "codesign impl: synthesis for zc706 (xc7z045ffg900-2) did not finish in 3 s" in proc.stderr
    assert (hw / "impl" / "synth_xilinx.out").exists() and (hw / "impl" / "impl.json").exists()


def test_ecp5_model_keys_match_the_board():
    """The search and check_fits compare the model with the board key by key."""
    res = fpga_resources(4, 4, 8, 1, 1, family="ecp5")
    assert set(res) == set(load_target("ulx3s").resources) == set(load_target("ecp5-evn").resources)
    assert int(res["mult18"]) == 16 + 4 * 4                          # PEs, requantiser and add lanes
    # the block-RAM buffers as built (docs/verilog.md): 4 activation copies x 8 one-byte banks, 8 weight
    # banks, one DP16KD each (1 KiB / 8 = 128 bytes <= 2048), two (512 x 36) per lane's record bank;
    # synth_ecp5 of the small design's whole top counts the same 48 (docs/impl.md)
    assert int(res["dp16kd"]) == 4 * 8 + 8 + 4 * 2


def test_search_budgets_an_ecp5_board_in_its_own_resources():
    """The search's resource table on ulx3s: MULT18X18D, DP16KD, LUT4, FF of each chunk choice, and
    the board less the design's share outside its chunks as the capacity."""
    from codesign.cost.resources import top_share
    from codesign.search.engine import WIDTHS, resource_table
    from codesign.space.accel import config_grid
    from codesign.space.config import AcceleratorConfig
    target = load_target("ulx3s")
    grid = config_grid(AcceleratorConfig(rows=[4, 32], cols=[4, 32], act_buf_kib=[8], wgt_buf_kib=[4]))
    table, capacity = resource_table(grid, target)
    keys = sorted(target.resources)                                   # dp16kd, ff, lut4, mult18
    top = top_share("ecp5")
    assert capacity.tolist() == [float(target.resources[k] - top.get(k, 0)) for k in keys]
    mult18 = table[WIDTHS.index(8), :, keys.index("mult18")]
    big = (grid.rows == 32) & (grid.cols == 32)
    assert (mult18[big] > capacity[keys.index("mult18")]).all()      # a 32 x 32 8-bit array cannot fit
    assert (mult18[~big] <= capacity[keys.index("mult18")]).any()


def test_a_changed_header_or_source_is_synthesised_again(tmp_path):
    """The netlist is reused only when nothing synthesis reads has changed: the layer table and the
    parameters live in accel_params.vh, an include, not a source."""
    rtl = small_project(tmp_path) / "rtl"
    work = tmp_path / "work"
    work.mkdir()
    (work / "synth.ys").write_text("synth_ecp5\n")
    (work / f"{WRAPPER_NAME}.v").write_text("module impl_top; endmodule\n")
    key = ecp5.synth_key(work, rtl_sources(rtl), rtl)
    for path in (rtl / "accel_params.vh", rtl / "chunk_engine.v", work / f"{WRAPPER_NAME}.v", work / "synth.ys"):
        text = path.read_text()
        path.write_text(text + "// changed\n")
        assert ecp5.synth_key(work, rtl_sources(rtl), rtl) != key, path.name
        path.write_text(text)
    assert ecp5.synth_key(work, rtl_sources(rtl), rtl) == key
