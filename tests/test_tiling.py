"""Tiling (codesign.cost.model.tile_plan): every table row the compiler writes for a tiled layer
fits its chunk's buffers, and the cost model's closed form for a tiled layer equals the sum of its
rows, each priced by the one-row schedule the RTL runs (its flagged transfers + its compute). The
RTL itself is held to the model in tests/test_rtl_sim.py::test_random_tiled_design."""

import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from codesign.backend import verilog
from codesign.backend.ir import lower
from codesign.cost import chunk_arrays, evaluate, layer_arrays
from codesign.cost.model import (NO_LOAD_CYCLES, PREFETCH_COMPUTE_LAG, PREFETCH_DMA_LAG, MemoryTiming, array_cycles,
                                 layer_cycles, transfer_cycles, vector_cycles)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from designs import random_tiled_design, run_seed  # noqa: E402

MEMORY = MemoryTiming(read_latency=32, write_latency=16, beat_cycles=2)
SLOW = MemoryTiming(read_latency=200, write_latency=16, beat_cycles=8)   # slices load longer than they compute


def row_cycles(f: dict, chunk, bpc: int, mem: MemoryTiming) -> int:
    """One table row as the engine runs it: its flagged transfers one after another (a look at its
    flags when it has none), its compute, and beside it the next row's parameter prefetch."""
    read = lambda n: int(transfer_cycles(n, bpc, mem.read_latency, mem.beat_cycles))  # noqa: E731
    write = lambda n: int(transfer_cycles(n, bpc, mem.write_latency, mem.beat_cycles, write=True))  # noqa: E731
    flags, ws = f["flags"], chunk.dataflow == "ws"
    kept = 1 if flags & verilog.KEEP_IN1 else 0     # an add's second input on chip
    cycles = ((f["num_in"] - kept) * read(f["in_bytes"]) if flags & verilog.LOAD_IN else 0) \
        + (read(f["param_bytes"]) if flags & verilog.LOAD_PARAMS else 0) \
        + (read(f["out_bytes"]) if flags & verilog.LOAD_OUT else 0) \
        + (write(f["out_bytes"]) if flags & verilog.STORE else 0)
    if not flags & (verilog.LOAD_IN | verilog.LOAD_PARAMS | verilog.LOAD_OUT):
        cycles += NO_LOAD_CYCLES
    if f["g"]:
        macs_pe = 2 if f["flags"] & verilog.W_DUAL else 1
        compute = int(array_cycles(chunk.rows, chunk.cols, ws, f["m"], f["n"], f["k"], f["g"], macs_pe)) \
            + (0 if ws else macs_pe * chunk.rows)
    else:
        compute = int(vector_cycles(chunk.cols, f["out_bytes"] * f["red"], f["out_bytes"], f["out_c"]))
    if f["pf_bytes"]:
        compute = max(compute + PREFETCH_COMPUTE_LAG, read(f["pf_bytes"]) + PREFETCH_DMA_LAG)
    return cycles + compute


def varied(design, rng):
    """The design with each chunk's buffers and loop order redrawn (small, so that layers tile)."""
    chunks = [c.model_copy(update={"act_buf_kib": int(rng.integers(1, 9)), "wgt_buf_kib": int(rng.integers(1, 5)),
                                   "loop_order": str(rng.choice(["weights_outer", "inputs_outer"]))})
              for c in design.accelerator.chunks]
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


@pytest.mark.parametrize("mem", [MEMORY, SLOW], ids=["memory", "slow"])
def test_tiled_layer_cycles_are_the_sum_of_their_rows(mem):
    """Also for double-buffered slices (each row loads the next slice's block beside its compute):
    under SLOW the loads outlast the compute, in both loop orders."""
    rng = np.random.default_rng(run_seed())
    tiled = checked = 0
    waits = {False: 0, True: 0}   # double-buffered layers (by weights_outer) whose rows wait for the next block
    for i in range(24):
        design = varied(random_tiled_design(run_seed() + i, combo=i), rng)
        ir = lower(design)
        cost = evaluate(design, memory=mem)
        for chunk in ir.chunks:
            jobs = [j for j in ir.layers[chunk.first_layer:chunk.last_layer + 1] if j.tiles_ok]
            if len(jobs) < chunk.last_layer - chunk.first_layer + 1:
                continue   # a layer no tiling fits: the model prices it INFEASIBLE_CYCLES, render refuses it
            rows = verilog.chunk_rows(ir, chunk)   # raises if a row does not fit the chunk's buffers
            for job in jobs:
                mine = [f for j, f in rows if j.index == job.index]
                assert len(mine) == job.slices * job.bands
                assert sum(row_cycles(f, chunk, ir.dram_bytes_per_cycle, mem) for f in mine) == cost.layer_cycles[job.index], \
                    (design.name, job.name, job.slices, job.bands, job.weights_outer)
                tiled += len(mine) > 1
                checked += 1
                if job.double_slices and job.bands > 1:
                    waits[job.weights_outer] += any(row_waits(f, chunk, ir.dram_bytes_per_cycle, mem) for f in mine)
    assert checked > 150 and tiled > 60, (checked, tiled)
    if mem is SLOW:
        assert waits[False] > 0 and waits[True] > 0, waits


def row_waits(f: dict, chunk, bpc: int, mem: MemoryTiming) -> bool:
    """The row's prefetch outlasts its compute."""
    return bool(f["pf_bytes"]) and row_cycles(f, chunk, bpc, mem) > row_cycles({**f, "pf_bytes": 0}, chunk, bpc, mem)


def test_torch_prices_tiled_layers_as_numpy():
    design = random_tiled_design(run_seed(), combo=1)
    L, ch = layer_arrays(design), chunk_arrays(design)
    args = [ch[k] for k in ("rows", "cols", "ws", "act_buf_bytes", "wgt_buf_bytes", "weights_outer",
                            "first_in_chunk", "last_in_chunk")]
    want = layer_cycles(L, *args, 8, MEMORY)
    got = layer_cycles(L.to("torch"), *[torch.as_tensor(a) for a in args], 8, MEMORY)
    for w, g in zip(want, got):
        assert g.tolist() == w.tolist()
