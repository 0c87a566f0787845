"""The streaming AXI DMA (templates/verilog/rtl/axi_dma.v) alone under cocotb + Verilator against
cocotbext-axi's AxiRam (sim/tb_dma.py): every byte moved right, in bursts the AxiRam accepts (no
4 KB crossing, WLAST on each burst's last beat), VALIDs held until their handshakes, under random
backpressure on every channel at random lengths and beat-aligned addresses (a fresh seed each run,
CODESIGN_SEED); up to N_OUT bursts outstanding each way and never more; W beats accepted while the
AW channel is closed (WVALID does not wait for AWREADY); a reset in the middle of a read and of a
write returns the DMA to idle with no VALID raised, and the next transfers take exactly the cycles
they took before. Without backpressure the cycles of each transfer are the cost model's
`transfer_cycles` under AxiRam's timing (read and write latency 2) less one constant (the engine's
share of DMA_OVERHEAD), for reads and writes of 1 byte to 8 KB."""

import json
import sys
from pathlib import Path

import pytest

from codesign.cost.model import transfer_cycles

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "sim"))
from designs import run_seed  # noqa: E402
from runner import build_sources, run_test  # noqa: E402

DB, N_OUT = 8, 8
SIZES = [1, 8, 64, 72, 200, 512, 520, 576, 1000, 4096, 8192]
EXACT = [(w, 0x10000 + 0x4000 * i, n) for i, n in enumerate(SIZES) for w in (False, True)]


def test_dma_against_axiram(tmp_path):
    build_sources([ROOT / "templates" / "verilog" / "rtl" / "axi_dma.v", ROOT / "sim" / "hdl" / "tb_dma.v"],
                  "tb_dma", tmp_path / "build")
    io = tmp_path / "io"
    io.mkdir()
    seed = run_seed()
    print(f"backpressure seed {seed}")
    (io / "job.json").write_text(json.dumps({"db": DB, "exact": EXACT, "seed": seed, "random": 40}))
    try:
        run_test(tmp_path / "build", "tb_dma", "tb_dma", io, env={"CODESIGN_SIM_IO": str(io)})
    except SystemExit:   # the cocotb test failed: an AxiRam protocol assertion (4 KB, WLAST), an exception
        pytest.fail("the cocotb DMA test failed:\n" + "\n".join((io / "sim.log").read_text().splitlines()[-30:]))
    res = json.loads((io / "result.json").read_text())

    assert res["mismatches"] == [] and res["violations"] == []
    assert res["split_bursts"] > 0                           # random transfers had bursts cut at 4 KB
    assert res["max_outstanding"] == [N_OUT, N_OUT]          # the window filled, and no further
    w_first = res["w_first"]
    assert w_first["aw_bursts_during"] == 0 and w_first["wvalid_cycles_without_aw"] >= N_OUT * DB   # AW closed, WVALID up
    assert w_first["early_w_beats"] == N_OUT * DB         # the window's bursts all went before their AWs, no more
    assert res["window"] == [{"outstanding": N_OUT, "w_bursts": 0}, {"outstanding": N_OUT, "w_bursts": N_OUT}]
    assert res["reset"] == [{"idle": 1, "valids": [0, 0, 0]}] * 2
    assert res["exact_after_reset"] == res["exact"]
    model = [int(transfer_cycles(n, DB, 2, 1, write=w)) for w, _, n in EXACT]
    share = {m - c for m, c in zip(model, res["exact"])}
    assert share == {2}, list(zip(EXACT, res["exact"], model))   # the engine's cycles: raise start, act on done
