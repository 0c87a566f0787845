"""Runs SCALE-Sim (PyPI `scalesim`, a test dependency) on GEMMs, for checking the cost model.

SCALE-Sim calls exit() on a missing file and prints a lot, so it runs in a subprocess, one
per (array, dataflow), over a GEMM topology of many layers. Its compute cycles are read from
COMPUTE_REPORT.csv ("Total Cycles" - "Stall Cycles"), since get_total_cycles() is broken.
"""

from __future__ import annotations

import csv
import subprocess
import sys
import tempfile
from pathlib import Path

from codesign.errors import CodesignError

_CONFIG = """[general]
run_name = codesign_ref

[architecture_presets]
ArrayHeight = {rows}
ArrayWidth = {cols}
IfmapSramSzkB = 4096
FilterSramSzkB = 4096
OfmapSramSzkB = 4096
IfmapOffset = 0
FilterOffset = 10000000
OfmapOffset = 20000000
Dataflow = {dataflow}
Bandwidth = 64
ReadRequestBuffer = 32
WriteRequestBuffer = 32

[layout]
IfmapCustomLayout = False
IfmapSRAMBankBandwidth = 10
IfmapSRAMBankNum = 10
IfmapSRAMBankPort = 2
FilterCustomLayout = False
FilterSRAMBankBandwidth = 10
FilterSRAMBankNum = 10
FilterSRAMBankPort = 2

[sparsity]
SparsitySupport = false
SparseRep = ellpack_block
OptimizedMapping = false
BlockSize = 8
RandomNumberGeneratorSeed = 40

[run_presets]
InterfaceBandwidth = USER
UseRamulatorTrace = False
"""

# scalesim 3.0.0 calls int(max(a)) on (n, 1) arrays, which numpy >= 2.4 refuses; its modules
# get a max() that returns a scalar (a module global shadows the builtin).
_RUNNER = """
import sys
import numpy as np
import scalesim.memory.read_buffer as rb
import scalesim.memory.double_buffered_scratchpad_mem as dbm
def scalar_max(*args):
    items = args[0] if len(args) == 1 else args
    return np.max(np.concatenate([np.ravel(np.asarray(x)) for x in items]))
rb.max = dbm.max = scalar_max
from scalesim.scale_sim import scalesim
s = scalesim(save_disk_space=True, verbose=False, config=sys.argv[1], topology=sys.argv[2],
             layout=sys.argv[3], input_type_gemm=True)
s.run_scale(top_path=sys.argv[4])
"""


def scalesim_gemm_cycles(rows: int, cols: int, dataflow: str, gemms: list[tuple[int, int, int]],
                         workdir: str | Path | None = None) -> list[int]:
    """SCALE-Sim's compute cycles (Total - Stall) of each (M, N, K) GEMM on an R x C array."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        tmp = Path(tmp)
        (tmp / "scale.cfg").write_text(_CONFIG.format(rows=rows, cols=cols, dataflow=dataflow))
        names = [f"g{i}" for i in range(len(gemms))]
        topo = ["Layer, M, N, K,"] + [f"{nm}, {m}, {n}, {k}," for nm, (m, n, k) in zip(names, gemms)]
        (tmp / "gemm.csv").write_text("\n".join(topo) + "\n")
        # The layout file lists, per layer, the on-chip layout of ifmap and filter; SCALE-Sim
        # reads it even with custom layouts off.
        layout = ["Layer, IfmapIntraH, IfmapIntraW, IfmapIntraC, FilterIntraH, FilterIntraW, FilterIntraC,"]
        layout += [f"{nm}, 1, 1, 1, 1, 1, 1," for nm in names]
        (tmp / "layout.csv").write_text("\n".join(layout) + "\n")
        proc = subprocess.run([sys.executable, "-c", _RUNNER, str(tmp / "scale.cfg"), str(tmp / "gemm.csv"),
                               str(tmp / "layout.csv"), str(tmp / "out")], capture_output=True, text=True)
        reports = list((tmp / "out").rglob("COMPUTE_REPORT.csv"))
        if proc.returncode != 0 or not reports:
            raise CodesignError(f"SCALE-Sim failed (exit {proc.returncode}): {proc.stderr.strip()[-300:] or proc.stdout.strip()[-300:]}")
        with reports[0].open() as f:
            rows_ = [{k.strip(): v.strip() for k, v in r.items() if k} for r in csv.DictReader(f)]
        return [int(float(r["Total Cycles"])) - int(float(r["Stall Cycles"])) for r in rows_]
