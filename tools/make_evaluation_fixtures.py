#!/usr/bin/env python3
"""Reference values for the Evaluation tests (Tests/EvaluationTests/Fixtures/).

Pinned environment: tools/requirements.txt. Captum 0.7.0's infidelity and
sensitivity_max (with fixed perturbations passed through their perturb_func),
Quantus 0.5.3's Sparseness and Complexity, scipy's Spearman correlation (with
ties) and scikit-image 0.22's structural_similarity.
"""
import os

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from captum.attr import IntegratedGradients, Saliency
from captum.metrics import infidelity, sensitivity_max
from scipy.stats import spearmanr
from skimage.metrics import structural_similarity

from make_fixtures import mnist_cnn
from make_attribution_fixtures import test_digits

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "EvaluationTests", "Fixtures")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    out = {}
    model = mnist_cnn().eval()
    model.load_state_dict(load_file(os.path.join(ROOT, "Tests", "NNTests", "Fixtures", "cnn_weights.safetensors")))
    x = test_digits(3)
    targets = torch.tensor([7, 2, 1])
    out["input"], out["targets"] = x, targets
    attributions = IntegratedGradients(model).attribute(x, target=targets, n_steps=20)
    out["ig"] = attributions

    samples = 5
    generator = torch.Generator().manual_seed(3)
    noise = torch.randn((3 * samples,) + tuple(x.shape[1:]), generator=generator) * 0.01
    out["infidelity_noise"] = noise

    def fixed_infidelity_perturbation(inputs):
        return noise, inputs - noise

    out["infidelity"] = infidelity(model, fixed_infidelity_perturbation, x, attributions, target=targets, n_perturb_samples=samples)
    out["infidelity_normalized"] = infidelity(model, fixed_infidelity_perturbation, x, attributions, target=targets,
                                              n_perturb_samples=samples, normalize=True)

    uniform = (torch.rand((3 * samples,) + tuple(x.shape[1:]), generator=generator) * 2 - 1) * 0.02
    out["sensitivity_noise"] = uniform

    def fixed_sensitivity_perturbation(inputs, perturb_radius=0.02):
        return inputs + uniform

    out["max_sensitivity"] = sensitivity_max(Saliency(model).attribute, x, perturb_func=fixed_sensitivity_perturbation,
                                             n_perturb_samples=samples, target=targets)

    # Similarity measures on maps with ties.
    a = torch.tensor(np.round(np.random.default_rng(1).normal(size=(4, 1, 12, 12)), 1))
    b = a + torch.tensor(np.round(np.random.default_rng(2).normal(size=(4, 1, 12, 12)), 1))
    out["map_a"], out["map_b"] = a, b
    out["spearman"] = torch.tensor([spearmanr(a[i].flatten(), b[i].flatten())[0] for i in range(4)])
    out["spearman_abs"] = torch.tensor([spearmanr(a[i].abs().flatten(), b[i].abs().flatten())[0] for i in range(4)])
    out["pearson"] = torch.tensor([np.corrcoef(a[i].flatten(), b[i].flatten())[0, 1] for i in range(4)])

    def unit(m):
        m = m.numpy()
        return (m - m.min()) / (m.max() - m.min())
    out["ssim"] = torch.tensor([structural_similarity(unit(a[i, 0]), unit(b[i, 0]), data_range=1.0, win_size=7) for i in range(4)])

    from skimage.feature import hog
    images = torch.tensor(np.random.default_rng(3).random((2, 32, 40)))
    out["hog_images"] = images
    out["hog_features"] = torch.stack([torch.tensor(hog(images[i].numpy())) for i in range(2)])

    import quantus
    attr = attributions.numpy()
    out["sparseness"] = torch.tensor(quantus.Sparseness(normalise=False, abs=True, disable_warnings=True)(
        model=None, x_batch=x.numpy(), y_batch=targets.numpy(), a_batch=attr))
    out["complexity"] = torch.tensor(quantus.Complexity(normalise=False, abs=True, disable_warnings=True)(
        model=None, x_batch=x.numpy(), y_batch=targets.numpy(), a_batch=attr))

    save_file({k: v.detach().contiguous() for k, v in out.items()}, os.path.join(OUT, "evaluation.safetensors"))
    print("wrote", len(out), "tensors; quantus", quantus.__version__)


if __name__ == "__main__":
    main()
