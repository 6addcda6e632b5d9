#!/usr/bin/env python3
"""Times the torchattacks side of `glassbox bench attack`.

Called with a folder holding, per model, its weights and inputs/labels (safetensors) and
settings.json (models with ε and step size, steps, repeats, threads, examples). Times
torchattacks.PGD (L∞, random start) on each model's whole batch; then, unless examples is false,
runs it once more after seeding torch and stores the random start it drew and the examples it
returned, so Glassbox can replay the same walk. Writes attack_results.json (median seconds after
a warm-up) and attack_examples.safetensors. `glassbox bench attack` calls it once per round with
repeats 1, alternating with its own runs. Environment: Debian's torch 1.13 and torchattacks 3.5.1
(scripts/python-tools.sh).
"""
import json
import os
import sys

import torch
import torchattacks
from safetensors.torch import load_file, save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
from make_fixtures import mnist_cnn  # noqa: E402  (the demo CNN's PyTorch twin)
sys.path.insert(0, HERE)
from captum_bench import ResNet18  # noqa: E402  (the ResNet-18 twin the attribution bench uses)
from timing import timed  # noqa: E402


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    seconds, examples = {}, {}
    for spec in settings["models"]:
        name = spec["name"]
        model = mnist_cnn() if name == "mnist-cnn" else ResNet18(1000)
        model.load_state_dict(load_file(os.path.join(folder, f"{name}.weights.safetensors")))
        model.eval()
        data = load_file(os.path.join(folder, f"{name}.inputs.safetensors"))
        x, labels = data["inputs"], data["labels"]
        attack = torchattacks.PGD(model, eps=spec["epsilon"], alpha=spec["step_size"], steps=settings["steps"], random_start=True)
        seconds[name], _ = timed(lambda: attack(x, labels), settings["repeats"])
        if not settings.get("examples", True):
            continue
        torch.manual_seed(0)
        examples[f"{name}.start"] = torch.empty_like(x).uniform_(-spec["epsilon"], spec["epsilon"])
        torch.manual_seed(0)
        examples[f"{name}.adversarial"] = attack(x, labels)
    if examples:
        save_file(examples, os.path.join(folder, "attack_examples.safetensors"))
    json.dump({"torch": torch.__version__, "torchattacks": torchattacks.__version__, "seconds": seconds},
              open(os.path.join(folder, "attack_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
