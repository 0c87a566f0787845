"""The hardware IR: the memory map is consistent and the DRAM image holds what golden.py defines."""

import numpy as np
import pytest

from codesign.backend import golden
from codesign.backend.ir import ALIGN, PARAM_RECORD, dram_bytes, dram_image, lower, read_tensor
from codesign.design import load_design


@pytest.mark.parametrize("name", ["single_chunk_os_int8", "two_chunk_mixed"])
def test_memory_map(example_path, name):
    design = load_design(example_path(name))
    ir = lower(design)
    regions = [(ir.input_addr, 16 * 16)]
    for job in ir.layers:
        oh, ow, oc = job.out_shape
        regions.append((job.out_addr, oh * ow * oc))
        regions.append((job.param_addr, job.weight_bytes + PARAM_RECORD.itemsize * oc))
    regions.sort()
    for (a, size), (b, _) in zip(regions, regions[1:]):
        assert a % ALIGN == 0 and a + size <= b            # aligned, no overlap
    assert regions[-1][0] + regions[-1][1] <= ir.dram_size
    assert [j.chunk for j in ir.layers] == [design.chunk_of(i) for i in range(len(design.layers))]
    add = next(j for j in ir.layers if j.kind == "add")
    assert add.in_addrs == [ir.layers[add.inputs[0]].out_addr, ir.layers[add.inputs[1]].out_addr]


def weights_at(mem, addr: int, count: int, w_bits: int) -> np.ndarray:
    """count weights from addr: int8 bytes, or at <= 4 bits two's-complement nibbles, low nibble first."""
    if w_bits > 4:
        return np.frombuffer(bytes(mem[addr:addr + count]), np.int8)
    nibbles = []
    for byte in bytes(mem[addr:addr + (count + 1) // 2]):
        nibbles += [byte & 15, byte >> 4]
    return np.array([v - 16 if v >= 8 else v for v in nibbles[:count]])


def test_dram_image_decodes_to_the_params(example_path):
    design = load_design(example_path("two_chunk_mixed"))
    ir = lower(design)
    params = golden.random_params(design, seed=2)
    image = np.random.default_rng(3).integers(0, 256, size=(16, 16, 1))
    mem = dram_image(ir, params, image)
    assert ir.input_addr == ir.act_addr > 0 and len(mem) == ir.dram_size == ir.act_addr + ir.frame_bytes
    at = ir.input_addr
    np.testing.assert_array_equal(np.frombuffer(mem[at:at + 256], np.uint8).reshape(16, 16, 1), image)
    for job, p in zip(ir.layers, params):
        oc = job.out_shape[2]
        rec = np.frombuffer(bytes(mem[job.record_addr:job.record_addr + 8 * oc]), PARAM_RECORD)
        np.testing.assert_array_equal(rec["mult"], p["mult"])
        np.testing.assert_array_equal(rec["shift"], p["shift"])
        if "w" in p:
            # the fold layout: per tile of w_cols filters (a depthwise layer on WS: of one channel, its
            # G = channels GEMMs), row r of filter n0 + j at r * nv + j. The rows are the filter's taps;
            # a depthwise layer on OS runs K = taps steps (each PE on its own channel's activation)
            filters = p["w"].reshape(oc, -1)
            taps = filters.shape[1]
            ws = design.accelerator.chunks[job.chunk].dataflow == "ws"
            if job.kind == "dwconv":
                assert (job.n, job.k, job.g) == ((1, taps, oc) if ws else (oc, taps, 1))
            assert job.w_row == taps
            tile = 1 if job.g > 1 else job.w_cols
            raw = weights_at(mem, job.param_addr, filters.size, job.w_bits)
            at = 0
            for n0 in range(0, oc, tile):
                nv = min(tile, oc - n0)
                for r in range(taps):
                    np.testing.assert_array_equal(raw[at + r * nv:at + (r + 1) * nv], filters[n0:n0 + nv, r])
                at += taps * nv
            assert at == filters.size
            np.testing.assert_array_equal(rec["bias"], p["bias"])
        if job.kind == "add":
            np.testing.assert_array_equal(np.frombuffer(bytes(mem[job.param_addr:job.param_addr + 4]), "<i2"),
                                          p["add_mult"])
    # a layer's output written the way the accelerator writes it reads back as the golden tensor
    outs = golden.run_network(design, params, image)
    for job, y in zip(ir.layers, outs):
        raw = y.astype(np.int8 if job.out_signed else np.uint8).tobytes()
        mem[job.out_addr:job.out_addr + len(raw)] = raw
        np.testing.assert_array_equal(read_tensor(mem, job), y)


def test_frames_get_their_own_activation_regions(example_path):
    """Params first, then one activation region of frame_bytes per frame; frame f's tensors at + f * frame_bytes."""
    design = load_design(example_path("two_chunk_mixed"))
    ir = lower(design)
    params = golden.random_params(design, seed=2)
    images = np.random.default_rng(4).integers(0, 256, size=(3, 16, 16, 1))
    mem = dram_image(ir, params, images)
    assert len(mem) == dram_bytes(ir, 3) == ir.act_addr + 3 * ir.frame_bytes and ir.frame_bytes % ALIGN == 0
    assert max(j.param_addr + j.weight_bytes + 8 * j.out_shape[2] for j in ir.layers) <= ir.act_addr
    assert ir.act_addr <= min(j.out_addr for j in ir.layers) and max(j.out_addr for j in ir.layers) < ir.dram_size
    assert bytes(mem[:ir.act_addr]) == bytes(dram_image(ir, params, images[0])[:ir.act_addr])
    for f, image in enumerate(images):
        at = ir.input_addr + f * ir.frame_bytes
        np.testing.assert_array_equal(np.frombuffer(mem[at:at + 256], np.uint8).reshape(16, 16, 1), image)
    job = ir.layers[0]
    mem[job.out_addr + 2 * ir.frame_bytes] = 7
    assert read_tensor(mem, job, 2 * ir.frame_bytes)[0, 0, 0] == 7 and read_tensor(mem, job)[0, 0, 0] == 0
