"""The report's sections on the accelerator and its measurements (`codesign report`, see
codesign/report.py): chunks, per-layer bound and utilisation, latency, resources, RTL simulation
and implementation against the cost model, verification, where the scripts are. Also the small
pieces every section uses."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from codesign.cost import chunk_fpga_resources  # noqa: E402
from codesign.design import GEMM_KINDS, DesignPoint  # noqa: E402
from codesign.files import atomic_path  # noqa: E402

FPGA_KEYS = ("dsp", "bram36", "lut", "ff")


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    image: str | None = None


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def save(fig, path: Path) -> str:
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110)
    plt.close(fig)
    return path.name


def table(header: list[str], rows: list[list]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + \
        ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]


@dataclass
class Project:
    """One hw*/ folder and the results in it; `same` is whether they are of the run's design."""
    path: Path
    digest: str | None
    results: dict[str, dict]

    def same(self, design: DesignPoint, name: str) -> bool:
        return self.results.get(name, {}).get("design_digest") == design.digest()


def find_projects(run: Path) -> list[Project]:
    out = []
    for folder in sorted(p for p in run.glob("hw*") if p.is_dir()):
        results = {}
        for name in ("sim", "csim", "impl"):
            try:
                data = read_json(folder / f"{name}.json")
            except (ValueError, OSError):
                data = None
            if isinstance(data, dict):
                results[name] = data
        try:
            digest = (read_json(folder / "manifest.json") or {}).get("design_digest")
        except (ValueError, OSError, AttributeError):
            digest = None
        out.append(Project(folder, digest, results))
    return out


# ------------------------------------------------------------------------------------ the accelerator

def chunks_section(design: DesignPoint, cost, target) -> Section:
    sec = Section("Chunks (one systolic array each, pipelined over frames)")
    chunks = design.accelerator.chunks
    per_chunk = chunk_fpga_resources(design, target.family) if target.kind == "fpga" else {}
    slowest = int(np.argmax(cost.chunk_cycles))
    rows = []
    for c, ch in enumerate(chunks):
        names = f"{ch.first_layer}-{ch.last_layer} ({design.layers[ch.first_layer].name} .. " \
                f"{design.layers[ch.last_layer].name})"
        res = [f"{float(per_chunk[k][c]):.0f}" for k in FPGA_KEYS] if per_chunk else []
        rows.append([c, names, f"{ch.rows}x{ch.cols}", ch.dataflow, ch.mult_bits, ch.act_buf_kib, ch.wgt_buf_kib,
                     ch.loop_order, int(cost.chunk_cycles[c]), f"{100 * cost.chunk_cycles[c] / cost.chunk_cycles.max():.0f} %"
                     + (" (bottleneck)" if c == slowest else ""), *res])
    header = ["chunk", "layers", "array", "dataflow", "mult bits", "act buf KiB", "wgt buf KiB", "loop order",
              "cycles/frame", "of the period"] + ([k.upper() for k in FPGA_KEYS] if per_chunk else [])
    sec.lines += table(header, rows)
    clock = design.accelerator.clock_mhz
    sec.lines += ["", f"Pipeline period: {int(cost.chunk_cycles.max())} cycles = {cost.chunk_cycles.max() / clock:.2f} us "
                      f"at {clock:g} MHz (chunk {slowest}, the bottleneck) -> {cost.fps:.0f} FPS; a frame's latency "
                      f"is the sum over chunks, {int(cost.chunk_cycles.sum())} cycles = {cost.latency_ms:.4f} ms."]
    if per_chunk:
        sec.lines.append("Resources per chunk are the cost model's; the design also has a top level "
                         "(AXI-Lite control, interconnect) counted in the totals below.")
    return sec


def layers_section(design: DesignPoint, cost) -> Section:
    """Compute- vs DRAM-bound per layer, and how busy the array is."""
    sec = Section("Per layer: compute- or DRAM-bound, array utilisation")
    rows = []
    for i, layer in enumerate(design.layers):
        ch = design.accelerator.chunks[design.chunk_of(i)]
        total, comp, dram = (int(v[i]) for v in (cost.layer_cycles, cost.layer_compute, cost.layer_dram))
        bound = "DRAM" if dram > comp else "compute"
        util = f"{100 * layer.macs / (ch.rows * ch.cols * max(total, 1)):.1f} %" if layer.kind in GEMM_KINDS else "-"
        rows.append([i, layer.name, layer.kind, design.chunk_of(i), f"{layer.macs:,}", total, comp, dram, bound, util])
    sec.lines += table(["#", "layer", "kind", "chunk", "MACs", "cycles", "compute", "DRAM", "bound", "array util."], rows)
    dram_bound = sum(r[8] == "DRAM" for r in rows)
    sec.lines += ["", f"{dram_bound} of {len(rows)} layers spend more cycles on DRAM transfers than on compute "
                      f"(the schedule is sequential per layer: cycles = compute + DRAM). Utilisation = MACs / "
                      f"(rows x cols x cycles)."]
    return sec


def latency_section(run: Path, design: DesignPoint, cost) -> Section:
    sec = Section("Per-layer latency, stacked by chunk")
    cycles = np.asarray(cost.layer_cycles, dtype=float)
    clock = design.accelerator.clock_mhz
    chunks = design.accelerator.chunks
    slowest = int(np.argmax(cost.chunk_cycles))
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for c, chunk in enumerate(chunks):
        bottom = 0.0
        for i in range(chunk.first_layer, chunk.last_layer + 1):
            us = cycles[i] / clock
            ax.bar(c, us, bottom=bottom, color=plt.cm.tab20(i % 20), edgecolor="red" if c == slowest else "k",
                   linewidth=1.5 if c == slowest else 0.3)
            if us > 0.04 * cycles.max() / clock:
                ax.text(c, bottom + us / 2, design.layers[i].name, ha="center", va="center", fontsize=6)
            bottom += us
    period_us = cost.chunk_cycles.max() / clock
    ax.axhline(period_us, color="red", linestyle="--", label=f"pipeline period {period_us:.2f} us ({cost.fps:.0f} FPS)")
    ax.set_xticks(range(len(chunks)), [f"chunk {c}{' (bottleneck)' if c == slowest else ''}\n{ch.rows}x{ch.cols} "
                                       f"{ch.dataflow}" for c, ch in enumerate(chunks)], fontsize=8)
    ax.set_ylabel(f"latency per frame (us at {clock:g} MHz)")
    ax.set_ylim(0, max(period_us, cycles.sum() / clock / len(chunks)) * 1.2)
    ax.legend(fontsize=8, loc="upper center")
    sec.image = save(fig, run / "latency.png")
    sec.lines.append(f"Predicted {cost.fps:.0f} FPS (chunk {slowest} is the slowest, {int(cost.chunk_cycles[slowest])} "
                     f"cycles), latency {cost.latency_ms:.4f} ms, {int(cycles.sum())} cycles in all.")
    return sec


def resources_section(run: Path, design: DesignPoint, cost, target) -> Section:
    where = f"{target.name}, {target.part}" if target.part else f"{target.name}, {target.process}"
    sec = Section(f"Resources against the target ({where})")
    keys = [k for k in cost.capacity if k in cost.resources]
    used = np.array([cost.resources[k] / cost.capacity[k] * 100 for k in keys])
    fig, ax = plt.subplots(figsize=(6.4, 0.6 * len(keys) + 1.4))
    ax.barh(keys, used, color=["tab:red" if u > 100 else "tab:blue" for u in used])
    for y, (k, u) in enumerate(zip(keys, used)):
        ax.text(u + 1, y, f"{cost.resources[k]:g} / {cost.capacity[k]:g}", va="center", fontsize=8)
    ax.axvline(100, color="k", linestyle="--", label="the whole device")
    ax.set_xlim(0, max(110, used.max() * 1.35))
    ax.set_xlabel("% of the device (cost model)")
    ax.legend(fontsize=8, loc="lower right")
    sec.image = save(fig, run / "resources.png")
    sec.lines += [f"- {k}: {cost.resources[k]:g} of {cost.capacity[k]:g} ({u:.1f} %)" for k, u in zip(keys, used)]
    if "energy_uj" in cost.resources:
        sec.lines.append(f"- energy per frame: {cost.resources['energy_uj']:.3f} uJ "
                         f"({cost.resources['energy_uj'] * cost.fps * 1e-6:.4f} W at {cost.fps:.0f} FPS)")
    return sec


# ------------------------------------------------------------------------------------ measured

def measured_section(run: Path, design: DesignPoint, cost, projects: list[Project]) -> Section:
    sec = Section("Measured (RTL simulation, implementation) vs predicted")
    sims = [p for p in projects if "sim" in p.results]
    if not sims:
        sec.lines.append("Not simulated yet: no hw*/sim.json (run `codesign hw` then `codesign sim`).")
        return sec
    mine = [p for p in sims if p.same(design, "sim")]
    for p in sims:
        if p not in mine:
            sec.lines.append(f"- {p.path.name}/sim.json is of another design (digest "
                             f"{p.results['sim'].get('design_digest')}, this run's is {design.digest()}): not shown; "
                             f"regenerate with `codesign hw --out {p.path}` and `codesign sim`.")
    if not mine:
        return sec
    project = mine[-1]
    sim = project.results["sim"]
    rel = f"{project.path.name}/sim.json"
    clock = design.accelerator.clock_mhz
    if "period_cycles" in sim:
        rows = [["period (cycles)", sim["period_cycles"], sim.get("predicted_period_cycles")],
                ["FPS", sim.get("measured_fps"), sim.get("predicted_fps")],
                ["frame 0 latency (cycles)", sim.get("frame_cycles"), sim.get("predicted_frame_cycles")],
                ["frame 0 latency (ms)", f"{sim.get('frame_cycles', 0) / clock / 1e3:.4f}",
                 f"{sim.get('predicted_frame_cycles', 0) / clock / 1e3:.4f}"],
                [f"run of {sim.get('frames')} frame(s) (cycles)", sim.get("run_cycles"), sim.get("predicted_run_cycles")]]
        sec.lines += [f"From {rel} (digest {sim['design_digest']}, the run's design; cycles exact: "
                      f"{sim.get('cycles_exact')}):", ""] + table(["", "measured", "predicted"], rows) + [""]
    layers = [entry for entry in sim.get("layers", []) if entry.get("measured_cycles") is not None]
    if layers:
        names = [str(entry.get("name", i)) for i, entry in enumerate(layers)]
        measured = np.array([float(entry["measured_cycles"]) for entry in layers])
        predicted = np.array([float(entry.get("predicted_cycles", np.nan)) for entry in layers])
        x = np.arange(len(layers))
        fig, ax = plt.subplots(figsize=(max(6.4, 0.5 * len(layers)), 4))
        ax.bar(x - 0.2, predicted, 0.4, label="predicted (cost model)")
        ax.bar(x + 0.2, measured, 0.4, label="measured (RTL simulation)")
        ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
        ax.set_xlabel("layer")
        ax.set_ylabel("cycles per frame")
        ax.legend(fontsize=8)
        sec.image = save(fig, run / "cycles.png")
        err = np.abs(measured - predicted) / np.maximum(predicted, 1)
        sec.lines.append(f"From {rel}: {len(layers)} layers, total measured {int(measured.sum())} vs "
                         f"predicted {int(np.nansum(predicted))} cycles; largest per-layer error {np.nanmax(err) * 100:.1f} %.")
    impl = project.results.get("impl")
    if impl is not None:
        same = "the run's design" if project.same(design, "impl") else \
            f"ANOTHER design (digest {impl.get('design_digest')})"
        flat = {k: v for k, v in impl.items() if isinstance(v, (int, float, str, bool)) and k != "design_digest"}
        sec.lines += ["", f"Implementation ({project.path.name}/impl.json, {same}):"]
        sec.lines += [f"- {k}: {v}" for k, v in flat.items()]
        for key in ("resources", "utilization"):
            if isinstance(impl.get(key), dict):
                sec.lines += [f"- {key} {k}: {v} (cost model {cost.resources.get(k, '-')})" for k, v in impl[key].items()]
    return sec


def verification_section(design: DesignPoint, projects: list[Project]) -> Section:
    sec = Section("Verification against the golden model")
    for p in projects:
        for kind in ("sim", "csim"):
            data = p.results.get(kind)
            if data is None:
                continue
            images = data.get("images", [])
            agree = sum(1 for im in images if im.get("class", im.get("predicted_class")) == im.get("golden_class"))
            digest = data.get("design_digest")
            whose = "this design" if digest == design.digest() else f"ANOTHER design ({digest})"
            sec.lines.append(f"- {p.path.name}/{kind}.json ({whose}): bit_exact {data.get('bit_exact')}; "
                             f"{agree} of {len(images)} images classified as the golden model does.")
    if not sec.lines:
        sec.lines.append("No simulation results yet (hw*/sim.json, hw*/csim.json).")
    return sec


def files_section(run: Path, design: DesignPoint, target, projects: list[Project]) -> Section:
    sec = Section("Where the projects and scripts are")
    if not projects:
        sec.lines.append(f"No project generated yet: `codesign hw --design {run / 'design.json'} --out {run}/hw-"
                         f"{design.accelerator.target}`.")
    for p in projects:
        scripts = [f for f in ("rtl/vivado.tcl", "rtl/block_design.tcl", "hls/build.tcl", "hls/build_vitis.tcl")
                   if (p.path / f).is_file()]
        sec.lines.append(f"- {p.path.name}/ (digest {p.digest}{'' if p.digest == design.digest() else ', ANOTHER design'}"
                         f"): Verilog in rtl/, HLS C++ in hls/; scripts " + ", ".join(f"`{p.path.name}/{f}`" for f in scripts))
    if target.part:
        sec.lines.append(f"- part {target.part}" + (f", board {target.board_part}" if target.board_part else ""))
    return sec
