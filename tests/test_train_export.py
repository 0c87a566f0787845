"""Rung 1, layer by layer: the fake-quant model's outputs are the golden model's integers.

No dataset needed: a randomly initialised QuantNet with calibrated scales and non-trivial
BatchNorm statistics is exported and run through golden.py on random images.
"""

import copy

import numpy as np
import pytest
import torch

from codesign.backend import golden
from codesign.design import load_design
from codesign.train.export import export_params
from codesign.train.loop import to_float
from codesign.train.model import QuantNet


def prepared_model(design, images):
    torch.manual_seed(0)
    model = QuantNet(design)
    model.train()
    model.quantize = False
    with torch.no_grad():
        for op in model.ops:  # non-trivial BN affine parameters, so folding matters
            if getattr(op, "bn", None) is not None:
                op.bn.weight.uniform_(0.5, 1.5)
                op.bn.bias.uniform_(-0.2, 0.2)
        for _ in range(5):  # running statistics
            model(to_float(images, "cpu"))
    model.calibrate(to_float(images, "cpu"))
    model.eval()
    return model


def layer_codes(model, images, exact):
    """Every layer's integer codes (N, H, W, C) from the fake-quant model in eval mode."""
    if exact:
        model = copy.deepcopy(model).double()
        model.exact = True
    dtype = next(model.parameters()).dtype
    with torch.no_grad():
        outs, scales = model.run(to_float(images, "cpu").to(dtype))
    return [torch.floor(o / s + 0.5).permute(0, 2, 3, 1).numpy().astype(np.int64) for o, s in zip(outs, scales)]


@pytest.mark.parametrize("name", ["single_chunk_os_int8", "two_chunk_mixed"])
def test_fake_quant_layers_match_golden(name, example_path):
    design = load_design(example_path(name))
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, size=(16, *design.dataset.input_shape), dtype=np.uint8)
    model = prepared_model(design, images)
    params = export_params(model)
    ref = [np.stack(layer) for layer in zip(*(golden.run_network(design, params, im) for im in images))]
    # exact mode (float64, the exported mult/shift): every layer bit-exact
    for layer, codes, want in zip(design.layers, layer_codes(model, images, exact=True), ref):
        np.testing.assert_array_equal(codes, want, err_msg=layer.name)
    # plain fake quant (float32, real-valued requant scales): measured 0 to 2.3 % of a layer off, by <= 2
    for layer, codes, want in zip(design.layers, layer_codes(model, images, exact=False), ref):
        diff = np.abs(codes - want)
        assert diff.max() <= 2 and (diff > 0).mean() < 0.05, layer.name


def test_export_ranges_and_shapes(example_path):
    design = load_design(example_path("two_chunk_mixed"))
    images = np.random.default_rng(2).integers(0, 256, size=(8, 16, 16, 1), dtype=np.uint8)
    params = export_params(prepared_model(design, images))
    for i, (layer, p) in enumerate(zip(design.layers, params)):
        golden.check_params(layer, p, i)  # raises on a bad shape or range
    add = params[4]
    assert add["add_mult"].max() == 2 ** 14 and add["add_mult"].dtype == np.int32
    assert params[0]["w"].dtype == np.int8 and params[0]["bias"].dtype == np.int32
    # the stem reads the raw image (scale 1/255): its weights span the full 8-bit range per channel
    assert (np.abs(params[0]["w"]).reshape(8, -1).max(axis=1) == 127).all()
