"""Layer evaluations per second of the vectorised cost model (numpy and torch), beside SCALE-Sim's
time for the same layers, measured in one run.

    python bench/cost_model.py [--candidates 4096] [--scalesim-layers 6]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from real_gemms import REAL_GEMMS  # noqa: E402

from codesign.cost.model import LayerArrays, array_cycles, layer_cycles  # noqa: E402
from codesign.cost.scalesim_ref import scalesim_gemm_cycles  # noqa: E402


def real_layers() -> LayerArrays:
    m, n, k = (np.array(v, dtype=np.int64) for v in zip(*REAL_GEMMS.values()))
    return LayerArrays(m=m, n=n, k=k, g=np.ones_like(m), vec_elems=np.zeros_like(m), in_bytes=m * k, out_bytes=m * n,
                       w_bytes=n * k + 8 * n, macs=m * n * k, w_bits=np.full_like(m, 8), a_bits=np.full_like(m, 8))


def random_candidates(count: int, rng) -> dict:
    shape = (count, 1)
    return dict(rows=rng.integers(2, 65, shape), cols=rng.integers(2, 65, shape), ws=rng.random(shape) < 0.5,
                act_buf_bytes=rng.integers(8, 512, shape) * 1024, wgt_buf_bytes=rng.integers(8, 512, shape) * 1024,
                weights_outer=rng.random(shape) < 0.5, first_in_chunk=rng.random(shape) < 0.2,
                last_in_chunk=rng.random(shape) < 0.2)


def rate(fn, evaluations: int, repeat: int = 5) -> float:
    fn()
    t0 = time.perf_counter()
    for _ in range(repeat):
        fn()
    return evaluations * repeat / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--candidates", type=int, default=4096)
    ap.add_argument("--scalesim-layers", type=int, default=6)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    layers = real_layers()
    cands = random_candidates(args.candidates, rng)
    evals = args.candidates * len(layers.m)
    np_rate = rate(lambda: layer_cycles(layers, **cands, bytes_per_cycle=8), evals)
    t_layers = layers.to("torch")
    t_cands = {k: torch.as_tensor(v) for k, v in cands.items()}
    with torch.no_grad():
        torch_rate = rate(lambda: layer_cycles(t_layers, **t_cands, bytes_per_cycle=8), evals)

    gemms = sorted(REAL_GEMMS.values(), key=lambda g: g[0] * g[1] * g[2])[: args.scalesim_layers]
    t0 = time.perf_counter()
    measured = scalesim_gemm_cycles(16, 16, "os", gemms)
    scalesim_rate = len(gemms) / (time.perf_counter() - t0)

    print(f"cost model, {args.candidates} accelerator candidates x {len(layers.m)} real layers per call")
    print(f"  numpy  : {np_rate:,.0f} layer-evaluations/s")
    print(f"  torch  : {torch_rate:,.0f} layer-evaluations/s (CPU, {torch.get_num_threads()} threads)")
    print(f"  SCALE-Sim (16x16 OS, the {len(gemms)} smallest layers, one subprocess): {scalesim_rate:.2f} layer-evaluations/s")
    print(f"  ratio numpy / SCALE-Sim: {np_rate / scalesim_rate:,.0f}x   (aim: >= 1e5 evaluations/s: "
          f"{'met' if np_rate >= 1e5 else 'NOT met'})")
    print("compute cycles on a 16x16 OS array, SCALE-Sim (sequential folds) against our array (back-to-back "
          "folds, with its per-fold and per-layer overheads); the ratio is the gain of fold overlap:")
    for (m, n, k), ref in zip(gemms, measured):
        ours = int(array_cycles(16, 16, False, m, n, k, 1))
        print(f"  M {m:>5} N {n:>4} K {k:>5}: SCALE-Sim {int(ref):>8,}  ours {ours:>8,}  ratio {int(ref) / ours:.2f}")


if __name__ == "__main__":
    main()
