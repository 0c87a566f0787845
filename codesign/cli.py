"""The `codesign` command line. Each verb's work lives in its own module; errors a user can act
on (CodesignError) are printed on one line here, once, with exit code 2."""

from __future__ import annotations

import argparse
import importlib
import sys

from codesign.errors import CodesignError

# verb -> "module:function"; the function takes the parsed arguments and returns an exit code
HANDLERS = {
    "search": "codesign.search.run:main",
    "train": "codesign.train.run:main",
    "cost": "codesign.cost.cli:main",
    "hw": "codesign.backend.hw:main",
    "sim": "codesign.backend.sim:main",
    "csim": "codesign.backend.csim:main",
    "report": "codesign.report:main",
    "impl": "codesign.impl:main",
}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="codesign", description=__doc__)
    sub = p.add_subparsers(dest="verb", required=True)

    s = sub.add_parser("search", help="joint search of network, bitwidths and accelerator -> design.json")
    s.add_argument("--config", help="search config (TOML); default: the preset of --dataset")
    s.add_argument("--dataset", default=None, help="digits (built in), cifar10, cifar100, imagefolder")
    s.add_argument("--data-root", help="folder holding the dataset (CIFAR python format or ImageFolder)")
    s.add_argument("--target", default="zc706")
    s.add_argument("--objective", choices=["fps", "latency", "energy", "edp"], default=None)
    s.add_argument("--target-fps", type=float, default=None, help="hard FPS target met by a Lagrange multiplier")
    s.add_argument("--epochs", type=int, default=None)
    s.add_argument("--out", default=None, help="run folder (default runs/<dataset>-<target>)")
    s.add_argument("--resume", action="store_true", help="continue from the run folder's last checkpoint")
    s.add_argument("--device", default=None, help="cpu or cuda (default: cuda when present)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--steps-per-epoch", type=int, default=None, help="weight steps per epoch (0: a full pass)")
    s.add_argument("--batch", type=int, default=None)

    t = sub.add_parser("train", help="quantisation-aware training of a searched design; exports integer weights")
    t.add_argument("design")
    t.add_argument("--epochs", type=int, default=None)
    t.add_argument("--data-root")
    t.add_argument("--resume", action="store_true")
    t.add_argument("--device", default=None)
    t.add_argument("--seed", type=int, default=0)

    c = sub.add_parser("cost", help="analytical cost model")
    csub = c.add_subparsers(dest="what", required=True)
    g = csub.add_parser("gemm", help="one GEMM on one array")
    for name in ("rows", "cols", "m", "n", "k"):
        g.add_argument(f"--{name}", type=int, required=True)
    g.add_argument("--dataflow", choices=["os", "ws"], required=True)
    g.add_argument("--target", default="zc706", help="for the DRAM bandwidth")
    g.add_argument("--json", action="store_true")
    d = csub.add_parser("design", help="a whole DesignPoint on its target")
    d.add_argument("design")
    d.add_argument("--json", action="store_true")

    h = sub.add_parser("hw", help="generate the Verilog and HLS C++ projects of a design")
    h.add_argument("--design", required=True)
    h.add_argument("--target", default=None, help="default: the design's target")
    h.add_argument("--out", required=True)

    for verb, text in (("sim", "cocotb + Verilator simulation of DIR/rtl"), ("csim", "g++ C simulation of DIR/hls")):
        v = sub.add_parser(verb, help=text)
        v.add_argument("dir")
        v.add_argument("--json", action="store_true")
        v.add_argument("--images", type=int, default=None, help="test images to run (trained designs)")

    i = sub.add_parser("impl", help="synthesis (ECP5: place, route, bitstream) of DIR/rtl; fits and timing")
    i.add_argument("dir")
    i.add_argument("--json", action="store_true")
    i.add_argument("--timeout", type=float, default=3600.0, help="seconds per tool run (default 3600)")
    i.add_argument("--clock", type=float, default=None, help="MHz to close at (default: the design's clock)")

    r = sub.add_parser("report", help="Markdown report with plots of a run folder")
    r.add_argument("run")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, func = HANDLERS[args.verb].split(":")
    try:
        return int(getattr(importlib.import_module(module), func)(args) or 0)
    except CodesignError as e:
        print(f"codesign {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"codesign {args.verb}: interrupted; what was saved is kept (use --resume where offered)",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
