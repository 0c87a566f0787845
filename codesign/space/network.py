"""The network space: an FBNet-style supernet of searchable layers, and its expansion to layers.

Each searchable layer ("slot") chooses one block: MBConv(k, e, stride) = [1x1 expand + ReLU
(only if e > 1)] -> k x k depthwise, stride, ReLU -> 1x1 project (linear, signed) -> add with
the block input (only when stride 1 and channels equal), or skip (only where stride 1 and
channels equal: no layers). Stem: 3x3 conv + ReLU; head: optional 1x1 conv + ReLU, global
average pool, fc. Weight and activation bits are chosen per slot and shared by its layers;
stem, head, add and pool layers use the config's fixed bits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from codesign.design import Layer
from codesign.space.config import SearchConfig
from codesign.space.quantizers import mixed_act_quant, mixed_weight_quant

SKIP = "skip"


@dataclass(frozen=True)
class Slot:
    """One searchable layer: its input and output shape and the blocks it may choose."""
    index: int
    in_shape: tuple[int, int, int]
    out_shape: tuple[int, int, int]
    stride: int
    candidates: tuple[str, ...]


def block_name(kernel: int, expansion: int) -> str:
    return f"mb_k{kernel}_e{expansion}"


def parse_block(name: str) -> tuple[int, int]:
    k, e = name.removeprefix("mb_k").split("_e")
    return int(k), int(e)


def conv_out(size: int, kernel: int, stride: int) -> int:
    return (size + 2 * (kernel // 2) - kernel) // stride + 1


def stem_shape(config: SearchConfig, input_shape) -> tuple[int, int, int]:
    h, w, _ = input_shape
    s = config.network.stem_stride
    return conv_out(h, 3, s), conv_out(w, 3, s), config.network.stem_channels


def slots(config: SearchConfig, input_shape) -> list[Slot]:
    net = config.network
    shape = stem_shape(config, input_shape)
    out = []
    for stage in net.stages:
        for j in range(stage.layers):
            stride = stage.stride if j == 0 else 1
            h, w, c = shape
            new = (conv_out(h, 3, stride), conv_out(w, 3, stride), stage.channels)
            names = [block_name(k, e) for k in net.kernels for e in net.expansions]
            if net.skip and stride == 1 and c == stage.channels:
                names.append(SKIP)
            out.append(Slot(len(out), shape, new, stride, tuple(names)))
            shape = new
    return out


# ---- expansion of chosen blocks into DesignPoint layers -------------------------------------

def block_layers(name: str, slot: Slot, input_index: int, first_index: int, w_bits: int, a_bits: int,
                 fixed_bits: int) -> list[Layer]:
    """The layers of block `name` in `slot`; `input_index` is the layer feeding it."""
    if name == SKIP:
        return []
    k, e = parse_block(name)
    h, w, c = slot.in_shape
    oh, ow, oc = slot.out_shape
    hidden = c * e
    i, layers, src = slot.index, [], input_index
    common = dict(w_bits=w_bits, a_bits=a_bits, block=name)
    if e > 1:
        layers.append(Layer(name=f"s{i}_expand", kind="conv", inputs=[src], in_shape=(h, w, c),
                            out_shape=(h, w, hidden), relu=True, **common))
        src = first_index + len(layers) - 1
    layers.append(Layer(name=f"s{i}_dw", kind="dwconv", inputs=[src], in_shape=(h, w, hidden),
                        out_shape=(oh, ow, hidden), kernel=k, stride=slot.stride, padding=k // 2, relu=True,
                        **common))
    src = first_index + len(layers) - 1
    layers.append(Layer(name=f"s{i}_project", kind="conv", inputs=[src], in_shape=(oh, ow, hidden),
                        out_shape=(oh, ow, oc), **common))
    if slot.stride == 1 and c == oc:
        layers.append(Layer(name=f"s{i}_add", kind="add", inputs=[input_index, first_index + len(layers) - 1],
                            in_shape=(oh, ow, oc), out_shape=(oh, ow, oc), a_bits=fixed_bits, block=name))
    return layers


def expand_layers(config: SearchConfig, input_shape, num_classes: int, blocks: list[str],
                  w_bits: list[int], a_bits: list[int]) -> list[Layer]:
    """The whole network's layer list for one choice of block and bits per slot."""
    fixed = config.bits.fixed
    input_shape = tuple(input_shape)
    shape = stem_shape(config, input_shape)
    layers = [Layer(name="stem", kind="conv", inputs=[-1], in_shape=input_shape, out_shape=shape, kernel=3,
                    stride=config.network.stem_stride, padding=1, relu=True, w_bits=fixed, a_bits=fixed,
                    block="stem")]
    for slot, name, wb, ab in zip(slots(config, input_shape), blocks, w_bits, a_bits):
        layers += block_layers(name, slot, len(layers) - 1, len(layers), wb, ab, fixed)
        shape = slot.out_shape
    h, w, c = shape
    if config.network.head_channels:
        c = config.network.head_channels
        layers.append(Layer(name="head_conv", kind="conv", inputs=[len(layers) - 1], in_shape=shape,
                            out_shape=(h, w, c), relu=True, w_bits=fixed, a_bits=fixed, block="head"))
    layers.append(Layer(name="gap", kind="avgpool", inputs=[len(layers) - 1], in_shape=(h, w, c),
                        out_shape=(1, 1, c), a_bits=fixed, block="head"))
    layers.append(Layer(name="fc", kind="fc", inputs=[len(layers) - 1], in_shape=(1, 1, c),
                        out_shape=(1, 1, num_classes), w_bits=fixed, a_bits=fixed, block="head"))
    return layers


# ---- the supernet -----------------------------------------------------------------------------

class ConvOp(nn.Module):
    """The one convolution of a layer (a module so that tests can count its calls with a hook)."""

    def __init__(self, stride: int, padding: int, groups: int):
        super().__init__()
        self.stride, self.padding, self.groups = stride, padding, groups

    def forward(self, x, weight):
        # On CUDA the convolution runs in bf16 (tensor cores); the quantisers around it stay fp32.
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=x.is_cuda):
            y = F.conv2d(x, weight, None, self.stride, self.padding, 1, self.groups)
        return y.float()


class QConv(nn.Module):
    """Conv + BatchNorm (+ ReLU) whose weights and output are quantised at a soft mix of widths:
    the quantised weights of every width are mixed before the ONE convolution, and the
    quantised outputs of every width are mixed in one fused op."""

    def __init__(self, cin: int, cout: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(cout, cin // groups, kernel, kernel))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.conv = ConvOp(stride, kernel // 2, groups)
        self.bn = nn.BatchNorm2d(cout)
        self.relu = relu
        self.clip = nn.Parameter(torch.tensor(4.0))   # activation range: scale = clip / qmax(bits)

    def forward(self, x, w_probs, w_bits, a_probs, a_bits):
        y = self.bn(self.conv(x, mixed_weight_quant(self.weight, w_probs, w_bits)))
        if self.relu:
            y = F.relu(y)
        return mixed_act_quant(y, a_probs, self.clip, a_bits, not self.relu)


class MBConv(nn.Module):
    def __init__(self, slot: Slot, kernel: int, expansion: int):
        super().__init__()
        c, oc = slot.in_shape[2], slot.out_shape[2]
        hidden = c * expansion
        self.expand = QConv(c, hidden) if expansion > 1 else None
        self.dw = QConv(hidden, hidden, kernel, slot.stride, groups=hidden)
        self.project = QConv(hidden, oc, relu=False)
        self.residual = slot.stride == 1 and c == oc
        if self.residual:   # start as the identity, so that an untrained sampled block does no harm
            nn.init.zeros_(self.project.bn.weight)
        self.add_clip = nn.Parameter(torch.tensor(4.0)) if self.residual else None

    def forward(self, x, w_probs, w_bits, a_probs, a_bits, fixed_probs, fixed_bits):
        y = x if self.expand is None else self.expand(x, w_probs, w_bits, a_probs, a_bits)
        y = self.project(self.dw(y, w_probs, w_bits, a_probs, a_bits), w_probs, w_bits, a_probs, a_bits)
        if self.residual:
            y = mixed_act_quant(x + y, fixed_probs, self.add_clip, fixed_bits, True)
        return y


class Supernet(nn.Module):
    """All candidate blocks of every slot; `forward` runs the one sampled block per slot."""

    def __init__(self, config: SearchConfig, input_shape, num_classes: int):
        super().__init__()
        self.config, self.input_shape, self.num_classes = config, tuple(input_shape), num_classes
        self.slots = slots(config, input_shape)
        net = config.network
        self.w_bits, self.a_bits = tuple(config.bits.weights), tuple(config.bits.activations)
        self.fixed_bits = (config.bits.fixed,)
        self.register_buffer("fixed_probs", torch.ones(1))
        self.stem = QConv(input_shape[2], net.stem_channels, 3, net.stem_stride)
        self.blocks = nn.ModuleList(
            nn.ModuleList(nn.Identity() if name == SKIP else MBConv(slot, *parse_block(name))
                          for name in slot.candidates) for slot in self.slots)
        c = self.slots[-1].out_shape[2] if self.slots else net.stem_channels
        self.head = QConv(c, net.head_channels) if net.head_channels else None
        c = net.head_channels or c
        self.pool_clip = nn.Parameter(torch.tensor(4.0))
        self.fc = nn.Linear(c, num_classes)
        # architecture parameters: block logits, weight-bit and activation-bit logits per slot
        self.alpha = nn.ParameterList(nn.Parameter(torch.zeros(len(s.candidates))) for s in self.slots)
        self.beta_w = nn.Parameter(torch.zeros(len(self.slots), len(self.w_bits)))
        self.beta_a = nn.Parameter(torch.zeros(len(self.slots), len(self.a_bits)))

    def compile_blocks(self) -> None:
        """torch.compile every candidate block in place (state_dict names unchanged). The bit
        tuples are constants and the sampling happens before the forward, so a block's graph has
        no data-dependent branch; a second batch shape (validation) compiles once more, dynamic."""
        for block in self.blocks.modules():
            if isinstance(block, MBConv):
                block.compile()

    def arch_parameters(self) -> list[nn.Parameter]:
        return [*self.alpha, self.beta_w, self.beta_a]

    def weight_parameters(self) -> list[nn.Parameter]:
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    def forward(self, x: torch.Tensor, paths: list[list[tuple[int, torch.Tensor | None]]], w_probs: torch.Tensor,
                a_probs: torch.Tensor) -> torch.Tensor:
        """paths[i]: slot i's active blocks as (index, gate); the slot outputs sum(gate * block(x))
        (gate None: 1). Indices are plain ints sampled before the forward, so it never waits on
        the device. w_probs / a_probs: (slots, bits) mixtures (hard one-hots when sampled)."""
        one, fixed = self.fixed_probs, self.fixed_bits
        x = self.stem(x, one, fixed, one, fixed)
        for i, (candidates, active) in enumerate(zip(self.blocks, paths)):
            y = None
            for j, gate in active:
                block = candidates[j]
                out = x if isinstance(block, nn.Identity) else block(x, w_probs[i], self.w_bits, a_probs[i],
                                                                     self.a_bits, one, fixed)
                out = out if gate is None else out * gate
                y = out if y is None else y + out
            x = y
        if self.head is not None:
            x = self.head(x, one, fixed, one, fixed)
        x = mixed_act_quant(x.mean(dim=(2, 3)), one, self.pool_clip, fixed, True)
        w = mixed_weight_quant(self.fc.weight, one, fixed)
        return F.linear(x, w, self.fc.bias)

    def padded_alpha(self) -> torch.Tensor:
        """(slots, most candidates) block logits, -inf where a slot has fewer candidates."""
        n = max(len(a) for a in self.alpha)
        return torch.stack([F.pad(a, (0, n - len(a)), value=-math.inf) for a in self.alpha])

    def sample_paths(self, tau: float, active: int, gated: bool, generator: torch.Generator | None = None):
        """Hard Gumbel top-`active` paths per slot (Auto-NBA's proxy_hard): the forward value is the
        first path's output; every path's gate is the straight-through hard one-hot minus the soft
        sample plus the soft sample (1 for the first, 0 for the others in value), so the block
        logits get the gradient of each active path. One device-to-host copy per call."""
        logits = self.padded_alpha()
        u = torch.rand(logits.shape, generator=generator).to(logits.device)
        y = (logits - torch.log(-torch.log(u.clamp(1e-20, 1 - 1e-7)))) / tau
        top = y.detach().topk(min(active, y.shape[1]), -1).indices.cpu().tolist()
        top = [[j for j in row if j < len(a)] for row, a in zip(top, self.alpha)]   # not the -inf padding
        if not gated:
            return [[(row[0], None)] for row in top]
        soft = F.softmax(y, -1)
        gate = F.one_hot(torch.as_tensor([row[0] for row in top], device=soft.device), soft.shape[1]) \
            - soft.detach() + soft
        return [[(j, gate[i, j]) for j in row] for i, row in enumerate(top)]

    def argmax_paths(self) -> list[list[tuple[int, None]]]:
        return [[(j, None)] for j in self.padded_alpha().argmax(-1).cpu().tolist()]
