"""The whole flow through the CLI, as `make all` runs it, with shrunk settings:
search -> train -> hw -> sim -> csim -> report, in a temporary folder whose path has a space (measured: 63 s alone on
the 2-core machine, 98 s beside test_train.py under `-n 2`)."""

import json

import numpy as np
import pytest
from conftest import run_cli

from codesign.backend import golden
from codesign.backend.ir import design_params
from codesign.cost import check_fits
from codesign.design import load_design

TINY_SEARCH = """
[dataset]
name = "digits"

[network]
stem_channels = 4
stem_stride = 2
head_channels = 0
stages = [{ channels = 8, layers = 1, stride = 2 }]
kernels = [3]
expansions = [1, 3]
skip = true

[bits]
weights = [6, 8]
activations = [6, 8]

[accelerator]
max_chunks = 2
rows = [4, 8]
cols = [4, 8]
act_buf_kib = [8, 16]
wgt_buf_kib = [4, 8]

[search]
epochs = 1
warmup_epochs = 0
steps_per_epoch = 4
batch = 32
accel_samples = 16
accel_steps = 2
final_accel_steps = 10
"""

SIM_IMAGES = 4


@pytest.mark.slow
def test_search_train_hw_sim_csim_report(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_SEARCH)
    run = tmp_path / "runs" / "tiny run"    # a space in the path: make, Verilator and g++ all cope
    hw = run / "hw-zc706"

    run_cli("search", "--config", config, "--epochs", "1", "--target", "zc706", "--out", run, check=True)
    design = load_design(run / "design.json")
    check_fits(design)
    assert (run / "visited.jsonl").is_file() and (run / "search_log.jsonl").is_file()

    proc = run_cli("train", run / "design.json", "--epochs", "2", check=True)
    assert "\r" not in proc.stderr and "\x1b" not in proc.stderr          # no progress bars into a pipe
    assert "train epoch 2/2: loss " in proc.stdout
    design = load_design(run / "design.json")
    assert design.weights == "weights.npz" and set(design.accuracy) == {"float", "fake_quant", "integer"}
    vectors = np.load(run / "vectors.npz")
    params = design_params(design, run)
    np.testing.assert_array_equal(vectors["golden_classes"], golden.predict(design, params, vectors["images"]))

    run_cli("hw", "--design", run / "design.json", "--target", "zc706", "--out", hw, check=True)
    assert (hw / "manifest.json").is_file() and (hw / "vectors.npz").is_file()

    run_cli("sim", hw, "--json", "--images", SIM_IMAGES, check=True)
    run_cli("csim", hw, "--json", check=True)
    for name, count in (("sim.json", SIM_IMAGES), ("csim.json", len(vectors["images"]))):
        result = json.loads((hw / name).read_text())
        assert result["bit_exact"] is True, name
        assert all(layer["bit_exact"] is (True if layer.get("stored", True) else None) for layer in result["layers"]), name
        classes = [im.get("class", im.get("predicted_class")) for im in result["images"]]  # csim / sim
        assert classes == vectors["golden_classes"][:count].tolist(), name
    sim = json.loads((hw / "sim.json").read_text())
    assert all(layer["measured_cycles"] > 0 for layer in sim["layers"])

    proc = run_cli("report", run, check=True)
    text = (run / "report.md").read_text()
    for plot in ("pareto.png", "latency.png", "resources.png", "cycles.png", "bits.png"):
        assert (run / plot).stat().st_size > 1000, plot
        assert f"]({plot})" in text, plot
    assert "Not simulated yet" not in text
    assert f"integer: {design.accuracy['integer']:.4f}" in proc.stdout
