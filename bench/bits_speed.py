"""What weight bits buy: the same network with every weight at 4, 6 and 8 bits (activations at 8),
for the digits and CIFAR-10 presets on zc706 (issue 15).

Weights of at most 4 bits lie two to a byte in DRAM and in the weight buffer
(codesign.cost.model.weights_per_byte): parameter loads move half the bytes and a weight buffer
holds twice the weights (fewer slices); conv and fc layers of more than C channels on OS chunks
also do two MACs per PE a cycle (codesign.cost.model.pe_macs: folds of 2C channels). Printed per preset and width: the parameter bytes, the
model's FPS on one fixed accelerator (the engine's for the 8-bit network), and on the accelerator
the engine finds for that width (a chunk of <= 4-bit multipliers needs no DSPs, so it can be
larger; here the activations stay at 8 bits, so every chunk keeps 8-bit multipliers). With --sim
the fixed-accelerator designs that generate are simulated (`codesign hw` + `codesign sim`, one
frame) and the measured FPS is printed beside the model's.
Usage: python bench/bits_speed.py [--seed 0] [--sim] [--presets digits cifar10]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from codesign.cost import check_fits, evaluate, layer_arrays
from codesign.design import GEMM_KINDS, save_design
from codesign.search.engine import AcceleratorEngine
from codesign.space.config import load_config
from codesign.space.network import slots
from codesign.targets import load_target

sys.path.insert(0, str(Path(__file__).parent))
from efficiency import PRESETS, preset_design  # noqa: E402

WIDTHS = (4, 6, 8)


def at_width(design, bits: int):
    """The design with every weight at `bits` bits, on the same accelerator."""
    layers = [layer.model_copy(update={"w_bits": bits}) if layer.kind in GEMM_KINDS else layer for layer in design.layers]
    return design.model_copy(update={"layers": layers, "name": f"{design.name}-w{bits}"})


def engine_design(dataset: str, network, target):
    config = load_config(dataset=dataset)
    s = config.search
    torch.manual_seed(0)
    units = len(slots(config, PRESETS[dataset].input_shape)) + 2   # stem, slots, head
    engine = AcceleratorEngine(config.accelerator, target, units, s.objective, s.accel_samples, s.accel_lr)
    engine.set_network(network)
    return engine.to_design(engine.search(s.final_accel_steps, 1.0, 0.2))


def simulated_fps(design, target) -> float | None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "design.json"
        save_design(design.model_copy(update={"predicted": check_fits(design, target).predicted()}), path)
        hw = subprocess.run([sys.executable, "-m", "codesign.cli", "hw", "--design", str(path), "--out", f"{tmp}/hw"],
                            capture_output=True, text=True)
        if hw.returncode:
            return None
        sim = subprocess.run([sys.executable, "-m", "codesign.cli", "sim", f"{tmp}/hw", "--json"],
                             capture_output=True, text=True, check=True)
        result = json.loads(sim.stdout)
        assert result["bit_exact"] and result["cycles_exact"], result
        return result["measured_fps"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sim", action="store_true")
    ap.add_argument("--presets", nargs="+", default=list(PRESETS))
    args = ap.parse_args()
    torch.set_num_threads(1)
    target = load_target("zc706")
    for dataset in args.presets:
        base = preset_design(dataset, target, args.seed)
        fixed8 = at_width(base, 8)
        fixed8 = engine_design(dataset, fixed8, target)
        print(f"{dataset} (seed {args.seed}), {len(base.layers)} layers; fixed accelerator: the engine's for 8-bit weights")
        print(f"{'w_bits':>6} {'param bytes':>12} {'fixed FPS':>10} {'x 8-bit':>8} {'searched FPS':>13} {'x 8-bit':>8}"
              + (f" {'RTL FPS':>9}" if args.sim else ""))
        ref = {}
        for bits in reversed(WIDTHS):
            fixed = at_width(fixed8, bits)
            searched = engine_design(dataset, fixed, target)
            fps_fixed, fps_searched = evaluate(fixed, target).fps, evaluate(searched, target).fps
            ref.setdefault("fixed", fps_fixed)
            ref.setdefault("searched", fps_searched)
            line = (f"{bits:>6} {int(layer_arrays(fixed).w_bytes.sum()):>12,} {fps_fixed:>10,.0f} "
                    f"{fps_fixed / ref['fixed']:>8.3f} {fps_searched:>13,.0f} {fps_searched / ref['searched']:>8.3f}")
            if args.sim:
                fps = simulated_fps(fixed, target)
                line += f" {fps:>9,.0f}" if fps is not None else f" {'(no hw)':>9}"
            print(line, flush=True)


if __name__ == "__main__":
    main()
