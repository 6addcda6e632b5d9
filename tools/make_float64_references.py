#!/usr/bin/env python3
"""Float64 references for the Captum-parity tests (Tests/AttributionTests/Fixtures/captum_float64.safetensors).

Captum's float32 results (captum.safetensors) are one float32 computation among several
legitimate ones: a CPU with other vector instructions, or another order of summation, rounds
differently. These are the same attributions computed in float64 (Captum 0.7.0 on the models
converted to double, from the inputs, targets and baselines stored in captum.safetensors),
so a test can judge Glassbox's float32 error and Captum's against the same, more exact, answer.
Run after make_attribution_fixtures.py; pinned environment: tools/requirements.txt.
"""
import os

import torch
from torch import nn
from safetensors.torch import load_file, save_file
from captum.attr import IntegratedGradients

from make_fixtures import mnist_cnn
from make_attribution_fixtures import RULES

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
FIXTURES = os.path.join(ROOT, "Tests", "AttributionTests", "Fixtures")


def main():
    torch.set_num_threads(1)
    captum = load_file(os.path.join(FIXTURES, "captum.safetensors"))
    cnn = mnist_cnn().eval()
    cnn.load_state_dict(load_file(os.path.join(ROOT, "Tests", "NNTests", "Fixtures", "cnn_weights.safetensors")))
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    mlp.load_state_dict(load_file(os.path.join(FIXTURES, "mlp_weights.safetensors")))
    out = {}
    for prefix, model in [("cnn.", cnn), ("mlp.", mlp)]:
        model = model.double()
        x = captum[prefix + "input"].double()
        targets = captum[prefix + "targets"]
        ig = IntegratedGradients(model)
        for rule in RULES:
            out[prefix + "ig." + rule] = ig.attribute(x, target=targets, n_steps=20, method=rule)
        out[prefix + "ig_with_baseline"] = ig.attribute(x, baselines=captum[prefix + "ig_baseline"].double(), target=targets, n_steps=20)
    save_file({k: v.detach().contiguous() for k, v in out.items()}, os.path.join(FIXTURES, "captum_float64.safetensors"))
    print("wrote", len(out), "float64 tensors; captum", __import__("captum").__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
