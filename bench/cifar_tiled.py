"""A CIFAR-10-preset design searched for zc706 (untrained; sim/designs.py:cifar10_searched_design),
generated with `codesign hw` and simulated for one frame by `codesign sim` (the fast testbench,
the target's DRAM latencies): prints its tiled layers, cycles per frame measured and predicted,
FPS, bit-exactness and the wall time of each step.
Usage: python bench/cifar_tiled.py [--out DIR] [--design DESIGN.json]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import cifar10_searched_design, tile_counts  # noqa: E402

from codesign.backend.hw import generate  # noqa: E402
from codesign.backend.sim import simulate  # noqa: E402
from codesign.design import load_design  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default=None, help="work folder (default: a temporary one)")
    p.add_argument("--design", default=None, help="a design file instead of searching one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        t = time.perf_counter()
        if args.design:
            design_path = Path(args.design)
        else:
            cifar10_searched_design(out / "search")
            design_path = out / "search" / "design.json"
        t_search = time.perf_counter() - t
        design = load_design(design_path)
        t = time.perf_counter()
        generate(design_path, out / "hw", force=True)
        t_hw = time.perf_counter() - t
        t = time.perf_counter()
        result = simulate(out / "hw", images=1)
        t_sim = time.perf_counter() - t
    tiles = tile_counts(design)
    print(f"design {design.name}: {len(design.layers)} layers, {len(design.accelerator.chunks)} chunks "
          + ", ".join(f"{c.rows}x{c.cols} {c.dataflow} act {c.act_buf_kib} KiB wgt {c.wgt_buf_kib} KiB {c.loop_order}"
                      for c in design.accelerator.chunks))
    for i, (s, b) in enumerate(tiles):
        if s > 1 or b > 1:
            print(f"  tiled: layer {i} {design.layers[i].name} ({design.layers[i].kind}): {s} weight slices x {b} input bands")
    print(f"frame cycles {result['frame_cycles']} (model {result['predicted_frame_cycles']}), period "
          f"{result['period_cycles']} (model {result['predicted_period_cycles']}), {result['measured_fps']:.1f} FPS "
          f"(model {result['predicted_fps']:.1f}); bit_exact {result['bit_exact']}, cycles_exact {result['cycles_exact']}")
    print(f"wall: search {t_search:.1f} s, hw {t_hw:.1f} s, sim (Verilator build + 1 frame) {t_sim:.1f} s")


if __name__ == "__main__":
    main()
