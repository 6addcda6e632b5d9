#!/usr/bin/env python3
"""Times Captum on the same models, weights, inputs and settings as `glassbox bench attribution`.

Called by that command with a folder it prepared (weights and inputs as
safetensors, settings as JSON); writes captum_results.json and
captum_attributions.safetensors back into it. Environment: PyTorch (Debian's
python3-torch 1.13, the libtorch Glassbox links) and captum 0.7.0; see
tools/requirements.txt. Models run eagerly, as Captum users run them.
"""
import json
import os
import sys

import torch
from torch import nn
from safetensors.torch import load_file, save_file
from captum.attr import IntegratedGradients, KernelShap, NoiseTunnel, Occlusion, Saliency

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_fixtures import mnist_cnn  # noqa: E402  (the demo CNN's PyTorch twin)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import timed  # noqa: E402


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    """torchvision's resnet18 layout (same parameter names as Glassbox's ResNet18)."""

    def __init__(self, classes):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        widths, cin = [64, 128, 256, 512], 64
        for i, w in enumerate(widths):
            setattr(self, f"layer{i + 1}", nn.Sequential(BasicBlock(cin, w, 1 if i == 0 else 2), BasicBlock(w, w, 1)))
            cin = w
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(4):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.fc(self.flatten(self.avgpool(x)))


def kernel_shap(model, x, targets, mask, samples, per_eval, recorded):
    """Captum's KernelShap per example, recording the coalitions it draws."""
    results = []
    recorded.clear()
    for i in range(x.shape[0]):
        explainer = KernelShap(model)
        draw = explainer.perturb_func
        drawn = []

        def recording(original_input, **kwargs):
            for coalition in draw(original_input, **kwargs):
                drawn.append(coalition)
                yield coalition
        explainer.perturb_func = recording
        results.append(explainer.attribute(x[i:i + 1], target=int(targets[i]), feature_mask=mask,
                                           n_samples=samples, perturbations_per_eval=per_eval))
        recorded.append(torch.cat(drawn[:samples]).float())
    return torch.cat(results)


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    results, attributions = {}, {}
    for spec in settings["models"]:
        name = spec["name"]
        model = mnist_cnn() if spec["architecture"] == "mnist-cnn" else ResNet18(spec["classes"])
        model.load_state_dict(load_file(os.path.join(folder, f"{name}.weights.safetensors")))
        model.eval()
        data = load_file(os.path.join(folder, f"{name}.inputs.safetensors"))
        x, targets, mask = data["inputs"], data["targets"], data["mask"]
        batch = spec["internal_batch_size"]
        per_eval = spec["perturbations_per_eval"]
        runs = {
            "integrated-gradients": lambda: IntegratedGradients(model).attribute(
                x, target=targets, n_steps=50, internal_batch_size=batch),
            "smoothgrad": lambda: NoiseTunnel(Saliency(model)).attribute(
                x, target=targets, nt_type="smoothgrad", nt_samples=50, stdevs=0.15, abs=False, nt_samples_batch_size=batch // x.shape[0] or 1),
            "occlusion": lambda: Occlusion(model).attribute(
                x, target=targets, sliding_window_shapes=tuple(spec["window"]), strides=tuple(spec["strides"]), perturbations_per_eval=per_eval),
            "kernel-shap": lambda: kernel_shap(model, x, targets, mask, spec["shap_samples"], per_eval, coalitions),
        }
        coalitions = []
        results[name] = {}
        for method, run in runs.items():
            if method == "smoothgrad":
                # Record Captum's noise (torch.normal) so Glassbox can check it gets the same maps.
                original, drawn = torch.normal, []
                def recording(*args, **kwargs):
                    out = original(*args, **kwargs)
                    drawn.append(out)
                    return out
                torch.normal = recording
                try:
                    seconds, value = timed(run, settings["repeats"])
                finally:
                    torch.normal = original
                # Captum draws one noise tensor per batch of samples, example-major inside each
                # batch; regroup the last run's draws as all samples of example 0, then 1, ….
                last = drawn[-(len(drawn) // (settings["repeats"] + 1)):]
                per_example = [d.reshape((x.shape[0], -1) + tuple(x.shape[1:])) for d in last]
                attributions[f"{name}.smoothgrad.noise"] = torch.cat(per_example, dim=1).reshape((-1,) + tuple(x.shape[1:]))
            else:
                seconds, value = timed(run, settings["repeats"])
            if method == "kernel-shap":
                attributions[f"{name}.kernel-shap.coalitions"] = torch.stack(coalitions)
            results[name][method] = seconds
            attributions[f"{name}.{method}"] = value.detach().contiguous()
            print(f"captum {name} {method}: {seconds:.3f} s", file=sys.stderr, flush=True)
    json.dump({"captum": __import__("captum").__version__, "torch": torch.__version__, "seconds": results},
              open(os.path.join(folder, "captum_results.json"), "w"))
    save_file(attributions, os.path.join(folder, "captum_attributions.safetensors"))


if __name__ == "__main__":
    main(sys.argv[1])
