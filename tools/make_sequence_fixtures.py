#!/usr/bin/env python3
"""PyTorch references for the sequence layers (Tests/NNTests/Fixtures/sequence_layers.safetensors).

Pinned environment: Debian's python3-torch 1.13 (tools/requirements.txt).

LSTM: torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True), seed 0,
on a (3, 6, 5) batch, full length and with lengths (6, 3, 1) through
pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence(total_length=6);
outputs, final hidden and cell states, and the gradients of
sum(output · R1) + sum(h_n · R2) with respect to the input and every weight.

Attention: torch.nn.MultiheadAttention(8, 2, batch_first=True) on a (3, 5, 8) batch with
a key padding mask (lengths 5, 3, 2) and with a causal mask; torch.nn.TransformerEncoderLayer(8, 2,
16, dropout 0, batch_first) post-LayerNorm with ReLU and pre-LayerNorm with GELU, with the padding
mask; outputs and input gradients of sum(output · R). Additive attention pooling written out in
torch (no nn module exists): context and weights with the padding mask.

Text attribution (Tests/AttributionTests/Fixtures/text_attribution.safetensors): Captum
0.7.0's LayerIntegratedGradients at the embedding of a small BiLSTM-attention classifier,
and its token-replacing methods on the same model (occlusion, feature ablation, KernelSHAP
and LIME with stored coalitions; LIME weighs coalitions by their cosine distance to the
all-present one, kernel width 0.25, as the LIME package's text explainer does), in float32 and
on a float64 copy of the model.

Usage: python3 tools/make_sequence_fixtures.py
"""
import copy
import os

import torch
from safetensors.torch import save_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "NNTests", "Fixtures")


def main():
    torch.manual_seed(0)
    out = {}
    lstm = torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True)
    for name, p in lstm.named_parameters():
        out[f"lstm.{name}"] = p.detach().clone()
    x = torch.randn(3, 6, 5)
    r1, r2 = torch.randn(3, 6, 8), torch.randn(4, 3, 4)
    out["lstm.input"], out["lstm.r1"], out["lstm.r2"] = x, r1, r2
    lengths = torch.tensor([6, 3, 1])
    out["lstm.lengths"] = lengths
    for case in ["full", "packed"]:
        lstm.zero_grad()
        xi = x.clone().requires_grad_(True)
        if case == "full":
            output, (h, c) = lstm(xi)
        else:
            packed = pack_padded_sequence(xi, lengths, batch_first=True, enforce_sorted=False)
            output, (h, c) = lstm(packed)
            output, _ = pad_packed_sequence(output, batch_first=True, total_length=6)
        ((output * r1).sum() + (h * r2).sum()).backward()
        out[f"lstm.{case}.output"], out[f"lstm.{case}.hidden"], out[f"lstm.{case}.cell"] = output.detach(), h.detach(), c.detach()
        out[f"lstm.{case}.grad.input"] = xi.grad
        for name, p in lstm.named_parameters():
            out[f"lstm.{case}.grad.{name}"] = p.grad.clone()

    x = torch.randn(3, 5, 8)
    r = torch.randn(3, 5, 8)
    keep = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0]], dtype=torch.bool)
    out["attention.input"], out["attention.r"], out["attention.keep"] = x, r, keep
    causal = torch.triu(torch.ones(5, 5, dtype=torch.bool), diagonal=1)
    mha = torch.nn.MultiheadAttention(8, 2, batch_first=True)
    for name, p in mha.named_parameters():
        out[f"mha.{name}"] = p.detach().clone()
    for case, kwargs in [("padding", {"key_padding_mask": ~keep}), ("causal", {"attn_mask": causal})]:
        xi = x.clone().requires_grad_(True)
        y, _ = mha(xi, xi, xi, need_weights=False, **kwargs)
        (y * r).sum().backward()
        out[f"mha.{case}.output"], out[f"mha.{case}.grad"] = y.detach(), xi.grad
    for case, activation, norm_first in [("post_relu", "relu", False), ("pre_gelu", "gelu", True)]:
        layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=activation, batch_first=True, norm_first=norm_first).eval()
        for name, p in layer.named_parameters():
            out[f"block.{case}.{name}"] = p.detach().clone()
        xi = x.clone().requires_grad_(True)
        y = layer(xi, src_key_padding_mask=~keep)
        (y * r).sum().backward()
        out[f"block.{case}.output"], out[f"block.{case}.grad"] = y.detach(), xi.grad

    projection, score = torch.nn.Linear(8, 6), torch.nn.Linear(6, 1, bias=False)
    scores = score(torch.tanh(projection(x))).squeeze(2).masked_fill(~keep, float("-inf"))
    weights = torch.softmax(scores, dim=1)
    out["additive.projection.weight"], out["additive.projection.bias"] = projection.weight.detach(), projection.bias.detach()
    out["additive.score.weight"] = score.weight.detach()
    out["additive.weights"], out["additive.context"] = weights.detach(), (x * weights.unsqueeze(2)).sum(1).detach()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "sequence_layers.safetensors"))


def text_attribution():
    """Captum 0.7.0's LayerIntegratedGradients at the embedding of a small BiLSTM-attention
    classifier (the architecture of TextModels.BiLSTMAttentionClassifier: vocabulary 30,
    embedding 8, hidden 6, attention 5, 2 classes; seed 1), for two padded texts, with the
    texts' [UNK] (id 1) copies as baselines, 20 Gauss-Legendre steps."""
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
    from text_bench import BiLSTMAttention
    from captum.attr import LayerIntegratedGradients
    torch.manual_seed(1)
    model = BiLSTMAttention(30, 8, 6, 5, 2).eval()
    ids = torch.tensor([[5, 9, 2, 17, 3, 0, 0], [12, 4, 4, 28, 7, 11, 6]])
    baselines = (ids != 0).long()
    ig = LayerIntegratedGradients(model, model.embedding)
    attributions, delta = ig.attribute(ids, baselines=baselines, target=torch.tensor([1, 0]), n_steps=20,
                                       method="gausslegendre", return_convergence_delta=True)
    names = {"embedding.weight": "embedding.weight", "projection.weight": "attention.projection.weight",
             "projection.bias": "attention.projection.bias", "score.weight": "attention.score.weight",
             "output.weight": "output.weight", "output.bias": "output.bias"}
    out = {f"text.{names.get(k, k)}": v.detach().clone() for k, v in model.state_dict().items()}
    out.update({"text.ids": ids, "text.attributions": attributions.detach(), "text.delta": delta.detach()})
    out.update(token_perturbations(model, ids[1:2]))
    folder = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "AttributionTests", "Fixtures")
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(folder, "text_attribution.safetensors"))


def token_perturbations(model, ids):
    """Captum's perturbation methods on one text's token ids, each token replaced by [UNK] (id 1),
    target class 0. Coalitions are drawn here and stored, so Glassbox replays the same ones."""
    from captum.attr import FeatureAblation, KernelShap, Lime, Occlusion
    from captum._utils.models.linear_model import SkLearnLinearRegression
    tokens = ids.shape[1]
    out = {"perturb.occlusion": Occlusion(model).attribute(ids, sliding_window_shapes=(1,), baselines=1, target=0),
           "perturb.feature_ablation": FeatureAblation(model).attribute(ids, baselines=1, target=0)}
    coalitions = torch.bernoulli(torch.full((60, tokens), 0.5), generator=torch.Generator().manual_seed(4))
    shap_rows = torch.cat([torch.ones(1, tokens), torch.zeros(1, tokens), coalitions[2:]])

    def replay(rows):
        def generator(original_input, **kwargs):
            for row in rows:
                yield row.unsqueeze(0).long()
        return generator

    def coalition_cosine(original, perturbed, interpretable, **kwargs):
        z = interpretable.double().reshape(-1)
        distance = 1 - z.sum() / (z.norm() * tokens ** 0.5) if z.sum() > 0 else torch.tensor(1.0, dtype=torch.float64)
        return float(torch.exp(-distance ** 2 / (2 * 0.25 ** 2)))

    lime = Lime(model, interpretable_model=SkLearnLinearRegression(), similarity_func=coalition_cosine)
    lime.perturb_func = replay(coalitions)
    kernel_shap = KernelShap(model)
    kernel_shap.perturb_func = replay(shap_rows)
    out.update({"perturb.ids": ids.clone(), "perturb.coalitions": coalitions, "perturb.shap_coalitions": shap_rows,
                "perturb.lime": lime.attribute(ids, baselines=1, target=0, n_samples=60),
                "perturb.kernel_shap": kernel_shap.attribute(ids, baselines=1, target=0, n_samples=60)})
    # The same four methods on a float64 copy of the model: the reference float32 results are judged
    # against, since float32 logits differ between CPUs (AVX-512 and AVX2 kernels).
    double = copy.deepcopy(model).double()
    lime64 = Lime(double, interpretable_model=SkLearnLinearRegression(), similarity_func=coalition_cosine)
    lime64.perturb_func = replay(coalitions)
    shap64 = KernelShap(double)
    shap64.perturb_func = replay(shap_rows)
    out.update({"perturb64.occlusion": Occlusion(double).attribute(ids, sliding_window_shapes=(1,), baselines=1, target=0),
                "perturb64.feature_ablation": FeatureAblation(double).attribute(ids, baselines=1, target=0),
                "perturb64.lime": lime64.attribute(ids, baselines=1, target=0, n_samples=60),
                "perturb64.kernel_shap": shap64.attribute(ids, baselines=1, target=0, n_samples=60)})
    return {k: v.detach() for k, v in out.items()}


if __name__ == "__main__":
    main()
    text_attribution()
