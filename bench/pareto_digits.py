"""Pareto table on digits (zc706): the joint front of `codesign search --pareto N` beside random
architectures (random block and bits per slot) on the accelerator the engine finds for each,
every design trained with `codesign train` (test accuracy of the integer golden model).

Prints one row per design (FPS, integer and float test accuracy) and, per seed, how many random
points the searched designs dominate (at least as accurate and as fast), and the accuracy-only
search (point 0) against the random networks' accuracies.
Usage: python bench/pareto_digits.py [--points 5] [--random 6] [--seeds 0] [--out runs/pareto-bench]
Finished searches and trainings in --out are reused.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from codesign.cost import check_fits
from codesign.design import Dataset, load_design, save_design
from codesign.search.engine import AcceleratorEngine, probe_design
from codesign.space.config import load_config
from codesign.space.network import expand_layers, slots
from codesign.targets import load_target

DIGITS = Dataset(name="digits", input_shape=(16, 16, 1), num_classes=10)


def codesign(*args) -> None:
    subprocess.run([sys.executable, "-m", "codesign.cli", *args], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def random_choice(config, rng):
    sl = slots(config, DIGITS.input_shape)
    return ([str(rng.choice(s.candidates)) for s in sl], [int(rng.choice(config.bits.weights)) for _ in sl],
            [int(rng.choice(config.bits.activations)) for _ in sl])


def random_design(config, target, choice, seed: int, name: str):
    """The random network on the accelerator the engine finds for it (as long a search as the final one)."""
    sl = slots(config, DIGITS.input_shape)
    blocks, w_bits, a_bits = choice
    network = probe_design(expand_layers(config, DIGITS.input_shape, 10, blocks, w_bits, a_bits), DIGITS, target)
    s = config.search
    engine = AcceleratorEngine(config.accelerator, target, len(sl) + 2, s.objective, s.accel_samples, s.accel_lr)
    engine.set_network(network)
    design = engine.to_design(engine.search(s.final_accel_steps, 1.0, 0.2))
    design = design.model_copy(update={"name": name, "split_seed": seed})
    return design.model_copy(update={"predicted": check_fits(design, target).predicted()})


def trained(path: Path):
    design = load_design(path)
    if design.accuracy is None:
        codesign("train", str(path))
        design = load_design(path)
    return design


def dominates(a: dict, b: dict) -> bool:
    return a["acc"] >= b["acc"] and a["fps"] >= b["fps"] and (a["acc"] > b["acc"] or a["fps"] > b["fps"])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--points", type=int, default=5)
    p.add_argument("--random", type=int, default=6)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--out", default="runs/pareto-bench")
    p.add_argument("--only", choices=["random", "search"], default=None, help="one half (to run them apart)")
    args = p.parse_args()
    torch.set_num_threads(1)
    config, target = load_config(dataset="digits"), load_target("zc706")
    rows = []
    for seed in args.seeds:
        run = Path(args.out) / f"seed{seed}"
        if args.only != "search":
            rng = np.random.default_rng(1000 + seed)
            for r in range(args.random):
                path = run / f"random{r}" / "design.json"
                choice = random_choice(config, rng)
                blocks = choice[0]
                if not path.is_file():
                    torch.manual_seed(r)
                    save_design(random_design(config, target, choice, seed, f"random{r}"), path)
                d = trained(path)
                rows.append(dict(seed=seed, kind=f"random {r}", fps=d.predicted.fps, acc=d.accuracy["integer"],
                                 float=d.accuracy["float"], blocks=blocks, target=None))
        if args.only != "random":
            if not (run / "front.json").is_file():
                codesign("search", "--pareto", str(args.points), "--seed", str(seed), "--out", str(run))
            for point in json.loads((run / "front.json").read_text()):
                d = trained(run / point["design"])
                rows.append(dict(seed=seed, kind=f"search p{point['point']}", fps=d.predicted.fps,
                                 acc=d.accuracy["integer"], float=d.accuracy["float"], blocks=point["blocks"],
                                 target=point["target_fps"]))
    print(f"digits on zc706, `codesign train` (24 epochs), test accuracy of the integer model; seeds {args.seeds}")
    print(f"{'seed':>4} {'design':<10} {'target FPS':>10} {'FPS':>8} {'int acc':>7} {'float':>6}  blocks")
    for r in rows:
        goal = f"{r['target']:.0f}" if r["target"] else "-"
        print(f"{r['seed']:>4} {r['kind']:<10} {goal:>10} {r['fps']:>8.0f} {r['acc']:>7.4f} {r['float']:>6.3f}  "
              + " ".join(b.replace("mb_", "") for b in r["blocks"]))
    for seed in [] if args.only else args.seeds:
        mine = [r for r in rows if r["seed"] == seed and r["kind"].startswith("search")]
        rand = [r for r in rows if r["seed"] == seed and r["kind"].startswith("random")]
        beaten = sum(any(dominates(m, q) for m in mine) for q in rand)
        beats = sum(any(dominates(q, m) for q in rand) for m in mine)
        acc0 = mine[0]["acc"]
        print(f"seed {seed}: searched designs dominate {beaten} of {len(rand)} random points; {beats} of {len(mine)} "
              f"searched designs are dominated by a random one; accuracy-only search {acc0:.4f} "
              f"vs random mean {np.mean([q['acc'] for q in rand]):.4f} (best {max(q['acc'] for q in rand):.4f})")


if __name__ == "__main__":
    main()
