"""`codesign search --pareto N`: N searches from the most accurate network to the cheapest, one
command, and the accuracy / FPS front of their designs.

Point 0 is the accuracy-only search (hw_weight 0, no target). Its FPS and the FPS of the cheapest
network (every slot its fewest-MAC block, on the engine's accelerator) bound the sweep; points
1..N-1 search with --target-fps at N-1 geometric steps between the two (the last at the cheapest
figure). The weight warm-up is run once and shared: every point starts from its checkpoint.

Run folder: OUT/p0 .. OUT/p{N-1} (each a full search folder: design.json, search_log.jsonl,
visited.jsonl, checkpoint.pt), OUT/warmup.pt (the shared warm-up checkpoint) and OUT/front.json
(one entry per point: point, target_fps, fps, latency_ms, val_acc, blocks, w_bits, a_bits,
design, on_front).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import torch

from codesign.cost import evaluate
from codesign.errors import CodesignError
from codesign.files import write_text
from codesign.search.engine import probe_design
from codesign.search.loop import CHECKPOINT, DESIGN, LOG, VISITED, JointSearch, Options
from codesign.space.network import SKIP, expand_layers, parse_block

FRONT, WARMUP = "front.json", "warmup.pt"


def cheapest_blocks(search: JointSearch) -> list[str]:
    """Skip where allowed, else the smallest expansion and kernel: the fewest MACs of the slot."""
    return [min(slot.candidates, key=lambda name: (0, 0) if name == SKIP else parse_block(name)[::-1])
            for slot in search.net.slots]


def cheapest_fps(search: JointSearch) -> float:
    n = len(search.net.slots)
    fixed = search.config.bits.fixed
    layers = expand_layers(search.config, search.dataset.input_shape, search.dataset.num_classes,
                           cheapest_blocks(search), [fixed] * n, [fixed] * n)
    return evaluate(search.polish(probe_design(layers, search.dataset, search.opts.target)), search.opts.target).fps


def targets(fps_accurate: float, fps_cheapest: float, n: int) -> list[float]:
    if fps_cheapest <= fps_accurate * 1.2:
        raise CodesignError(f"--pareto: the accuracy-only search already runs {fps_accurate:.0f} FPS, the cheapest "
                            f"network {fps_cheapest:.0f}: nothing to trade; raise [search] epochs or lower hw_weight")
    return list(np.geomspace(fps_accurate, fps_cheapest, n)[1:])


def front_flags(points: list[dict]) -> list[bool]:
    """True for each point no other point beats on both val_acc and fps."""
    def dominated(p):
        return any(q["val_acc"] >= p["val_acc"] and q["fps"] >= p["fps"] and
                   (q["val_acc"] > p["val_acc"] or q["fps"] > p["fps"]) for q in points)
    return [not dominated(p) for p in points]


def start_from_warmup(out: Path, point: Path) -> None:
    point.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / WARMUP, point / CHECKPOINT)
    for name in (LOG, VISITED):
        shutil.copy(out / "p0" / f"{name}.warmup", point / name)


def run_pareto(config, opts: Options, n: int) -> list[dict]:
    out = opts.out
    if (out / FRONT).is_file():
        raise CodesignError(f"{out} already holds a Pareto sweep ({out / FRONT}); pass another --out")
    if n < 2:
        raise CodesignError(f"--pareto {n}: a front needs at least 2 points")
    accurate_config = config.model_copy(deep=True)
    accurate_config.search.hw_weight = 0.0
    p0 = dataclasses.replace(opts, out=out / "p0", target_fps=None, name="p0")
    p0.out.mkdir(parents=True, exist_ok=True)
    first = JointSearch(accurate_config, p0)
    first.run(stop_after=config.search.warmup_epochs)
    shutil.copy(p0.out / CHECKPOINT, out / WARMUP)
    for name in (LOG, VISITED):
        shutil.copy(p0.out / name, p0.out / f"{name}.warmup")
    designs = [(None, first.run())]
    goals = targets(designs[0][1].predicted.fps, cheapest_fps(first), n)
    for i, goal in enumerate(goals, 1):
        point = out / f"p{i}"
        start_from_warmup(out, point)
        search = JointSearch(config, dataclasses.replace(opts, out=point, target_fps=goal, name=f"p{i}"),
                             splits=first.splits)
        search.load_checkpoint(torch.load(point / CHECKPOINT, map_location="cpu", weights_only=False))
        designs.append((goal, search.run()))
    for name in (LOG, VISITED):
        (p0.out / f"{name}.warmup").unlink()
    points = []
    for i, (goal, design) in enumerate(designs):
        final = json.loads((out / f"p{i}" / VISITED).read_text().splitlines()[-1])
        points.append(dict(point=i, target_fps=goal, fps=design.predicted.fps, latency_ms=design.predicted.latency_ms,
                           val_acc=final["val_acc"], blocks=final["blocks"], w_bits=final["w_bits"],
                           a_bits=final["a_bits"], design=str(Path(f"p{i}") / DESIGN)))
    for p, flag in zip(points, front_flags(points)):
        p["on_front"] = flag
    write_text(out / FRONT, json.dumps(points, indent=2) + "\n")
    return points
