#!/usr/bin/env python3
"""PyTorch references for the sequence layers (Tests/NNTests/Fixtures/sequence_layers.safetensors).

Pinned environment: Debian's python3-torch 1.13 (tools/requirements.txt).

LSTM: torch.nn.LSTM(5, 4, num_layers=2, bidirectional=True, batch_first=True), seed 0,
on a (3, 6, 5) batch, full length and with lengths (6, 3, 1) through
pack_padded_sequence(enforce_sorted=False) / pad_packed_sequence(total_length=6);
outputs, final hidden and cell states, and the gradients of
sum(output · R1) + sum(h_n · R2) with respect to the input and every weight.

Usage: python3 tools/make_sequence_fixtures.py
"""
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
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(OUT, "sequence_layers.safetensors"))


if __name__ == "__main__":
    main()
