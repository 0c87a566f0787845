"""The AXI4-Lite register map: one description (regmap.toml, validated here by pydantic) rendered by
Jinja into the Verilog slave (accel_regs.v), a C header (accel_regs.h), a Python module
(accel_regs.py) and the Markdown table of docs/driver.md. tests/test_driver.py checks that the
four agree (the C header compiled and printed, the Python module imported, the Verilog simulated).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

import jinja2
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

import codesign
from codesign.errors import CodesignError

REGMAP = Path(__file__).resolve().parent / "regmap.toml"
TEMPLATES = Path(codesign.__file__).resolve().parent.parent / "templates" / "driver"
RESP = {"okay": 0, "slverr": 2, "decerr": 3}


class Field(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    lsb: int
    width: int = 1
    doc: str

    @property
    def mask(self) -> int:
        return ((1 << self.width) - 1) << self.lsb


class Register(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    offset: int
    access: Literal["ro", "rw", "pulse", "w1c"]
    doc: str
    lock: bool = False
    const: bool = False
    reset: int = 0
    reset_param: bool = False
    count: str | None = None
    fields: list[Field] = []

    @model_validator(mode="after")
    def _check(self):
        if self.offset % 4:
            raise ValueError(f"register {self.name}: offset {self.offset:#x} is not a multiple of 4")
        if self.const and self.access != "ro":
            raise ValueError(f"register {self.name}: only a ro register can be const")
        if (self.reset or self.reset_param) and self.access != "rw":
            raise ValueError(f"register {self.name}: only a rw register has a reset value")
        if self.count and (self.access != "ro" or self.const):
            raise ValueError(f"register {self.name}: only a ro register fed by the core can be an array")
        used = 0
        for f in self.fields:
            if f.lsb < 0 or f.width < 1 or f.lsb + f.width > 32 or used & f.mask:
                raise ValueError(f"register {self.name}: field {f.name} is outside 32 bits or overlaps another")
            used |= f.mask
        return self

    @property
    def word(self) -> int:
        return self.offset // 4

    @property
    def param(self) -> str:
        """The Verilog parameter of a const register or of a rw register's reset value."""
        return self.name.upper() + ("_RESET" if self.reset_param else "")


class RegMap(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    name: str
    addr_bits: int
    reg: list[Register]

    @model_validator(mode="after")
    def _check(self):
        seen = {}
        for r in self.reg:
            if r.offset >= 1 << self.addr_bits:
                raise ValueError(f"register {r.name}: offset {r.offset:#x} is outside the {self.addr_bits}-bit map")
            if r.offset in seen or r.name in {s.name for s in seen.values()}:
                raise ValueError(f"register {r.name}: its offset or name is used twice")
            seen[r.offset] = r
        consts = {r.name for r in self.reg if r.const}
        arrays = [r for r in self.reg if r.count]
        for a in arrays:
            if a.count not in consts:
                raise ValueError(f"register {a.name}: count {a.count!r} names no const register")
            if any(r.offset > a.offset for r in self.reg):
                raise ValueError(f"register {a.name}: an array must be the last register (it runs to the map's end)")
        return self


def load(path: Path = REGMAP) -> RegMap:
    try:
        return RegMap.model_validate(tomllib.loads(Path(path).read_text()))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CodesignError(f"{path}: cannot read the register map ({e})") from e
    except ValidationError as e:
        first = e.errors()[0]
        raise CodesignError(f"{path}: {first['msg']} (at {'.'.join(map(str, first['loc']))}); fix the register map")


def _env() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                              keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)


def render(rm: RegMap, template: str) -> str:
    """One of accel_regs.v.j2, accel_regs.h.j2, accel_regs.py.j2 rendered from the map."""
    return _env().get_template(template).render(rm=rm, resp=RESP, source="codesign/driver/regmap.toml")


def markdown(rm: RegMap) -> str:
    """The table of docs/driver.md."""
    rows = ["| offset | name | access | meaning |", "|---|---|---|---|"]
    for r in rm.reg:
        off = f"`{r.offset:#05x} + 4*i`" if r.count else f"`{r.offset:#05x}`"
        acc = r.access + (", locked while busy" if r.lock else "") + (", constant" if r.const else "")
        if r.access == "rw":
            acc += ", reset: the IR's map" if r.reset_param else f", reset {r.reset}"
        bits = "; ".join(f"{f.name.upper()} [{f.lsb + f.width - 1}:{f.lsb}]" if f.width > 1
                         else f"{f.name.upper()} [{f.lsb}]" for f in r.fields)
        rows.append(f"| {off} | {r.name.upper()} | {acc} | {r.doc}{': ' + bits if bits else ''} |")
    return "\n".join(rows) + "\n"


__all__ = ["Field", "RegMap", "Register", "load", "markdown", "render"]
