#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench sae`.

Called with a folder holding inputs.safetensors (the autoencoder's starting weights W_enc, b_enc,
W_dec, b_dec, and `data`, the activations) and settings.json (batch, steps, warm-up steps, L1,
learning rate, repeats, threads, seed). Trains the sparse autoencoder in a plain loop doing what
SAELens's training step does: f = ReLU((x - b_dec) W_enc + b_enc), x_hat = f W_dec + b_dec, loss =
mean squared error summed over dimensions + L1 * mean L1 of f, backward, the decoder gradient's
component along each (unit) row removed, Adam, rows renormalised, and which features fired.
Batches are rows drawn uniformly with replacement. Writes sae_results.json with the median
seconds of `repeats` runs of `steps` steps, after one warm-up run, and the L0 averaged over the
last run's steps. Environment: Debian's torch
1.13 (tools/requirements.txt).
"""
import json
import os
import statistics
import sys
import time

import torch
from safetensors.torch import load_file


def train(start, data, settings, steps):
    w_enc, b_enc, w_dec, b_dec = (start[name].clone().requires_grad_() for name in ("W_enc", "b_enc", "W_dec", "b_dec"))
    optimizer = torch.optim.Adam([w_enc, b_enc, w_dec, b_dec], lr=settings["learning_rate"])
    generator = torch.Generator().manual_seed(settings["seed"])
    since_fired = torch.zeros(w_dec.shape[0])
    l0 = 0.0
    for _ in range(steps):
        x = data[torch.randint(0, data.shape[0], (settings["batch_size"],), generator=generator)]
        f = torch.relu((x - b_dec) @ w_enc + b_enc)
        x_hat = f @ w_dec + b_dec
        mse = (x_hat - x).pow(2).sum(-1).mean()
        loss = mse + settings["l1"] * f.abs().sum(-1).mean()
        optimizer.zero_grad()
        loss.backward()
        with torch.no_grad():
            w_dec.grad -= (w_dec.grad * w_dec).sum(-1, keepdim=True) * w_dec
        optimizer.step()
        with torch.no_grad():
            w_dec /= w_dec.norm(dim=-1, keepdim=True)
            fired = (f > 0).sum(0) > 0
            since_fired += 1
            since_fired[fired] = 0
            l0 += (f > 0).float().sum(-1).mean().item() / steps
    return l0


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    tensors = load_file(os.path.join(folder, "inputs.safetensors"))
    data = tensors.pop("data")
    train(tensors, data, settings, settings["warmup_steps"])
    times, l0 = [], float("nan")
    for _ in range(settings["repeats"]):
        start = time.perf_counter()
        l0 = train(tensors, data, settings, settings["steps"])
        times.append(time.perf_counter() - start)
    json.dump({"torch": torch.__version__, "seconds": statistics.median(times), "l0": l0},
              open(os.path.join(folder, "sae_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
