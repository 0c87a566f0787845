"""`codesign cost gemm|design`: the cost model from the command line. The --json shapes are
documented in docs/cost.md and kept stable."""

from __future__ import annotations

import json

import numpy as np

from codesign.cost import check_fits, evaluate
from codesign.cost.model import LayerArrays, dram_bytes_per_cycle, layer_cycles, memory_timing, scalesim_compute_cycles
from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.targets import load_target


def gemm_report(rows: int, cols: int, dataflow: str, m: int, n: int, k: int, target_name: str = "zc706") -> dict:
    if min(rows, cols, m, n, k) < 1:
        raise CodesignError("rows, cols, m, n and k must all be positive integers")
    target = load_target(target_name)
    ws = dataflow == "ws"
    compute = int(scalesim_compute_cycles(rows, cols, ws, m, n, k))
    layer = LayerArrays(m=np.int64(m), n=np.int64(n), k=np.int64(k), g=np.int64(1), vec_elems=np.int64(0),
                        in_bytes=np.int64(m * k), out_bytes=np.int64(m * n), w_bytes=np.int64(n * k),
                        macs=np.int64(m * n * k), w_bits=np.int64(8), a_bits=np.int64(8))
    # A lone GEMM: operands come from and results go to DRAM, buffers large enough to hold them.
    big = np.int64(1 << 40)
    total, array, dram = layer_cycles(layer, rows, cols, ws, big, big, True, True, True, dram_bytes_per_cycle(target),
                                      memory_timing(target))
    folds = -(-(k if ws else m) // rows) * -(-n // cols)
    return {"rows": rows, "cols": cols, "dataflow": dataflow, "m": m, "n": n, "k": k, "folds": folds,
            "compute_cycles": compute, "array_cycles": int(array), "dram_cycles": int(dram),
            "total_cycles": int(total), "utilization": m * n * k / (rows * cols * (compute + 1)),
            "target": target.name}


def design_report(path: str) -> dict:
    design = load_design(path)
    target = load_target(design.accelerator.target)
    cost = evaluate(design, target)
    fits = True
    try:
        check_fits(design, target)
    except CodesignError:
        fits = False
    layers = [{"index": i, "name": layer.name, "kind": layer.kind, "chunk": design.chunk_of(i),
               "macs": layer.macs, "cycles": int(cost.layer_cycles[i]), "compute_cycles": int(cost.layer_compute[i]),
               "dram_cycles": int(cost.layer_dram[i])} for i, layer in enumerate(design.layers)]
    return {"design": design.name, "digest": design.digest(), "target": target.name,
            "clock_mhz": design.accelerator.clock_mhz, "layers": layers,
            "chunks": [{"index": c, "cycles": int(v)} for c, v in enumerate(cost.chunk_cycles)],
            "fps": cost.fps, "latency_ms": cost.latency_ms, "resources": cost.resources,
            "capacity": cost.capacity, "fits": fits}


def _print_design(r: dict) -> None:
    print(f"{r['design']} on {r['target']} @ {r['clock_mhz']:g} MHz  (digest {r['digest']})")
    print(f"{'#':>3} {'layer':<16} {'kind':<8} {'chunk':>5} {'MACs':>10} {'cycles':>9} {'compute':>9} {'dram':>8}")
    for L in r["layers"]:
        print(f"{L['index']:>3} {L['name']:<16} {L['kind']:<8} {L['chunk']:>5} {L['macs']:>10} {L['cycles']:>9} "
              f"{L['compute_cycles']:>9} {L['dram_cycles']:>8}")
    print("chunks: " + ", ".join(f"#{c['index']} {c['cycles']} cycles" for c in r["chunks"]))
    print(f"FPS {r['fps']:.1f}   latency {r['latency_ms']:.4f} ms")
    for key, used in r["resources"].items():
        cap = r["capacity"].get(key)
        print(f"  {key:<9} {used:>10g}" + (f" / {cap:g} ({100 * used / cap:.1f} %)" if cap else ""))
    print("fits the target" if r["fits"] else "DOES NOT FIT the target")


def main(args) -> int:
    if args.what == "gemm":
        r = gemm_report(args.rows, args.cols, args.dataflow, args.m, args.n, args.k, args.target)
        if args.json:
            print(json.dumps(r, indent=2))
        else:
            print(f"{r['rows']}x{r['cols']} {r['dataflow'].upper()}  M={r['m']} N={r['n']} K={r['k']}: "
                  f"{r['folds']} folds, compute {r['compute_cycles']} cycles (SCALE-Sim), array {r['array_cycles']}, "
                  f"dram {r['dram_cycles']}, total {r['total_cycles']}, utilization {100 * r['utilization']:.1f} %")
        return 0
    r = design_report(args.design)
    if args.json:
        print(json.dumps(r, indent=2))
    else:
        _print_design(r)
    return 0
