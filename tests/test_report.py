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
    cost = evaluate(design)
    predicted = cost.layer_cycles
    digest = design.digest()
    # the shapes `codesign sim --json` and `codesign csim --json` write
    layers = [{"layer": i, "name": layer.name, "bit_exact": True, "measured_cycles": int(p) + 3,
               "predicted_cycles": int(p)} for i, (layer, p) in enumerate(zip(design.layers, predicted))]
    sim_images = [{"image": i, "predicted_class": i % 10, "golden_class": i % 10} for i in range(8)]
    csim_images = [{"image": i, "class": i % 10, "golden_class": i % 10} for i in range(8)]
    period = int(cost.chunk_cycles.max())
    pipeline = {"frames": 8, "period_cycles": period + 7, "predicted_period_cycles": period, "frame_cycles": 1234,
                "predicted_frame_cycles": 1230, "run_cycles": 99, "predicted_run_cycles": 98,
                "measured_fps": 123.5, "predicted_fps": 124.0, "cycles_exact": False}
    (hw / "sim.json").write_text(json.dumps({"design_digest": digest, "bit_exact": True, "layers": layers,
                                             "images": sim_images, **pipeline}))
    (hw / "csim.json").write_text(json.dumps({"design_digest": digest, "bit_exact": True, "images": csim_images}))
    (hw / "manifest.json").write_text(json.dumps({"design_digest": digest}))
    (hw / "rtl").mkdir()
    (hw / "rtl" / "vivado.tcl").write_text("# vivado\n")
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
    # measured vs predicted pipeline figures, straight from sim.json
    assert f"| period (cycles) | {period + 7} | {period} |" in text and "| FPS | 123.5 | 124.0 |" in text
    assert "| frame 0 latency (cycles) | 1234 | 1230 |" in text
    # the chunk table, the per-layer bound, the part and the scripts
    chunk = design.accelerator.chunks[0]
    assert f"| 0 | 0-{len(design.layers) - 1} (" in text and f"| {chunk.rows}x{chunk.cols} | {chunk.dataflow} |" in text
    assert "(bottleneck)" in text and "xc7z045ffg900-2" in text and "`hw-zc706/rtl/vivado.tcl`" in text
    first = design.layers[0]
    util = 100 * first.macs / (chunk.rows * chunk.cols * int(predicted[0]))
    bound = "DRAM" if cost.layer_dram[0] > cost.layer_compute[0] else "compute"
    assert f"| 0 | {first.name} | {first.kind} | 0 | {first.macs:,} | {int(predicted[0])} | " \
           f"{int(cost.layer_compute[0])} | {int(cost.layer_dram[0])} | {bound} | {util:.1f} % |" in text


def test_report_names_results_of_another_design(tmp_path, example_path):
    """A sim.json left from another design is named as such, and its cycles are not shown."""
    shutil.copy(example_path("two_chunk_mixed"), tmp_path / "design.json")
    hw = tmp_path / "hw-zc706"
    hw.mkdir()
    layers = [{"layer": 0, "name": "x", "measured_cycles": 5, "predicted_cycles": 5, "bit_exact": True}]
    (hw / "sim.json").write_text(json.dumps({"design_digest": "0123456789ab", "bit_exact": True, "layers": layers,
                                             "images": []}))
    run_cli("report", tmp_path, check=True)
    text = (tmp_path / "report.md").read_text()
    assert "hw-zc706/sim.json is of another design (digest 0123456789ab" in text
    assert "hw-zc706/sim.json (ANOTHER design (0123456789ab))" in text
    assert not (tmp_path / "cycles.png").exists() and "total measured" not in text


def test_report_of_an_asic_design_gives_energy(tmp_path, example_dict):
    raw = example_dict("single_chunk_os_int8")
    raw["accelerator"].update(target="asic45", clock_mhz=500.0)
    raw["predicted"] = None
    (tmp_path / "design.json").write_text(json.dumps(raw))
    run_cli("report", tmp_path, check=True)
    text = (tmp_path / "report.md").read_text()
    cost = evaluate(load_design(tmp_path / "design.json"))
    assert f"energy per frame: {cost.resources['energy_uj']:.3f} uJ" in text and "asic45, 45nm" in text


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
