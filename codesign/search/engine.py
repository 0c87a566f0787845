"""The differentiable accelerator search engine.

For one network (a list of layers, each in a unit: stem, searchable layer, head) it learns:
* `boundary_logits` (max_chunks - 1, units): where each chunk boundary falls (0: nowhere), so
  the chunk count and the layer -> chunk split are both learned;
* `config_logits` (max_chunks, G): per chunk slot, a categorical over the configuration grid
  (rows x cols x dataflow x buffers x loop order, `codesign.space.accel`).
One update draws `samples` candidates at once (Gumbel-max over the boundaries, hard Gumbel-softmax
over the configurations) and scores them all with the torch path of the cost model: per-layer
cycle tables (layer x first/last-in-chunk x grid point) built once per network by
`codesign.cost.model.layer_cycles`, resources by `codesign.cost.resources`. Configurations get
straight-through Gumbel gradients of the exact cost; boundaries, whose effect is not linear,
a score-function gradient with the batch mean as baseline. Resources are a penalty against the
target. The best feasible candidate sampled is kept; `derive` returns the argmax design if it
is feasible and no worse, else that best sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from codesign.cost import layer_arrays
from codesign.cost.model import dram_bytes_per_cycle, layer_cycles, memory_timing
from codesign.cost.resources import asic_area_mm2, asic_energy_uj, fpga_resources, top_share
from codesign.design import GEMM_KINDS, Accelerator, Chunk, Dataset, DesignPoint, Layer, layer_in_bits
from codesign.errors import CodesignError
from codesign.space.accel import ConfigGrid, config_grid, unit_of_layer
from codesign.space.config import AcceleratorConfig
from codesign.targets import Target

PENALTY = 20.0        # weight of the relative resource overshoot beside log(cost)
WIDTHS = range(0, 9)  # multiplier widths indexed directly (0: an empty chunk)


@dataclass
class Candidate:
    """A discrete accelerator: chunk slot of each unit and grid point of each chunk slot."""
    chunk_of_unit: np.ndarray   # (units,)
    config: np.ndarray          # (max_chunks,)
    objective: float            # log cost (lower is better)
    feasible: bool


def probe_design(layers: list[Layer], dataset: Dataset, target: Target) -> DesignPoint:
    """A DesignPoint holding `layers` on one dummy chunk: to read their cost-model figures."""
    return DesignPoint(dataset=dataset, layers=layers, accelerator=Accelerator(
        target=target.name, clock_mhz=target.clock_mhz,
        chunks=[Chunk(first_layer=0, last_layer=len(layers) - 1, rows=1, cols=1, dataflow="os", mult_bits=8)]))


def layer_widths(design: DesignPoint) -> np.ndarray:
    """Multiplier width each layer needs: max(w_bits, in_bits) for GEMMs, 0 otherwise."""
    return np.array([max(l.w_bits, layer_in_bits(design, l)) if l.kind in GEMM_KINDS else 0
                     for l in design.layers], dtype=np.int64)


class CostTables:
    """Exact per-layer costs of one network on every grid point (float64 torch tensors)."""

    def __init__(self, design: DesignPoint, grid: ConfigGrid, target: Target, device="cpu"):
        L = layer_arrays(design).to("torch", device)
        L = type(L)(**{k: None if v is None else v[:, None, None] for k, v in vars(L).items()})   # (layers, 1, 1)
        g = {k: torch.as_tensor(v, device=device)[None, None, :] for k, v in vars(grid).items()}
        first = torch.tensor([False, False, True, True], device=device)[None, :, None]
        last = torch.tensor([False, True, False, True], device=device)[None, :, None]
        bpc = dram_bytes_per_cycle(target)
        total, _, dram = layer_cycles(L, g["rows"], g["cols"], g["ws"], g["act_buf_kib"] * 1024,
                                      g["wgt_buf_kib"] * 1024, g["weights_outer"], first, last, bpc,
                                      memory_timing(target))
        shape = (len(design.layers), 4, len(grid))
        self.cycles = torch.broadcast_to(total, shape).double().contiguous()           # (layers, 4, G)
        self.energy = None
        if target.kind == "asic":
            energy = asic_energy_uj(L.macs, L.w_bits, L.a_bits, L.macs * 2, dram * bpc, target)
            self.energy = torch.broadcast_to(energy, shape).double().contiguous()
        self.n_layers = len(design.layers)


def resource_table(grid: ConfigGrid, target: Target, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """(widths, G, resources) usage of one chunk at each multiplier width, and the capacity."""
    m = torch.tensor(list(WIDTHS), device=device)[:, None]
    g = {k: torch.as_tensor(v, device=device)[None, :] for k, v in vars(grid).items()}
    if target.kind == "fpga":
        res = fpga_resources(g["rows"], g["cols"], m, g["act_buf_kib"], g["wgt_buf_kib"], g["ws"],
                             family=target.family)
        keys = sorted(target.resources)
        table = torch.stack([torch.broadcast_to(res[k], (len(WIDTHS), len(grid))) for k in keys], -1)
        top = top_share(target.family)           # the design's share outside its chunks
        capacity = torch.tensor([float(target.resources[k] - top.get(k, 0)) for k in keys], device=device)
    else:
        area = asic_area_mm2(g["rows"], g["cols"], m, g["act_buf_kib"], g["wgt_buf_kib"], target)
        table = torch.broadcast_to(area, (len(WIDTHS), len(grid)))[..., None]
        capacity = torch.tensor([float(target.area_budget_mm2)], device=device)
    table = table.double().clone()
    table[0] = 0.0
    return table, capacity.double()


class AcceleratorEngine(torch.nn.Module):
    def __init__(self, space: AcceleratorConfig, target: Target, n_units: int, objective: str = "fps",
                 samples: int = 256, lr: float = 0.1, device="cpu"):
        super().__init__()
        if objective in ("energy", "edp") and target.kind != "asic":
            raise CodesignError(f"objective {objective!r} needs an ASIC target (energy is modelled for asic45); "
                                f"use --objective fps or latency on {target.name}")
        self.space, self.target, self.objective = space, target, objective
        self.n_units, self.samples, self.device = n_units, samples, device
        self.grid = config_grid(space)
        self.K = space.max_chunks
        self.boundary_logits = torch.nn.Parameter(torch.zeros(self.K - 1, n_units, device=device))
        self.config_logits = torch.nn.Parameter(torch.zeros(self.K, len(self.grid), device=device))
        self.res_table, self.capacity = resource_table(self.grid, target, device)
        self.optimizer = torch.optim.Adam(self.parameters(), lr=lr)
        self.best: Candidate | None = None
        self.network_key = None

    # ---- the network the engine serves ----------------------------------------------------
    def set_network(self, design: DesignPoint) -> None:
        """Build the cost tables of `design`'s layers (resets the best-sampled record on change)."""
        key = tuple((l.name, l.block, l.w_bits, l.a_bits) for l in design.layers)
        if key == self.network_key:
            return
        self.network_key, self.design, self.best = key, design, None
        self.tables = CostTables(design, self.grid, self.target, self.device)
        self.units = torch.tensor([unit_of_layer(l.name, self.n_units) for l in design.layers], device=self.device)
        self.widths = torch.as_tensor(layer_widths(design), device=self.device)

    # ---- scoring -------------------------------------------------------------------------
    def layer_chunks(self, chunk_of_unit: torch.Tensor):
        """chunk slot, first/last-in-chunk flag index (0..3) of every layer; (S, layers)."""
        chunk = chunk_of_unit[:, self.units]
        prev = F.pad(chunk, (1, 0), value=-1)[:, :-1]
        nxt = F.pad(chunk, (0, 1), value=-1)[:, 1:]
        flag = (chunk != prev).long() * 2 + (chunk != nxt).long()
        return chunk, flag

    def score(self, chunk_of_unit: torch.Tensor, configs: torch.Tensor):
        """Exact log cost (through `configs`, one-hot (S, K, G), straight-through) and feasibility."""
        S = chunk_of_unit.shape[0]
        chunk, flag = self.layer_chunks(chunk_of_unit)
        n = self.tables.n_layers
        member = torch.zeros(S, self.K, n * 4, dtype=torch.float64, device=self.device)
        col = torch.arange(n, device=self.device)[None, :] * 4 + flag
        member[torch.arange(S)[:, None], chunk, col] = 1.0
        per_grid = member @ self.tables.cycles.reshape(n * 4, -1)             # (S, K, G)
        chunk_cycles = (configs * per_grid).sum(-1)                            # (S, K)
        width = torch.zeros(S, self.K, dtype=torch.long, device=self.device)
        width.scatter_reduce_(1, chunk, self.widths[None, :].expand(S, n), reduce="amax")
        res = torch.einsum("skg,skgr->sr", configs, self.res_table[width])    # (S, resources)
        overshoot = F.relu(res / self.capacity - 1).sum(-1)
        cost = self.log_cost(chunk_cycles, member, configs)
        return cost, overshoot, chunk_cycles, res

    def log_cost(self, chunk_cycles, member, configs):
        clock = self.target.clock_mhz * 1e6
        if self.objective == "fps":
            return torch.log(chunk_cycles.amax(-1).clamp_min(1))
        latency = torch.log(chunk_cycles.sum(-1).clamp_min(1) / clock)
        if self.objective == "latency":
            return latency
        energy = (configs * (member @ self.tables.energy.reshape(member.shape[-1], -1))).sum((-1, -2))
        return torch.log(energy) + (latency if self.objective == "edp" else 0)

    # ---- sampling and updates ------------------------------------------------------------
    def chunk_of_unit(self, positions: torch.Tensor) -> torch.Tensor:
        """Boundary positions (S, K-1), 0 = none -> chunk slot of each unit (S, units)."""
        u = torch.arange(self.n_units, device=self.device)
        return ((positions[:, :, None] >= 1) & (positions[:, :, None] <= u)).sum(1)

    def sample(self, tau: float):
        S = self.samples
        gumbel = -torch.log(-torch.log(torch.rand(S, *self.boundary_logits.shape, device=self.device)))
        positions = (self.boundary_logits + gumbel).argmax(-1)                         # (S, K-1)
        log_p = torch.log_softmax(self.boundary_logits, -1).gather(1, positions.T).T.sum(-1)
        configs = F.gumbel_softmax(self.config_logits.expand(S, -1, -1), tau=tau, hard=True).double()
        return positions, log_p, configs

    def step(self, tau: float = 1.0) -> dict:
        """One batched update; returns the batch's figures."""
        positions, log_p, configs = self.sample(tau)
        units = self.chunk_of_unit(positions)
        cost, overshoot, chunk_cycles, res = self.score(units, configs)
        loss_each = cost + PENALTY * overshoot
        advantage = (loss_each - loss_each.mean()).detach()
        loss = loss_each.mean() + (advantage * log_p).mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.remember(units, configs, cost.detach(), overshoot.detach())
        return dict(loss=float(loss_each.detach().mean()), feasible=float((overshoot == 0).float().mean()))

    def remember(self, units, configs, cost, overshoot):
        feasible = overshoot == 0
        if not feasible.any():
            return
        i = int(torch.where(feasible, cost, torch.inf).argmin())
        if self.best is None or float(cost[i]) < self.best.objective:
            self.best = Candidate(units[i].cpu().numpy(), configs[i].argmax(-1).cpu().numpy(), float(cost[i]), True)

    def evaluate(self, chunk_of_unit: np.ndarray, config: np.ndarray) -> Candidate:
        units = torch.as_tensor(chunk_of_unit, device=self.device)[None]
        onehot = F.one_hot(torch.as_tensor(config, device=self.device), len(self.grid)).double()[None]
        with torch.no_grad():
            cost, overshoot, _, _ = self.score(units, onehot)
        return Candidate(np.asarray(chunk_of_unit), np.asarray(config), float(cost[0]), bool(overshoot[0] == 0))

    def search(self, steps: int, tau_start: float = 2.0, tau_end: float = 0.3) -> Candidate:
        for t in range(steps):
            self.step(tau_start * (tau_end / tau_start) ** (t / max(1, steps - 1)))
        return self.derive()

    def argmax_candidate(self) -> Candidate:
        positions = self.boundary_logits.argmax(-1)[None]
        return self.evaluate(self.chunk_of_unit(positions)[0].cpu().numpy(), self.config_logits.argmax(-1).cpu().numpy())

    def derive(self) -> Candidate:
        """argmax if it fits and is no worse than the best feasible sample, else that sample."""
        top = self.argmax_candidate()
        if top.feasible and (self.best is None or top.objective <= self.best.objective):
            return top
        if self.best is not None:
            return self.best
        raise CodesignError(f"no sampled accelerator fits {self.target.name}; allow smaller arrays or buffers "
                            f"in the config's [accelerator] section")

    # ---- to a DesignPoint ----------------------------------------------------------------
    def chunks(self, candidate: Candidate) -> list[Chunk]:
        """The candidate's chunks over the current network (empty chunk slots dropped)."""
        chunk, _ = self.layer_chunks(torch.as_tensor(candidate.chunk_of_unit, device=self.device)[None])
        chunk = chunk[0].cpu().numpy()
        widths = layer_widths(self.design)
        out = []
        for k in np.unique(chunk):
            idx = np.flatnonzero(chunk == k)
            out.append(Chunk(first_layer=int(idx[0]), last_layer=int(idx[-1]), mult_bits=max(2, int(widths[idx].max())),
                             **self.grid.describe(int(candidate.config[k]))))
        return out

    def to_design(self, candidate: Candidate) -> DesignPoint:
        acc = Accelerator(target=self.target.name, clock_mhz=self.target.clock_mhz, chunks=self.chunks(candidate))
        return self.design.model_copy(update={"accelerator": acc})
