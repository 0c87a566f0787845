"""The DesignPoint: the one hand-off from search to training, the backends and simulation.

A DesignPoint is a JSON file (`design.json`) holding the dataset, the ordered layer list with
the chosen block and bitwidths of each layer, the accelerator (chunks of systolic arrays), the
cost model's predictions and, optionally, the path of trained integer weights. It is validated
on load; a bad file raises a CodesignError naming the field.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from codesign.errors import CodesignError
from codesign.files import write_text

SCHEMA_VERSION = 1

Bits = Annotated[int, Field(ge=2, le=8)]
Dim = Annotated[int, Field(ge=1)]
Shape = tuple[Dim, Dim, Dim]  # (H, W, C), channels last
LayerKind = Literal["conv", "dwconv", "fc", "avgpool", "maxpool", "add"]
GEMM_KINDS = ("conv", "dwconv", "fc")


def chunk_units(kinds) -> dict[str, int]:
    """Which of a chunk's units its layer kinds use: the array (gemm), the vector lanes (vec:
    pooling, add) and the add's input scaling (add). The RTL builds, and the resource model
    counts, only these."""
    kinds = set(kinds)
    return {"gemm": int(bool(kinds & set(GEMM_KINDS))), "vec": int(bool(kinds - set(GEMM_KINDS))),
            "add": int("add" in kinds)}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Dataset(_Strict):
    name: str
    input_shape: Shape
    num_classes: Dim


class Layer(_Strict):
    """One layer. Activations are HWC; `a_bits` is the precision of this layer's output.

    `inputs` index earlier layers; -1 is the network input. Only `add` has two inputs.
    A layer's output is unsigned when `relu` is set, signed otherwise.
    `avgpool` is a global average pool (out 1x1xC); `maxpool` uses `kernel` and `stride`.
    """

    name: str
    kind: LayerKind
    inputs: list[int]
    in_shape: Shape
    out_shape: Shape
    kernel: Dim = 1
    stride: Dim = 1
    padding: Annotated[int, Field(ge=0)] = 0
    relu: bool = False
    w_bits: Bits | None = None
    a_bits: Bits = 8
    block: str = "fixed"

    @model_validator(mode="after")
    def _check_shapes(self) -> "Layer":
        h, w, c = self.in_shape
        oh, ow, oc = self.out_shape
        if self.kind in GEMM_KINDS and self.w_bits is None:
            raise ValueError(f"layer {self.name!r}: a {self.kind} layer needs w_bits")
        if self.kind in ("conv", "dwconv", "maxpool"):
            eh = (h + 2 * self.padding - self.kernel) // self.stride + 1
            ew = (w + 2 * self.padding - self.kernel) // self.stride + 1
            if (oh, ow) != (eh, ew):
                raise ValueError(f"layer {self.name!r}: out_shape {self.out_shape} does not follow "
                                 f"from in_shape {self.in_shape}, kernel {self.kernel}, "
                                 f"stride {self.stride}, padding {self.padding} (expected {eh}x{ew})")
        if self.kind in ("dwconv", "maxpool", "add") and oc != c:
            raise ValueError(f"layer {self.name!r}: a {self.kind} layer keeps its channel count")
        if self.kind in ("fc", "avgpool") and (oh, ow) != (1, 1):
            raise ValueError(f"layer {self.name!r}: a {self.kind} layer outputs 1x1xC")
        if self.kind == "add" and (len(self.inputs) != 2 or self.in_shape != self.out_shape):
            raise ValueError(f"layer {self.name!r}: add takes two inputs of its own shape")
        if self.kind != "add" and len(self.inputs) != 1:
            raise ValueError(f"layer {self.name!r}: a {self.kind} layer takes one input")
        return self

    @property
    def signed_output(self) -> bool:
        return not self.relu

    def gemm(self) -> tuple[int, int, int, int]:
        """(M, N, K, G) in SCALE-Sim's convention; G GEMMs of M x N x K (G > 1 for depthwise)."""
        h, w, c = self.in_shape
        oh, ow, oc = self.out_shape
        if self.kind == "conv":
            return oh * ow, oc, self.kernel * self.kernel * c, 1
        if self.kind == "dwconv":
            return oh * ow, 1, self.kernel * self.kernel, c
        if self.kind == "fc":
            return 1, oc, h * w * c, 1
        raise ValueError(f"layer {self.name!r} ({self.kind}) is not a GEMM")

    @property
    def macs(self) -> int:
        if self.kind not in GEMM_KINDS:
            return 0
        m, n, k, g = self.gemm()
        return m * n * k * g

    @property
    def weight_count(self) -> int:
        if self.kind not in GEMM_KINDS:
            return 0
        _, n, k, g = self.gemm()
        return n * k * g


class Chunk(_Strict):
    """One systolic array and the contiguous layer range [first_layer, last_layer] it runs."""

    first_layer: Annotated[int, Field(ge=0)]
    last_layer: Annotated[int, Field(ge=0)]
    rows: Dim
    cols: Dim
    dataflow: Literal["os", "ws"]
    mult_bits: Bits = 8
    act_buf_kib: Dim = 64
    wgt_buf_kib: Dim = 64
    # When a layer's activations do not fit act_buf: "weights_outer" keeps a weight tile on chip
    # and re-reads the input per tile; "inputs_outer" keeps an input tile and re-reads weights.
    loop_order: Literal["weights_outer", "inputs_outer"] = "weights_outer"


class Accelerator(_Strict):
    target: str
    clock_mhz: Annotated[float, Field(gt=0)]
    chunks: list[Chunk] = Field(min_length=1)


class Predicted(_Strict):
    """What the cost model predicted for this design (written by `search` or `cost design`)."""

    layer_cycles: list[int]
    chunk_cycles: list[int]
    fps: float
    latency_ms: float
    resources: dict[str, float]


class DesignPoint(_Strict):
    version: Literal[1] = SCHEMA_VERSION
    name: str = "design"
    dataset: Dataset
    layers: list[Layer] = Field(min_length=1)
    accelerator: Accelerator
    predicted: Predicted | None = None
    weights: str | None = None  # .npz of integer weights, relative to the design file
    accuracy: dict[str, float] | None = None
    split_seed: int | None = None   # the seed of the data split the search used; `train` uses it too

    @model_validator(mode="after")
    def _check_graph(self) -> "DesignPoint":
        for i, layer in enumerate(self.layers):
            for j in layer.inputs:
                if not -1 <= j < i:
                    raise ValueError(f"layer {i} ({layer.name!r}): input {j} is not an earlier layer")
                src = self.dataset.input_shape if j == -1 else self.layers[j].out_shape
                if tuple(src) != tuple(layer.in_shape):
                    raise ValueError(f"layer {i} ({layer.name!r}): in_shape {layer.in_shape} "
                                     f"differs from its input's shape {src}")
        expected = 0
        for c, chunk in enumerate(self.accelerator.chunks):
            if chunk.first_layer != expected or chunk.last_layer < chunk.first_layer:
                raise ValueError(f"accelerator.chunks.{c}: layer range [{chunk.first_layer}, "
                                 f"{chunk.last_layer}] must start at layer {expected} and not be empty")
            expected = chunk.last_layer + 1
        if expected != len(self.layers):
            raise ValueError(f"accelerator.chunks: cover layers 0..{expected - 1} but the network "
                             f"has {len(self.layers)} layers")
        for c, chunk in enumerate(self.accelerator.chunks):
            for layer in self.layers[chunk.first_layer:chunk.last_layer + 1]:
                if layer.w_bits and max(layer.w_bits, layer_in_bits(self, layer)) > chunk.mult_bits:
                    raise ValueError(f"accelerator.chunks.{c}: mult_bits {chunk.mult_bits} is narrower "
                                     f"than layer {layer.name!r} needs")
        return self

    def chunk_of(self, layer_index: int) -> int:
        for c, chunk in enumerate(self.accelerator.chunks):
            if chunk.first_layer <= layer_index <= chunk.last_layer:
                return c
        raise IndexError(layer_index)

    def digest(self) -> str:
        """Short hash of everything but the predictions: names build folders and manifests."""
        body = self.model_dump(mode="json", exclude={"predicted", "accuracy", "split_seed"})
        return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:12]


INPUT_BITS = 8  # the network input is unsigned 8-bit


def layer_in_bits(design: DesignPoint, layer: Layer) -> int:
    """Bits of the layer's (first) input activation."""
    j = layer.inputs[0]
    return INPUT_BITS if j == -1 else design.layers[j].a_bits


def layer_in_signed(design: DesignPoint, layer: Layer) -> bool:
    j = layer.inputs[0]
    return False if j == -1 else design.layers[j].signed_output


def _describe(err: ValidationError) -> str:
    first = err.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    return f"field '{where}': {first['msg']}"


def load_design(path: str | Path) -> DesignPoint:
    """Read and validate a design file in pydantic's strict mode: "4" is not an int, 4.0 is not a bool."""
    path = Path(path)
    if not path.is_file():
        raise CodesignError(f"{path}: no such design file; run `codesign search` or start from examples/")
    try:
        text = path.read_bytes().decode("utf-8")
        raw = json.loads(text)
    except UnicodeDecodeError as e:
        raise CodesignError(f"{path}: not a text file (byte {e.start} is not UTF-8); give the design.json "
                            f"that `codesign search` wrote") from None
    except json.JSONDecodeError as e:
        raise CodesignError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from None
    except RecursionError:
        raise CodesignError(f"{path}: JSON nested too deeply to be a design") from None
    if not isinstance(raw, dict):
        raise CodesignError(f"{path}: a design is a JSON object, this file holds a {type(raw).__name__}")
    if raw.get("version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise CodesignError(f"{path}: design version {raw.get('version')!r} is not supported "
                            f"(this codesign reads version {SCHEMA_VERSION})")
    try:
        return DesignPoint.model_validate_json(text, strict=True)
    except ValidationError as e:
        raise CodesignError(f"{path}: {_describe(e)}") from None


def save_design(design: DesignPoint, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text(path, design.model_dump_json(indent=2) + "\n")
