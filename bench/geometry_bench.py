#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench geometry`.

Called with a folder holding the demo CNN's weights and the inputs (safetensors) and
settings.json (hook pair as layer counts, repeats, threads). Computes every input's Jacobian of
the CNN's hidden layer (layer 9's output, 128 values) with respect to the input image (784
values) with torch.autograd.functional.jacobian on the batch sum (inputs do not interact in eval
mode, the usual way to get per-input Jacobians from it), both with vectorize=False (one backward
pass per output) and vectorize=True (vmap over the backward passes). Writes
geometry_results.json (median seconds of each mode after a warm-up) and the Jacobians of the
faster mode to geometry_jacobians.safetensors. Environment: Debian's torch 1.13
(tools/requirements.txt).
"""
import json
import os
import sys

import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_fixtures import mnist_cnn  # noqa: E402  (the demo CNN's PyTorch twin)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import timed  # noqa: E402


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    model = mnist_cnn().eval()
    model.load_state_dict(load_file(os.path.join(folder, "weights.safetensors")))
    x = load_file(os.path.join(folder, "inputs.safetensors"))["inputs"]
    front = model[:settings["layers"]]
    seconds, jacobians = {}, {}
    for vectorize in (False, True):
        name = "vectorize" if vectorize else "loop"
        seconds[name], j = timed(lambda: torch.autograd.functional.jacobian(lambda v: front(v).sum(0), x, vectorize=vectorize),
                                 settings["repeats"])
        jacobians[name] = j.reshape(j.shape[0], x.shape[0], -1).permute(1, 0, 2).contiguous()
    faster = min(seconds, key=seconds.get)
    save_file({"jacobians": jacobians[faster]}, os.path.join(folder, "geometry_jacobians.safetensors"))
    json.dump({"torch": torch.__version__, "seconds": seconds, "faster": faster},
              open(os.path.join(folder, "geometry_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
