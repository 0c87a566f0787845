"""The accelerator space: per chunk one configuration from a grid (rows x cols x dataflow x
activation buffer x weight buffer x loop order), and the chunk boundaries between units (the
stem, each searchable layer, the head) -- at most `max_chunks` chunks."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from codesign.space.config import AcceleratorConfig


@dataclass
class ConfigGrid:
    """Every chunk configuration, one entry per grid point (int64 arrays of length G)."""
    rows: np.ndarray
    cols: np.ndarray
    ws: np.ndarray
    act_buf_kib: np.ndarray
    wgt_buf_kib: np.ndarray
    weights_outer: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def describe(self, g: int) -> dict:
        return dict(rows=int(self.rows[g]), cols=int(self.cols[g]), dataflow="ws" if self.ws[g] else "os",
                    act_buf_kib=int(self.act_buf_kib[g]), wgt_buf_kib=int(self.wgt_buf_kib[g]),
                    loop_order="weights_outer" if self.weights_outer[g] else "inputs_outer")


def config_grid(space: AcceleratorConfig) -> ConfigGrid:
    points = list(itertools.product(space.rows, space.cols, space.dataflows, space.act_buf_kib,
                                    space.wgt_buf_kib, space.loop_orders))
    col = lambda i: [p[i] for p in points]  # noqa: E731
    return ConfigGrid(rows=np.array(col(0)), cols=np.array(col(1)), ws=np.array([d == "ws" for d in col(2)]),
                      act_buf_kib=np.array(col(3)), wgt_buf_kib=np.array(col(4)),
                      weights_outer=np.array([o == "weights_outer" for o in col(5)]))


def unit_of_layer(name: str, n_units: int) -> int:
    """Unit index of a layer: 0 the stem, i + 1 slot i (layers named s<i>_...), n_units - 1 the head."""
    if name == "stem":
        return 0
    if name.startswith("s") and "_" in name and name[1:name.index("_")].isdigit():
        return int(name[1:name.index("_")]) + 1
    return n_units - 1
