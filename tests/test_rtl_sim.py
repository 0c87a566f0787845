"""The Verilog backend under cocotb + Verilator: bit-exact against the golden model, and the
cycle counters (read over AXI4-Lite) against the cost model under the simulated DRAM's timing.

The rule `codesign sim` checks and these tests hold it to: without random stalls every layer's,
period's, frame-0 and run's cycle count equals the model's (tolerance 0 cycles) under any fixed
read / write latency and beat rate; with random backpressure each count lies between the model
and the model plus the stall cycles the simulated memory counted. Each test is one Verilator
build (the fast testbench, sim/hdl/tb_top.v.j2), then runs of several frames (pipelined over
the chunks) under several memory timings on that build.

Random designs come from a fresh seed each run (printed in the pytest header as CODESIGN_SEED;
set it to replay): RANDOM_DESIGNS designs of 2..4 chunks, each holding every layer kind, bits
2..8 and both dataflows (sim/designs.py), and TILED_DESIGNS designs whose layers outgrow their
buffers and run in tiles in both loop orders. The cocotbext-axi testbench (sim/tb_accel.py) keeps
one test, where the AXI protocol itself is under test (AxiRam checks the master's bursts)."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from codesign.backend.hw import generate
from codesign.backend.ir import lower
from codesign.backend.sim import simulate
from codesign.cost import evaluate, pipeline_periods
from codesign.cost.model import MemoryTiming
from codesign.design import Accelerator, Chunk, Dataset, DesignPoint, Layer, load_design, save_design
from conftest import EXAMPLES, run_cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import cifar10_searched_design, random_design, random_tiled_design, run_seed, tile_counts  # noqa: E402

RANDOM_DESIGNS = 10
TILED_DESIGNS = 2     # random designs whose layers run in tiles: OS and WS x both loop orders
FRAMES = 3
# (read latency, write latency, beat cycles, stall %): the target's, an ideal memory, a slow
# capped one whose latency the DMA's window of outstanding bursts still hides, one whose latency it
# does not hide at either AXI width (64 beats in flight: a group of bursts per latency), and random
# backpressure on every channel
MEMORIES = [(None, None, None, 0), (1, 1, 1, 0), (45, 30, 3, 0), (150, 130, 2, 0), (None, None, None, 25)]
TARGET_AND_STALLS = [MEMORIES[0], MEMORIES[-1]]
SLOW_DRAM = (200, 16, 8, 0)   # weight slices load longer than they compute (tests/test_tiling.py's SLOW)


def assert_bit_exact(result, n_layers):
    assert [e["layer"] for e in result["layers"]] == list(range(n_layers))
    for e in result["layers"]:     # every stored output; the others stay on chip (checked through their consumers)
        assert (e["bit_exact"] if e["stored"] else e["bit_exact"] is None) and e["first_mismatch"] is None, e
    assert result["layers"][-1]["stored"] and result["bit_exact"] is True
    assert all(im["match"] for im in result["images"])


def assert_cycles(result, design, frames):
    """Exact without stalls; between the model and the model + stall cycles with them."""
    mem = result["memory"]
    cost = evaluate(design, memory=MemoryTiming(mem["read_latency"], mem["write_latency"], mem["beat_cycles"]))
    periods = pipeline_periods(cost.chunk_cycles, frames)
    assert [e["predicted_cycles"] for e in result["layers"]] == cost.layer_cycles.tolist()
    assert result["frames"] == frames and len(result["images"]) == frames
    stalls = mem["stall_cycles"]
    for i, e in enumerate(result["layers"]):
        slack = stalls[design.chunk_of(i)]
        assert e["predicted_cycles"] <= e["measured_cycles"] <= e["predicted_cycles"] + slack, (e, mem)
        assert e["cycles_ok"] is True
    for key, want in (("period_cycles", cost.chunk_cycles.max()), ("run_cycles", periods.sum()),
                      ("frame_cycles", periods[:len(cost.chunk_cycles)].sum())):
        assert want <= result[key] <= want + sum(stalls), (key, result[key], want, mem)
    assert result["cycles_ok"] is True
    if mem["stall_pct"] == 0:
        assert sum(stalls) == 0 and result["cycles_exact"] is True
        assert result["measured_fps"] == result["predicted_fps"] > 0
    else:
        assert sum(stalls) > 0     # the backpressure really happened
    if len(cost.chunk_cycles) > 1 and frames > 1:     # the chunks overlap frames (stalls only add to the run)
        assert result["run_cycles"] - sum(stalls) < frames * int(cost.chunk_cycles.sum())


def simulate_memories(hw, design, memories, frames=FRAMES):
    for rd, wr, beat, stall in memories:
        result = simulate(hw, images=frames, read_latency=rd, write_latency=wr, beat_cycles=beat, stall_pct=stall,
                          mem_seed=run_seed())
        assert_bit_exact(result, len(design.layers))
        assert_cycles(result, design, frames)


@pytest.mark.slow
def test_sim_cli_two_chunk_example(tmp_path):
    """`codesign hw` then `codesign sim --json --images 4` on the OS + WS, mixed-bits example;
    the table of one frame; every memory timing; then two broken RTLs: a wrong clamp (outputs
    differ) and a DMA window one burst short (outputs right, cycles off): both exit 1."""
    out = tmp_path / "hw"
    design = load_design(EXAMPLES / "two_chunk_mixed.json")
    run_cli("hw", "--design", EXAMPLES / "two_chunk_mixed.json", "--out", out, check=True)
    proc = run_cli("sim", out, "--json", "--images", 4, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    assert json.loads((out / "sim.json").read_text()) == result
    assert_bit_exact(result, 8)
    assert_cycles(result, design, 4)
    table = run_cli("sim", "hw", cwd=tmp_path, timeout=900)     # relative folder, as `make sim` gives it
    assert table.returncode == 0 and "bit_exact True over 1 frame(s)" in table.stdout
    assert "cycles_exact True" in table.stdout and "cycles_ok True" in table.stdout
    single = json.loads((out / "sim.json").read_text())
    assert single["frame_cycles"] == single["run_cycles"] == single["total_measured"] == sum(design.predicted.chunk_cycles)
    simulate_memories(out, design, MEMORIES[1:])
    stalled = run_cli("sim", out, "--stall-pct", 30, "--mem-seed", run_seed(), timeout=900)
    assert stalled.returncode == 0 and "cycles_exact False" in stalled.stdout and "cycles_ok True" in stalled.stdout

    params = out / "rtl" / "accel_params.vh"   # a DMA window one burst short of the model's
    text = params.read_text()
    assert text.count("`define DMA_OUTSTANDING 8\n") == 1
    params.write_text(text.replace("`define DMA_OUTSTANDING 8\n", "`define DMA_OUTSTANDING 7\n"))
    slow = run_cli("sim", out, "--json", "--read-latency", 150, "--write-latency", 130, timeout=900)
    assert slow.returncode == 1, slow.stderr[-3000:]
    result = json.loads(slow.stdout)
    assert result["bit_exact"] is True and result["cycles_ok"] is False
    assert all(e["measured_cycles"] >= e["predicted_cycles"] for e in result["layers"])
    assert sum(e["measured_cycles"] > e["predicted_cycles"] for e in result["layers"]) >= 4
    params.write_text(text)

    top = out / "rtl" / "accel_top.v"   # a wrong clamp in the first layer's table row (out_hi 255 -> 127)
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
def test_single_chunk_example(tmp_path):
    design = load_design(EXAMPLES / "single_chunk_os_int8.json")
    generate(EXAMPLES / "single_chunk_os_int8.json", tmp_path / "hw")
    simulate_memories(tmp_path / "hw", design, TARGET_AND_STALLS, frames=2)


@pytest.mark.slow
def test_dram_slower_than_the_port(tmp_path):
    """ulx3s: SDRAM at 3 bytes a cycle behind a 64-bit port, a beat every 3 cycles: the model
    prices full 8-byte beats at that rate (not 3-byte beats, each 3 cycles)."""
    generate(EXAMPLES / "single_chunk_os_int8.json", tmp_path / "hw", "ulx3s")
    design = load_design(tmp_path / "hw" / "design.json")
    assert design.accelerator.target == "ulx3s"
    simulate_memories(tmp_path / "hw", design, MEMORIES[:1], frames=2)


@pytest.mark.slow
@pytest.mark.parametrize("index", range(RANDOM_DESIGNS))
def test_random_design(tmp_path, index):
    """Random design `index` of this run (seed CODESIGN_SEED + index), under one of the memories."""
    seed = run_seed() + index
    design = random_design(seed, n_chunks=2 + index % 3)
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    print(f"random design seed {seed}, memory {MEMORIES[index % len(MEMORIES)]}")
    simulate_memories(tmp_path / "hw", design, [MEMORIES[index % len(MEMORIES)]])


@pytest.mark.slow
@pytest.mark.parametrize("index", range(TILED_DESIGNS))
def test_random_tiled_design(tmp_path, index):
    """Random tiled design `index` of this run (seed CODESIGN_SEED + 1000 + index): buffers forced
    small so that layers run in bands of rows, slices of channels or both (sim/designs.py), index 0
    OS inputs_outer + WS weights_outer, index 1 WS inputs_outer + OS weights_outer, each chunk
    with a layer tiled both ways; 2 frames under the target's latencies, then 25 % backpressure;
    then one frame from a DRAM so slow that double-buffered weight slices wait for the next
    slice's block (docs/verilog.md, "Double-buffered weight slices")."""
    seed = run_seed() + 1000 + index
    design = random_tiled_design(seed, combo=index)
    tiles = tile_counts(design)
    assert any(j.double_slices and j.bands > 1 for j in lower(design).layers)
    setups = {(c.dataflow, c.loop_order) for c in design.accelerator.chunks
              if any(s > 1 and b > 1 for s, b in tiles[c.first_layer:c.last_layer + 1])}
    assert setups == [{("os", "inputs_outer"), ("ws", "weights_outer")},
                      {("ws", "inputs_outer"), ("os", "weights_outer")}][index]
    assert any(s > 1 and b == 1 for s, b in tiles) and any(s == 1 and b > 1 for s, b in tiles)
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    print(f"tiled design seed {seed}: (slices, bands) per layer {tiles}")
    simulate_memories(tmp_path / "hw", design, TARGET_AND_STALLS, frames=2)
    simulate_memories(tmp_path / "hw", design, [SLOW_DRAM], frames=1)


def depthwise_design() -> DesignPoint:
    """Depthwise layers of 11 channels on OS arrays of C = 4 (folds of 4, 4, 3 columns) and
    C = 16 > 11 (the fold's last columns read past the channels), each PE on its own channel's
    activation, and on a WS array (stride 2: one GEMM per channel on column 0)."""
    def dw(i, shape, k, stride=1):
        out = ((shape[0] + 2 * (k // 2) - k) // stride + 1, (shape[1] + 2 * (k // 2) - k) // stride + 1, shape[2])
        return Layer(name=f"dw{i}", kind="dwconv", inputs=[i - 1], in_shape=shape, out_shape=out, kernel=k,
                     stride=stride, padding=k // 2, relu=i % 2 == 1, w_bits=8 - i, a_bits=8)
    layers = [Layer(name="conv", kind="conv", inputs=[-1], in_shape=(7, 7, 3), out_shape=(7, 7, 11), kernel=3,
                    padding=1, w_bits=8, a_bits=8)]
    layers += [dw(1, (7, 7, 11), 3), dw(2, (7, 7, 11), 5, 2), dw(3, (4, 4, 11), 3)]
    chunks = [Chunk(first_layer=0, last_layer=1, rows=3, cols=4, dataflow="os", mult_bits=8, act_buf_kib=8, wgt_buf_kib=4),
              Chunk(first_layer=2, last_layer=2, rows=4, cols=8, dataflow="ws", mult_bits=8, act_buf_kib=8, wgt_buf_kib=4),
              Chunk(first_layer=3, last_layer=3, rows=2, cols=16, dataflow="os", mult_bits=8, act_buf_kib=8, wgt_buf_kib=4)]
    return DesignPoint(name="rtl_depthwise", dataset=Dataset(name="random", input_shape=(7, 7, 3), num_classes=11),
                       layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))


@pytest.mark.slow
def test_depthwise_layers_use_every_column(tmp_path):
    """Depthwise layers on OS arrays of C > 1 columns, channels not a multiple of C and fewer than
    C, and on WS: bit-exact, and each layer's measured cycles equal the model's (whose OS compute
    is ceil(M/R) x ceil(ch/C) folds of K = taps steps, back to back)."""
    design = depthwise_design()
    cost = evaluate(design)
    design = design.model_copy(update={"predicted": cost.predicted()})
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    simulate_memories(tmp_path / "hw", design, [MEMORIES[0], MEMORIES[3]], frames=2)


def short_fold_design() -> DesignPoint:
    """A 3x3 conv, then a 1x1 conv of K = 2 on an 8 x 4 OS array (8 M tiles of folds shorter than
    R), then a global pool."""
    layers = [Layer(name="c3", kind="conv", inputs=[-1], in_shape=(8, 8, 1), out_shape=(8, 8, 2), kernel=3,
                    padding=1, w_bits=8, a_bits=8, relu=True),
              Layer(name="pw", kind="conv", inputs=[0], in_shape=(8, 8, 2), out_shape=(8, 8, 4), kernel=1, w_bits=8,
                    a_bits=8, relu=True),
              Layer(name="gap", kind="avgpool", inputs=[1], in_shape=(8, 8, 4), out_shape=(1, 1, 4), kernel=8, a_bits=8)]
    chunks = [Chunk(first_layer=0, last_layer=2, rows=8, cols=4, dataflow="os", mult_bits=8, act_buf_kib=8, wgt_buf_kib=4)]
    design = DesignPoint(name="short_folds", dataset=Dataset(name="random", input_shape=(8, 8, 1), num_classes=4),
                         layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))
    return design.model_copy(update={"predicted": evaluate(design).predicted()})


@pytest.mark.slow
def test_back_to_back_os_folds_shorter_than_the_array(tmp_path):
    """OS folds run back to back; a fold of K = 2 < R waits (in its first fold) for the row
    walkers, whose last row gives the next M tile's first pixel, and then for each previous fold's
    results. Without the first wait the 1x1 layer after the 3x3 one reads stale pixels (not
    bit-exact, 6 cycles short); with it every output and cycle is the model's."""
    design = short_fold_design()
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    simulate_memories(tmp_path / "hw", design, [MEMORIES[0], MEMORIES[1]], frames=2)


def with_weight_bits(design: DesignPoint, bits: int) -> DesignPoint:
    """The design with every weight at `bits` bits on 8-bit multipliers, its prediction renewed."""
    layers = [layer.model_copy(update={"w_bits": bits}) if layer.w_bits else layer for layer in design.layers]
    chunks = [c.model_copy(update={"mult_bits": 8}) for c in design.accelerator.chunks]
    design = design.model_copy(update={"layers": layers, "name": f"{design.name}_w{bits}",
                                       "accelerator": design.accelerator.model_copy(update={"chunks": chunks})})
    return design.model_copy(update={"predicted": evaluate(design).predicted()})


@pytest.mark.slow
def test_4_bit_weights_lie_two_to_a_byte_and_load_faster(tmp_path):
    """Bits that buy speed (issue 15): the two-chunk example with every weight at 4, 6 and 8 bits on
    one accelerator. At 4 bits the weights lie two to a byte in DRAM and in the weight buffer, so
    the layers that load their parameters take fewer cycles; at 6 and 8 bits a byte each, so both
    run the same cycles. Each bit-exact (the engine unpacks the nibbles), cycles equal to the model."""
    base = load_design(EXAMPLES / "two_chunk_mixed.json")
    measured = {}
    for bits in (4, 6, 8):
        design = with_weight_bits(base, bits)
        save_design(design, tmp_path / f"w{bits}.json")
        generate(tmp_path / f"w{bits}.json", tmp_path / f"hw{bits}")
        result = simulate(tmp_path / f"hw{bits}", images=1)
        assert_bit_exact(result, len(design.layers))
        assert_cycles(result, design, 1)
        measured[bits] = [e["measured_cycles"] for e in result["layers"]]
    print("measured cycles per layer at 4, 6, 8 bits:", measured)
    assert measured[6] == measured[8]
    assert all(a <= b for a, b in zip(measured[4], measured[8]))
    assert measured[4][0] < measured[8][0]           # the stem loads its parameters
    # b1_expand (16 channels on 8 OS columns) does two MACs per PE: one fold of 16 channels, not two
    assert lower(with_weight_bits(base, 4)).layers[1].macs_pe == 2
    assert measured[4][1] < 0.6 * measured[8][1]
    assert sum(measured[4]) < sum(measured[8])


def dual_design(mult_bits: int) -> DesignPoint:
    """Layers of two MACs per PE (4-bit and 3-bit weights, 7, 5 and 3 channels) on an 8 x 2 OS
    chunk of mult_bits-bit multipliers (4: two shift-and-add multipliers a PE, 8: one DSP48 multiply
    for both), where a fold's 2R-row drain outlasts the array's R + C + 1 cycles, after an 8-bit
    conv on a 4 x 4 chunk."""
    def conv(name, i, c_in, c_out, k, bits):
        return Layer(name=name, kind="conv", inputs=[i], in_shape=(6, 6, c_in), out_shape=(6, 6, c_out), kernel=k,
                     padding=k // 2, w_bits=bits, a_bits=4, relu=True)
    layers = [conv("c3", -1, 1, 7, 3, 8), conv("c3b", 0, 7, 7, 3, 4), conv("pw", 1, 7, 5, 1, 4),
              Layer(name="gap", kind="avgpool", inputs=[2], in_shape=(6, 6, 5), out_shape=(1, 1, 5), kernel=6, a_bits=4),
              Layer(name="fc", kind="fc", inputs=[3], in_shape=(1, 1, 5), out_shape=(1, 1, 3), w_bits=3, a_bits=4)]
    chunks = [Chunk(first_layer=0, last_layer=0, rows=4, cols=4, dataflow="os", mult_bits=8, act_buf_kib=8, wgt_buf_kib=4),
              Chunk(first_layer=1, last_layer=4, rows=8, cols=2, dataflow="os", mult_bits=mult_bits, act_buf_kib=8,
                    wgt_buf_kib=4)]
    design = DesignPoint(name=f"dual_m{mult_bits}", dataset=Dataset(name="random", input_shape=(6, 6, 1), num_classes=3),
                         layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))
    return design.model_copy(update={"predicted": evaluate(design).predicted()})


@pytest.mark.slow
@pytest.mark.parametrize("mult_bits", [4, 8])
def test_two_macs_per_pe_with_a_drain_longer_than_the_fold(tmp_path, mult_bits):
    """Two MACs per PE: each column runs channels n0 + j and n0 + C + j (odd tiles of 7, 5 and 3
    channels, so rows start at odd nibbles and the last tile's second half is partly empty); the
    drain of 2R = 16 rows is longer than the fold's 11 cycles, so the last operand waits for the
    bank. Bit-exact, cycles equal to the model, under stalls too."""
    design = dual_design(mult_bits)
    assert [j.macs_pe for j in lower(design).layers] == [1, 2, 2, 1, 2]
    save_design(design, tmp_path / "design.json")
    generate(tmp_path / "design.json", tmp_path / "hw")
    simulate_memories(tmp_path / "hw", design, [MEMORIES[1], MEMORIES[-1]], frames=2)


def test_random_designs_cover_kinds_bits_dataflows():
    designs = [random_design(run_seed() + i, n_chunks=2 + i % 3) for i in range(RANDOM_DESIGNS)]
    for d in designs:
        assert {c.dataflow for c in d.accelerator.chunks} == {"os", "ws"}
        assert {layer.kind for layer in d.layers} == {"conv", "dwconv", "fc", "avgpool", "maxpool", "add"}
        assert {layer.w_bits for layer in d.layers if layer.w_bits} == set(range(2, 9))
        assert {layer.a_bits for layer in d.layers} == set(range(2, 9))
        assert {r for c in d.accelerator.chunks for r in (c.rows, c.cols)} <= set(range(2, 9))
    kinds = {(layer.kind, c.dataflow) for d in designs for c in d.accelerator.chunks
             for layer in d.layers[c.first_layer:c.last_layer + 1]}
    assert len(kinds) >= 8


@pytest.mark.slow
def test_cocotbext_axi_testbench(tmp_path):
    """The cocotbext-axi testbench: AxiRam slaves check the DMA's AXI4 bursts and AxiLiteMaster
    the register file; one memory timing (AxiRam's: read and write latency 2), exact cycles."""
    from runner import build, run_frames

    from codesign.backend import verilog
    from codesign.backend.golden import run_network
    from codesign.backend.ir import design_params, dram_image, lower, read_tensor
    design = random_design(run_seed(), n_chunks=2)
    ir, params = lower(design), design_params(design)
    verilog.render(design, ir, params, tmp_path / "rtl")
    build(tmp_path / "rtl", tmp_path / "build")
    images = np.random.default_rng(run_seed()).integers(0, 256, size=(2, *design.dataset.input_shape))
    mem, cycles, counters = run_frames(tmp_path / "build", dram_image(ir, params, images), len(ir.layers),
                                       len(ir.chunks), 2, 10_000_000)
    for f, image in enumerate(images):
        for job, want in zip(ir.layers, run_network(design, params, image)):
            if not job.keep_out:     # an output kept on chip is not in DRAM
                np.testing.assert_array_equal(read_tensor(mem, job, f * ir.frame_bytes), want)
    cost = evaluate(design, memory=MemoryTiming(read_latency=2, write_latency=2))
    assert cycles == cost.layer_cycles.tolist()
    assert counters["run_cycles"] == pipeline_periods(cost.chunk_cycles, 2).sum()


@pytest.mark.slow
def test_cifar10_searched_design_tiled(tmp_path):
    """A CIFAR-10-preset design searched for zc706 (untrained, sim/designs.py) has layers larger
    than their buffers; `codesign hw` generates it and one frame simulates bit-exact and
    cycle-exact under the target's DRAM latencies (bench/cifar_tiled.py prints the figures)."""
    design = cifar10_searched_design(tmp_path / "search")
    tiles = tile_counts(design)
    assert any(s > 1 for s, _ in tiles) and any(b > 1 for _, b in tiles), tiles
    generate(tmp_path / "search" / "design.json", tmp_path / "hw")
    result = simulate(tmp_path / "hw", images=1)
    assert_bit_exact(result, len(design.layers))
    assert_cycles(result, design, 1)
