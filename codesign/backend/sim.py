"""`codesign sim DIR [--json]`: cocotb + Verilator simulation of DIR/rtl against the golden model.

Builds DIR/rtl once into DIR/sim_build (rebuilt when the RTL changes), runs all images
(DIR/vectors.npz's images when present, or the first --images N of them; else one seeded random
image) as ONE run of that many frames pipelined over the chunks, compares every layer's output
tensor of every frame in DRAM with the golden model, the per-layer cycle counters read over
AXI4-Lite with the cost model's prediction, and the measured period / run / frame-0 cycles with
the model's pipeline schedule (`codesign.cost.pipeline_periods`); prints a table (or the JSON with
--json), writes the JSON to DIR/sim.json, and exits non-zero on any bit mismatch.
docs/verilog.md documents the JSON.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np

import codesign
from codesign.backend.golden import run_network
from codesign.backend.hw import load_project, prepare_result, sim_build_dir, write_result
from codesign.backend.ir import dram_image, lower, read_tensor
from codesign.backend.vectors import choose_images
from codesign.backend.verilog import rtl_sources
from codesign.cost import evaluate, pipeline_periods
from codesign.errors import CodesignError

SIM_DIR = Path(codesign.__file__).resolve().parent.parent / "sim"


def load_runner():
    """sim/runner.py, the cocotb runner (a top-level folder of the project, not a package)."""
    spec = importlib.util.spec_from_file_location("codesign_sim_runner", SIM_DIR / "runner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rtl_digest(rtl_dir: Path) -> str:
    h = hashlib.sha256()
    for path in rtl_sources(rtl_dir) + [rtl_dir / "accel_params.vh"]:
        h.update(path.read_bytes())
    return h.hexdigest()


def build_once(runner, rtl_dir: Path, build_dir: Path) -> None:
    stamp = build_dir / "rtl.sha256"
    digest = rtl_digest(rtl_dir)
    if stamp.is_file() and stamp.read_text() == digest:
        return
    runner.build(rtl_dir, build_dir)
    stamp.write_text(digest)


def first_mismatch(got: np.ndarray, want: np.ndarray, image: int) -> dict | None:
    bad = np.argwhere(got != want)
    if len(bad) == 0:
        return None
    idx = tuple(int(i) for i in bad[0])
    return {"image": image, "index": list(idx), "got": int(got[idx]), "want": int(want[idx]),
            "mismatches": int(len(bad))}


def simulate(hw_dir: str | Path, images: int | None = None) -> dict:
    """Run the RTL of a generated project on its test images; the result documented in docs/verilog.md."""
    hw_dir = Path(hw_dir).resolve()   # cocotb runs in the build folder
    design, params, manifest = load_project(hw_dir)
    rtl_dir = hw_dir / "rtl"
    if not (rtl_dir / "accel_top.v").is_file():
        raise CodesignError(f"{hw_dir}: no rtl/accel_top.v; generate the project with `codesign hw --out {hw_dir}`")
    ir = lower(design)
    if ir.design_digest != manifest["design_digest"]:
        raise CodesignError(f"{hw_dir}: design.json does not match manifest.json; regenerate with `codesign hw`")
    runner = load_runner()
    build_dir = sim_build_dir(hw_dir)   # DIR/sim_build unless DIR has a space
    build_once(runner, rtl_dir, build_dir)
    cost = evaluate(design)
    images, _, _ = choose_images(design, hw_dir, images)
    frames = len(images)
    periods = pipeline_periods(cost.chunk_cycles, frames)
    mem, cycles, counters = runner.run_frames(build_dir, dram_image(ir, params, images), len(ir.layers),
                                              len(ir.chunks), frames, 4 * int(periods.sum()) + 100_000)
    predicted = [job.predicted_cycles for job in ir.layers]
    layers = [{"layer": job.index, "name": job.name, "kind": job.kind, "bit_exact": True, "first_mismatch": None}
              for job in ir.layers]
    image_results = []
    for f, image in enumerate(images):
        golden = run_network(design, params, image)
        base = f * ir.frame_bytes
        for entry, job, want in zip(layers, ir.layers, golden):
            miss = first_mismatch(read_tensor(mem, job, base), want, f)
            if miss and entry["bit_exact"]:
                entry["bit_exact"], entry["first_mismatch"] = False, miss
        logits_rtl = read_tensor(mem, ir.layers[-1], base).reshape(-1)
        image_results.append({"image": f, "predicted_class": int(np.argmax(logits_rtl)),
                              "golden_class": int(np.argmax(golden[-1].reshape(-1)))})
    for entry, got, want in zip(layers, cycles, predicted):
        entry.update(measured_cycles=int(got), predicted_cycles=int(want),
                     error_pct=round(100.0 * (got - want) / want, 3) if want else 0.0)
    total_measured, total_predicted = int(sum(cycles)), int(sum(predicted))
    for im in image_results:
        im["match"] = im["predicted_class"] == im["golden_class"]
    clock_hz = design.accelerator.clock_mhz * 1e6
    period = int(counters["period_cycles"])
    pipeline = {"frames": int(counters["frames"]),
                "frame_cycles": int(counters["frame_cycles"]),
                "predicted_frame_cycles": int(periods[:len(ir.chunks)].sum()),
                "period_cycles": period, "predicted_period_cycles": int(cost.chunk_cycles.max()),
                "run_cycles": int(counters["run_cycles"]), "predicted_run_cycles": int(periods.sum()),
                "measured_fps": round(clock_hz / period, 3) if period else 0.0,
                "predicted_fps": round(cost.fps, 3)}
    pipeline["cycles_exact"] = (all(e["measured_cycles"] == e["predicted_cycles"] for e in layers)
                                and all(pipeline[k] == pipeline[f"predicted_{k}"]
                                        for k in ("frame_cycles", "period_cycles", "run_cycles")))
    return {"design_name": design.name, "design_digest": ir.design_digest, "layers": layers,
            "bit_exact": all(e["bit_exact"] for e in layers), "total_measured": total_measured,
            "total_predicted": total_predicted,
            "total_error_pct": round(100.0 * (total_measured - total_predicted) / total_predicted, 3),
            **pipeline, "images": image_results}


def table(result: dict) -> str:
    lines = [f"{'layer':>5} {'name':<14} {'kind':<8} {'bit_exact':<9} {'measured':>9} {'predicted':>9} {'err %':>7}"]
    for e in result["layers"]:
        lines.append(f"{e['layer']:>5} {e['name'][:14]:<14} {e['kind']:<8} {str(e['bit_exact']):<9} "
                     f"{e['measured_cycles']:>9} {e['predicted_cycles']:>9} {e['error_pct']:>7.2f}")
    lines.append(f"total: measured {result['total_measured']} predicted {result['total_predicted']} "
                 f"({result['total_error_pct']:+.2f} %); bit_exact {result['bit_exact']} over {result['frames']} frame(s)")
    lines.append(f"pipeline: period {result['period_cycles']} cycles (model {result['predicted_period_cycles']}), "
                 f"{result['measured_fps']:.1f} FPS (model {result['predicted_fps']:.1f}); frame 0 latency "
                 f"{result['frame_cycles']} (model {result['predicted_frame_cycles']}); run {result['run_cycles']} "
                 f"(model {result['predicted_run_cycles']}); cycles_exact {result['cycles_exact']}")
    for im in result["images"]:
        lines.append(f"image {im['image']}: class {im['predicted_class']} (golden {im['golden_class']})")
    return "\n".join(lines)


def main(args) -> int:
    images = getattr(args, "images", None)
    prepare_result(args.dir, "sim.json", images, getattr(args, "force", False))
    result = simulate(args.dir, images)
    write_result(args.dir, "sim.json", result)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0 if result["bit_exact"] else 1
