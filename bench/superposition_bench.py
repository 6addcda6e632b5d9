#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench superposition`.

Called with a folder holding settings.json (sizes, sparsities, steps, batch, learning rate,
repeats, threads). Trains the toy models of superposition (Elhage et al. 2022) for every sparsity,
linear and ReLU output, as one batched model with the instances as a batch dimension, written the
way the paper's code writes it: features drawn with torch.rand and kept where a second uniform
falls below the density, x' = ReLU(W^T W x + b) by batched products, importance-weighted squared
error, Adam. Writes superposition_results.json with the median seconds of `repeats` runs after a
200-step warm-up. Environment: Debian's torch 1.13 (tools/requirements.txt).
"""
import json
import os
import statistics
import sys
import time

import torch


def train(settings, steps, seed):
    torch.manual_seed(seed)
    sparsities = settings["sparsities"] * 2
    instances, n, m = len(sparsities), settings["features"], settings["hidden"]
    relu = torch.tensor([0.0] * len(settings["sparsities"]) + [1.0] * len(settings["sparsities"])).view(instances, 1, 1)
    importance = (settings["importance_decay"] ** torch.arange(n).float()).view(1, 1, n)
    density = (1 - torch.tensor(sparsities)).view(instances, 1, 1)
    weight = torch.nn.init.xavier_normal_(torch.empty(instances, m, n)).requires_grad_()
    bias = torch.zeros(instances, 1, n, requires_grad=True)
    optimizer = torch.optim.Adam([weight, bias], lr=settings["learning_rate"])
    batch = settings["batch_size"]
    for _ in range(steps):
        features = torch.rand(instances, batch, n)
        x = torch.where(torch.rand(instances, batch, n) <= density, features, torch.zeros(()))
        z = torch.baddbmm(bias, torch.bmm(x, weight.transpose(1, 2)), weight)
        out = z + relu * torch.relu(-z)
        loss = (importance * (x - out) ** 2).mean(dim=(1, 2)).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    train(settings, 200, 0)
    times = []
    for repeat in range(settings["repeats"]):
        start = time.perf_counter()
        train(settings, settings["steps"], repeat)
        times.append(time.perf_counter() - start)
    json.dump({"torch": torch.__version__, "seconds": statistics.median(times)},
              open(os.path.join(folder, "superposition_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
