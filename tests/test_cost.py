"""The analytical cost model: SCALE-Sim agreement, one model on numpy and torch, design costs."""

import json

import numpy as np
import pytest
import torch

from codesign.cost import check_fits, evaluate
from codesign.cost.model import (FOLD_OVERHEAD, LAYER_OVERHEAD, LayerArrays, array_cycles, ceil_div,
                                 layer_cycles, scalesim_compute_cycles)
from codesign.cost.resources import TOP_LUT, asic_area_mm2, fpga_resources
from codesign.cost.scalesim_ref import scalesim_gemm_cycles
from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.targets import load_target
from conftest import run_cli
from real_gemms import REAL_GEMMS


@pytest.mark.slow
@pytest.mark.parametrize("dataflow", ["os", "ws"])
def test_compute_cycles_equal_scalesim_on_real_layers(dataflow, tmp_path):
    """31 GEMMs of ResNet-20, MobileNetV2, VGG-16 and ResNet-18 layers on a 32x32 array."""
    gemms = list(REAL_GEMMS.values())
    measured = scalesim_gemm_cycles(32, 32, dataflow, gemms, workdir=tmp_path)
    m, n, k = (np.array(v) for v in zip(*gemms))
    predicted = scalesim_compute_cycles(32, 32, dataflow == "ws", m, n, k)
    assert len(gemms) >= 30
    assert predicted.tolist() == measured


@pytest.mark.parametrize("rows,cols", [(8, 4), (3, 7)])
def test_compute_cycles_equal_scalesim_on_odd_arrays(rows, cols, tmp_path):
    gemms = [(64, 16, 27), (10, 7, 100), (1, 10, 64), (49, 3, 9)]
    for dataflow in ("os", "ws"):
        measured = scalesim_gemm_cycles(rows, cols, dataflow, gemms, workdir=tmp_path)
        predicted = [int(scalesim_compute_cycles(rows, cols, dataflow == "ws", *g)) for g in gemms]
        assert predicted == measured, dataflow


def test_our_array_differs_from_scalesim_by_the_documented_overheads():
    """Our array against SCALE-Sim's folds of P cycles each (its -1 is its last-cycle index), on a
    16 x 8 array. WS: P + FOLD_OVERHEAD per fold and LAYER_OVERHEAD per layer. OS: the same, less
    the overlap of back-to-back folds: every fold after the first starts its T operands while the
    previous one drains (it saves min(T, drain) cycles, drain = R + C - 2 + FOLD_OVERHEAD), and a
    first fold shorter than R waits R - T cycles for the row walkers."""
    drain = 16 + 8 - 2 + FOLD_OVERHEAD
    gains = []
    for (m, n, k) in REAL_GEMMS.values():
        for ws in (False, True):
            ours = int(array_cycles(16, 8, ws, m, n, k, 1))
            ref = int(scalesim_compute_cycles(16, 8, ws, m, n, k))
            folds = ceil_div(k if ws else m, 16) * ceil_div(n, 8)
            overlap = 0 if ws else (folds - 1) * min(k, drain) - max(0, 16 - k)
            assert ours - (ref + 1) == folds * FOLD_OVERHEAD + LAYER_OVERHEAD - overlap
            if not ws:
                gains.append((ref + 1) / ours)
    assert min(gains) > 1.0    # OS: fewer cycles than SCALE-Sim's sequential folds on every real layer
    print(f"OS: SCALE-Sim / ours = {min(gains):.2f} .. {max(gains):.2f}")


def random_layers(rng, count):
    m, n, k = rng.integers(1, 600, count), rng.integers(1, 300, count), rng.integers(1, 1200, count)
    g = np.where(rng.random(count) < 0.2, rng.integers(2, 64, count), 1)
    gemm = rng.random(count) < 0.85
    dw = gemm & (g > 1) & (rng.random(count) < 0.5)   # depthwise: G = channels GEMMs of N = 1 (engine_view)
    n = np.where(dw, 1, n)
    return LayerArrays(m=np.where(gemm, m, 0), n=np.where(gemm, n, 0), k=np.where(gemm, k, 0), g=np.where(gemm, g, 0),
                       vec_elems=np.where(gemm, 0, m * n), in_bytes=m * k, out_bytes=m * n, w_bytes=n * k * g + 8 * n,
                       macs=m * n * k * g, w_bits=rng.integers(2, 9, count), a_bits=rng.integers(2, 9, count),
                       dw=dw.astype(np.int64))


def random_chunks(rng, shape):
    return dict(rows=rng.integers(1, 33, shape), cols=rng.integers(1, 33, shape), ws=rng.random(shape) < 0.5,
                act_buf_bytes=rng.integers(1, 256, shape) * 1024, wgt_buf_bytes=rng.integers(1, 256, shape) * 1024,
                weights_outer=rng.random(shape) < 0.5, first_in_chunk=rng.random(shape) < 0.3,
                last_in_chunk=rng.random(shape) < 0.3)


def test_torch_path_equals_exact_path():
    rng = np.random.default_rng(0)
    layers = random_layers(rng, 40)
    chunks = random_chunks(rng, (64, 40))         # 64 candidates x 40 layers, broadcast
    exact = layer_cycles(layers, **chunks, bytes_per_cycle=8)
    t_layers = layers.to("torch")
    t_chunks = {k: torch.as_tensor(v) for k, v in chunks.items()}
    fast = layer_cycles(t_layers, **t_chunks, bytes_per_cycle=8)
    for a, b in zip(exact, fast):
        assert a.shape == (64, 40)
        np.testing.assert_array_equal(a, b.numpy())
    res_np = fpga_resources(chunks["rows"], chunks["cols"], rng.integers(2, 9, (64, 40)), 64, 32)
    res_t = fpga_resources(t_chunks["rows"], t_chunks["cols"], torch.as_tensor(rng.integers(2, 9, (64, 40))), 64, 32)
    assert res_np.keys() == res_t.keys()


def test_gradients_flow_through_choice_probabilities():
    """The search weights exact costs by Gumbel-softmax probabilities: d(expected)/d(logits) exists
    and equals the softmax Jacobian times the costs."""
    rng = np.random.default_rng(1)
    layers = random_layers(rng, 12).to("torch")
    rows = torch.tensor([4, 8, 16, 32])[:, None]                 # 4 candidate array shapes
    cost, _, _ = layer_cycles(layers, rows, rows, torch.tensor(False), torch.tensor(65536), torch.tensor(65536),
                              torch.tensor(True), torch.tensor(False), torch.tensor(False), 8)
    per_choice = cost.sum(dim=1).double()
    logits = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    expected = (torch.softmax(logits, 0) * per_choice).sum()
    expected.backward()
    p = torch.softmax(logits.detach(), 0)
    analytic = p * (per_choice - (p * per_choice).sum())
    torch.testing.assert_close(logits.grad, analytic)
    assert logits.grad.abs().sum() > 0


def test_design_cost_composition(example_path):
    design = load_design(example_path("two_chunk_mixed"))
    cost = evaluate(design)
    assert cost.chunk_cycles.tolist() == [int(cost.layer_cycles[:3].sum()), int(cost.layer_cycles[3:].sum())]
    assert cost.fps == pytest.approx(200e6 / cost.chunk_cycles.max())          # slowest chunk sets throughput
    assert cost.latency_ms == pytest.approx(cost.chunk_cycles.sum() / 200e6 * 1e3)
    assert (cost.layer_cycles >= cost.layer_compute).all()
    assert design.predicted.layer_cycles == cost.layer_cycles.tolist()    # the example is up to date
    # resources: 4x8 and 8x4 arrays of 8-bit multipliers: one DSP48 per PE, two per requantiser
    # lane, and two per vector lane of the chunk that runs the residual add (the second)
    res = fpga_resources(np.array([4, 8]), np.array([8, 4]), np.array([8, 8]), np.array([16, 8]), np.array([4, 4]),
                         ws=np.array([0, 1]), vec=np.array([0, 1]), add=np.array([0, 1]), dual=np.array([0, 0]))
    assert cost.resources["dsp"] == res["dsp"].sum() == 64 + 2 * (8 + 4) + 2 * 4
    assert cost.resources["lut"] == res["lut"].sum() + TOP_LUT


def test_lower_bits_free_dsps():
    wide = fpga_resources(16, 16, 8, 64, 64)
    narrow = fpga_resources(16, 16, 4, 64, 64)
    assert wide["dsp"] - narrow["dsp"] == 256
    assert narrow["lut"] > wide["lut"]
    asic = load_target("asic45")
    assert asic_area_mm2(16, 16, 4, 64, 64, asic) < asic_area_mm2(16, 16, 8, 64, 64, asic)


def test_design_that_does_not_fit_names_resource(example_dict, tmp_path):
    raw = example_dict("single_chunk_os_int8")
    raw["accelerator"]["chunks"][0].update(rows=32, cols=32)
    path = tmp_path / "big.json"
    path.write_text(json.dumps(raw))
    raw["accelerator"]["target"] = "pynq-z2"
    path.write_text(json.dumps(raw))
    with pytest.raises(CodesignError, match=r"does not fit pynq-z2: dsp 1152 > 220 \(over by 932"):
        check_fits(load_design(path))


def test_cost_gemm_cli_json():
    proc = run_cli("cost", "gemm", "--rows", 8, "--cols", 4, "--dataflow", "ws", "--m", 64, "--n", 16, "--k", 27,
                   "--json", check=True)
    r = json.loads(proc.stdout)
    assert r["compute_cycles"] == 1311                   # SCALE-Sim's figure for this GEMM (checked above)
    assert r["total_cycles"] >= r["array_cycles"] > r["compute_cycles"]
    assert 0 < r["utilization"] <= 1
    assert {"rows", "cols", "dataflow", "m", "n", "k", "folds", "dram_cycles", "target"} <= r.keys()


def test_cost_design_cli_json(example_path):
    proc = run_cli("cost", "design", example_path("two_chunk_mixed"), "--json", check=True)
    r = json.loads(proc.stdout)
    assert [c["cycles"] for c in r["chunks"]] == evaluate(load_design(example_path("two_chunk_mixed"))).chunk_cycles.tolist()
    assert r["fits"] is True and r["resources"]["dsp"] <= r["capacity"]["dsp"]
    assert len(r["layers"]) == 8 and r["layers"][2]["kind"] == "dwconv"
