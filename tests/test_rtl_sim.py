"""The Verilog backend under cocotb + Verilator: bit-exact against the golden model, per-layer
cycle counters (read over AXI4-Lite) against the cost model, and the `codesign sim` CLI.

Each test is one Verilator build (about a minute): the example with both dataflows over two
chunks, and seeded random designs of six chunks each, every chunk its own random array (rows
and cols 2..8, OS or WS) running a share of a network with every layer kind and bits 2..8."""

import json
import sys
from pathlib import Path

import pytest

from codesign.backend.hw import generate
from codesign.backend.sim import simulate
from codesign.design import save_design
from conftest import EXAMPLES, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design  # noqa: E402

LAYER_TOLERANCE_PCT = 2.0     # per layer, or LAYER_TOLERANCE_CYCLES for tiny layers
LAYER_TOLERANCE_CYCLES = 16
TOTAL_TOLERANCE_PCT = 1.0
RANDOM_SEEDS = [1, 5, 6]


def assert_cycles_match(result):
    for e in result["layers"]:
        slack = max(LAYER_TOLERANCE_PCT / 100 * e["predicted_cycles"], LAYER_TOLERANCE_CYCLES)
        assert abs(e["measured_cycles"] - e["predicted_cycles"]) <= slack, e
    assert abs(result["total_measured"] - result["total_predicted"]) <= TOTAL_TOLERANCE_PCT / 100 * result["total_predicted"]


def assert_bit_exact(result, n_layers):
    assert [e["layer"] for e in result["layers"]] == list(range(n_layers))
    for e in result["layers"]:
        assert e["bit_exact"] and e["first_mismatch"] is None, e
    assert result["bit_exact"] is True
    assert all(im["match"] for im in result["images"])


@pytest.mark.slow
def test_sim_cli_two_chunk_example(tmp_path):
    """`codesign hw` then `codesign sim --json` on the OS + WS, mixed-bits example."""
    out = tmp_path / "hw"
    run_cli("hw", "--design", EXAMPLES / "two_chunk_mixed.json", "--out", out, check=True)
    proc = run_cli("sim", out, "--json", timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert json.loads((out / "sim.json").read_text()) == result
    assert set(result["layers"][0]) >= {"layer", "bit_exact", "first_mismatch", "measured_cycles",
                                         "predicted_cycles", "error_pct"}
    assert_bit_exact(result, 8)
    assert_cycles_match(result)
    assert result["frame_cycles"] >= result["total_measured"]
    # the human table says the same
    table = run_cli("sim", out, timeout=900)
    assert table.returncode == 0 and "bit_exact True" in table.stdout
    # a wrong clamp in the first layer's table row (out_hi 255 -> 127): a mismatch, exit 1
    top = out / "rtl" / "accel_top.v"
    text = top.read_text()
    row = "desc_c0[768 +: 32] = 32'h000000ff;"
    assert text.count(row) >= 1
    top.write_text(text.replace(row, "desc_c0[768 +: 32] = 32'h0000007f;", 1))
    bad = run_cli("sim", out, "--json", timeout=900)
    assert bad.returncode == 1, bad.stderr[-3000:]
    result = json.loads(bad.stdout)
    assert result["bit_exact"] is False and result["layers"][0]["bit_exact"] is False
    miss = result["layers"][0]["first_mismatch"]
    assert miss["want"] > 127 and miss["got"] == 127 and miss["mismatches"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_six_chunk_design_bit_exact_and_cycles(tmp_path, seed):
    design = random_design(seed, n_chunks=6)
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    result = simulate(tmp_path / "hw")
    assert_bit_exact(result, len(design.layers))
    assert_cycles_match(result)


def test_random_designs_cover_kinds_bits_dataflows_and_twenty_arrays():
    designs = [random_design(s, n_chunks=6) for s in RANDOM_SEEDS]
    arrays = [(c.rows, c.cols, c.dataflow) for d in designs for c in d.accelerator.chunks]
    assert len(arrays) + 2 >= 20                       # plus the example's two chunks
    assert {df for *_, df in arrays} == {"os", "ws"}
    assert {r for r, *_ in arrays} | {c for _, c, _ in arrays} <= set(range(2, 9))
    kinds = {(layer.kind, c.dataflow) for d in designs for c in d.accelerator.chunks
             for layer in d.layers[c.first_layer:c.last_layer + 1]}
    assert {k for k, _ in kinds} == {"conv", "dwconv", "fc", "avgpool", "maxpool", "add"}
    assert {layer.w_bits for d in designs for layer in d.layers if layer.w_bits} == set(range(2, 9))
    assert {layer.a_bits for d in designs for layer in d.layers} == set(range(2, 9))
