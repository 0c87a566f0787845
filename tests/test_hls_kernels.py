"""The static HLS kernel library on its own: cs::requantize against golden.requantize on edge cases
(shift 0 and 47, the largest multiplier, int32 extremes, negative accumulators, exact halves)."""

import subprocess

import numpy as np

from codesign.backend import csim, hls
from codesign.backend.golden import MAX_SHIFT, MULT_BITS, requantize

DRIVER = """
#include <cstdio>
#include "cs_types.h"
using namespace cs;
int main() {
    long long acc;
    int mult, shift, bits, is_signed;
    while (std::scanf("%lld %d %d %d %d", &acc, &mult, &shift, &bits, &is_signed) == 5) {
        const int lo = is_signed ? -(1 << (bits - 1)) : 0;
        const int hi = is_signed ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
        std::printf("%d\\n", byte_value(requantize(acc_t(acc), mult_t(mult), shift_t(shift), lo, hi), is_signed));
    }
    return 0;
}
"""


def requant_cases(rng) -> np.ndarray:
    extremes = [-(2**31), 2**31 - 1, -1, 0, 1, 255, -256]
    rows = []
    for acc in extremes:
        for mult in (0, 1, 2**14, 2**MULT_BITS - 1):
            for shift in (0, 1, 7, 31, MAX_SHIFT):
                rows.append((acc, mult, shift))
    for shift in range(1, 20):  # exact halves: round half up, also for negative values
        half = 1 << (shift - 1)
        rows += [(half, 1, shift), (-half, 1, shift), (3 * half, 1, shift), (-3 * half, 1, shift)]
    n = 3000
    rows += list(zip(rng.integers(-(2**31), 2**31, n), rng.integers(0, 2**MULT_BITS, n), rng.integers(0, MAX_SHIFT + 1, n)))
    rows += list(zip(rng.integers(-5000, 5000, n), rng.integers(0, 2**MULT_BITS, n), rng.integers(10, 24, n)))
    base = np.array(rows, dtype=np.int64)
    return np.concatenate([np.column_stack([base, np.full(len(base), b), np.full(len(base), s)])
                           for b in range(2, 9) for s in (0, 1)])


def test_requantize_matches_golden_on_edge_cases(tmp_path):
    src = tmp_path / "requant.cpp"
    src.write_text(DRIVER)
    exe = tmp_path / "requant"
    cmd = [csim.CXX, *csim.CXXFLAGS, "-isystem", str(csim.ap_types_dir()), f"-I{hls.TEMPLATES / 'kernels'}",
           str(src), "-o", str(exe)]
    build = subprocess.run(cmd, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    table = requant_cases(np.random.default_rng(0))
    stdin = "\n".join(" ".join(map(str, row)) for row in table) + "\n"
    run = subprocess.run([str(exe)], input=stdin, capture_output=True, text=True, check=True)
    got = np.array(run.stdout.split(), dtype=np.int64)
    acc, mult, shift, bits, signed = table.T
    want = np.zeros(len(table), np.int64)
    for b in range(2, 9):
        for s in (0, 1):
            rows = (bits == b) & (signed == s)
            want[rows] = requantize(acc[rows], mult[rows], shift[rows], b, bool(s))
    assert len(got) == len(table)
    np.testing.assert_array_equal(got, want)
