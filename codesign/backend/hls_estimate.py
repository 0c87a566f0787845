"""Cycles of each layer on the HLS chunk engine, derived from the structure of its C++ code, beside
the cost model's; and, where Vitis HLS has run, the same with the II and depth it reported.

The engine (templates/hls/kernels) runs a layer as a sequence of pipelined loops (labelled
LOAD, PARAMS, OS_K, OS_DRAIN, WS_LOAD, WS_STREAM, VEC, STORE) inside plain loops over folds. A
pipelined loop entered once and run for T iterations takes T * II + (depth - 1) + 1 cycles: its
iterations start II apart and the last one takes `depth` cycles. So a layer takes

    sum over its pipelined loops of  entries * (depth + ENTRY) + trips * II

where `trips` and `entries` are counted from the layer table (`trip_counts`, checked against
the C simulation's own counts by tests/test_hls_structure.py), II is what the loop's pragma
asks for and its memory ports allow (1 for every loop: each operand read has its own
replica or bank, see cs_memory.h), and the depths are assumptions made by reading the loop
bodies for a 7-series part at 200 MHz (LOOP_DEPTH below). Vitis HLS reports the II and depth it
achieved per loop label in its csynth reports; `loop_figures` reads them, and
`python -m codesign.backend.hls_estimate DESIGN.json --csynth DIR/hls/<project>/solution1`
prints the table with them (`--vitis DIR` first runs `vitis_hls -f build_vitis.tcl` in DIR/hls,
when vitis_hls is on PATH). That path has never run here: there is no Vitis HLS on this machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from codesign.backend.hls import layer_table
from codesign.backend.ir import HardwareIR, lower
from codesign.backend import verilog
from codesign.backend.verilog import ceil_div
from codesign.cost.model import DMA_OVERHEAD, READ_HANDSHAKE, WRITE_HANDSHAKE, MemoryTiming, memory_timing
from codesign.design import load_design
from codesign.errors import CodesignError
from codesign.targets import load_target

LOOPS = ("LOAD", "PARAMS", "OS_K", "OS_DRAIN", "WS_LOAD", "WS_STREAM", "VEC", "STORE")
LOOP_II = dict.fromkeys(LOOPS, 1)
# Assumed pipeline depths. LOAD/PARAMS: the AXI read latency (the cost model's DMA start plus one
# burst's handshake and the target's DRAM read latency) + the replica write; STORE: the write
# latency up to the last response; OS_K: BRAM read (2), byte select (1), multiply (2), accumulate
# (1); OS_DRAIN: bias add (1), the requantiser's 32x15 multiply (3), round / shift / clamp (1), bank
# write (1); WS_LOAD: BRAM read (2) + register (1); WS_STREAM: OS_K's operand path and multiply
# (5), the column adder tree (2), the partial-sum read-add-write (2), the requantiser and the bank
# write (5); VEC: BRAM read (2), byte select (1), compare / add (1), the requantiser and write (5).
COMPUTE_DEPTH = {"OS_K": 6, "OS_DRAIN": 6, "WS_LOAD": 3, "WS_STREAM": 14, "VEC": 9}


def loop_depth(memory: MemoryTiming) -> dict[str, int]:
    """The assumed depths, the transfers' from the DRAM's timing as the cost model takes it."""
    read = DMA_OVERHEAD + READ_HANDSHAKE + memory.read_latency + 1
    return {"LOAD": read, "PARAMS": read, "STORE": DMA_OVERHEAD + WRITE_HANDSHAKE + memory.write_latency + 1,
            **COMPUTE_DEPTH}


LOOP_DEPTH = loop_depth(MemoryTiming())   # an ideal memory; `estimate` uses the design's target
ENTRY = 1   # cycles the FSM of the enclosing plain loop spends around each pipelined loop it enters


def trip_counts(row: dict, rows: int, cols: int, ws: bool) -> dict[str, tuple[int, int]]:
    """{loop: (entries, trips)} of one layer: how often each pipelined loop is entered and how many
    iterations it runs in all, from the layer table row (hls.layer_table) and the chunk's array."""
    words = lambda n: ceil_div(n, 8)  # noqa: E731
    load_in, load_out = row["flags"] & verilog.LOAD_IN, row["flags"] & verilog.LOAD_OUT
    n_in = row["num_in"] if load_in else 0
    out = {"LOAD": (n_in + (1 if load_out else 0), n_in * words(row["in_bytes"]) + (words(row["out_bytes"]) if load_out else 0)),
           "PARAMS": (1, row["param_bytes"] // 8) if row["flags"] & verilog.LOAD_PARAMS else (0, 0),
           "STORE": (1, words(row["out_bytes"])) if row["flags"] & verilog.STORE else (0, 0)}
    g, m, n, k = row["g"], row["m"], row["n"], row["k"]
    if g and not ws:
        folds = g * ceil_div(m, rows) * ceil_div(n, cols)   # each but the first also drains its predecessor
        out.update(OS_K=(folds, k + (folds - 1) * max(k, rows)), OS_DRAIN=(1, rows))
    elif g:
        folds = g * ceil_div(n, cols) * ceil_div(k, rows)
        out.update(WS_LOAD=(folds, folds * rows), WS_STREAM=(folds, folds * m))
    else:
        red = row["win_h"] * row["win_w"]
        out["VEC"] = (1, ceil_div(row["out_bytes"], cols) * red)
    return out


def layer_estimate(row: dict, rows: int, cols: int, ws: bool, ii: dict | None = None, depth: dict | None = None) -> dict:
    """Cycles of one layer: per pipelined loop, and in all (`total`; `compute` without transfers)."""
    ii, depth = ii or LOOP_II, depth or LOOP_DEPTH
    loops = {name: entries * (depth[name] + ENTRY) + trips * ii[name]
             for name, (entries, trips) in trip_counts(row, rows, cols, ws).items()}
    compute = sum(v for name, v in loops.items() if name not in ("LOAD", "PARAMS", "STORE"))
    return dict(loops, total=sum(loops.values()), compute=compute)


def estimate(ir: HardwareIR, ii: dict | None = None, depth: dict | None = None) -> list[dict]:
    """Per layer: the cost model's cycles and the HLS engine's estimate (the sum of its rows')."""
    out = {}
    depth = depth or loop_depth(memory_timing(load_target(ir.target)))
    for chunk in ir.chunks:
        for row in layer_table(ir, chunk):
            job = ir.layers[row["index"]]
            est = layer_estimate(row, chunk.rows, chunk.cols, chunk.dataflow == "ws", ii, depth)
            entry = out.setdefault(job.index, {"index": job.index, "name": job.name, "kind": job.kind,
                                               "chunk": chunk.index, "model": job.predicted_cycles,
                                               "model_compute": job.predicted_compute, "hls": 0, "hls_compute": 0})
            entry["hls"] += est["total"]
            entry["hls_compute"] += est["compute"]
    return list(out.values())


def loop_figures(solution: Path) -> tuple[dict, dict]:
    """(II, depth) per loop label from Vitis HLS's csynth XML reports under solution/syn/report;
    a label found several times (one per chunk engine) keeps its worst II and depth."""
    ii, depth = {}, {}
    reports = sorted(Path(solution).glob("syn/report/*.xml"))
    if not reports:
        raise CodesignError(f"{solution}: no csynth reports under syn/report; run csynth_design first")
    for report in reports:
        for node in ET.parse(report).iter():
            label = next((name for name in LOOPS if node.tag == name or node.tag.endswith("_" + name)), None)
            if label is None:
                continue
            fields = {child.tag: (child.text or "").strip() for child in node}
            if fields.get("PipelineII", "").isdigit():
                ii[label] = max(ii.get(label, 0), int(fields["PipelineII"]))
            if fields.get("PipelineDepth", "").isdigit():
                depth[label] = max(depth.get(label, 0), int(fields["PipelineDepth"]))
    return {**LOOP_II, **ii}, {**LOOP_DEPTH, **depth}


def run_vitis(hw_dir: Path) -> Path:
    """Runs DIR/hls/build_vitis.tcl (csim, csynth, cosim, export) and returns its solution folder."""
    hls_dir = Path(hw_dir) / "hls"
    if shutil.which("vitis_hls") is None:
        raise CodesignError("vitis_hls is not on PATH; source Vitis HLS's settings64.sh, or pass --csynth SOLUTION "
                            "to read the reports of a run made elsewhere")
    if not (hls_dir / "build_vitis.tcl").is_file():
        raise CodesignError(f"{hls_dir}: no HLS project; generate it with `codesign hw --out {hw_dir}`")
    subprocess.run(["vitis_hls", "-f", "build_vitis.tcl"], cwd=hls_dir, check=True)
    solutions = sorted(hls_dir.glob("*_hls/solution1"))
    if not solutions:
        raise CodesignError(f"{hls_dir}: vitis_hls left no <project>/solution1 folder")
    return solutions[0]


def table(rows: list[dict]) -> str:
    lines = [f"{'layer':>5} {'name':<14} {'kind':<8} {'chunk':>5} {'model':>8} {'hls':>8} {'hls/model':>9} "
             f"{'model cmp':>9} {'hls cmp':>8}"]
    for r in rows:
        lines.append(f"{r['index']:>5} {r['name'][:14]:<14} {r['kind']:<8} {r['chunk']:>5} {r['model']:>8} "
                     f"{r['hls']:>8} {r['hls'] / r['model']:>9.2f} {r['model_compute']:>9} {r['hls_compute']:>8}")
    chunks = sorted({r["chunk"] for r in rows})
    model = [sum(r["model"] for r in rows if r["chunk"] == c) for c in chunks]
    hls = [sum(r["hls"] for r in rows if r["chunk"] == c) for c in chunks]
    lines.append(f"per chunk: model {model}, hls {hls}")
    lines.append(f"frame latency (sum): model {sum(model)}, hls {sum(hls)}; "
                 f"period (slowest chunk, 1/FPS): model {max(model)}, hls {max(hls)} ({max(hls) / max(model):.2f}x)")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codesign.backend.hls_estimate", description=__doc__.split("\n")[0])
    parser.add_argument("designs", nargs="+", type=Path, help="DesignPoint JSON files")
    parser.add_argument("--csynth", type=Path, help="a Vitis HLS solution folder: use its reported II and depths")
    parser.add_argument("--vitis", type=Path, metavar="DIR", help="run Vitis HLS on DIR/hls (from `codesign hw`) first")
    args = parser.parse_args(argv)
    try:
        if args.vitis:
            args.csynth = run_vitis(args.vitis)
        ii, depth = loop_figures(args.csynth) if args.csynth else (None, None)
        for path in args.designs:
            ir = lower(load_design(path))
            source = f"II and depth from {args.csynth}" if args.csynth else "II=1, assumed depths"
            print(f"{ir.design_name} ({source}):\n{table(estimate(ir, ii, depth))}\n")
    except CodesignError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
