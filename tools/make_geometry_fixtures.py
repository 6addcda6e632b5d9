#!/usr/bin/env python3
"""Writes Tests/GeometryTests/Fixtures/cnn_jacobians.safetensors: float64 references for the
Jacobians between hook points of the demo CNN (Architectures.mnistCNN's twin, random weights,
seed 2024), their singular values and effective ranks, and principal angles.

Pinned environment: tools/requirements.txt (Debian's torch 1.13, numpy < 2, scipy 1.17.1,
safetensors 0.4.5). The model runs in float64 and the Jacobians come from
torch.autograd.functional.jacobian on the batch-sum (inputs do not interact in eval mode), so
the Swift test can judge its float32 result against a float64 computation.
"""
import os
import sys

import numpy as np
import scipy.linalg
import torch
from safetensors.torch import save_file

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from make_fixtures import mnist_cnn  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "GeometryTests", "Fixtures")


def effective_ranks(s, threshold):
    p = s / s.sum()
    entropy = float(np.exp(-(p[p > 0] * np.log(p[p > 0])).sum()))
    participation = float((s ** 2).sum() ** 2 / (s ** 4).sum())
    return entropy, participation, float((s > threshold * s[0]).sum())


def main():
    torch.manual_seed(2024)
    model = mnist_cnn().eval()
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    model = model.double()
    inputs = torch.rand(4, 1, 28, 28, dtype=torch.float64)
    with torch.no_grad():
        pooled = model[:6](inputs)
    into_hidden = torch.autograd.functional.jacobian(lambda x: model[:10](x).sum(0), inputs)   # (128, 6, 1, 28, 28)
    into_hidden = into_hidden.reshape(128, 4, 784).permute(1, 0, 2).contiguous()
    to_logits = torch.autograd.functional.jacobian(lambda p: model[6:](p).sum(0), pooled)      # (10, 6, 64, 7, 7)
    to_logits = to_logits.reshape(10, 4, 3136).permute(1, 0, 2).contiguous()
    singular = np.linalg.svd(into_hidden.numpy(), compute_uv=False)
    ranks = np.array([effective_ranks(s, 1e-3) for s in singular])
    _, _, vh = np.linalg.svd(into_hidden.numpy(), full_matrices=False)
    k = 5
    angles = scipy.linalg.subspace_angles(vh[0, :k].T, vh[1, :k].T)
    tensors = {f"weight.{k}": v.float().contiguous() for k, v in weights.items()}
    tensors.update({
        "inputs": inputs.float(),
        "jacobian_input_9": into_hidden.float(),   # float64 results rounded to float32
        "jacobian_5_10": to_logits.float(),
        "singular_values_input_9": torch.from_numpy(singular),
        "effective_ranks_input_9": torch.from_numpy(ranks),   # entropy, participation ratio, rank at 1e-3
        "cosines_0_1_top5": torch.from_numpy(np.sort(np.cos(angles))[::-1].copy()),
    })
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "cnn_jacobians.safetensors"))


if __name__ == "__main__":
    main()
