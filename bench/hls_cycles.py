"""Cycles per layer of the HLS chunk engine, estimated from its loop structure, beside the cost model.

    python bench/hls_cycles.py [DESIGN.json ...] [--csynth SOLUTION | --vitis DIR]

Without designs: the two examples. See codesign.backend.hls_estimate for how the estimate is
derived (trip counts from the layer tables x II=1, assumed pipeline depths) and docs/hls.md."""

import sys
from pathlib import Path

from codesign.backend import hls_estimate

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

if __name__ == "__main__":
    args = sys.argv[1:]
    if not [a for a in args if a.endswith(".json")]:
        args = [str(EXAMPLES / "single_chunk_os_int8.json"), str(EXAMPLES / "two_chunk_mixed.json")] + args
    sys.exit(hls_estimate.main(args))
