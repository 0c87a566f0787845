"""`codesign impl` on whole tops, buffers included: resources from synthesis beside the model and
the board, Fmax (ECP5, nextpnr-ecp5) or logic levels (Xilinx, Yosys ltp), tool run time.

    python bench/impl.py [--targets zc706,ulx3s] [--timeout 1800] [--searched RUN/design.json ...]
                         [--only NAME,NAME...]

Designs: the searched designs given (default: runs/default/design.json and runs/ulx3s/design.json
when they exist; `make search` and `make search TARGET=ulx3s RUN=runs/ulx3s` write them), the two
examples and two random designs of sim/designs.py. Each design is retargeted to each board
(`codesign hw --target`); one whose model does not fit the board is listed as refused by
`codesign hw`. A tool past --timeout is reported as 'did not finish in N s'. The per-run details
come as they finish; a Markdown table of all runs ends the output."""

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
from designs import random_design  # noqa: E402

from codesign.backend.hw import generate  # noqa: E402
from codesign.errors import CodesignError  # noqa: E402
from codesign.impl import run, verdict  # noqa: E402


def designs(searched: list[str]) -> list[tuple[str, Path]]:
    tmp = Path(tempfile.mkdtemp(prefix="bench_impl_"))
    paths = searched or [p for p in ("runs/default/design.json", "runs/ulx3s/design.json") if (ROOT / p).is_file()]
    out = [(f"searched:{Path(p).parent.name}", ROOT / p) for p in paths]
    out += [(n, ROOT / "examples" / f"{n}.json") for n in ("single_chunk_os_int8", "two_chunk_mixed")]
    for seed, chunks in ((32, 2), (21, 3)):
        d = random_design(seed, n_chunks=chunks)
        (tmp / f"{d.name}.json").write_text(d.model_dump_json())
        out.append((d.name, tmp / f"{d.name}.json"))
    return out


def fmt(v):
    return f"{v:g}" if isinstance(v, (int, float)) else str(v)


def cell(result: dict, code: int) -> str:
    """One table cell: each resource as synthesis / model / board, then timing and tool time."""
    res = result["resources"]
    if not isinstance(res, dict):
        return f"FAIL: synthesis {res}"
    model, cap = result["model"], result["capacity"]
    figures = ", ".join(f"{k} {fmt(v)} / {fmt(round(model[k]) if k in model else '-')} / {fmt(cap.get(k, '-'))}"
                        for k, v in res.items())
    if result["family"] == "ecp5":
        timing = f"Fmax {fmt(result.get('fmax_mhz'))} MHz at {fmt(result['clock_mhz'])}"
    else:
        timing = f"{fmt(result.get('logic_levels'))} logic levels"
    verdict_word = "ok" if code == 0 else "FAIL"
    return f"{verdict_word}: {figures}; {timing}; {sum(result['seconds'].values()):.0f} s"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--targets", default="zc706,ulx3s")
    ap.add_argument("--timeout", type=float, default=1800.0)
    ap.add_argument("--searched", nargs="*", default=[])
    ap.add_argument("--only", default="", help="design names, comma-separated, in the order to run them")
    args = ap.parse_args()
    targets = args.targets.split(",")
    table = {}
    runs = dict(designs(args.searched))
    names = args.only.split(",") if args.only else list(runs)
    for name in names:
        if name not in runs:
            sys.exit(f"--only: no design {name!r}; the designs are {', '.join(runs)}")
    for name, path in ((n, runs[n]) for n in names):
        for target in targets:
            hw = Path(tempfile.mkdtemp(prefix=f"impl_{target}_"))
            try:
                generate(path, hw, target)
            except CodesignError as e:
                print(f"== {name} on {target}: refused by codesign hw: {e}", flush=True)
                table[name, target] = f"refused by codesign hw: {e}"
                continue
            start = time.monotonic()
            result = run(hw, timeout=args.timeout)
            code, line = verdict(result)
            print(f"== {name} on {target} ({time.monotonic() - start:.0f} s): {line}")
            res = result["resources"]
            if isinstance(res, dict):
                for k, v in res.items():
                    cap = result["capacity"].get(k)
                    print(f"   {k:<7} synth {fmt(v):>9}  model {fmt(result['model'].get(k, '-')):>9}"
                          + (f"  board {fmt(cap)}" if cap else ""))
            timing = (f"Fmax {fmt(result.get('fmax_mhz'))} MHz at {fmt(result['clock_mhz'])} MHz"
                      if result["family"] == "ecp5" else f"logic levels {fmt(result.get('logic_levels'))}")
            secs = ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items())
            print(f"   {timing}; tool time: {secs or '-'}; tools {result['tool_versions']}", flush=True)
            table[name, target] = cell(result, code)
    print("\n(resource: synthesis / model / board)\n\n| design | " + " | ".join(targets) + " |")
    print("| --- | " + " | ".join("---" for _ in targets) + " |")
    for name in dict.fromkeys(n for n, _ in table):
        print(f"| {name} | " + " | ".join(table.get((name, t), "-") for t in targets) + " |")


if __name__ == "__main__":
    main()
