"""The network's hardware loss: the per-layer cost of each candidate block at each multiplier
width on the accelerator the engine found best for the current network.

For the chunk that runs slot i, and each width m, the best grid configuration is the one that
runs that chunk's current layers fastest within what the other chunks leave of the target's
resources (at width m a chunk of <= 4-bit multipliers needs no DSPs, so it can be larger).
cycles[i, j, m] is then block j's layers, with m-bit weights, on that configuration. The loss weights these exact
integers by the block probabilities and by P(max(w_bits, in_bits, out_bits) = m) from the bit
probabilities, so it is differentiable in every architecture parameter.
"""

from __future__ import annotations

import torch

from codesign.cost import chain_figures, layer_figures
from codesign.cost.model import LayerArrays, dram_bytes_per_cycle, layer_cycles, memory_timing
from codesign.cost.resources import asic_energy_uj
from codesign.search.engine import AcceleratorEngine, Candidate
from codesign.space.network import block_layers, slots

SMOOTH_MAX = 10.0   # sharpness of the log-sum-exp that stands for the slowest chunk


def block_chain_figures(layers, figs) -> list[dict]:
    """`chain_figures` of one block's layers alone (block_layers(..., input_index=0,
    first_index=1): layer k is index k + 1): the block's inner links; its first layer is priced as
    loading its input and its last as storing its output (the neighbouring slots are unknown here)."""
    local = [layer.model_copy(update={"inputs": [j - 1 for j in layer.inputs]}) for layer in layers]
    return chain_figures(local, figs)


class HardwareLoss:
    def __init__(self, engine: AcceleratorEngine, candidate: Candidate, config, input_shape):
        self.engine, self.config = engine, config
        self.target, self.objective = engine.target, engine.objective
        self.widths = sorted(set(config.bits.weights) | set(config.bits.activations) | {config.bits.fixed})
        self.slots = slots(config, input_shape)
        self.slot_chunk = [int(candidate.chunk_of_unit[i + 1]) for i in range(len(self.slots))]
        self._fixed_costs(candidate)
        self._candidate_cycles(candidate)
        b = config.bits
        at = lambda bits: torch.tensor([[float(x <= m) for m in self.widths] for x in bits], dtype=torch.float64)  # noqa: E731
        self.w_cdf, self.a_cdf, self.first_cdf = at(b.weights), at(b.activations), at([b.fixed])
        self.w_values = torch.tensor(b.weights, dtype=torch.float64)
        self.a_values = torch.tensor(b.activations, dtype=torch.float64)
        self.slot_index = torch.tensor(self.slot_chunk)

    def to(self, device) -> "HardwareLoss":
        """Move every table to the network's device, so that the loss needs no host round trip."""
        for name, value in vars(self).items():
            if isinstance(value, torch.Tensor):
                setattr(self, name, value.to(device))
            elif isinstance(value, list) and value and isinstance(value[0], torch.Tensor):
                setattr(self, name, [v.to(device) for v in value])
        return self

    def _fixed_costs(self, candidate: Candidate) -> None:
        """Cycles (and energy) of the stem and head layers on their chunks, per chunk slot."""
        e = self.engine
        chunk, flag = e.layer_chunks(torch.as_tensor(candidate.chunk_of_unit)[None])
        chunk, flag = chunk[0], flag[0]
        config = torch.as_tensor(candidate.config)[chunk]
        n = e.tables.n_layers
        cycles = e.tables.cycles[torch.arange(n), flag, config]
        fixed = (e.units == 0) | (e.units == e.n_units - 1)
        self.fixed_cycles = torch.zeros(e.K, dtype=torch.float64).index_add_(0, chunk[fixed], cycles[fixed])
        self.chunk_load = torch.zeros(e.K, len(e.grid), dtype=torch.float64)
        self.chunk_load.index_add_(0, chunk, e.tables.cycles[torch.arange(n), flag])     # (K, G)
        width = torch.zeros(e.K, dtype=torch.long).scatter_reduce_(0, chunk, e.widths, reduce="amax")
        used = e.res_table[width, torch.as_tensor(candidate.config)]                   # (K, R)
        self.budget = e.capacity[None] - (used.sum(0, keepdim=True) - used)              # (K, R)
        self.fixed_energy = 0.0
        if e.tables.energy is not None:
            energy = e.tables.energy[torch.arange(n), flag, config]
            self.fixed_energy = float(energy[fixed].sum())

    def _best_configs(self, candidate: Candidate) -> torch.Tensor:
        """(K, widths) grid index of each chunk slot's best configuration at each width."""
        e = self.engine
        best = torch.as_tensor(candidate.config)[:, None].repeat(1, len(self.widths))
        for w_i, m in enumerate(self.widths):
            fits = (e.res_table[m][None] <= self.budget[:, None, :]).all(-1)             # (K, G)
            load = torch.where(fits, self.chunk_load, torch.inf)
            ok = fits.any(-1)
            best[ok, w_i] = load[ok].argmin(-1)
        return best

    def _candidate_cycles(self, candidate: Candidate) -> None:
        e, fixed = self.engine, self.config.bits.fixed
        memory = memory_timing(self.target)
        best = self._best_configs(candidate)
        g = {k: torch.as_tensor(v) for k, v in vars(e.grid).items()}
        bpc, no = dram_bytes_per_cycle(self.target), torch.tensor(False)
        self.cycles, self.macs = [], []
        for slot, k in zip(self.slots, self.slot_chunk):
            per_block, macs = [], []
            for name in slot.candidates:
                if not block_layers(name, slot, 0, 1, 8, 8, fixed):
                    per_block.append(torch.zeros(len(self.widths), dtype=torch.float64))
                    macs.append(0.0)
                    continue
                L = self._block_arrays(name, slot)
                sel = {n: v[best[k]][None, :] for n, v in g.items()}
                total, _, _ = layer_cycles(L, sel["rows"], sel["cols"], sel["ws"], sel["act_buf_kib"] * 1024,
                                           sel["wgt_buf_kib"] * 1024, sel["weights_outer"], no, no, bpc, memory)
                per_block.append(total.double().sum(0))
                macs.append(float(L.macs[:, 0].sum()))
            self.cycles.append(torch.stack(per_block))            # (candidates, widths)
            self.macs.append(torch.tensor(macs, dtype=torch.float64))

    def _block_arrays(self, name, slot) -> LayerArrays:
        """The block's layers with (layers, widths) figures: at width m its weights have m bits
        (at most 8), so that weights packed two to a byte at <= 4 bits are priced at those widths."""
        fixed = self.config.bits.fixed
        per_width = []
        for m in self.widths:
            layers = block_layers(name, slot, 0, 1, min(m, 8), 8, fixed)
            figs = [layer_figures(l, 8) for l in layers]
            per_width.append(block_chain_figures(layers, figs))
        return LayerArrays(**{f: torch.tensor([[w[i][f] for w in per_width] for i in range(len(per_width[0]))])
                              for f in per_width[0][0]})

    def width_probs(self, w_probs: torch.Tensor, a_probs: torch.Tensor) -> torch.Tensor:
        """(slots, widths): P(max(w_bits, a_bits, previous a_bits) = m) per slot."""
        fw = w_probs.double() @ self.w_cdf
        fa = a_probs.double() @ self.a_cdf
        fa_prev = torch.cat([self.first_cdf, fa[:-1]], 0)
        f = fw * fa * fa_prev
        return torch.diff(f, dim=1, prepend=torch.zeros_like(f[:, :1]))

    def chunk_cycles(self, block_probs: list[torch.Tensor], w_probs, a_probs) -> torch.Tensor:
        pm = self.width_probs(w_probs, a_probs).double()
        per_slot = [p.double() @ (c @ pm[i]) for i, (p, c) in enumerate(zip(block_probs, self.cycles))]
        return self.fixed_cycles.index_add(0, self.slot_index, torch.stack(per_slot))

    def energy_uj(self, block_probs, w_probs, a_probs) -> torch.Tensor:
        wb = w_probs.double() @ self.w_values
        ab = a_probs.double() @ self.a_values
        macs = torch.stack([p.double() @ m for p, m in zip(block_probs, self.macs)])
        return self.fixed_energy + asic_energy_uj(macs, wb, ab, 2 * macs, 0, self.target).sum()

    def __call__(self, block_probs, w_probs, a_probs) -> tuple[torch.Tensor, torch.Tensor]:
        """(log cost to minimise, slowest chunk's expected cycles)."""
        cycles = self.chunk_cycles(block_probs, w_probs, a_probs)
        slowest = torch.logsumexp(SMOOTH_MAX * torch.log(cycles.clamp_min(1)), 0) / SMOOTH_MAX
        clock = self.target.clock_mhz * 1e6
        latency = torch.log(cycles.sum() / clock)
        if self.objective == "fps":
            cost = slowest
        elif self.objective == "latency":
            cost = latency
        else:
            energy = torch.log(self.energy_uj(block_probs, w_probs, a_probs))
            cost = energy + (latency if self.objective == "edp" else 0)
        return cost, torch.exp(slowest)
