#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench visualize`.

Called with a folder holding the demo CNN's weights, the starting spectrum and the Fourier bases
(safetensors) and settings.json. Runs the loop a plain PyTorch user would write for the same
feature visualisation: images = sigmoid(inverse real DFT of the 1/f-scaled spectrum, as the same
matrix products), a random rescale (bilinear), rotation (affine grid) and jitter (mid-grey padding, crop) each step, the
full model run with a forward hook at the chosen layer, each image's loss minus its channel's
mean, Adam. Writes visualize_results.json (median seconds after a warm-up) and, from a short
run without transforms, visualize_images.safetensors. Environment: Debian's torch 1.13.
"""
import json
import math
import os
import random
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from make_fixtures import mnist_cnn  # noqa: E402  (the demo CNN's PyTorch twin)
sys.path.insert(0, HERE)
from timing import timed  # noqa: E402


def visualise(model, data, settings, transforms, steps):
    cos_h, sin_h, cos_w, sin_w, scale = (data[k] for k in ("cos_h", "sin_h", "cos_w", "sin_w", "scale"))
    spectrum = data["start"].clone().requires_grad_()
    optimiser = torch.optim.Adam([spectrum], lr=settings["learning_rate"])
    captured = {}
    handle = model[settings["hook"]].register_forward_hook(lambda m, i, o: captured.__setitem__("a", o))
    n, h, w = spectrum.shape[0], cos_h.shape[0], cos_w.shape[0]
    channels = torch.arange(n)
    rng = random.Random(0)

    def images():
        real, imaginary = spectrum[..., 0] * scale, spectrum[..., 1] * scale
        x = (cos_h @ real @ cos_w.T - sin_h @ real @ sin_w.T - sin_h @ imaginary @ cos_w.T - cos_h @ imaginary @ sin_w.T) / (h * w) ** 0.5
        return torch.sigmoid(x)

    for _ in range(steps):
        x = images()
        if transforms:
            factor = rng.choice(settings["scales"])
            if factor != 1:
                size = max(1, round(h * factor))
                x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
                if size < h:
                    p = h - size
                    x = F.pad(x, (p // 2, p - p // 2, p // 2, p - p // 2), value=0.5)
                top = (x.shape[2] - h) // 2
                x = x[:, :, top:top + h, top:top + w]
            degrees = rng.choice(settings["rotations"])
            if degrees != 0:
                angle = math.radians(degrees)
                c, s = math.cos(angle), math.sin(angle)
                theta = torch.tensor([[c, -s * h / w, 0.0], [s * w / h, c, 0.0]]).expand(n, 2, 3)
                grid = F.affine_grid(theta, list(x.shape), align_corners=False)
                x = F.grid_sample(x - 0.5, grid, mode="bilinear", padding_mode="zeros", align_corners=False) + 0.5
            j = settings["jitter"]
            if j > 0:
                dy, dx = rng.randint(-j, j), rng.randint(-j, j)
                x = F.pad(x, (j, j, j, j), value=0.5)[:, :, j + dy:j + dy + h, j + dx:j + dx + w]
        model(x)
        values = captured["a"][torch.arange(n), channels].mean(dim=(1, 2))
        optimiser.zero_grad()
        (-values.sum()).backward()
        optimiser.step()
    handle.remove()
    with torch.no_grad():
        return images()


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    model = mnist_cnn().eval()
    model.load_state_dict(load_file(os.path.join(folder, "weights.safetensors")))
    for p in model.parameters():
        p.requires_grad_(False)
    data = load_file(os.path.join(folder, "inputs.safetensors"))
    seconds, _ = timed(lambda: visualise(model, data, settings, True, settings["steps"]), settings["repeats"])
    images = visualise(model, data, settings, False, settings["agreement_steps"])
    save_file({"images": images.contiguous()}, os.path.join(folder, "visualize_images.safetensors"))
    json.dump({"torch": torch.__version__, "seconds": seconds}, open(os.path.join(folder, "visualize_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
