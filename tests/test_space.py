"""The network space: slots, expansion to DesignPoint layers, one active block, one conv per layer."""

import pytest
import torch

from codesign.design import Dataset
from codesign.quant import act_bounds, fake_quant_act
from codesign.search.engine import probe_design
from codesign.space.config import load_config
from codesign.space.network import SKIP, ConvOp, MBConv, Supernet, expand_layers, slots
from codesign.space.quantizers import mixed_act_quant
from codesign.targets import load_target

DIGITS = Dataset(name="digits", input_shape=(16, 16, 1), num_classes=10)


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_presets_load_and_cifar_has_22_searchable_layers():
    assert len(slots(load_config(dataset="cifar100"), (32, 32, 3))) == 22
    assert len(slots(load_config(dataset="imagefolder"), (224, 224, 3))) == 22
    digits = slots(load_config(dataset="digits"), (16, 16, 1))
    assert len(digits) == 6
    for s in digits:   # skip only where the shapes allow it
        assert (SKIP in s.candidates) == (s.stride == 1 and s.in_shape[2] == s.out_shape[2])
        assert len([c for c in s.candidates if c != SKIP]) == 6


def test_expansion_follows_the_block_rules_and_validates():
    config = load_config(dataset="digits")
    sl = slots(config, (16, 16, 1))
    blocks = ["mb_k3_e1", "mb_k5_e6", "mb_k3_e3", SKIP, "mb_k5_e3", "mb_k3_e6"][:len(sl)]
    blocks = [b if b in s.candidates else s.candidates[0] for b, s in zip(blocks, sl)]
    layers = expand_layers(config, (16, 16, 1), 10, blocks, [4, 6, 8, 4, 6, 8], [8, 6, 4, 8, 6, 4])
    design = probe_design(layers, DIGITS, load_target("zc706"))   # validates shapes and inputs
    names = [l.name for l in design.layers]
    assert names[0] == "stem" and names[-3:] == ["head_conv", "gap", "fc"]
    assert "s0_expand" not in names and "s1_expand" in names        # e = 1 has no expand
    if blocks[3] == SKIP:
        assert not any(n.startswith("s3_") for n in names)
    for l in design.layers:
        if l.name.endswith("_project"):
            assert not l.relu                                         # linear bottleneck
        if l.name.endswith("_add"):
            assert not l.relu and l.a_bits == 8 and len(l.inputs) == 2
        if l.name.endswith("_dw"):
            assert l.padding == l.kernel // 2 and l.relu
    assert design.layers[names.index("s1_dw")].kernel == 5
    assert all(l.a_bits == 8 and l.w_bits in (None, 8) for l in design.layers if l.block in ("stem", "head"))


def _count_calls(modules):
    counts = {"n": 0}
    for m in modules:
        m.register_forward_hook(lambda *_: counts.__setitem__("n", counts["n"] + 1))
    return counts


def test_sampling_runs_one_block_per_layer():
    torch.manual_seed(0)
    config = load_config(dataset="digits")
    net = Supernet(config, (16, 16, 1), 10)
    calls = [_count_calls([b for b in cands if isinstance(b, MBConv)]) for cands in net.blocks]
    for _ in range(5):
        paths = net.sample_paths(1.0, 1, gated=False)
        for c in calls:
            c["n"] = 0
        net(torch.rand(2, 1, 16, 16), paths, torch.softmax(net.beta_w, 1), torch.softmax(net.beta_a, 1))
        for slot, active, c in zip(net.slots, paths, calls):
            assert len(active) == 1
            assert c["n"] == (0 if slot.candidates[active[0][0]] == SKIP else 1)


def test_top2_paths_forward_the_first_and_send_gradient_to_both():
    """proxy_hard: the output is the first sampled block's alone; both sampled blocks' logits get
    a gradient, and it is the one of each path's output (d loss / d gate_j = <grad, block_j(x)>)."""
    torch.manual_seed(0)
    config = load_config(dataset="digits")
    net = Supernet(config, (16, 16, 1), 10)
    for p in net.parameters():                       # non-identity residual blocks, so paths differ
        if p.dim() == 1 and p.shape[0] > 1:
            torch.nn.init.normal_(p, 1.0, 0.3)
    x = torch.rand(4, 1, 16, 16)
    bits = torch.softmax(net.beta_w, 1).detach()
    grads = {}
    for active in (2, 1):
        torch.manual_seed(1)                           # the same Gumbel draw both times
        paths = net.sample_paths(1.0, 2, gated=True)
        used = [p[:active] for p in paths]
        net.zero_grad()
        out = net(x, used, bits, bits)
        if active == 2:
            first = net(x, [[(p[0][0], None)] for p in paths], bits, bits)
            assert torch.allclose(out, first, atol=1e-6)    # forward value: the first path's alone
        out.square().sum().backward()
        grads[active] = [a.grad.clone() for a in net.alpha]
    for g2, g1, p in zip(grads[2], grads[1], paths):
        (j1, _), (j2, _) = p
        assert j1 != j2 and g2[j1] != 0 and g2[j2] != 0
        assert not torch.allclose(g2, g1)               # the second path adds its own gradient


def test_bitwidth_mixture_costs_one_conv_per_layer():
    torch.manual_seed(0)
    counts = []
    for bits in ([8], [2, 3, 4, 5, 6, 7, 8]):
        config = load_config(dataset="digits")
        config.bits.weights = config.bits.activations = bits
        net = Supernet(config, (16, 16, 1), 10)
        calls = _count_calls([m for m in net.modules() if isinstance(m, ConvOp)])
        paths = [[(1, None)] for _ in net.alpha]   # mb_k3_e3 everywhere
        w = torch.softmax(torch.randn(len(net.slots), len(bits)), 1)
        out = net(torch.rand(2, 1, 16, 16), paths, w, w)
        out.sum().backward()
        counts.append(calls["n"])
    # stem + 6 x (expand, dw, project) + head conv, whatever the number of widths
    assert counts == [1 + 6 * 3 + 1] * 2


def test_fused_activation_mixture_equals_the_mixture_of_fake_quantisers():
    torch.manual_seed(0)
    for signed in (False, True):
        y = (torch.randn(500) * 3).requires_grad_()
        p = torch.softmax(torch.randn(3), 0).requires_grad_()
        clip = torch.tensor(4.0, requires_grad=True)
        g = torch.randn(500)
        (mixed_act_quant(y, p, clip, (4, 6, 8), signed) * g).sum().backward()
        y2, p2, c2 = (t.detach().clone().requires_grad_() for t in (y, p, clip))
        ref = sum(p2[i] * fake_quant_act(y2, c2 / act_bounds(b, signed)[1], b, signed) for i, b in enumerate((4, 6, 8)))
        (ref * g).sum().backward()
        assert torch.allclose(mixed_act_quant(y, p, clip, (4, 6, 8), signed), ref, atol=1e-5)
        for a, b in ((y, y2), (p, p2), (clip, c2)):
            assert torch.allclose(a.grad, b.grad, rtol=1e-4, atol=1e-5)
    one = torch.tensor([0.0, 1.0, 0.0])
    y = torch.linspace(-1, 5, 101)
    assert torch.equal(mixed_act_quant(y, one, torch.tensor(4.0), (4, 6, 8), False),
                       fake_quant_act(y, torch.tensor(4.0) / 63, 6, False))
