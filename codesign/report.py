"""`codesign report RUN`: RUN/report.md with plots (PNGs beside it) and a summary on the terminal.

It reads whatever the run folder holds: design.json (required), visited.jsonl and
search_log.jsonl (from `codesign search`), train_log.json (from `codesign train`) and
hw*/sim.json, hw*/csim.json (from `codesign sim` / `codesign csim`). A section whose input is
missing or unreadable becomes one line saying so; the report never stops on it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from codesign.cost import evaluate  # noqa: E402
from codesign.design import DesignPoint, load_design, layer_in_bits  # noqa: E402
from codesign.errors import CodesignError  # noqa: E402

UNREADABLE = (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError)


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
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path.name


def pareto_front(acc: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both accuracy and FPS, by FPS."""
    front = [i for i in range(len(acc))
             if not np.any((acc >= acc[i]) & (fps >= fps[i]) & ((acc > acc[i]) | (fps > fps[i])))]
    return np.array(sorted(front, key=lambda i: fps[i]), dtype=int)


# ------------------------------------------------------------------------------------ sections

def pareto_section(run: Path, design: DesignPoint) -> Section:
    sec = Section("Accuracy vs predicted FPS of the designs visited")
    visited = [v for v in read_jsonl(run / "visited.jsonl") if "val_acc" in v and "fps" in v]
    if not visited:
        sec.lines.append("No designs visited: visited.jsonl is missing or empty (run `codesign search`).")
        return sec
    acc = np.array([float(v["val_acc"]) for v in visited])
    fps = np.array([float(v["fps"]) for v in visited])
    front = pareto_front(acc, fps)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.scatter(fps, acc, s=14, alpha=0.5, label=f"visited ({len(visited)})")
    ax.plot(fps[front], acc[front], "r.-", label=f"Pareto front ({len(front)})")
    if design.predicted and design.accuracy:
        ax.scatter([design.predicted.fps], [design.accuracy.get("integer", np.nan)], marker="*", s=150,
                   color="k", label="chosen design (integer test acc.)")
    ax.set_xscale("log")
    ax.set_xlabel("predicted FPS")
    ax.set_ylabel("validation accuracy (search)")
    ax.legend(fontsize=8)
    sec.image = save(fig, run / "pareto.png")
    sec.lines.append(f"{len(visited)} designs visited, {len(front)} on the Pareto front; "
                     f"best accuracy {acc.max():.3f}, best FPS {fps.max():.0f}.")
    return sec


def search_section(run: Path) -> Section:
    sec = Section("Search progress")
    log = [e for e in read_jsonl(run / "search_log.jsonl") if "epoch" in e]
    if not log:
        sec.lines.append("No search log: search_log.jsonl is missing or empty.")
        return sec
    epochs = [e["epoch"] for e in log]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if all("val_acc" in e for e in log):
        ax.plot(epochs, [e["val_acc"] for e in log], "b.-", label="val acc")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy")
    if all("fps" in e for e in log):
        ax2 = ax.twinx()
        ax2.plot(epochs, [e["fps"] for e in log], "g.-", label="FPS")
        ax2.set_ylabel("predicted FPS")
    sec.image = save(fig, run / "search.png")
    last = log[-1]
    sec.lines.append(f"{len(log)} search epochs; last: " + ", ".join(
        f"{k} {last[k]:.4g}" for k in ("val_acc", "fps", "latency_ms", "objective") if isinstance(last.get(k), (int, float))))
    return sec


def latency_section(run: Path, design: DesignPoint, cost) -> Section:
    sec = Section("Per-layer latency, stacked by chunk")
    cycles = np.asarray(cost.layer_cycles, dtype=float)
    clock = design.accelerator.clock_mhz
    fig, ax = plt.subplots(figsize=(6, 4))
    n_chunks = len(design.accelerator.chunks)
    for c, chunk in enumerate(design.accelerator.chunks):
        bottom = 0.0
        for i in range(chunk.first_layer, chunk.last_layer + 1):
            us = cycles[i] / clock
            ax.bar(c, us, bottom=bottom, color=plt.cm.tab20(i % 20), edgecolor="k", linewidth=0.3)
            if us > 0.04 * cycles.max() / clock:
                ax.text(c, bottom + us / 2, design.layers[i].name, ha="center", va="center", fontsize=6)
            bottom += us
    ax.set_xticks(range(n_chunks), [f"chunk {c}\n{ch.rows}x{ch.cols} {ch.dataflow}"
                                    for c, ch in enumerate(design.accelerator.chunks)])
    ax.set_ylabel(f"latency (us at {clock:g} MHz)")
    sec.image = save(fig, run / "latency.png")
    slowest = int(np.argmax(cost.chunk_cycles))
    sec.lines.append(f"Predicted {cost.fps:.0f} FPS (chunk {slowest} is the slowest, {int(cost.chunk_cycles[slowest])} "
                     f"cycles), latency {cost.latency_ms:.4f} ms, {int(cycles.sum())} cycles in all.")
    return sec


def resources_section(run: Path, design: DesignPoint, cost) -> Section:
    sec = Section(f"Resources against the board ({design.accelerator.target})")
    keys = [k for k in cost.capacity if k in cost.resources]
    used = np.array([cost.resources[k] / cost.capacity[k] * 100 for k in keys])
    fig, ax = plt.subplots(figsize=(6, 0.6 * len(keys) + 1.2))
    ax.barh(keys, used, color=["tab:red" if u > 100 else "tab:blue" for u in used])
    ax.axvline(100, color="k", linestyle="--")
    ax.set_xlabel("% of the board")
    sec.image = save(fig, run / "resources.png")
    sec.lines += [f"- {k}: {cost.resources[k]:g} of {cost.capacity[k]:g} ({u:.1f} %)" for k, u in zip(keys, used)]
    return sec


def find_sims(run: Path) -> list[tuple[Path, dict]]:
    return [(p, json.loads(p.read_text())) for p in sorted(run.glob("hw*/sim.json"))]


def cycles_section(run: Path, design: DesignPoint, cost) -> Section:
    sec = Section("Measured (RTL simulation) vs predicted cycles per layer")
    sims = find_sims(run)
    if not sims:
        sec.lines.append("Not simulated yet: no hw*/sim.json (run `codesign hw` then `codesign sim`).")
        return sec
    path, sim = sims[-1]
    layers = [entry for entry in sim.get("layers", []) if entry.get("measured_cycles") is not None]
    if not layers:
        sec.lines.append(f"{path.relative_to(run)} holds no per-layer measured cycles.")
        return sec
    names = [str(entry.get("name", entry.get("index", i))) for i, entry in enumerate(layers)]
    measured = np.array([float(entry["measured_cycles"]) for entry in layers])
    predicted = np.array([float(entry.get("predicted_cycles", np.nan)) for entry in layers])
    x = np.arange(len(layers))
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(layers)), 4))
    ax.bar(x - 0.2, predicted, 0.4, label="predicted (cost model)")
    ax.bar(x + 0.2, measured, 0.4, label="measured (RTL)")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("cycles")
    ax.legend(fontsize=8)
    sec.image = save(fig, run / "cycles.png")
    err = np.abs(measured - predicted) / np.maximum(predicted, 1)
    sec.lines.append(f"From {path.relative_to(run)}: {len(layers)} layers, total measured {int(measured.sum())} vs "
                     f"predicted {int(np.nansum(predicted))} cycles; largest per-layer error {np.nanmax(err) * 100:.1f} %.")
    sec.lines += [f"- {name}: measured {int(m)}, predicted {int(p)}, bit-exact {entry.get('bit_exact')}"
                  for name, m, p, entry in zip(names, measured, predicted, layers)]
    return sec


def verification_section(run: Path) -> Section:
    sec = Section("Verification")
    found = False
    for kind in ("sim", "csim"):
        for path in sorted(run.glob(f"hw*/{kind}.json")):
            found = True
            data = json.loads(path.read_text())
            images = data.get("images", [])
            agree = sum(1 for im in images if im.get("class", im.get("predicted_class")) == im.get("golden_class"))
            sec.lines.append(f"- {path.relative_to(run)}: bit_exact {data.get('bit_exact')}; "
                             f"{agree} of {len(images)} images classified as the golden model does.")
    if not found:
        sec.lines.append("No simulation results yet (hw*/sim.json, hw*/csim.json).")
    return sec


def bits_section(run: Path, design: DesignPoint) -> Section:
    sec = Section("Chosen bitwidths per layer")
    names = [layer.name for layer in design.layers]
    x = np.arange(len(names))
    w = [layer.w_bits or 0 for layer in design.layers]
    a = [layer.a_bits for layer in design.layers]
    fig, ax = plt.subplots(figsize=(max(6, 0.4 * len(names)), 3.5))
    ax.bar(x - 0.2, w, 0.4, label="weight bits")
    ax.bar(x + 0.2, a, 0.4, label="output activation bits")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(0, 9, 2))
    ax.legend(fontsize=8)
    sec.image = save(fig, run / "bits.png")
    sec.lines.append("| layer | kind | block | in -> out | w bits | in bits | out bits |")
    sec.lines.append("|---|---|---|---|---|---|---|")
    for layer in design.layers:
        sec.lines.append(f"| {layer.name} | {layer.kind} | {layer.block} | {'x'.join(map(str, layer.in_shape))} -> "
                         f"{'x'.join(map(str, layer.out_shape))} | {layer.w_bits or '-'} | "
                         f"{layer_in_bits(design, layer)} | {layer.a_bits}{'' if layer.relu else ' (signed)'} |")
    return sec


def accuracy_section(run: Path, design: DesignPoint) -> Section:
    sec = Section("Accuracy (test split)")
    if not design.accuracy:
        sec.lines.append("Not trained yet: the design has no accuracy (run `codesign train`).")
        return sec
    sec.lines += [f"- {k}: {v:.4f}" for k, v in design.accuracy.items()]
    log = read_json(run / "train_log.json")
    agreement = (log or {}).get("golden_agreement", {})
    if "fake_quant" in agreement:
        sec.lines.append(f"- the golden model's classes agree with the fake-quant model's on {agreement['fake_quant']:.2%} "
                         f"of {log.get('test_images', '?')} test images; training took {log.get('seconds', '?')} s")
    return sec


# ------------------------------------------------------------------------------------ the report

def sections(run: Path, design: DesignPoint) -> list[Section]:
    out = []
    builders = [lambda: accuracy_section(run, design), lambda: pareto_section(run, design), lambda: search_section(run)]
    try:
        cost = evaluate(design)
    except (CodesignError, *UNREADABLE) as e:
        out.append(Section("Cost model", [f"Cannot evaluate the design on its target: {e}"]))
    else:
        builders += [lambda: latency_section(run, design, cost), lambda: resources_section(run, design, cost),
                     lambda: cycles_section(run, design, cost)]
    builders += [lambda: verification_section(run), lambda: bits_section(run, design)]
    for build in builders:
        try:
            out.append(build())
        except UNREADABLE as e:
            plt.close("all")
            out.append(Section("(section skipped)", [f"A section could not be built from the run's files: {e!r}"]))
    return out


def render(design: DesignPoint, secs: list[Section]) -> str:
    head = [f"# codesign report: {design.name}", "",
            f"Dataset {design.dataset.name} {'x'.join(map(str, design.dataset.input_shape))}, "
            f"{design.dataset.num_classes} classes; {len(design.layers)} layers, "
            f"{sum(layer.macs for layer in design.layers):,} MACs; {len(design.accelerator.chunks)} chunk(s) on "
            f"{design.accelerator.target} at {design.accelerator.clock_mhz:g} MHz; design digest {design.digest()}.", ""]
    body = []
    for sec in secs:
        body += [f"## {sec.title}", ""]
        if sec.image:
            body += [f"![{sec.title}]({sec.image})", ""]
        body += sec.lines + [""]
    return "\n".join(head + body)


def summary(design: DesignPoint, secs: list[Section]) -> str:
    keep = ("Accuracy", "Per-layer latency", "Resources", "Verification", "Measured", "Accuracy vs")
    lines = [f"{design.name}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunk(s), "
             f"{design.accelerator.target}"]
    for sec in secs:
        if sec.title.startswith(keep):
            lines.append(f"{sec.title}:")
            lines += [f"  {line.lstrip('- ')}" for line in sec.lines[:8]]
    return "\n".join(lines)


def write_report(run: str | Path) -> Path:
    run = Path(run)
    if not run.is_dir():
        raise CodesignError(f"{run}: no such run folder; pass the folder `codesign search --out` wrote")
    design = load_design(run / "design.json")
    secs = sections(run, design)
    path = run / "report.md"
    path.write_text(render(design, secs))
    print(summary(design, secs))
    print(f"wrote {path}")
    return path


def main(args) -> int:
    write_report(args.run)
    return 0
