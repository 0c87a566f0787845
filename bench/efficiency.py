"""Array efficiency: MACs per frame x FPS / (PEs x clock), the share of the arrays' peak MAC rate
a design sustains, for the default digits design and a CIFAR-10-preset design on zc706 (issue 11).

Each design is the preset's network (a seeded block and bit choice, or a design.json given with
--design) on the accelerator the engine finds for it, as long a search as the search's final
one. Printed per design: the model's figure, per chunk its MACs / (PEs x period) and how much of
its time is DRAM transfer with nothing computing; with --sim also the figure from one simulated
frame of the generated RTL (`codesign hw` + `codesign sim`), where the design generates.
Usage: python bench/efficiency.py [--design PATH ...] [--seed 0] [--sim]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from codesign.cost import check_fits, evaluate
from codesign.design import Dataset, load_design, save_design
from codesign.search.engine import AcceleratorEngine, probe_design
from codesign.space.config import load_config
from codesign.space.network import expand_layers, slots
from codesign.targets import load_target

PRESETS = {"digits": Dataset(name="digits", input_shape=(16, 16, 1), num_classes=10),
           "cifar10": Dataset(name="cifar10", input_shape=(32, 32, 3), num_classes=10)}


def preset_design(dataset: str, target, seed: int):
    """A seeded network of the preset (no skip, so that every slot computes) on the engine's accelerator."""
    config, ds = load_config(dataset=dataset), PRESETS[dataset]
    rng = np.random.default_rng(seed)
    torch.manual_seed(seed)   # the engine samples with torch: the same design every run
    sl = slots(config, ds.input_shape)
    blocks = [str(rng.choice([c for c in s.candidates if c != "skip"])) for s in sl]
    w_bits = [int(rng.choice(config.bits.weights)) for _ in sl]
    a_bits = [int(rng.choice(config.bits.activations)) for _ in sl]
    network = probe_design(expand_layers(config, ds.input_shape, ds.num_classes, blocks, w_bits, a_bits), ds, target)
    s = config.search
    engine = AcceleratorEngine(config.accelerator, target, len(sl) + 2, s.objective, s.accel_samples, s.accel_lr)
    engine.set_network(network)
    design = engine.to_design(engine.search(s.final_accel_steps, 1.0, 0.2))
    design = design.model_copy(update={"name": f"{dataset}-seed{seed}"})
    return design.model_copy(update={"predicted": check_fits(design, target).predicted()})


def efficiency(design, period_cycles: float) -> float:
    pes = sum(c.rows * c.cols for c in design.accelerator.chunks)
    macs = sum(layer.macs for layer in design.layers)
    return macs / (pes * period_cycles)   # MACs x FPS / (PEs x clock), with FPS = clock / period


def chunk_rows(design, cost, period: int) -> list[str]:
    rows = []
    for i, chunk in enumerate(design.accelerator.chunks):
        idx = [j for j in range(len(design.layers)) if design.chunk_of(j) == i]
        macs = sum(design.layers[j].macs for j in idx)
        dram = float(np.sum(cost.layer_dram[idx]))
        rows.append(f"  chunk {i}: {chunk.rows}x{chunk.cols} {chunk.dataflow}, {len(idx)} layers, "
                    f"{cost.chunk_cycles[i]} cycles, MAC utilisation {macs / (chunk.rows * chunk.cols * period):.1%} "
                    f"of the period, DRAM-only {dram / cost.chunk_cycles[i]:.0%} of its cycles")
    return rows


def simulated_period(design) -> tuple[float | None, str]:
    """The period of one simulated frame of the generated RTL, or None and why not."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "design.json"
        save_design(design, path)
        for verb in (["hw", "--design", str(path), "--out", f"{tmp}/hw"], ["sim", f"{tmp}/hw", "--images", "1"]):
            run = subprocess.run([sys.executable, "-m", "codesign.cli", *verb], capture_output=True, text=True)
            if run.returncode != 0:
                return None, (run.stderr.strip().splitlines() or ["?"])[-1]
        result = json.loads((Path(tmp) / "hw" / "sim.json").read_text())
        return float(result["period_cycles"]), "bit-exact" if result["bit_exact"] else "NOT bit-exact"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--design", nargs="*", default=[], help="design.json files to add")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sim", action="store_true", help="also simulate one frame of each design's RTL")
    args = p.parse_args()
    torch.set_num_threads(1)
    target = load_target("zc706")
    designs = [preset_design(d, target, args.seed) for d in PRESETS] + [load_design(d) for d in args.design]
    for design in designs:
        cost = evaluate(design)
        period = int(cost.chunk_cycles.max())
        pes = sum(c.rows * c.cols for c in design.accelerator.chunks)
        print(f"{design.name}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunks, {pes} PEs, "
              f"{design.accelerator.clock_mhz:g} MHz, {cost.fps:.0f} FPS; model efficiency "
              f"{efficiency(design, period):.1%}, DRAM-only {cost.layer_dram.sum() / cost.layer_cycles.sum():.0%} "
              f"of all layer cycles")
        print("\n".join(chunk_rows(design, cost, period)))
        if args.sim:
            period, note = simulated_period(design)
            print(f"  RTL: {note}" if period is None else
                  f"  RTL: period {period:.0f} cycles, efficiency {efficiency(design, period):.1%} ({note})")


if __name__ == "__main__":
    main()
