#!/usr/bin/env python3
"""SciPy references for the attention studies (Tests/AttentionStudiesTests/Fixtures/kendall.json).

Pinned environment: tools/requirements.txt (scipy as scikit-learn 1.3.2 pulls it; 1.17.1 here,
whose kendalltau defaults are variant 'b', method 'auto').

Kendall's tau-b and its p-value for lists without ties (n = 2 ... 40: exact up to 33, the normal
approximation beyond), with ties (normal approximation, tie-corrected variance), nearly sorted
lists (exact at any n), and the Jensen-Shannon divergence (the square of SciPy's distance) and
total variation distance of a few distributions.

tiny_probe.safetensors: the transformer agreement study's per-token scores in float64 on a tiny
randomly initialised `BertModel` (transformers 4.36.2; vocabulary 99, hidden 32, 2 layers, 4 heads)
with a random linear head on its mean-pooled, unit-length sentence embeddings: each head's
attention received (mean over real query rows), the layers' head means, attention rollout
(Abnar & Zuidema 2020: (0.5 A + 0.5 I) multiplied from the first layer, mean over query rows),
gradient x word embedding and Captum 0.7.0's LayerIntegratedGradients (Gauss-Legendre, 16 steps,
baseline: ranked tokens replaced by id 1) of the predicted class's probability, summed per token,
and leave-one-out total variation distances.

Usage: python3 tools/make_attention_fixtures.py
"""
import json
import os

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import kendalltau

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "AttentionStudiesTests", "Fixtures")


def main():
    rng = np.random.default_rng(7)
    cases = []
    for n in [2, 3, 5, 8, 12, 20, 33, 34, 40]:
        x, y = rng.normal(size=n), rng.normal(size=n)
        y = 0.6 * x + y  # some association, so p-values span the range
        cases.append((x, y))
    for n in [6, 15, 40]:
        cases.append((rng.integers(0, 4, size=n).astype(float), rng.integers(0, 3, size=n).astype(float)))
    x = np.arange(50.0)
    y = x.copy()
    y[[10, 11]] = y[[11, 10]]
    cases.append((x, y))                 # one discordant pair: exact at n = 50
    cases.append((x, -x))
    out = {"scipy": scipy.__version__, "kendall": []}
    for x, y in cases:
        result = kendalltau(x, y)
        out["kendall"].append({"x": x.tolist(), "y": y.tolist(), "tau": float(result.statistic), "p": float(result.pvalue)})
    distributions = []
    for n in [2, 5, 9]:
        p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n) * 0.3)
        q[0] = 0
        q = q / q.sum()
        distributions.append({"p": p.tolist(), "q": q.tolist(), "jsd": float(jensenshannon(p, q) ** 2),
                              "tvd": float(0.5 * np.abs(p - q).sum())})
    out["divergences"] = distributions
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "kendall.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(out['kendall'])} Kendall cases, {len(distributions)} divergence cases")
    tiny_probe()


def tiny_probe():
    import torch
    from captum.attr import LayerIntegratedGradients
    from safetensors.torch import save_file
    from transformers import BertConfig, BertModel

    torch.manual_seed(1)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                        max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)
    model = BertModel(config).eval().double()
    with torch.no_grad():  # weights larger than BERT's initialisation, so patterns are far from uniform
        for name, p in model.named_parameters():
            if name.endswith("weight") and "LayerNorm" not in name:
                p.mul_(4)
    head_w, head_b = torch.randn(2, 32, dtype=torch.float64) * 3, torch.randn(2, dtype=torch.float64)
    # [CLS] = 2, [SEP] = 3, [UNK] = 1: the first and last real tokens are not ranked.
    ids = torch.tensor([[2, 17, 33, 45, 5, 71, 8, 9, 3], [2, 50, 60, 61, 3, 0, 0, 0, 0], [2, 98, 4, 4, 7, 3, 0, 0, 0]])
    mask = (ids != 0).long()

    def probabilities(x, attention_mask=None, output_attentions=False):
        out = model(input_ids=x, attention_mask=(x != 0).long() if attention_mask is None else attention_mask,
                    output_attentions=output_attentions)
        m = (x != 0).double().unsqueeze(-1)
        mean = (out.last_hidden_state * m).sum(1) / m.sum(1)
        e = torch.nn.functional.normalize(mean, dim=1)
        return (e @ head_w.T + head_b).softmax(1), out

    captured = {}
    handle = model.embeddings.word_embeddings.register_forward_hook(lambda mod, inp, out: captured.__setitem__("e", out))
    p, out = probabilities(ids, output_attentions=True)
    handle.remove()
    e = captured["e"]
    predicted = p.argmax(1)
    grad, = torch.autograd.grad(p.gather(1, predicted[:, None]).sum(), e)
    gradient = (grad * e).sum(2).detach()

    ranked = torch.zeros_like(ids)
    lengths = mask.sum(1)
    for row, length in enumerate(lengths.tolist()):
        ranked[row, 1:length - 1] = 1
    baseline = ids * (1 - ranked) + ranked * 1
    # The baseline keeps every real token real, so the padding mask (x != 0) is the input's on the whole path.
    ig = LayerIntegratedGradients(lambda x: probabilities(x)[0], model.embeddings.word_embeddings)
    integrated = ig.attribute(ids, baselines=baseline, target=predicted, n_steps=16, method="gausslegendre").sum(2).detach()

    queries = mask.double()[:, None, :, None]
    count = mask.double().sum(1)[:, None, None]
    received = torch.stack([(a * queries).sum(2) / count for a in out.attentions], 1)  # (N, L, H, T)
    t = ids.shape[1]
    flow = torch.eye(t, dtype=torch.float64)[None]
    for a in out.attentions:
        flow = (0.5 * a.mean(1) + 0.5 * torch.eye(t, dtype=torch.float64)) @ flow
    rollout = ((flow[:, None] * queries).sum(2) / count)[:, 0]

    loo = torch.zeros(ids.shape, dtype=torch.float64)
    with torch.no_grad():
        for row, length in enumerate(lengths.tolist()):
            tokens = ids[row, :length].tolist()
            for skip in range(length):
                kept = tokens[:skip] + tokens[skip + 1:]
                q, _ = probabilities(torch.tensor([kept]))
                loo[row, skip] = 0.5 * (q[0] - p[row]).abs().sum()

    tensors = {k: v.float().contiguous() if v.is_floating_point() else v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({"probe.weights": head_w, "probe.bias": head_b, "test.ids": ids, "test.predicted": predicted,
                    "test.received": received.detach(), "test.layer_means": received.mean(2).detach(), "test.rollout": rollout.detach(),
                    "test.gradient": gradient, "test.integrated": integrated, "test.leave_one_out": loo})
    save_file(tensors, os.path.join(OUT, "tiny_probe.safetensors"))
    print("tiny probe: predicted", predicted.tolist())


if __name__ == "__main__":
    main()
