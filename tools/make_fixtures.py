#!/usr/bin/env python3
"""Writes the PyTorch-parity fixtures the Swift tests compare against.

Pinned environment: Debian bookworm's python3-torch (1.13) and numpy (1.24),
safetensors 0.4.5 from PyPI (tools/requirements.txt). Everything is seeded, so
a re-run gives the same files. Outputs go to Tests/*/Fixtures/.

Also verifies, with Python's own safetensors loader, the file the Swift encoder
wrote (Tests/TorchTests/Fixtures/swift_written.safetensors, made by the Swift
test suite with GLASSBOX_WRITE_FIXTURES=1): the Swift test then checks that its
encoder still produces exactly those bytes.
"""
import os
import sys

import numpy as np
import torch
from torch import nn
from safetensors import safe_open
from safetensors.torch import save_file

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
NN_FIXTURES = os.path.join(ROOT, "Tests", "NNTests", "Fixtures")
TORCH_FIXTURES = os.path.join(ROOT, "Tests", "TorchTests", "Fixtures")


def mnist_cnn():
    # Twin of Architectures.mnistCNN in Sources/NN/Architectures.swift.
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25),
        nn.Linear(64 * 7 * 7, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


def cnn_fixtures():
    torch.manual_seed(1234)
    model = mnist_cnn().eval()
    x = torch.rand(4, 1, 28, 28)
    targets = torch.tensor([3, 1, 4, 1])
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, os.path.join(NN_FIXTURES, "cnn_weights.safetensors"))

    xg = x.clone().requires_grad_(True)
    logits = model(xg)
    # Input gradient of the target logits (what Saliency computes).
    target_logit_grad, = torch.autograd.grad(logits.gather(1, targets[:, None]).sum(), xg)
    loss = nn.functional.cross_entropy(model(x), targets)
    model.zero_grad()
    loss.backward()
    out = {
        "input": x,
        "targets": targets,
        "logits": logits.detach(),
        "target_logit_input_grad": target_logit_grad,
        "loss": loss.detach().reshape(1),
    }
    for name, p in model.named_parameters():
        out["param_grad." + name] = p.grad
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(NN_FIXTURES, "cnn_expected.safetensors"))

    traced = torch.jit.trace(model, x)
    traced.save(os.path.join(NN_FIXTURES, "cnn_traced.pt"))


def optimizer_fixtures():
    """Three steps of SGD (momentum, Nesterov, weight decay), Adam and AdamW on a fixed quadratic."""
    torch.manual_seed(7)
    w0 = torch.randn(5)
    a = torch.randn(5, 5)
    out = {"w0": w0, "a": a}
    configs = {
        "sgd": lambda p: torch.optim.SGD([p], lr=0.02, momentum=0.9, dampening=0.1, weight_decay=0.01),
        "nesterov": lambda p: torch.optim.SGD([p], lr=0.02, momentum=0.9, nesterov=True),
        "adam": lambda p: torch.optim.Adam([p], lr=0.05, weight_decay=0.01),
        "adamw": lambda p: torch.optim.AdamW([p], lr=0.05, weight_decay=0.1),
    }
    for name, make in configs.items():
        p = w0.clone().requires_grad_(True)
        opt = make(p)
        for _ in range(3):
            opt.zero_grad()
            ((a @ p).tanh().square().sum() + p.pow(4).sum()).backward()
            opt.step()
        out["after." + name] = p.detach().clone()
    save_file(out, os.path.join(NN_FIXTURES, "optimizers.safetensors"))


def layer_fixtures():
    """BatchNorm (train and eval), LayerNorm, GELU, Embedding, AvgPool, AdaptiveAvgPool outputs."""
    torch.manual_seed(11)
    x = torch.randn(6, 3, 5, 5)
    bn = nn.BatchNorm2d(3)
    with torch.no_grad():
        bn.weight.copy_(torch.randn(3))
        bn.bias.copy_(torch.randn(3))
    out = {"x": x, "bn.weight": bn.weight.detach().clone(), "bn.bias": bn.bias.detach().clone()}
    bn.train()
    out["bn_train_out"] = bn(x).detach()
    out["bn_running_mean"] = bn.running_mean.clone()
    out["bn_running_var"] = bn.running_var.clone()
    bn.eval()
    out["bn_eval_out"] = bn(x).detach()
    ln = nn.LayerNorm([5])
    with torch.no_grad():
        ln.weight.copy_(torch.randn(5))
        ln.bias.copy_(torch.randn(5))
    out["ln.weight"] = ln.weight.detach().clone()
    out["ln.bias"] = ln.bias.detach().clone()
    out["ln_out"] = ln(x).detach()
    out["gelu_out"] = nn.functional.gelu(x)
    out["avgpool_out"] = nn.functional.avg_pool2d(x, 2)
    out["adaptive_out"] = nn.functional.adaptive_avg_pool2d(x, (2, 3))
    # BatchNorm1d on (N, C) in training mode, with default affine parameters.
    x1 = torch.randn(8, 4)
    out["x1"] = x1
    out["bn1d_train_out"] = nn.BatchNorm1d(4).train()(x1).detach()
    # Losses.
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    out["logits"] = logits
    out["labels"] = labels
    out["ce"] = nn.functional.cross_entropy(logits, labels).reshape(1)
    out["ce_smooth"] = nn.functional.cross_entropy(logits, labels, label_smoothing=0.1).reshape(1)
    out["ce_none"] = nn.functional.cross_entropy(logits, labels, reduction="none")
    out["nll_sum"] = nn.functional.nll_loss(logits.log_softmax(1), labels, reduction="sum").reshape(1)
    targets = torch.rand(6, 5)
    out["targets"] = targets
    out["mse"] = nn.functional.mse_loss(logits, targets).reshape(1)
    out["bce"] = nn.functional.binary_cross_entropy_with_logits(logits, targets).reshape(1)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(NN_FIXTURES, "layers.safetensors"))


# (in, out, kernel, stride, padding, output_padding, input size): the SENN decoder's three
# layers, then output padding, and padding > 0 with stride 3.
CONV_TRANSPOSE_CASES = [(5, 16, 5, 2, 0, 0, 4), (16, 8, 5, 1, 0, 0, 11), (8, 1, 2, 2, 1, 0, 15),
                        (3, 4, 3, 2, 1, 1, 6), (2, 3, 4, 3, 2, 0, 5)]


def conv_transpose_fixtures():
    """ConvTranspose2d outputs, first-order gradients and a second-order (double backprop) gradient."""
    torch.manual_seed(13)
    out = {}
    for i, (cin, cout, k, s, p, op, h) in enumerate(CONV_TRANSPOSE_CASES):
        layer = nn.ConvTranspose2d(cin, cout, k, stride=s, padding=p, output_padding=op)
        x = torch.randn(2, cin, h, h, requires_grad=True)
        y = layer(x)
        r = torch.randn_like(y)
        gx, = torch.autograd.grad((y * r).sum(), x, create_graph=True)
        gw, = torch.autograd.grad((y * r).sum(), layer.weight, retain_graph=True)
        second, = torch.autograd.grad((gx ** 2).sum(), layer.weight)
        for name, t in [("x", x), ("weight", layer.weight), ("bias", layer.bias), ("y", y), ("r", r), ("grad_x", gx),
                        ("grad_weight", gw), ("second", second)]:
            out[f"{i}.{name}"] = t.detach().clone()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(NN_FIXTURES, "conv_transpose.safetensors"))


def safetensors_fixtures():
    """A Python-written file with every dtype and metadata, for the Swift reader."""
    tensors = {
        "f32": torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4,
        "f64": torch.tensor([1.5, -2.25], dtype=torch.float64),
        "f16": torch.tensor([0.5, 2.0, -1.0], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.0], dtype=torch.bfloat16),
        "i64": torch.tensor([-(2 ** 40), 7], dtype=torch.int64),
        "i32": torch.tensor([[1, -2], [3, -4]], dtype=torch.int32),
        "i16": torch.tensor([-300], dtype=torch.int16),
        "i8": torch.tensor([-5, 5], dtype=torch.int8),
        "u8": torch.tensor([0, 255, 128], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.0),
        "empty": torch.zeros(0, 4),
    }
    save_file(tensors, os.path.join(TORCH_FIXTURES, "python_written.safetensors"), metadata={"origin": "python", "n": "12"})
    np.save(os.path.join(TORCH_FIXTURES, "python_f32.npy"), np.arange(12, dtype=np.float32).reshape(3, 4) / 8)
    np.save(os.path.join(TORCH_FIXTURES, "python_i64_fortran.npy"), np.asfortranarray(np.arange(6, dtype=np.int64).reshape(2, 3)))
    np.save(os.path.join(TORCH_FIXTURES, "python_u8.npy"), np.array([[0, 128, 255]], dtype=np.uint8))


def verify_swift_file():
    path = os.path.join(TORCH_FIXTURES, "swift_written.safetensors")
    if not os.path.exists(path):
        print("no swift_written.safetensors yet: run GLASSBOX_WRITE_FIXTURES=1 swift test --filter SafetensorsTests, then re-run this script")
        return
    with safe_open(path, framework="pt") as f:
        meta = f.metadata()
        loaded = {k: f.get_tensor(k) for k in f.keys()}
    assert meta == {"written_by": "glassbox", "purpose": "interop"}, meta
    assert torch.equal(loaded["weights"], torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5 - 1), loaded["weights"]
    assert torch.equal(loaded["counts"], torch.tensor([1, -2, 3], dtype=torch.int64))
    assert torch.equal(loaded["mask"], torch.tensor([True, False]))
    assert torch.equal(loaded["half"], torch.tensor([0.25, -8.0], dtype=torch.float16))
    assert loaded["empty"].shape == (2, 0)
    print("swift_written.safetensors loads in Python safetensors", list(loaded))


if __name__ == "__main__":
    os.makedirs(NN_FIXTURES, exist_ok=True)
    os.makedirs(TORCH_FIXTURES, exist_ok=True)
    torch.set_num_threads(1)
    cnn_fixtures()
    optimizer_fixtures()
    layer_fixtures()
    conv_transpose_fixtures()
    safetensors_fixtures()
    verify_swift_file()
    print("fixtures written; torch", torch.__version__)
