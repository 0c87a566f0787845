"""The `codesign` command line. Each verb's work lives in its own module. Every failure ends here as
one line on stderr: bad input (CodesignError, a file-system error, a bad option) exits 2 and says
what to mend; an unexpected exception exits 3 and names the log file holding its traceback."""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import tempfile
import traceback
from importlib.metadata import PackageNotFoundError, version

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

USAGE = """\
Search a small DNN, its per-layer bitwidths and a systolic-array accelerator together, train the
network with quantisation-aware training, and generate Verilog and Vivado HLS C++ for it, checked
bit for bit and cycle for cycle against a golden model.

A whole run (what `make all` does):
  codesign search --target zc706 --out runs/demo      # -> runs/demo/design.json
  codesign train runs/demo/design.json                # -> weights.npz, vectors.npz, accuracy
  codesign hw --design runs/demo/design.json --out runs/demo/hw-zc706
  codesign sim runs/demo/hw-zc706                     # Verilator RTL simulation -> sim.json
  codesign csim runs/demo/hw-zc706                    # g++ C simulation of the HLS -> csim.json
  codesign report runs/demo                           # -> runs/demo/report.md and plots

Exit codes: 0 done; 1 a simulation differs from the golden model; 2 bad input (one line says
what to mend); 3 an internal error (one line names the log with its traceback).
`codesign VERB --help` describes each step."""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, not argparse's usage block
        self.exit(2, f"{self.prog}: error: {message}; see `{self.prog} --help`\n")


def _int_at_least(low: int):
    def check(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"{value} is too small: give " +
                                             ("a positive number" if low == 1 else f"{low} or more"))
        return value
    return check


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive finite number")
    return value


def device(text: str) -> str:
    if not re.fullmatch(r"cpu|cuda(:\d+)?", text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; give cpu, cuda or cuda:N")
    return text


def target(text: str) -> str:
    from codesign.targets import target_names
    if text not in target_names():
        raise argparse.ArgumentTypeError(f"unknown target {text!r}; choose one of: {', '.join(target_names())}")
    return text


def targets_help() -> str:
    from codesign.targets import load_target, target_names
    boards = [load_target(n) for n in target_names()]
    return ", ".join(f"{t.name} ({t.part or t.process})" for t in boards)


POSITIVE, NON_NEGATIVE = _int_at_least(1), _int_at_least(0)


def percent(text: str) -> int:
    value = NON_NEGATIVE(text)
    if value > 99:
        raise argparse.ArgumentTypeError(f"{value} is too large: give 0 to 99")
    return value


def add_device(p) -> None:
    p.add_argument("--device", type=device, default=None, help="cpu, cuda or cuda:N (default: cuda when present)")
    p.add_argument("--seed", type=NON_NEGATIVE, default=0, help="random seed (default 0)")


def build_parser() -> argparse.ArgumentParser:
    p = Parser(prog="codesign", description=USAGE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    boards = targets_help()

    s = sub.add_parser("search", help="joint search of network, bitwidths and accelerator -> design.json")
    s.add_argument("--config", help="search config (TOML); default: the preset of --dataset")
    s.add_argument("--dataset", default=None, help="digits (built in, the default), cifar10, cifar100, imagefolder")
    s.add_argument("--data-root", help="folder holding the dataset (CIFAR python format or ImageFolder)")
    s.add_argument("--target", type=target, default="zc706", help=f"board or process: {boards}; default zc706")
    s.add_argument("--objective", choices=["fps", "latency", "energy", "edp"], default=None,
                   help="what the accelerator search optimises (default: the config's, fps)")
    s.add_argument("--target-fps", type=positive_float, default=None,
                   help="FPS the design should run at (met within 10 %%, measured on the derived network)")
    s.add_argument("--pareto", type=POSITIVE, default=None, metavar="N",
                   help="N searches from the most accurate to the cheapest network and their front (OUT/front.json)")
    s.add_argument("--epochs", type=POSITIVE, default=None, help="search epochs, 1 or more (default: the config's)")
    s.add_argument("--out", default=None, help="run folder (default runs/<dataset>-<target>)")
    s.add_argument("--resume", action="store_true",
                   help="continue from the run folder's last checkpoint (same config, dataset and target)")
    add_device(s)
    s.add_argument("--steps-per-epoch", type=NON_NEGATIVE, default=None, help="weight steps per epoch (0: a full pass)")
    s.add_argument("--batch", type=POSITIVE, default=None, help="batch size, 1 or more (default: the config's)")
    s.add_argument("--compile", action="store_const", const=True, default=None,
                   help="torch.compile each candidate block (minutes of compiling; pays off on a GPU)")

    t = sub.add_parser("train", help="quantisation-aware training of a searched design; exports integer weights")
    t.add_argument("design", help="the design.json written by `codesign search`")
    t.add_argument("--epochs", type=POSITIVE, default=None, help="training epochs, 1 or more (default 24)")
    t.add_argument("--data-root", help="folder holding the design's dataset (CIFAR, ImageFolder)")
    t.add_argument("--resume", action="store_true", help="continue from the design folder's train_checkpoint.pt")
    t.add_argument("--force", action="store_true", help="retrain a design that already has trained weights")
    add_device(t)

    c = sub.add_parser("cost", help="analytical cost model (cycles, FPS, resources)")
    csub = c.add_subparsers(dest="what", required=True, metavar="WHAT")
    g = csub.add_parser("gemm", help="one GEMM on one array")
    for name, text in (("rows", "array rows"), ("cols", "array columns"), ("m", "GEMM M"), ("n", "GEMM N"),
                       ("k", "GEMM K")):
        g.add_argument(f"--{name}", type=POSITIVE, required=True, help=f"{text}, 1 or more")
    g.add_argument("--dataflow", choices=["os", "ws"], required=True, help="output or weight stationary")
    g.add_argument("--target", type=target, default="zc706", help="for the DRAM bandwidth (default zc706)")
    g.add_argument("--json", action="store_true", help="print JSON (docs/cost.md)")
    d = csub.add_parser("design", help="a whole DesignPoint on its target")
    d.add_argument("design", help="a design.json")
    d.add_argument("--json", action="store_true", help="print JSON (docs/cost.md)")

    h = sub.add_parser("hw", help="generate the Verilog and HLS C++ projects of a design")
    h.add_argument("--design", required=True, help="a design.json (trained or not)")
    h.add_argument("--target", type=target, default=None, help=f"board ({boards}); default: the design's target")
    h.add_argument("--out", required=True, help="project folder to write (rtl/, hls/, manifest.json)")
    h.add_argument("--force", action="store_true", help="replace a project generated from another design")

    for verb, text in (("sim", "cocotb + Verilator simulation of DIR/rtl -> DIR/sim.json"),
                       ("csim", "g++ C simulation of DIR/hls -> DIR/csim.json")):
        v = sub.add_parser(verb, help=text)
        v.add_argument("dir", help="a project folder written by `codesign hw`")
        v.add_argument("--json", action="store_true", help="print the result as JSON")
        v.add_argument("--images", type=POSITIVE, default=None,
                       help="test images to run, 1 or more (default: all of DIR/vectors.npz, else one random image)")
        v.add_argument("--force", action="store_true", help=f"replace {verb}.json without keeping a copy of a result of another design or of more images")
    s = sub.choices["sim"].add_argument_group("simulated DRAM (defaults: the target file's latencies, no stalls)")
    s.add_argument("--read-latency", type=NON_NEGATIVE, default=None, help="cycles from AR to the first R beat")
    s.add_argument("--write-latency", type=NON_NEGATIVE, default=None, help="cycles from the last W beat to B")
    s.add_argument("--beat-cycles", type=POSITIVE, default=None, help="cycles per data beat (bandwidth cap)")
    s.add_argument("--stall-pct", type=percent, default=0, help="random backpressure on AR, R, AW, W, B (0..99 %%)")
    s.add_argument("--mem-seed", type=NON_NEGATIVE, default=1, help="seed of the backpressure")

    i = sub.add_parser("impl", help="synthesis (ECP5: place, route, bitstream) of DIR/rtl; fits and timing")
    i.add_argument("dir", help="a project folder written by `codesign hw` (writes DIR/impl/)")
    i.add_argument("--json", action="store_true", help="print DIR/impl/impl.json (docs/impl.md)")
    i.add_argument("--timeout", type=positive_float, default=3600.0, help="seconds per tool run (default 3600)")
    i.add_argument("--clock", type=positive_float, default=None, help="MHz to close at (default: the design's clock)")

    r = sub.add_parser("report", help="Markdown report with plots of a run folder")
    r.add_argument("run", help="the run folder of `codesign search --out`")
    return p


def package_version() -> str:
    try:
        return version("codesign")
    except PackageNotFoundError:
        return "unknown"


def one_line(text: str) -> str:
    return " ".join(str(text).split())


def crash_log(verb: str) -> str:
    """Write the current exception's traceback to a temp file; return its path."""
    with tempfile.NamedTemporaryFile("w", prefix=f"codesign-{verb}-", suffix=".log", delete=False) as f:
        f.write(f"codesign {package_version()} {' '.join(sys.argv)}\n")
        traceback.print_exc(file=f)
        return f.name


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module, func = HANDLERS[args.verb].split(":")
    prefix = f"codesign {args.verb}: error:"
    try:
        return int(getattr(importlib.import_module(module), func)(args) or 0)
    except CodesignError as e:
        print(f"{prefix} {one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:
        from codesign.files import describe_os_error
        print(f"{prefix} {one_line(describe_os_error(e))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"codesign {args.verb}: interrupted; what was saved is kept (use --resume where offered)",
              file=sys.stderr)
        return 130
    except Exception as e:  # a bug: keep the traceback, say where
        print(f"codesign {args.verb}: internal error ({type(e).__name__}: {one_line(e)[:200]}); "
              f"the traceback is in {crash_log(args.verb)}; please report it", file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
