"""The structure of the compiled HLS engine: one PE array per chunk at the chunk's R x C (from the
object's symbols), and the loop trip counts the per-layer estimate (codesign.backend.hls_estimate)
is built on, counted by the C simulation itself."""

import re
import subprocess

import pytest

from codesign.backend import csim, hls, hls_estimate
from codesign.backend.ir import design_params, lower
from codesign.cost import evaluate
from codesign.design import Chunk, load_design
from conftest import EXAMPLES
from test_hls_csim import random_design

COUNTER = r"""
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
// Iterations of each labelled pipelined loop per layer; layers are counted in the order the chunk
// engines run them (one frame: chunk 0's layers, then chunk 1's, ...).
static int layer = -1;
static std::map<std::pair<int, std::string>, long> counts;
void cs_count_trip(const char *loop) {
    if (std::strcmp(loop, "LAYER") == 0) {
        layer++;
    } else {
        counts[std::make_pair(layer, std::string(loop))]++;
    }
}
struct Dump {
    ~Dump() {
        for (std::map<std::pair<int, std::string>, long>::const_iterator i = counts.begin(); i != counts.end(); ++i)
            std::fprintf(stderr, "TRIP %d %s %ld\n", i->first.first, i->first.second.c_str(), i->second);
    }
} dump;
"""


def four_chunks():
    """two_chunk_mixed split into four chunks: one without GEMM layers, two of the same shape."""
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    chunks = [Chunk(first_layer=0, last_layer=2, rows=4, cols=8, dataflow="os", act_buf_kib=16, wgt_buf_kib=4),
              Chunk(first_layer=3, last_layer=3, rows=8, cols=4, dataflow="ws", act_buf_kib=8, wgt_buf_kib=4),
              Chunk(first_layer=4, last_layer=6, rows=3, cols=5, dataflow="os", act_buf_kib=8, wgt_buf_kib=4),
              Chunk(first_layer=7, last_layer=7, rows=4, cols=8, dataflow="os", act_buf_kib=8, wgt_buf_kib=4)]
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


def tall_os():
    """two_chunk_mixed with a 16-row OS array: K < R (8 and 9 against 16), so a fold waits for the
    previous fold's drain (max(K, R) steps), the path no other design takes."""
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    chunks = [design.accelerator.chunks[0].model_copy(update={"rows": 16}), design.accelerator.chunks[1]]
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


DESIGNS = {"two_chunk_mixed": lambda: load_design(EXAMPLES / "two_chunk_mixed.json"), "four_chunks": four_chunks,
           "tall_os": tall_os, "random2": lambda: random_design(2), "random4": lambda: random_design(4)}


@pytest.mark.parametrize("name", ["two_chunk_mixed", "four_chunks", "random2"])
def test_one_pe_array_per_chunk_at_its_shape(tmp_path, name):
    design = DESIGNS[name]()
    ir = lower(design)
    out = tmp_path / "hls"
    hls.render(design, ir, design_params(design), out)
    obj = tmp_path / "accel.o"
    cmd = [csim.CXX, *csim.CXXFLAGS, "-c", "-isystem", str(csim.ap_types_dir()), f"-I{out}", f"-I{out / 'kernels'}",
           str(out / "accel.cpp"), "-o", str(obj)]
    subprocess.run(cmd, check=True, capture_output=True)
    symbols = subprocess.run(["nm", "-C", str(obj)], check=True, capture_output=True, text=True).stdout
    arrays = set(re.findall(r"cs::pe_array_(os|ws)<cs::chunk(\d+), (\d+), (\d+)>", symbols))
    engines = set(re.findall(r"cs::chunk_engine<cs::chunk(\d+)>", symbols))
    gemm = {c.index for c in ir.chunks if any(j.g for j in ir.layers[c.first_layer:c.last_layer + 1])}
    assert arrays == {(c.dataflow, str(c.index), str(c.rows), str(c.cols)) for c in ir.chunks if c.index in gemm}
    assert engines == {str(c.index) for c in ir.chunks}
    assert len(gemm) < len(ir.chunks) or name != "four_chunks"   # a chunk of pool/add layers builds no array


@pytest.mark.parametrize("name", sorted(DESIGNS))
def test_estimate_trip_counts_are_the_code_s(tmp_path, name):
    """Every pipelined loop of every layer runs as many iterations in the C simulation as the
    per-layer estimate counts (LOAD, PARAMS, OS_K / OS_DRAIN, WS_LOAD / WS_STREAM, VEC, STORE);
    the simulation is bit-exact too (RESULT PASS)."""
    design = DESIGNS[name]()
    ir = lower(design)
    out = tmp_path / "hls"
    hls.render(design, ir, design_params(design), out)
    (tmp_path / "counter.cpp").write_text(COUNTER)
    cmd = csim.compile_command(out, tmp_path / "tb")
    cmd[1:1] = ["-DCS_COUNT_TRIPS"]
    cmd[-2:-2] = [str(tmp_path / "counter.cpp")]
    subprocess.run(cmd, check=True, capture_output=True)
    run = subprocess.run([str(tmp_path / "tb"), str(out / "vectors")], capture_output=True, text=True)
    assert run.returncode == 0 and "RESULT PASS" in run.stdout
    counted: dict[int, dict[str, int]] = {}
    for layer, loop, trips in re.findall(r"TRIP (\d+) (\w+) (\d+)", run.stderr):
        counted.setdefault(int(layer), {})[loop] = int(trips)
    frames = len(open(out / "vectors" / "images.bin", "rb").read()) // (ir.input_shape[0] * ir.input_shape[1]
                                                                          * ir.input_shape[2])
    want = {}
    for chunk in ir.chunks:
        for row in hls.layer_table(ir, chunk):
            loops = hls_estimate.trip_counts(row, chunk.rows, chunk.cols, chunk.dataflow == "ws")
            want[row["index"]] = {loop: trips for loop, (_, trips) in loops.items()}
    # the testbench runs the frames one call after another: layer l of frame f is event f * L + l
    layers = len(ir.layers)
    assert sorted(counted) == list(range(frames * layers))
    for event, loops in counted.items():
        assert loops == want[event % layers], (name, event)


def test_estimate_prints_a_table_per_design(capsys):
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    assert hls_estimate.main([str(EXAMPLES / "two_chunk_mixed.json")]) == 0
    text = capsys.readouterr().out
    period = int(evaluate(design).chunk_cycles.max())
    assert f"period (slowest chunk, 1/FPS): model {period}" in text and text.count("\n    ") >= 8


def test_estimate_reads_csynth_loop_figures(tmp_path):
    """A report in the csynth XML layout with OS_K at II=2 doubles the OS_K share of an OS layer."""
    report = tmp_path / "solution1" / "syn" / "report"
    report.mkdir(parents=True)
    (report / "chunk_engine_chunk0_s_csynth.xml").write_text(
        "<profile><PerformanceEstimates><SummaryOfLoopLatency><OS_K><Name>OS_K</Name><PipelineII>2</PipelineII>"
        "<PipelineDepth>9</PipelineDepth></OS_K></SummaryOfLoopLatency></PerformanceEstimates></profile>")
    ii, depth = hls_estimate.loop_figures(tmp_path / "solution1")
    assert ii["OS_K"] == 2 and depth["OS_K"] == 9 and ii["OS_DRAIN"] == 1
    ir = lower(load_design(EXAMPLES / "single_chunk_os_int8.json"))
    row = hls.layer_table(ir, ir.chunks[0])[0]
    base = hls_estimate.layer_estimate(row, 8, 8, False)
    slow = hls_estimate.layer_estimate(row, 8, 8, False, ii, depth)
    folds, trips = hls_estimate.trip_counts(row, 8, 8, False)["OS_K"]
    assert slow["OS_K"] - base["OS_K"] == trips + folds * (9 - hls_estimate.LOOP_DEPTH["OS_K"])
    assert hls_estimate.main([str(EXAMPLES / "two_chunk_mixed.json"), "--csynth", str(tmp_path / "none")]) == 2


def test_estimate_without_vitis_says_what_to_do(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))
    assert hls_estimate.main([str(EXAMPLES / "two_chunk_mixed.json"), "--vitis", str(tmp_path)]) == 2
    assert "vitis_hls is not on PATH" in capsys.readouterr().err
