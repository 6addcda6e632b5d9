#!/usr/bin/env python3
"""Extract the Wisconsin diagnostic breast-cancer data bundled with scikit-learn.

Source: scikit-learn 1.3.2, sklearn/datasets/data/breast_cancer.csv, read with
sklearn.datasets.load_breast_cancer (569 tumours, 30 real-valued features of
cell nuclei, classes 0 = malignant (212), 1 = benign (357)). Original data:
W.N. Street, W.H. Wolberg and O.L. Mangasarian, UCI Machine Learning
Repository (CC BY 4.0).

Split (fixed, stratified): for each class in order, permute its rows (file
order) with numpy.random.default_rng(2018 + class) and send the first 80%
(rounded down) to train, the rest to test. Output: one CSV with a header row
(the 30 feature names, then "target" and "split") under
Sources/Datasets/Resources/breast-cancer/, rows in the original order, values
as printed by numpy's repr so they round-trip exactly.

Usage: python3 tools/extract_breast_cancer.py   (needs scikit-learn==1.3.2)
"""
import csv
import os

import numpy as np
import sklearn
from sklearn.datasets import load_breast_cancer

OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "Datasets", "Resources", "breast-cancer")


def main():
    assert sklearn.__version__ == "1.3.2", sklearn.__version__
    data = load_breast_cancer()
    x, y = data.data, data.target
    assert x.shape == (569, 30)
    split = np.empty(len(y), dtype=object)
    for c in (0, 1):
        rows = np.flatnonzero(y == c)
        rows = rows[np.random.default_rng(2018 + c).permutation(len(rows))]
        cut = len(rows) * 8 // 10
        split[rows[:cut]] = "train"
        split[rows[cut:]] = "test"
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "breast_cancer.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(list(data.feature_names) + ["target", "split"])
        for row, target, part in zip(x, y, split):
            w.writerow([repr(float(v)) for v in row] + [int(target), part])
    print("train", int((split == "train").sum()), "test", int((split == "test").sum()))


if __name__ == "__main__":
    main()
