#!/usr/bin/env python3
"""SciPy references for the attention studies (Tests/AttentionStudiesTests/Fixtures/kendall.json).

Pinned environment: tools/requirements.txt (scipy as scikit-learn 1.3.2 pulls it; 1.17.1 here,
whose kendalltau defaults are variant 'b', method 'auto').

Kendall's tau-b and its p-value for lists without ties (n = 2 ... 40: exact up to 33, the normal
approximation beyond), with ties (normal approximation, tie-corrected variance), nearly sorted
lists (exact at any n), and the Jensen-Shannon divergence (the square of SciPy's distance) and
total variation distance of a few distributions.

Usage: python3 tools/make_attention_fixtures.py
"""
import json
import os

import numpy as np
import scipy
from scipy.spatial.distance import jensenshannon
from scipy.stats import kendalltau

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "AttentionStudiesTests", "Fixtures")


def main():
    rng = np.random.default_rng(7)
    cases = []
    for n in [2, 3, 5, 8, 12, 20, 33, 34, 40]:
        x, y = rng.normal(size=n), rng.normal(size=n)
        y = 0.6 * x + y  # some association, so p-values span the range
        cases.append((x, y))
    for n in [6, 15, 40]:
        cases.append((rng.integers(0, 4, size=n).astype(float), rng.integers(0, 3, size=n).astype(float)))
    x = np.arange(50.0)
    y = x.copy()
    y[[10, 11]] = y[[11, 10]]
    cases.append((x, y))                 # one discordant pair: exact at n = 50
    cases.append((x, -x))
    out = {"scipy": scipy.__version__, "kendall": []}
    for x, y in cases:
        result = kendalltau(x, y)
        out["kendall"].append({"x": x.tolist(), "y": y.tolist(), "tau": float(result.statistic), "p": float(result.pvalue)})
    distributions = []
    for n in [2, 5, 9]:
        p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(n) * 0.3)
        q[0] = 0
        q = q / q.sum()
        distributions.append({"p": p.tolist(), "q": q.tolist(), "jsd": float(jensenshannon(p, q) ** 2),
                              "tvd": float(0.5 * np.abs(p - q).sum())})
    out["divergences"] = distributions
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "kendall.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(out['kendall'])} Kendall cases, {len(distributions)} divergence cases")


if __name__ == "__main__":
    main()
