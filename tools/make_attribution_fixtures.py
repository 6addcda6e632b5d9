#!/usr/bin/env python3
"""Captum-parity fixtures for the Attribution tests (Tests/AttributionTests/Fixtures/).

Pinned environment: tools/requirements.txt (Debian's torch 1.13, captum 0.7.0,
scikit-learn 1.3.2). Two models: the demo CNN twin (weights from
Tests/NNTests/Fixtures/cnn_weights.safetensors) on three real bundled test
digits, and a small MLP. Captum's own random draws (SmoothGrad noise, Shapley
permutations) are captured and stored so the Swift side can replay them; LIME
and KernelSHAP get fixed coalitions through Captum's perturb_func hook.
"""
import gzip
import os

import numpy as np
import torch
from torch import nn
from safetensors.torch import load_file, save_file
from captum.attr import (
    Saliency, InputXGradient, IntegratedGradients, NoiseTunnel, GuidedBackprop, Deconvolution,
    LayerGradCam, GuidedGradCam, Occlusion, FeatureAblation, ShapleyValueSampling, Lime, KernelShap,
    LayerActivation, LayerIntegratedGradients, LayerConductance, NeuronGradient, NeuronIntegratedGradients,
)
from captum._utils.models.linear_model import SkLearnLinearRegression

from make_fixtures import mnist_cnn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "AttributionTests", "Fixtures")
RULES = ["riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid", "gausslegendre"]


def test_digits(n):
    folder = os.path.join(ROOT, "Sources", "Datasets", "Resources", "mnist5k")
    with gzip.open(os.path.join(folder, "test-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 1, 28, 28)
    return torch.tensor(images[:n].astype(np.float32) / 255.0)


class Recorder:
    """Wraps a torch function and keeps what it returned."""

    def __init__(self, name):
        self.name, self.original, self.calls = name, getattr(torch, name), []

    def __enter__(self):
        def wrapped(*args, **kwargs):
            result = self.original(*args, **kwargs)
            self.calls.append(result)
            return result
        setattr(torch, self.name, wrapped)
        return self

    def __exit__(self, *exc):
        setattr(torch, self.name, self.original)


def fixed_coalitions(rows):
    def generator(original_input, **kwargs):
        for row in rows:
            yield row.unsqueeze(0).long()
    return generator


def sklearn_float64_fit(model, x, targets, mask, coalitions, weight):
    """The exact weighted linear fit Captum's LIME/KernelSHAP approximate in float32."""
    from sklearn.linear_model import LinearRegression
    groups = coalitions.shape[1]
    flat_mask = mask.reshape(-1)
    results = []
    for row in range(x.shape[0]):
        present = coalitions[:, flat_mask].reshape((-1,) + tuple(x.shape[1:]))
        perturbed = present * x[row:row + 1]
        with torch.no_grad():
            y = model(perturbed)[:, targets[row]].double().numpy()
        w = weight(x[row:row + 1], perturbed, coalitions).double().numpy()
        fit = LinearRegression().fit(coalitions.double().numpy(), y, sample_weight=w)
        coefficients = torch.tensor(fit.coef_)
        results.append(coefficients[flat_mask].reshape(x.shape[1:]))
    return torch.stack(results)


def cosine_kernel(original, perturbed, coalitions):
    a = original.reshape(1, -1).double()
    b = perturbed.reshape(perturbed.shape[0], -1).double()
    cosine = (b @ a.T).squeeze(1) / (b.norm(dim=1) * a.norm()).clamp(min=1e-8)
    return torch.exp(-(1 - cosine) ** 2 / 2)


def shapley_kernel(original, perturbed, coalitions):
    k = coalitions.sum(dim=1)
    return torch.where((k == 0) | (k == coalitions.shape[1]), torch.tensor(1e6, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64))


def attributions(prefix, model, x, targets, layer, layer_name, neuron_layer, neuron, mask, out):
    out[prefix + "input"] = x
    out[prefix + "targets"] = targets
    out[prefix + "mask"] = mask
    out[prefix + "saliency"] = Saliency(model).attribute(x, target=targets)
    out[prefix + "saliency_signed"] = Saliency(model).attribute(x, target=targets, abs=False)
    out[prefix + "input_x_gradient"] = InputXGradient(model).attribute(x, target=targets)
    for rule in RULES:
        attr, delta = IntegratedGradients(model).attribute(x, target=targets, n_steps=20, method=rule, return_convergence_delta=True)
        out[prefix + "ig." + rule] = attr
        out[prefix + "ig_delta." + rule] = delta
    baseline = torch.rand(x.shape, generator=torch.Generator().manual_seed(5)) * 0.3
    out[prefix + "ig_baseline"] = baseline
    out[prefix + "ig_with_baseline"] = IntegratedGradients(model).attribute(x, baselines=baseline, target=targets, n_steps=20)

    for kind in ["smoothgrad", "smoothgrad_sq", "vargrad"]:
        torch.manual_seed(3)
        with Recorder("normal") as recorder:
            out[prefix + "nt." + kind] = NoiseTunnel(Saliency(model)).attribute(
                x, target=targets, nt_type=kind, nt_samples=4, stdevs=0.2, abs=False)
        out[prefix + "nt_noise." + kind] = torch.cat(recorder.calls) if len(recorder.calls) > 1 else recorder.calls[0]

    out[prefix + "guided_backprop"] = GuidedBackprop(model).attribute(x, target=targets)
    out[prefix + "deconvolution"] = Deconvolution(model).attribute(x, target=targets)
    out[prefix + "layer_activation"] = LayerActivation(model, layer).attribute(x)
    out[prefix + "layer_ig"] = LayerIntegratedGradients(model, layer).attribute(x, target=targets, n_steps=20)
    out[prefix + "layer_conductance"] = LayerConductance(model, layer).attribute(x, target=targets, n_steps=20)
    out[prefix + "neuron_gradient"] = NeuronGradient(model, neuron_layer).attribute(x, neuron_selector=neuron)
    out[prefix + "neuron_ig"] = NeuronIntegratedGradients(model, neuron_layer).attribute(x, neuron_selector=neuron, n_steps=20)
    out[prefix + "feature_ablation"] = FeatureAblation(model).attribute(x, target=targets)
    out[prefix + "feature_ablation_mask"] = FeatureAblation(model).attribute(x, target=targets, feature_mask=mask)

    torch.manual_seed(9)
    with Recorder("randperm") as recorder:
        out[prefix + "shapley"] = ShapleyValueSampling(model).attribute(x, target=targets, feature_mask=mask, n_samples=6)
    out[prefix + "shapley_permutations"] = torch.stack(recorder.calls)

    # More coalitions than groups: with fewer, the least-squares fit is underdetermined
    # and Captum's float32 minimum-norm solution is numerically unstable.
    groups = int(mask.max()) + 1
    coalitions = torch.bernoulli(torch.full((120, groups), 0.5), generator=torch.Generator().manual_seed(11))
    out[prefix + "coalitions"] = coalitions
    lime = Lime(model, interpretable_model=SkLearnLinearRegression())
    lime.perturb_func = fixed_coalitions(coalitions)
    out[prefix + "lime"] = lime.attribute(x, target=targets, feature_mask=mask, n_samples=120)
    shap_rows = torch.cat([torch.ones(1, groups), torch.zeros(1, groups), coalitions[2:]])
    out[prefix + "shap_coalitions"] = shap_rows
    kernel_shap = KernelShap(model)
    kernel_shap.perturb_func = fixed_coalitions(shap_rows)
    out[prefix + "kernel_shap"] = kernel_shap.attribute(x, target=targets, feature_mask=mask, n_samples=120)
    out[prefix + "lime_float64"] = sklearn_float64_fit(model, x, targets, mask, coalitions, cosine_kernel)
    out[prefix + "kernel_shap_float64"] = sklearn_float64_fit(model, x, targets, mask, shap_rows, shapley_kernel)


def heatmap_fixtures(attr):
    """Captum's heat-map normalisation (visualize_image_attr's first step) for every sign."""
    from captum.attr._utils.visualization import _normalize_attr
    hwc = attr.permute(1, 2, 0).double().numpy()
    out = {"attribution": attr}
    for sign in ["all", "positive", "negative", "absolute_value"]:
        for outlier in [0, 2, 10]:
            out[f"{sign}.{outlier}"] = torch.tensor(_normalize_attr(hwc, sign, outlier, reduction_axis=2))
    folder = os.path.join(ROOT, "Tests", "ReportTests", "Fixtures")
    os.makedirs(folder, exist_ok=True)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(folder, "heatmap.safetensors"))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    out = {}

    cnn = mnist_cnn().eval()
    cnn.load_state_dict(load_file(os.path.join(ROOT, "Tests", "NNTests", "Fixtures", "cnn_weights.safetensors")))
    x = test_digits(3)
    targets = torch.tensor([7, 2, 1])
    # 7×7 patches of 4×4 pixels: 49 groups.
    patches = (torch.arange(28)[:, None] // 4) * 7 + (torch.arange(28)[None, :] // 4)
    mask = patches.reshape(1, 1, 28, 28)
    attributions("cnn.", cnn, x, targets, cnn[3], "3", cnn[8], (5,), mask, out)
    out["cnn.grad_cam"] = LayerGradCam(cnn, cnn[3]).attribute(x, target=targets, relu_attributions=True)
    out["cnn.grad_cam_no_relu"] = LayerGradCam(cnn, cnn[3]).attribute(x, target=targets)
    out["cnn.guided_grad_cam"] = GuidedGradCam(cnn, cnn[3]).attribute(x, target=targets)
    out["cnn.occlusion"] = Occlusion(cnn).attribute(x, target=targets, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2))

    torch.manual_seed(21)
    mlp = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).eval()
    save_file({k: v.contiguous() for k, v in mlp.state_dict().items()}, os.path.join(OUT, "mlp_weights.safetensors"))
    xm = torch.randn(4, 6)
    tm = torch.tensor([0, 2, 1, 2])
    mask_m = torch.tensor([[0, 0, 1, 2, 2, 3]])
    attributions("mlp.", mlp, xm, tm, mlp[0], "0", mlp[2], (1,), mask_m, out)
    out["mlp.occlusion"] = Occlusion(mlp).attribute(xm, target=tm, sliding_window_shapes=(2,), strides=(1,))

    save_file({k: v.detach().contiguous() for k, v in out.items()}, os.path.join(OUT, "captum.safetensors"))
    heatmap_fixtures(out["cnn.ig.gausslegendre"][0])
    print("wrote", len(out), "tensors; captum", __import__("captum").__version__, "torch", torch.__version__)


if __name__ == "__main__":
    main()
