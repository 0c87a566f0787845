"""`codesign report RUN`: RUN/report.md with plots (PNGs beside it) and a summary on the terminal.

It reads whatever the run folder holds: design.json (required), visited.jsonl and
search_log.jsonl (from `codesign search`), train_log.json (from `codesign train`) and, per
project folder hw*/, manifest.json, sim.json, csim.json and impl.json (from `hw`, `sim`, `csim`,
`impl`). Results whose design digest differs from the run's design are named as such and not
shown as its figures. A section whose input is missing or unreadable becomes one line saying so;
the report never stops on it.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from codesign.cost import evaluate  # noqa: E402
from codesign.design import DesignPoint, layer_in_bits, load_design  # noqa: E402
from codesign.errors import CodesignError  # noqa: E402
from codesign.files import check_writable, write_text  # noqa: E402
from codesign.report_hw import (Section, chunks_section, files_section, find_projects, latency_section,  # noqa: E402
                                layers_section, measured_section, read_json, read_jsonl, resources_section, save,
                                table, verification_section)
from codesign.targets import load_target  # noqa: E402

UNREADABLE = (KeyError, TypeError, ValueError, IndexError, AttributeError, OSError)


def pareto_front(acc: np.ndarray, fps: np.ndarray) -> np.ndarray:
    """Indices of the points no other point beats in both accuracy and FPS, by FPS."""
    front = [i for i in range(len(acc))
             if not np.any((acc >= acc[i]) & (fps >= fps[i]) & ((acc > acc[i]) | (fps > fps[i])))]
    return np.array(sorted(front, key=lambda i: fps[i]), dtype=int)


# ------------------------------------------------------------------------------------ search

def pareto_section(run: Path, design: DesignPoint) -> Section:
    sec = Section("Validation accuracy vs predicted FPS of the designs visited")
    entries = [v for v in read_jsonl(run / "visited.jsonl") if "val_acc" in v and "fps" in v]
    visited = [v for v in entries if not v.get("final")]
    final = [v for v in entries if v.get("final")]
    if not visited:
        sec.lines.append("No designs visited: visited.jsonl is missing or empty (run `codesign search`).")
        return sec
    acc = np.array([float(v["val_acc"]) for v in visited])
    fps = np.array([float(v["fps"]) for v in visited])
    front = pareto_front(acc, fps)
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(fps, acc, s=14, alpha=0.5, label=f"derived networks checked ({len(visited)})")
    ax.plot(fps[front], acc[front], "r.-", label=f"Pareto front ({len(front)})")
    if final:
        ax.scatter([float(final[-1]["fps"])], [float(final[-1]["val_acc"])], marker="*", s=220, facecolor="none",
                   edgecolor="k", zorder=3, label="chosen design")
    elif design.predicted:
        ax.axvline(design.predicted.fps, color="k", linestyle=":", label="chosen design's predicted FPS")
    ax.set_xscale("log")
    ax.set_xlabel("predicted FPS (cost model, log scale)")
    ax.set_ylabel("validation accuracy (supernet, during search)")
    ax.legend(fontsize=8, loc="best")
    sec.image = save(fig, run / "pareto.png")
    sec.lines.append(f"{len(visited)} designs visited, {len(front)} on the Pareto front; best accuracy {acc.max():.3f}, "
                     f"best FPS {fps.max():.0f}. Accuracies here are the supernet's on the validation split during "
                     f"the search; the trained design's test accuracy is in the Accuracy section.")
    return sec


def search_section(run: Path) -> Section:
    sec = Section("Search progress")
    log = [e for e in read_jsonl(run / "search_log.jsonl") if "epoch" in e]
    if not log:
        sec.lines.append("No search log: search_log.jsonl is missing or empty.")
        return sec
    epochs = [e["epoch"] for e in log]
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    lines = []
    if all("val_acc" in e for e in log):
        lines += ax.plot(epochs, [e["val_acc"] for e in log], "b.-", label="validation accuracy (left)")
    ax.set_xlabel("search epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("validation accuracy")
    if all("fps" in e for e in log):
        ax2 = ax.twinx()
        lines += ax2.plot(epochs, [e["fps"] for e in log], "g.--", label="predicted FPS (right)")
        ax2.set_ylabel("predicted FPS")
    if lines:
        ax.legend(lines, [ln.get_label() for ln in lines], fontsize=8, loc="lower right")
    sec.image = save(fig, run / "search.png")
    last = log[-1]
    sec.lines.append(f"{len(log)} search epochs; last: " + ", ".join(
        f"{k} {last[k]:.4g}" for k in ("val_acc", "fps", "latency_ms", "objective") if isinstance(last.get(k), (int, float))))
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


def bits_section(run: Path, design: DesignPoint) -> Section:
    sec = Section("Chosen bitwidths per layer")
    names = [layer.name for layer in design.layers]
    x = np.arange(len(names))
    w = [layer.w_bits or 0 for layer in design.layers]
    a = [layer.a_bits for layer in design.layers]
    fig, ax = plt.subplots(figsize=(max(6.4, 0.4 * len(names)), 3.8))
    ax.bar(x - 0.2, w, 0.4, label="weight bits (0: no weights)")
    ax.bar(x + 0.2, a, 0.4, label="output activation bits")
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.set_xlabel("layer")
    ax.set_yticks(range(0, 9, 2))
    ax.set_ylim(0, 11)
    ax.set_ylabel("bits")
    ax.legend(fontsize=8, loc="upper center", ncols=2, frameon=False)
    sec.image = save(fig, run / "bits.png")
    sec.lines += table(["layer", "kind", "block", "in -> out", "w bits", "in bits", "out bits"],
                       [[layer.name, layer.kind, layer.block, f"{'x'.join(map(str, layer.in_shape))} -> "
                         f"{'x'.join(map(str, layer.out_shape))}", layer.w_bits or "-", layer_in_bits(design, layer),
                         f"{layer.a_bits}{'' if layer.relu else ' (signed)'}"] for layer in design.layers])
    return sec


# ------------------------------------------------------------------------------------ the report

def sections(run: Path, design: DesignPoint) -> list[Section]:
    out = []
    projects = find_projects(run)
    builders = [lambda: accuracy_section(run, design), lambda: pareto_section(run, design), lambda: search_section(run)]
    try:
        target = load_target(design.accelerator.target)
        cost = evaluate(design, target)
    except (CodesignError, *UNREADABLE) as e:
        out.append(Section("Cost model", [f"Cannot evaluate the design on its target: {e}"]))
    else:
        builders += [lambda: chunks_section(design, cost, target), lambda: latency_section(run, design, cost),
                     lambda: layers_section(design, cost), lambda: resources_section(run, design, cost, target),
                     lambda: measured_section(run, design, cost, projects),
                     lambda: files_section(run, design, target, projects)]
    builders += [lambda: verification_section(design, projects), lambda: bits_section(run, design)]
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
    keep = ("Accuracy", "Per-layer latency", "Resources", "Verification", "Measured", "Validation accuracy")
    lines = [f"{design.name}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunk(s), "
             f"{design.accelerator.target}"]
    for sec in secs:
        if sec.title.startswith(keep):
            lines.append(f"{sec.title}:")
            lines += [f"  {line.lstrip('- ')}" for line in sec.lines[:8] if line]
    return "\n".join(lines)


def write_report(run: str | Path) -> Path:
    run = Path(run)
    if not run.is_dir():
        raise CodesignError(f"{run}: no such run folder; pass the folder `codesign search --out` wrote")
    design = load_design(run / "design.json")
    path = run / "report.md"
    check_writable(path)
    secs = sections(run, design)
    write_text(path, render(design, secs))
    print(summary(design, secs))
    print(f"wrote {path}")
    return path


def main(args) -> int:
    write_report(args.run)
    return 0
