"""Yosys `synth_xilinx` of generated tops against the resource model, side by side.

    python bench/yosys_resources.py [DESIGN.json ...]

Without arguments: the two examples and the two held-out random designs of tests/test_yosys.py.
Prints, per design, DSP48E1 / BRAM36 / LUT / FF from Yosys (the whole top, buffers included, see
codesign.backend.yosys) and from the model, the ratios, and the synthesis time. `--random N S`:
N random designs of seeds S, S+1, ... (2..3 chunks) instead."""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
from designs import random_design  # noqa: E402

from codesign.backend import verilog  # noqa: E402
from codesign.backend.ir import design_params, lower  # noqa: E402
from codesign.backend.yosys import top_counts  # noqa: E402
from codesign.cost import evaluate  # noqa: E402
from codesign.design import load_design  # noqa: E402


def designs(paths):
    if paths[:1] == ["--random"]:
        n, seed = int(paths[1]), int(paths[2])
        return [random_design(seed + i, n_chunks=2 + (seed + i) % 2) for i in range(n)]
    if paths:
        return [load_design(p) for p in paths]
    return ([load_design(ROOT / "examples" / f"{n}.json") for n in ("single_chunk_os_int8", "two_chunk_mixed")]
            + [random_design(32, n_chunks=2), random_design(21, n_chunks=3)])


def main() -> None:
    print(f"{'design':<22} {'dsp y/m':>11} {'bram36 y/m':>13} {'lut yosys':>10} {'lut model':>10} {'ratio':>6} "
          f"{'ff yosys':>9} {'ff model':>9} {'ratio':>6} {'synth s':>8}")
    for design in designs(sys.argv[1:]):
        with tempfile.TemporaryDirectory() as tmp:
            verilog.render(design, lower(design), design_params(design), Path(tmp))
            start = time.monotonic()
            y = top_counts(Path(tmp))
            seconds = time.monotonic() - start
        m = evaluate(design).resources
        print(f"{design.name:<22} {y['dsp']:>5}/{m['dsp']:<5.0f} {y['bram36']:>6g}/{m['bram36']:<6g} {y['lut']:>10} {m['lut']:>10.0f} {m['lut'] / y['lut']:>6.2f} "
              f"{y['ff']:>9} {m['ff']:>9.0f} {m['ff'] / y['ff']:>6.2f} {seconds:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
