"""The search config: a TOML file (presets in codesign/configs/<dataset>.toml), validated on load."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from codesign.errors import CodesignError

PRESETS = Path(__file__).resolve().parent.parent / "configs"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DatasetConfig(_Strict):
    name: str = "digits"
    input_size: tuple[int, int] | None = None     # imagefolder only


class Stage(_Strict):
    channels: int = Field(ge=1)
    layers: int = Field(ge=1)
    stride: Literal[1, 2] = 1


class NetworkConfig(_Strict):
    stem_channels: int = Field(ge=1)
    stem_stride: Literal[1, 2] = 1
    head_channels: int = Field(default=0, ge=0)
    stages: list[Stage] = Field(min_length=1)
    kernels: list[Literal[3, 5, 7]] = [3, 5]
    expansions: list[int] = [1, 3, 6]
    skip: bool = True


class BitsConfig(_Strict):
    weights: list[int] = [4, 6, 8]
    activations: list[int] = [4, 6, 8]
    fixed: int = Field(default=8, ge=2, le=8)


class AcceleratorConfig(_Strict):
    max_chunks: int = Field(default=3, ge=1)
    rows: list[int] = [4, 8, 16, 32]
    cols: list[int] = [4, 8, 16, 32]
    dataflows: list[Literal["os", "ws"]] = ["os", "ws"]
    act_buf_kib: list[int] = [8, 16, 32, 64, 128]
    wgt_buf_kib: list[int] = [4, 8, 16, 32, 64]
    loop_orders: list[Literal["weights_outer", "inputs_outer"]] = ["weights_outer", "inputs_outer"]


class SearchSettings(_Strict):
    epochs: int = Field(default=24, ge=1)
    warmup_epochs: int = Field(default=4, ge=0)
    steps_per_epoch: int = Field(default=0, ge=0)
    batch: int = Field(default=64, ge=1)
    weight_lr: float = 0.003
    arch_lr: float = 0.01
    accel_lr: float = 0.1
    hw_weight: float = 0.2
    lagrange_lr: float = 0.05
    tau_start: float = 5.0
    tau_end: float = 0.5
    accel_samples: int = Field(default=256, ge=1)
    accel_steps: int = Field(default=20, ge=1)
    final_accel_steps: int = Field(default=150, ge=1)
    objective: Literal["fps", "latency", "energy", "edp"] = "fps"
    paths: int = Field(default=2, ge=1)             # active blocks per slot in the arch step (2: proxy_hard)
    checks_per_epoch: int = Field(default=1, ge=1)  # derived-network checks (accelerator, FPS, target)
    weight_optimizer: Literal["adam", "sgd"] = "adam"
    momentum: float = 0.9                           # sgd only
    weight_decay: float = Field(default=0.0, ge=0)
    grad_clip: float = Field(default=0.0, ge=0)     # max gradient norm of the weight step; 0: none
    lr_schedule: Literal["constant", "cosine"] = "constant"
    augment: bool = False                           # random crop (pad 4) + horizontal flip
    workers: int = Field(default=0, ge=0)           # DataLoader worker processes
    compile: bool = False                           # torch.compile each candidate block (for GPUs)


class SearchConfig(_Strict):
    dataset: DatasetConfig = DatasetConfig()
    network: NetworkConfig
    bits: BitsConfig = BitsConfig()
    accelerator: AcceleratorConfig = AcceleratorConfig()
    search: SearchSettings = SearchSettings()


def preset_path(dataset: str) -> Path:
    name = {"imagefolder": "imagenet"}.get(dataset, dataset)
    path = PRESETS / f"{name}.toml"
    if not path.is_file():
        names = ", ".join(sorted(p.stem for p in PRESETS.glob("*.toml")))
        raise CodesignError(f"no search preset for dataset {dataset!r}; pass --config FILE or use one of: {names}")
    return path


def load_config(path: str | Path | None = None, dataset: str | None = None) -> SearchConfig:
    """Read a config file, or the preset of `dataset` (default digits)."""
    path = Path(path) if path else preset_path(dataset or "digits")
    if not path.is_file():
        raise CodesignError(f"{path}: no such search config; start from {PRESETS / 'digits.toml'}")
    try:
        config = SearchConfig.model_validate(tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as e:
        raise CodesignError(f"{path}: not valid TOML ({e})") from None
    except ValidationError as e:
        first = e.errors()[0]
        raise CodesignError(f"{path}: field '{'.'.join(map(str, first['loc']))}': {first['msg']}") from None
    if dataset and dataset != config.dataset.name:
        config.dataset.name = dataset
    return config
