#!/usr/bin/env python3
"""torchattacks-parity fixtures for the Adversarial tests (Tests/AdversarialTests/Fixtures).

Two small classifiers trained here on the bundled MNIST split (Sources/Datasets/Resources/mnist5k,
pixels / 255, float32): an MLP (Flatten, Linear 784→100, ReLU, Linear 100→10) and a small CNN
(Conv 1→8 5×5 stride 2 padding 2, ReLU, MaxPool 2, Flatten, Linear 392→10), 2 epochs of Adam
each. On 16 test digits, torchattacks 3.5.1 (on Debian's torch 1.13, the libtorch Glassbox links)
gives FGSM, BIM, PGD-L∞ (untargeted and targeted at (label + 1) mod 10) and PGD-L2; on 64,
CW-L2's success and perturbation norms (torchattacks' CW freezes pixels at exactly 0 or 1, where
its atanh is infinite, so on MNIST it succeeds less often than the paper's attack).
PGD's random starts are drawn with the same seed torchattacks then uses, and stored, so the
tests can start from them. The CNN is also saved traced (TorchScript). Also stored: the float64 input gradient of the cross-entropy (the
models converted to double), to tell which gradient signs float32 rounding could flip.
Pinned environment: tools/requirements.txt (torchattacks installed with --no-deps, as
scripts/python-tools.sh does: it would otherwise pull a PyPI torchvision and torch).
"""
import os

import numpy as np
import torch
import torchattacks
from torch import nn
from safetensors.torch import save_file

from make_transparent_fixtures import idx  # the bundled split's IDX reader

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "AdversarialTests", "Fixtures")


def mnist(part):
    images = idx(f"{part}-images-idx3-ubyte.gz").reshape(-1, 1, 28, 28).astype(np.float32) / np.float32(255)
    return torch.from_numpy(images.copy()), torch.from_numpy(idx(f"{part}-labels-idx1-ubyte.gz").astype(np.int64))


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 100), nn.ReLU(), nn.Linear(100, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(392, 10))


def train(make, x, y, seed):
    torch.manual_seed(seed)
    model = make()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for _ in range(2):
        order = torch.randperm(len(x))
        for start in range(0, len(x), 64):
            batch = order[start:start + 64]
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
    return model.eval()


def gradient64(model, x, y):
    twin = mlp() if isinstance(model[1], nn.Linear) else cnn()
    twin.load_state_dict(model.state_dict())
    twin = twin.double().eval()
    v = x.double().requires_grad_()
    loss = nn.functional.cross_entropy(twin(v), y, reduction="sum")
    return torch.autograd.grad(loss, v)[0]


def targeted(attack):
    attack.set_mode_targeted_by_function(lambda images, labels: (labels + 1) % 10)
    return attack


def main():
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    train_x, train_y = mnist("train")
    test_x, test_y = mnist("test")
    # Exact comparisons on the first 16 of 64 digits (each stored tensor is 50 KB); CW's statistics on all 64.
    out = {"inputs": test_x[:64].clone(), "labels": test_y[:64].clone()}
    x, y = out["inputs"][:16], out["labels"][:16]
    models = {"mlp": train(mlp, train_x, train_y, 1), "cnn": train(cnn, train_x, train_y, 2)}
    for name, model in models.items():
        for key, value in model.state_dict().items():
            out[f"{name}.{key}"] = value.contiguous()
        with torch.no_grad():
            print(name, "clean accuracy", (model(test_x).argmax(1) == test_y).float().mean().item())
        out[f"{name}.gradient64"] = gradient64(model, x, y).float()
        out[f"{name}.gradient64.targeted"] = gradient64(model, x, (y + 1) % 10).float()
        out[f"{name}.fgsm"] = torchattacks.FGSM(model, eps=0.1)(x, y)
        out[f"{name}.fgsm.targeted"] = targeted(torchattacks.FGSM(model, eps=0.1))(x, y)
        out[f"{name}.bim"] = torchattacks.BIM(model, eps=0.1, alpha=0.02, steps=10)(x, y)
        torch.manual_seed(7)
        out[f"{name}.pgd.start"] = torch.empty_like(x).uniform_(-0.1, 0.1)
        for mode in ("", ".targeted"):
            torch.manual_seed(7)  # the same draws as the stored start
            attack = torchattacks.PGD(model, eps=0.1, alpha=0.01, steps=20, random_start=True)
            out[f"{name}.pgd{mode}"] = (targeted(attack) if mode else attack)(x, y)
        torch.manual_seed(8)
        delta = torch.empty_like(x).normal_()
        norms = delta.view(len(x), -1).norm(p=2, dim=1).view(len(x), 1, 1, 1)
        delta *= torch.zeros_like(norms).uniform_(0, 1) / norms * 1.5
        out[f"{name}.pgdl2.start"] = delta
        torch.manual_seed(8)
        out[f"{name}.pgdl2"] = torchattacks.PGDL2(model, eps=1.5, alpha=0.2, steps=20, random_start=True)(x, y)
    torch.jit.trace(models["cnn"], x).save(os.path.join(OUT, "cnn_traced.pt"))
    # CW (c = 10, 100 steps of Adam at 0.01): which of 64 digits it misclassifies, and the L2 norms.
    model, cx, cy = models["mlp"], out["inputs"], out["labels"]
    adversarial = torchattacks.CW(model, c=10, kappa=0, steps=100, lr=0.01)(cx, cy)
    with torch.no_grad():
        out["mlp.cw.success"] = (model(adversarial).argmax(1) != cy).to(torch.uint8)
    out["mlp.cw.l2"] = (adversarial - cx).view(len(cx), -1).norm(dim=1)
    success = out["mlp.cw.success"].bool()
    print("CW success", success.float().mean().item(), "mean L2 of successes", out["mlp.cw.l2"][success].mean().item())
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "torchattacks.safetensors"),
              metadata={"torchattacks": torchattacks.__version__, "torch": torch.__version__})


if __name__ == "__main__":
    main()
