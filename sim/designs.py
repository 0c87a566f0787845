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
