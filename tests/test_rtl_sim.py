"""The Verilog backend under cocotb + Verilator: bit-exact against the golden model, per-layer
cycle counters (read over AXI4-Lite) against the cost model, and the `codesign sim` CLI.

Each test is one Verilator build (about a minute): the example with both dataflows over two
chunks, and seeded random designs of six chunks each, every chunk its own random array (rows
and cols 2..8, OS or WS) running a share of a network with every layer kind and bits 2..8.
Runs of several frames pipeline the chunks over the frames (chunk c on frame p - c in period p):
every layer of every frame is checked, and the measured period, run and frame-0 latency must equal
the cost model's schedule (codesign.cost.pipeline_periods) exactly: tolerance 0 cycles."""

import json
import sys
from pathlib import Path

import pytest

from codesign.backend.hw import generate
from codesign.backend.sim import simulate
from codesign.cost import evaluate, pipeline_periods
from codesign.design import load_design
from codesign.design import save_design
from conftest import EXAMPLES, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_design  # noqa: E402

LAYER_TOLERANCE_PCT = 2.0     # per layer, or LAYER_TOLERANCE_CYCLES for tiny layers
LAYER_TOLERANCE_CYCLES = 16
TOTAL_TOLERANCE_PCT = 1.0
RANDOM_SEEDS = [1, 5, 6]
FRAMES = 4


def assert_cycles_match(result):
    for e in result["layers"]:
        slack = max(LAYER_TOLERANCE_PCT / 100 * e["predicted_cycles"], LAYER_TOLERANCE_CYCLES)
        assert abs(e["measured_cycles"] - e["predicted_cycles"]) <= slack, e
    assert abs(result["total_measured"] - result["total_predicted"]) <= TOTAL_TOLERANCE_PCT / 100 * result["total_predicted"]


def assert_pipelined(result, frames, chunk_cycles):
    """A run of `frames` frames: exactly the model's schedule, FPS = clock / slowest chunk."""
    periods = pipeline_periods(chunk_cycles, frames)
    assert result["frames"] == frames and len(result["images"]) == frames
    assert result["period_cycles"] == result["predicted_period_cycles"] == max(chunk_cycles)
    assert result["run_cycles"] == result["predicted_run_cycles"] == periods.sum()
    assert result["frame_cycles"] == result["predicted_frame_cycles"] == periods[:len(chunk_cycles)].sum()
    assert result["measured_fps"] == result["predicted_fps"] > 0
    assert all(e["measured_cycles"] == e["predicted_cycles"] for e in result["layers"])
    assert result["cycles_exact"] is True
    # frames + chunks - 1 periods of at most the slowest chunk each, faster than frames run one by one
    assert result["run_cycles"] <= (frames + len(chunk_cycles) - 1) * result["period_cycles"]
    if len(chunk_cycles) > 1 and frames > 1:
        assert result["run_cycles"] < frames * sum(chunk_cycles)


def assert_bit_exact(result, n_layers):
    assert [e["layer"] for e in result["layers"]] == list(range(n_layers))
    for e in result["layers"]:
        assert e["bit_exact"] and e["first_mismatch"] is None, e
    assert result["bit_exact"] is True
    assert all(im["match"] for im in result["images"])


@pytest.mark.slow
def test_sim_cli_two_chunk_example(tmp_path):
    """`codesign hw` then `codesign sim --json --images 4` (4 frames pipelined over the two chunks)
    on the OS + WS, mixed-bits example; then one frame (the table) and a corrupted table row."""
    out = tmp_path / "hw"
    run_cli("hw", "--design", EXAMPLES / "two_chunk_mixed.json", "--out", out, check=True)
    proc = run_cli("sim", out, "--json", "--images", FRAMES, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert json.loads((out / "sim.json").read_text()) == result
    assert set(result["layers"][0]) >= {"layer", "bit_exact", "first_mismatch", "measured_cycles",
                                         "predicted_cycles", "error_pct"}
    assert_bit_exact(result, 8)
    assert_cycles_match(result)
    chunk_cycles = evaluate(load_design(EXAMPLES / "two_chunk_mixed.json")).chunk_cycles.tolist()
    assert_pipelined(result, FRAMES, chunk_cycles)
    # one frame, the human table, with the folder given relative to the working directory as
    # `make sim` does: the chunks one after another, frame = run = the sum of the layers
    table = run_cli("sim", "hw", cwd=tmp_path, timeout=900)
    assert table.returncode == 0 and "bit_exact True over 1 frame(s)" in table.stdout
    assert "cycles_exact True" in table.stdout
    single = json.loads((out / "sim.json").read_text())
    assert_pipelined(single, 1, chunk_cycles)
    assert single["frame_cycles"] == single["run_cycles"] == single["total_measured"] == sum(chunk_cycles)
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
    result = simulate(tmp_path / "hw", images=FRAMES)
    assert_bit_exact(result, len(design.layers))
    assert_cycles_match(result)
    assert_pipelined(result, FRAMES, evaluate(design).chunk_cycles.tolist())


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
