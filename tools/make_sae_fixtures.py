#!/usr/bin/env python3
"""References for the sparse autoencoder (Tests/DictionaryLearningTests/Fixtures/sae.safetensors).

Pinned environment: tools/requirements.txt (Debian's torch 1.13, scipy 1.17.1, safetensors 0.4.5).

- One training step of a small ReLU autoencoder (d = 8, F = 16) in float64 with PyTorch's
  autograd and torch.optim.Adam (lr 1e-3): f = ReLU((x - b_dec) W_enc + b_enc),
  x_hat = f W_dec + b_dec, loss = mean ||x - x_hat||^2 + 0.05 mean ||f||_1; W_dec's gradient
  with each row's parallel part removed before the step, its rows rescaled to unit length after.
- The same autoencoder's TopK (k = 3) activations and squared error.
- The geometric median of 300 heavy-tailed points in 5 dimensions, by scipy.optimize.minimize
  (L-BFGS-B on the summed distances with their gradient; an independent method, not Weiszfeld).
- Feature matching: activations of two unit sets (200 inputs; 7 and 9 units, one constant),
  numpy's Pearson correlations, each first-set unit's max, and scipy's linear_sum_assignment
  (maximize=True) total; the same for 30 x 30 random scores.

Usage: python3 tools/make_sae_fixtures.py
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file
from scipy.optimize import linear_sum_assignment, minimize

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DictionaryLearningTests", "Fixtures")


def main():
    torch.manual_seed(5)
    d, f = 8, 16
    # float32 values, computed on in float64.
    w_dec = torch.randn(f, d).float().double()
    w_dec = (w_dec / w_dec.norm(dim=1, keepdim=True)).float().double()
    w_enc = (w_dec.T * 0.8 + torch.randn(d, f).double() * 0.2).float().double()
    b_enc = (torch.randn(f) * 0.1).float().double()
    b_dec = (torch.randn(d) * 0.1).float().double()
    x = torch.relu(torch.randn(32, f)).float().double() @ w_dec + 0.05 * torch.randn(32, d).double()
    x = x.float().double()
    start = {"W_enc": w_enc.clone(), "b_enc": b_enc.clone(), "W_dec": w_dec.clone(), "b_dec": b_dec.clone(), "x": x.clone()}

    params = [p.clone().requires_grad_(True) for p in (w_enc, b_enc, w_dec, b_dec)]
    pe, be, pd, bd = params
    feats = torch.relu((x - bd) @ pe + be)
    recon = feats @ pd + bd
    mse = (recon - x).pow(2).sum(1).mean()
    loss = mse + 0.05 * feats.abs().sum(1).mean()
    loss.backward()
    with torch.no_grad():
        pd.grad -= pd * (pd.grad * pd).sum(1, keepdim=True)
    grads = {f"grad.{n}": p.grad.clone() for n, p in zip(["W_enc", "b_enc", "W_dec", "b_dec"], params)}
    opt = torch.optim.Adam(params, lr=1e-3)
    opt.step()
    with torch.no_grad():
        pd /= pd.norm(dim=1, keepdim=True)
    after = {f"after.{n}": p.detach().clone() for n, p in zip(["W_enc", "b_enc", "W_dec", "b_dec"], params)}

    pre = (x - b_dec) @ w_enc + b_enc
    values, indices = pre.topk(3, dim=1)
    topk = torch.zeros_like(pre).scatter(1, indices, torch.relu(values))
    topk_mse = ((topk @ w_dec + b_dec) - x).pow(2).sum(1).mean()

    rng = np.random.default_rng(3)
    points = rng.standard_t(df=2, size=(300, 5)).astype(np.float32).astype(np.float64)

    def total(y):
        diff = points - y
        norms = np.linalg.norm(diff, axis=1)
        return norms.sum(), -(diff / norms[:, None]).sum(0)

    median = minimize(total, points.mean(0), jac=True, method="L-BFGS-B", options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000}).x

    # Matching: b's units are noisy mixtures of a's, one b unit constant.
    a = rng.standard_normal((200, 7))
    b = np.concatenate([a @ rng.standard_normal((7, 8)) + rng.standard_normal((200, 8)), np.ones((200, 1))], axis=1)
    a, b = a.astype(np.float32).astype(np.float64), b.astype(np.float32).astype(np.float64)
    corr = np.corrcoef(a.T, b[:, :8].T)[:7, 7:]
    corr = np.concatenate([corr, np.zeros((7, 1))], axis=1)
    rows, cols = linear_sum_assignment(corr, maximize=True)
    scores = rng.standard_normal((30, 30))
    srows, scols = linear_sum_assignment(scores, maximize=True)

    tensors = {k: v.contiguous() for k, v in {**start, **grads, **after}.items()}
    tensors.update({"match.a": torch.from_numpy(a), "match.b": torch.from_numpy(b), "match.correlations": torch.from_numpy(corr),
                    "match.total": torch.tensor([corr[rows, cols].sum()]), "assign.scores": torch.from_numpy(scores),
                    "assign.total": torch.tensor([scores[srows, scols].sum()])})
    tensors.update({"features": feats.detach(), "reconstruction": recon.detach(), "loss": loss.detach().reshape(1), "mse": mse.detach().reshape(1),
                    "topk.features": topk, "topk.mse": topk_mse.reshape(1),
                    "median.points": torch.from_numpy(points), "median.value": torch.from_numpy(median)})
    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "sae.safetensors"))
    print("loss", float(loss), "topk mse", float(topk_mse))


if __name__ == "__main__":
    main()
