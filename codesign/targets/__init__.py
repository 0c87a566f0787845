"""Board and process descriptions, kept as TOML data files beside this module."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from codesign.errors import CodesignError

_HERE = Path(__file__).parent


class Target(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    kind: Literal["fpga", "asic"]
    clock_mhz: float
    dram_gbps: float
    axi_data_bits: int
    # the DRAM's latency as the accelerator's AXI masters see it, in cycles of clock_mhz
    # (codesign.cost.model.MemoryTiming; sim/hdl/axi_mem_port.v simulates it)
    dram_read_latency_cycles: int = Field(ge=1)     # AR handshake -> first R beat
    dram_write_latency_cycles: int = Field(ge=1)    # last W beat -> BVALID
    dram_latency_source: str
    source: str
    part: str | None = None
    family: str | None = None
    board_part: str | None = None
    resources: dict[str, int] | None = None       # FPGA: xc7/xcup dsp, bram36, lut, ff; ecp5 mult18, dp16kd, lut4, ff
    device: str | None = None                     # ecp5: nextpnr-ecp5 device flag (85k, um5g-85k)
    package: str | None = None                    # ecp5: nextpnr-ecp5 --package
    speed: int | None = None                      # ecp5: speed grade
    pins: dict[str, str] | None = None            # ecp5: the board wrapper's clk, sin, sout sites
    pins_source: str | None = None
    process: str | None = None
    area_budget_mm2: float | None = None
    energy_pj: dict[str, float] | None = None      # ASIC tables
    area_um2: dict[str, float] | None = None

    @property
    def dram_bytes_per_cycle(self) -> float:
        return self.dram_gbps * 1e3 / self.clock_mhz


def target_names() -> list[str]:
    return sorted(p.stem for p in _HERE.glob("*.toml"))


def load_target(name: str) -> Target:
    path = _HERE / f"{name}.toml"
    if not path.is_file():
        raise CodesignError(f"unknown target {name!r}; choose one of: {', '.join(target_names())}")
    return Target.model_validate(tomllib.loads(path.read_text()))
