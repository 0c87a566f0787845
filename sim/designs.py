"""Seeded random DesignPoints for the RTL tests and benchmarks. Every design holds every layer
kind, every weight and activation width 2..8 (drawn as shuffled rounds of 2..8, so each design
has them all), and n_chunks chunks, each with its own random array (rows, cols 2..8) and both
dataflows among them when n_chunks >= 2, so that one Verilator build covers several array
configurations. `run_seed()` is the seed of this run: $CODESIGN_SEED when set (to replay a run),
else a fresh one that tests/conftest.py draws and prints."""

from __future__ import annotations

import os

import numpy as np

from codesign.design import Accelerator, Chunk, Dataset, DesignPoint, Layer, layer_in_bits


def conv_out(shape, k, stride, pad, c):
    return ((shape[0] + 2 * pad - k) // stride + 1, (shape[1] + 2 * pad - k) // stride + 1, c)


def run_seed() -> int:
    seed = os.environ.get("CODESIGN_SEED")
    if seed is None:
        raise RuntimeError("CODESIGN_SEED is not set (tests/conftest.py sets it for the test run)")
    return int(seed)


def shuffled_bits(rng: np.random.Generator):
    """2..8 in a random order, again and again: every 7 draws hold every width."""
    while True:
        yield from (int(b) for b in rng.permutation(np.arange(2, 9)))


def random_layers(rng: np.random.Generator, shape: tuple[int, int, int]) -> list[Layer]:
    a_bits, w_draws = shuffled_bits(rng), shuffled_bits(rng)
    bits = lambda: next(w_draws)  # noqa: E731
    layers: list[Layer] = []

    def add(kind, out_shape, **kw):
        layers.append(Layer(name=f"l{len(layers)}_{kind}", kind=kind, inputs=kw.pop("inputs", [len(layers) - 1]),
                            in_shape=kw.pop("in_shape", layers[-1].out_shape if layers else shape),
                            out_shape=out_shape, a_bits=next(a_bits), relu=bool(rng.integers(0, 2)), **kw))

    k = int(rng.choice([1, 3, 5]))
    add("conv", conv_out(shape, k, 1, k // 2, int(rng.integers(3, 13))), kernel=k, padding=k // 2, w_bits=bits())
    cur = layers[-1].out_shape
    add("conv", conv_out(cur, 3, 2, 1, int(rng.integers(4, 13))), kernel=3, stride=2, padding=1, w_bits=bits())
    cur = layers[-1].out_shape
    k = int(rng.choice([3, 5]))
    add("dwconv", conv_out(cur, k, 1, k // 2, cur[2]), kernel=k, padding=k // 2, w_bits=bits())
    skip = len(layers) - 1
    add("conv", cur, kernel=1, w_bits=bits())
    add("add", cur, inputs=[skip, len(layers) - 1])
    add("dwconv", conv_out(cur, 3, 2, 1, cur[2]), kernel=3, stride=2, padding=1, w_bits=bits())
    cur = layers[-1].out_shape
    add("maxpool", conv_out(cur, 2, 1, 1, cur[2]), kernel=2, stride=1, padding=1)
    add("fc", (1, 1, int(rng.integers(5, 13))), w_bits=bits())
    add("conv", (1, 1, 6), kernel=1, w_bits=bits())
    add("avgpool", (1, 1, 6))
    add("fc", (1, 1, 10), w_bits=bits())
    return layers


def random_design(seed: int, n_chunks: int = 4, rows=(2, 8), cols=(2, 8), shape=None, act_buf_kib: int = 8,
                  wgt_buf_kib: int = 4) -> DesignPoint:
    """shape: the input (H, W, C), default a random 6..10 x 6..10 x 1..3."""
    rng = np.random.default_rng(seed)
    drawn = (int(rng.integers(6, 11)), int(rng.integers(6, 11)), int(rng.integers(1, 4)))
    shape = tuple(shape) if shape else drawn
    layers = random_layers(rng, shape)
    cuts = sorted(rng.choice(np.arange(1, len(layers)), size=n_chunks - 1, replace=False))
    bounds = [0, *map(int, cuts), len(layers)]
    flows = ["os", "ws"] if rng.integers(0, 2) else ["ws", "os"]
    flows += [str(rng.choice(["os", "ws"])) for _ in range(n_chunks - 2)]
    chunks = [Chunk(first_layer=a, last_layer=b - 1, rows=int(rng.integers(rows[0], rows[1] + 1)),
                    cols=int(rng.integers(cols[0], cols[1] + 1)), dataflow=flows[i],
                    mult_bits=8, act_buf_kib=act_buf_kib, wgt_buf_kib=wgt_buf_kib)
              for i, (a, b) in enumerate(zip(bounds, bounds[1:]))]
    design = DesignPoint(name=f"rtl_random{seed}", dataset=Dataset(name="random", input_shape=shape, num_classes=10),
                         layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))
    return narrowest_multipliers(design)


def narrowest_multipliers(design: DesignPoint) -> DesignPoint:
    """Each chunk's mult_bits as narrow as its layers allow (<= 4 bits: LUT multipliers)."""
    chunks = []
    for c in design.accelerator.chunks:
        layers = design.layers[c.first_layer:c.last_layer + 1]
        need = max([max(layer.w_bits, layer_in_bits(design, layer)) for layer in layers if layer.w_bits] + [2])
        chunks.append(c.model_copy(update={"mult_bits": need}))
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


def random_tiled_design(seed: int, combo: int = 0) -> DesignPoint:
    """A seeded random two-chunk design whose layers outgrow their chunks' buffers, so that they
    run in tiles (`codesign.cost.model.tile_plan`): a 12..20 x 12..20 x 4..8 input, convolutions
    of 8..40 channels, a 3x3 or 5x5 depthwise conv, an fc over a 3D tensor, the smallest
    activation buffers (from a random 1..3 KiB up) that every layer fits in tiles, and 1 KiB
    weight buffers. combo 0: chunk 0 OS inputs_outer, chunk 1 WS weights_outer; combo 1: chunk 0
    WS inputs_outer, chunk 1 OS weights_outer. Drawn again (from the same seed) until each chunk
    has a layer tiled both ways, so its loop order matters. Widths and channels are multiples of
    4, so that a few output rows make whole bursts."""
    rng = np.random.default_rng(seed)
    while True:
        design = _tiled_draw(rng, seed, combo)
        jobs = tile_counts(design)
        if all(any(s > 1 and b > 1 for s, b in jobs[c.first_layer:c.last_layer + 1]) for c in design.accelerator.chunks):
            return design


def _tiled_draw(rng: np.random.Generator, seed: int, combo: int) -> DesignPoint:
    side = lambda lo, hi: int(rng.integers(lo // 4, hi // 4 + 1)) * 4  # noqa: E731
    shape = (side(12, 20), side(12, 20), side(4, 8))
    a_bits, w_draws = shuffled_bits(rng), shuffled_bits(rng)
    layers: list[Layer] = []

    def add(kind, out_shape, **kw):
        layers.append(Layer(name=f"l{len(layers)}_{kind}", kind=kind, inputs=kw.pop("inputs", [len(layers) - 1]),
                            in_shape=kw.pop("in_shape", layers[-1].out_shape if layers else shape),
                            out_shape=out_shape, a_bits=next(a_bits), relu=bool(rng.integers(0, 2)), **kw))

    k = int(rng.choice([3, 5]))
    add("conv", conv_out(shape, k, 1, k // 2, side(8, 16)), kernel=k, padding=k // 2, w_bits=next(w_draws))
    cur = layers[-1].out_shape
    add("conv", conv_out(cur, 3, 2, 1, side(20, 40)), kernel=3, stride=2, padding=1, w_bits=next(w_draws))
    cur = layers[-1].out_shape
    k = int(rng.choice([3, 5]))
    add("dwconv", cur, kernel=k, padding=k // 2, w_bits=next(w_draws))
    skip = len(layers) - 1
    add("conv", cur, kernel=1, w_bits=next(w_draws))
    add("add", cur, inputs=[skip, len(layers) - 1])
    add("maxpool", conv_out(cur, 3, 1, 1, cur[2]), kernel=3, stride=1, padding=1)
    add("conv", conv_out(cur, 3, 2, 1, side(24, 32)), kernel=3, stride=2, padding=1, w_bits=next(w_draws))
    add("fc", (1, 1, 16), w_bits=next(w_draws))
    add("avgpool", (1, 1, 16))
    add("fc", (1, 1, 10), w_bits=next(w_draws))
    setups = [[("os", "inputs_outer"), ("ws", "weights_outer")], [("ws", "inputs_outer"), ("os", "weights_outer")]][combo % 2]
    chunks = [Chunk(first_layer=a, last_layer=b, rows=int(rng.integers(2, 9)), cols=int(rng.integers(2, 9)),
                    dataflow=flow, mult_bits=8, act_buf_kib=int(rng.integers(1, 4)), wgt_buf_kib=1, loop_order=order)
              for (a, b), (flow, order) in zip([(0, 4), (5, len(layers) - 1)], setups)]
    design = DesignPoint(name=f"rtl_tiled{seed}", dataset=Dataset(name="random", input_shape=shape, num_classes=10),
                         layers=layers, accelerator=Accelerator(target="zc706", clock_mhz=200.0, chunks=chunks))
    return smallest_tiling_buffers(narrowest_multipliers(design))


def tile_counts(design: DesignPoint) -> list[tuple[int, int]]:
    """(weight slices, input bands) of each layer (`codesign.cost.model.tile_plan`)."""
    from codesign.cost import chunk_arrays, layer_arrays
    from codesign.cost.model import tile_plan
    ch = chunk_arrays(design)
    plan = tile_plan(layer_arrays(design), ch["cols"], ch["ws"], ch["act_buf_bytes"], ch["wgt_buf_bytes"])
    return [(int(s), int(b)) for s, b in zip(plan["slices"], plan["bands"])]


def smallest_tiling_buffers(design: DesignPoint) -> DesignPoint:
    """Each chunk's act_buf_kib raised from its drawn value until every layer of it has a tiling."""
    from codesign.cost import chunk_arrays, layer_arrays
    from codesign.cost.model import tile_plan
    chunks = list(design.accelerator.chunks)
    for i, c in enumerate(chunks):
        for kib in range(c.act_buf_kib, 65):
            chunks[i] = c.model_copy(update={"act_buf_kib": kib})
            d = design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})
            ch = chunk_arrays(d)
            ok = tile_plan(layer_arrays(d), ch["cols"], ch["ws"], ch["act_buf_bytes"], ch["wgt_buf_bytes"])["ok"]
            if ok[c.first_layer:c.last_layer + 1].all():
                break
    return design.model_copy(update={"accelerator": design.accelerator.model_copy(update={"chunks": chunks})})


def cifar10_searched_design(out_dir, target: str = "zc706", seed: int = 0) -> DesignPoint:
    """A CIFAR-10-preset design searched for `target`, untrained: the joint search set up on
    synthetic CIFAR-shaped data (no weight or architecture epochs), its accelerator search for the
    initial argmax network run to the end (`JointSearch.finish`: the config's final accelerator
    steps), written to out_dir/design.json as `codesign search` writes it."""
    from pathlib import Path

    import torch

    from codesign.data import Splits
    from codesign.search.loop import JointSearch, Options
    from codesign.space.config import load_config
    from codesign.targets import load_target
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    part = lambda k: (rng.integers(0, 256, (k, 32, 32, 3), dtype=np.uint8), rng.integers(0, 10, k))  # noqa: E731
    splits = Splits(part(128), part(64), part(64), num_classes=10, input_shape=(32, 32, 3), name="cifar10")
    config = load_config(dataset="cifar10")
    config.search.workers = 0
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    search = JointSearch(config, Options(out=out, target=load_target(target), device="cpu", seed=seed, progress=False,
                                         name=f"cifar10_{target}"), splits=splits)
    search.update_accelerator(config.search.accel_steps, 1.0)
    return search.finish()
