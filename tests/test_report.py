"""`codesign report`: the Markdown report and its plots, on a bare run and on a full one."""

import json
import shutil

import numpy as np
from conftest import run_cli

from codesign.cost import evaluate
from codesign.design import load_design
from codesign.report import pareto_front

PLOTS_ALWAYS = ("latency.png", "resources.png", "bits.png")


def test_pareto_front_keeps_only_undominated_points():
    acc = np.array([0.9, 0.95, 0.8, 0.95, 0.7])
    fps = np.array([100, 50, 200, 40, 150])
    # (0.95, 40) is dominated by (0.95, 50); (0.7, 150) by (0.8, 200)
    assert pareto_front(acc, fps).tolist() == [1, 0, 2]


def test_report_on_a_run_with_only_a_design(tmp_path, example_path):
    shutil.copy(example_path("two_chunk_mixed"), tmp_path / "design.json")
    proc = run_cli("report", tmp_path, check=True)
    text = (tmp_path / "report.md").read_text()
    for name in PLOTS_ALWAYS:
        assert (tmp_path / name).stat().st_size > 1000
        assert f"]({name})" in text
    assert "Not simulated yet" in text and "Not trained yet" in text and "No designs visited" in text
    assert "Traceback" not in proc.stderr
    # the terminal summary names the predicted FPS and the board's DSPs
    cost = evaluate(load_design(tmp_path / "design.json"))
    assert f"Predicted {cost.fps:.0f} FPS" in proc.stdout
    assert f"dsp: {cost.resources['dsp']:g} of 900" in proc.stdout


def test_report_on_a_full_run(tmp_path, example_path):
    design = load_design(example_path("single_chunk_os_int8"))
    (tmp_path / "design.json").write_text(design.model_copy(update={"accuracy": {
        "float": 0.97, "fake_quant": 0.96, "integer": 0.955}}).model_dump_json())
    rng = np.random.default_rng(0)
    with open(tmp_path / "visited.jsonl", "w") as f:
        for i in range(30):
            f.write(json.dumps({"epoch": i // 3, "val_acc": float(rng.uniform(0.5, 1)),
                                "fps": float(rng.uniform(1e3, 1e5))}) + "\n")
    with open(tmp_path / "search_log.jsonl", "w") as f:
        for e in range(5):
            f.write(json.dumps({"epoch": e, "val_acc": 0.5 + 0.1 * e, "fps": 1e4 + e, "latency_ms": 0.1,
                                "objective": 1.0 / (e + 1)}) + "\n")
    hw = tmp_path / "hw-zc706"
    hw.mkdir()
    predicted = evaluate(design).layer_cycles
    # the shapes `codesign sim --json` and `codesign csim --json` write
    layers = [{"layer": i, "name": layer.name, "bit_exact": True, "measured_cycles": int(p) + 3,
               "predicted_cycles": int(p)} for i, (layer, p) in enumerate(zip(design.layers, predicted))]
    sim_images = [{"image": i, "predicted_class": i % 10, "golden_class": i % 10} for i in range(8)]
    csim_images = [{"image": i, "class": i % 10, "golden_class": i % 10} for i in range(8)]
    (hw / "sim.json").write_text(json.dumps({"bit_exact": True, "layers": layers, "images": sim_images}))
    (hw / "csim.json").write_text(json.dumps({"bit_exact": True, "images": csim_images}))
    proc = run_cli("report", tmp_path, check=True)
    text = (tmp_path / "report.md").read_text()
    for name in PLOTS_ALWAYS + ("pareto.png", "search.png", "cycles.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
        assert f"]({name})" in text
    assert "30 designs visited" in text
    total = int(sum(predicted))
    assert f"total measured {total + 3 * len(layers)} vs predicted {total} cycles" in text
    assert text.count("8 of 8 images classified as the golden model does") == 2
    assert "integer: 0.9550" in proc.stdout


def test_report_survives_unreadable_optional_files(tmp_path, example_path):
    shutil.copy(example_path("two_chunk_mixed"), tmp_path / "design.json")
    (tmp_path / "visited.jsonl").write_text('{"val_acc": "high", "fps": 3}\n')
    (tmp_path / "hw-x").mkdir()
    (tmp_path / "hw-x" / "sim.json").write_text('{"layers": 7}')
    proc = run_cli("report", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert (tmp_path / "report.md").is_file()


def test_report_without_a_design_is_a_one_line_error(tmp_path):
    proc = run_cli("report", tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "no such design file" in proc.stderr
