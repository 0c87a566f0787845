"""`codesign sim DIR [--json] [memory options]`: cocotb + Verilator simulation of DIR/rtl against
the golden model and the cost model.

Builds DIR/rtl once into DIR/sim_build inside the fast testbench (sim/hdl/tb_top.v.j2: a Verilog
clock, one simulated DRAM behind one AXI4 slave port per chunk, a Verilog AXI4-Lite master; rebuilt
when the RTL changes), runs all images (DIR/vectors.npz's images when present, or the first
--images N of them; else one seeded random image) as ONE run of that many frames pipelined over the
chunks, under the memory timing asked for (default: the target file's latencies, no stalls), and
checks
* every layer's output tensor of every frame in DRAM against the golden model (bit-exact);
* the per-layer cycle counters, and the measured period / run / frame-0 cycles, against the cost
  model for the same memory timing (`codesign.cost.evaluate`, `pipeline_periods`): equal without
  random stalls; with them, at least the model and at most the model plus the stall cycles the
  memory counted (per layer: its chunk's port's; per run: all ports').
Prints a table (or the JSON with --json), writes the JSON to DIR/sim.json, and exits 1 when any
output differs or any cycle count breaks that rule. docs/verilog.md documents the JSON.
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
from codesign.backend.ir import dram_bytes, dram_image, lower, read_tensor
from codesign.backend.vectors import choose_images
from codesign.backend.verilog import rtl_sources
from codesign.cost import evaluate, pipeline_periods
from codesign.cost.model import MemoryTiming, memory_timing
from codesign.errors import CodesignError
from codesign.targets import load_target

SIM_DIR = Path(codesign.__file__).resolve().parent.parent / "sim"


def load_runner():
    """sim/runner.py, the cocotb runner (a top-level folder of the project, not a package)."""
    spec = importlib.util.spec_from_file_location("codesign_sim_runner", SIM_DIR / "runner.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rtl_digest(rtl_dir: Path) -> str:
    h = hashlib.sha256()
    for path in rtl_sources(rtl_dir) + [rtl_dir / "accel_params.vh"] + sorted((SIM_DIR / "hdl").iterdir()):
        h.update(path.read_bytes())
    return h.hexdigest()


def build_once(runner, rtl_dir: Path, build_dir: Path, ir) -> None:
    stamp = build_dir / "rtl.sha256"
    digest = rtl_digest(rtl_dir)
    if stamp.is_file() and stamp.read_text() == digest:
        return
    runner.build_fast(rtl_dir, build_dir, ir.design_name, len(ir.chunks), len(ir.layers), ir.axi_bytes,
                      dram_bytes(ir, runner.MAX_FRAMES))
    stamp.write_text(digest)


def sim_memory(target, read_latency=None, write_latency=None, beat_cycles=None) -> MemoryTiming:
    """The target's DRAM timing with the values given replaced."""
    base = memory_timing(target)
    mem = MemoryTiming(read_latency=base.read_latency if read_latency is None else read_latency,
                       write_latency=base.write_latency if write_latency is None else write_latency,
                       beat_cycles=base.beat_cycles if beat_cycles is None else beat_cycles)
    values = (mem.read_latency, mem.write_latency, mem.beat_cycles)
    if min(values) < 1 or max(values) > 0xFFFF:
        raise CodesignError(f"memory timing {mem}: give latencies and beat cycles from 1 to 65535")
    return mem


def cycles_ok(measured: int, predicted: int, stalls: int) -> bool:
    """The model's rule: exact without stalls; predicted <= measured <= predicted + stalls with them."""
    return predicted <= measured <= predicted + stalls


def first_mismatch(got: np.ndarray, want: np.ndarray, image: int) -> dict | None:
    bad = np.argwhere(got != want)
    if len(bad) == 0:
        return None
    idx = tuple(int(i) for i in bad[0])
    return {"image": image, "index": list(idx), "got": int(got[idx]), "want": int(want[idx]),
            "mismatches": int(len(bad))}


def simulate(hw_dir: str | Path, images: int | None = None, read_latency: int | None = None,
             write_latency: int | None = None, beat_cycles: int | None = None, stall_pct: int = 0,
             mem_seed: int = 1) -> dict:
    """Run the RTL of a generated project on its test images; the result documented in docs/verilog.md."""
    if not 0 <= stall_pct <= 99:
        raise CodesignError(f"--stall-pct {stall_pct}: give a percentage from 0 to 99")
    if not 0 <= mem_seed < 1 << 32:
        raise CodesignError(f"--mem-seed {mem_seed}: give a seed from 0 to 2^32 - 1")
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
    images, _, _ = choose_images(design, hw_dir, images)
    frames = len(images)
    if frames > runner.MAX_FRAMES:
        raise CodesignError(f"--images {frames}: the simulated DRAM holds {runner.MAX_FRAMES} frames; ask for fewer")
    memory = sim_memory(load_target(design.accelerator.target), read_latency, write_latency, beat_cycles)
    build_once(runner, rtl_dir, build_dir, ir)
    cost = evaluate(design, memory=memory)
    periods = pipeline_periods(cost.chunk_cycles, frames)
    settings = {"rd_lat": memory.read_latency, "wr_lat": memory.write_latency, "beat_gap": memory.beat_cycles,
                "stall_pct": stall_pct, "seed": mem_seed}
    timeout = min(4 * int(periods.sum()) * (1 + stall_pct) + 100_000, 2**32 - 1)
    bases = {"param_base": 0, "act_base": ir.act_addr, "frame_stride": ir.frame_bytes}   # the IR's own map
    mem, cycles, counters = runner.run_fast(build_dir, dram_image(ir, params, images), len(ir.layers),
                                            len(ir.chunks), frames, timeout, ir.axi_bytes, settings, bases)
    predicted = [int(v) for v in cost.layer_cycles]
    stalls = [int(v) for v in counters["stalls"]]
    chunk_of = [c.index for c in ir.chunks for _ in range(c.first_layer, c.last_layer + 1)]
    # a layer whose output stays on chip (the IR's keep_out) leaves nothing in DRAM to check: its
    # consumer's output is checked instead
    layers = [{"layer": job.index, "name": job.name, "kind": job.kind, "stored": not job.keep_out,
               "bit_exact": None if job.keep_out else True, "first_mismatch": None} for job in ir.layers]
    image_results = []
    for f, image in enumerate(images):
        golden = run_network(design, params, image)
        base = f * ir.frame_bytes
        for entry, job, want in zip(layers, ir.layers, golden):
            if job.keep_out:
                continue
            miss = first_mismatch(read_tensor(mem, job, base), want, f)
            if miss and entry["bit_exact"]:
                entry["bit_exact"], entry["first_mismatch"] = False, miss
        logits_rtl = read_tensor(mem, ir.layers[-1], base).reshape(-1)
        image_results.append({"image": f, "predicted_class": int(np.argmax(logits_rtl)),
                              "golden_class": int(np.argmax(golden[-1].reshape(-1)))})
    for entry, got, want, c in zip(layers, cycles, predicted, chunk_of):
        entry.update(measured_cycles=int(got), predicted_cycles=int(want),
                     error_pct=round(100.0 * (got - want) / want, 3) if want else 0.0,
                     cycles_ok=cycles_ok(int(got), int(want), stalls[c]))
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
    pipeline["cycles_ok"] = (all(e["cycles_ok"] for e in layers)
                             and all(cycles_ok(pipeline[k], pipeline[f"predicted_{k}"], sum(stalls))
                                     for k in ("frame_cycles", "period_cycles", "run_cycles")))
    pipeline["memory"] = {"read_latency": memory.read_latency, "write_latency": memory.write_latency,
                          "beat_cycles": memory.beat_cycles, "stall_pct": stall_pct, "seed": mem_seed,
                          "stall_cycles": stalls}
    return {"design_name": design.name, "design_digest": ir.design_digest, "layers": layers,
            "bit_exact": all(e["bit_exact"] is not False for e in layers), "total_measured": total_measured,
            "total_predicted": total_predicted,
            "total_error_pct": round(100.0 * (total_measured - total_predicted) / total_predicted, 3),
            **pipeline, "images": image_results}


def table(result: dict) -> str:
    lines = [f"{'layer':>5} {'name':<14} {'kind':<8} {'bit_exact':<9} {'measured':>9} {'predicted':>9} {'err %':>7}"]
    for e in result["layers"]:
        exact = "on chip" if e["bit_exact"] is None else str(e["bit_exact"])
        lines.append(f"{e['layer']:>5} {e['name'][:14]:<14} {e['kind']:<8} {exact:<9} "
                     f"{e['measured_cycles']:>9} {e['predicted_cycles']:>9} {e['error_pct']:>7.2f}")
    lines.append(f"total: measured {result['total_measured']} predicted {result['total_predicted']} "
                 f"({result['total_error_pct']:+.2f} %); bit_exact {result['bit_exact']} over {result['frames']} frame(s) "
                 f"({sum(e['stored'] for e in result['layers'])} of {len(result['layers'])} layers' outputs stored and checked, "
                 "the others kept on chip)")
    lines.append(f"pipeline: period {result['period_cycles']} cycles (model {result['predicted_period_cycles']}), "
                 f"{result['measured_fps']:.1f} FPS (model {result['predicted_fps']:.1f}); frame 0 latency "
                 f"{result['frame_cycles']} (model {result['predicted_frame_cycles']}); run {result['run_cycles']} "
                 f"(model {result['predicted_run_cycles']}); cycles_exact {result['cycles_exact']}")
    m = result["memory"]
    lines.append(f"memory: read latency {m['read_latency']}, write latency {m['write_latency']}, beat every "
                 f"{m['beat_cycles']} cycle(s), {m['stall_pct']} % stalls (seed {m['seed']}: {sum(m['stall_cycles'])} "
                 f"stall cycles); cycles_ok {result['cycles_ok']}")
    for im in result["images"]:
        lines.append(f"image {im['image']}: class {im['predicted_class']} (golden {im['golden_class']})")
    return "\n".join(lines)


def main(args) -> int:
    images = getattr(args, "images", None)
    prepare_result(args.dir, "sim.json", images, getattr(args, "force", False))
    result = simulate(args.dir, images, args.read_latency, args.write_latency, args.beat_cycles,
                      args.stall_pct, args.mem_seed)
    write_result(args.dir, "sim.json", result)
    print(json.dumps(result, indent=2) if args.json else table(result))
    return 0 if result["bit_exact"] and result["cycles_ok"] else 1
