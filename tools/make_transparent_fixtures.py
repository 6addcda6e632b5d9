#!/usr/bin/env python3
"""scikit-learn references for the Transparent tests (Tests/TransparentTests/Fixtures/).

Pinned environment: tools/requirements.txt (scikit-learn 1.3.2, numpy < 2).
Data: the bundled MNIST split (Sources/Datasets/Resources/mnist5k, pixels / 255
in float32, as Datasets.MNIST reads them) and the breast-cancer training split
standardised as Datasets.BreastCancer does (the standardised float32 table is
stored here, so both sides fit on identical numbers).

Every model is fitted to convergence far tighter than scikit-learn's defaults so
that the comparison measures the two implementations, not their stopping rules.

Usage: .venv-tools/bin/python tools/make_transparent_fixtures.py
"""
import gzip
import os
import struct

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.linear_model import LogisticRegression, Perceptron
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "TransparentTests", "Fixtures")
MNIST = os.path.join(ROOT, "Sources", "Datasets", "Resources", "mnist5k")


def idx(name):
    with gzip.open(os.path.join(MNIST, name), "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data[4 + 4 * dims:], dtype=np.uint8).reshape(shape)


def mnist(part):
    images = idx(f"{part}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / np.float32(255)
    return images, idx(f"{part}-labels-idx1-ubyte.gz").astype(np.int64)


def breast_cancer():
    path = os.path.join(ROOT, "Sources", "Datasets", "Resources", "breast-cancer", "breast_cancer.csv")
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    n = len(header) - 2
    train = [r for r in rows if r[-1] == "train"]
    x = np.array([[np.float32(v) for v in r[:n]] for r in train], dtype=np.float32)
    y = np.array([int(r[n]) for r in train], dtype=np.int64)
    mean = x.mean(axis=0, dtype=np.float64).astype(np.float32)
    std = np.sqrt(((x - mean) ** 2).mean(axis=0, dtype=np.float64)).astype(np.float32)
    return ((x - mean) / std).astype(np.float32), y


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def tree_arrays(prefix, tree, out):
    s = tree.tree_
    out[prefix + "left"] = t(s.children_left.astype(np.int64))
    out[prefix + "right"] = t(s.children_right.astype(np.int64))
    out[prefix + "feature"] = t(s.feature.astype(np.int64))
    out[prefix + "threshold"] = t(s.threshold.astype(np.float64))
    out[prefix + "counts"] = t(s.value[:, 0, :].astype(np.float64))
    out[prefix + "impurity"] = t(s.impurity.astype(np.float64))


def main():
    os.makedirs(OUT, exist_ok=True)
    out = {}
    x_train, y_train = mnist("train")
    x_test, y_test = mnist("test")
    cancer_x, cancer_y = breast_cancer()
    out["cancer_x"], out["cancer_y"] = t(cancer_x), t(cancer_y)

    # Multinomial logistic regression, L2, on the breast-cancer table and on 1,000 MNIST digits. newton-cg,
    # because scikit-learn's lbfgs stops on its relative-decrease test with gradients near 1e-4 here;
    # newton-cg reaches gradients below 1e-11.
    for name, x, y, c in [("cancer", cancer_x, cancer_y, 0.5), ("mnist", x_train[:1000], y_train[:1000], 0.01)]:
        model = LogisticRegression(C=c, solver="newton-cg", multi_class="multinomial", tol=1e-12, max_iter=10000)
        model.fit(x.astype(np.float64), y)
        out[f"logistic_{name}_coef"], out[f"logistic_{name}_intercept"] = t(model.coef_), t(model.intercept_)
    # L1 (saga, the only multinomial L1 solver) on the breast-cancer table.
    model = LogisticRegression(C=0.1, penalty="l1", solver="saga", multi_class="multinomial", tol=1e-10, max_iter=200000)
    model.fit(cancer_x.astype(np.float64), cancer_y)
    out["logistic_l1_coef"], out["logistic_l1_intercept"] = t(model.coef_), t(model.intercept_)

    # Perceptron (no shuffling, step 1) on the separable 0-vs-1 digits, and one-vs-rest on 10 classes.
    pair = np.flatnonzero(y_train < 2)[:600]
    model = Perceptron(shuffle=False, eta0=1.0, tol=None, max_iter=1000)
    model.fit(x_train[pair].astype(np.float64), y_train[pair])
    out["perceptron_pair_index"] = t(pair.astype(np.int64))
    out["perceptron_pair_coef"], out["perceptron_pair_intercept"] = t(model.coef_), t(model.intercept_)
    model = Perceptron(shuffle=False, eta0=1.0, tol=None, max_iter=5)
    model.fit(x_train[:500].astype(np.float64), y_train[:500])
    out["perceptron_ovr_coef"], out["perceptron_ovr_intercept"] = t(model.coef_), t(model.intercept_)

    # The hard-margin linear SVM: libsvm with a huge C and a tight tolerance on the same separable pair.
    model = SVC(kernel="linear", C=1e10, tol=1e-10)
    model.fit(x_train[pair].astype(np.float64), y_train[pair])
    out["svm_pair_coef"], out["svm_pair_intercept"] = t(model.coef_), t(model.intercept_)
    out["svm_pair_support"] = t(model.support_.astype(np.int64))

    # The soft-margin (hinge) linear SVM on the breast-cancer table, which is not separable.
    for c in [0.1, 10.0]:
        model = SVC(kernel="linear", C=c, tol=1e-12, max_iter=-1)
        model.fit(cancer_x.astype(np.float64), cancer_y)
        name = f"svm_soft_{str(c).replace('.', '_')}"
        out[name + "_coef"], out[name + "_intercept"] = t(model.coef_), t(model.intercept_)
        out[name + "_support"] = t(model.support_.astype(np.int64))
        # libsvm stops with free support vectors' margins off by up to 1.6e-5 (C = 10); the exact
        # solution on its support sets (free: 0 < α < C, margin exactly 1; bounded: α = C) is the
        # float64 reference the test judges against.
        x, signs = cancer_x.astype(np.float64), 2.0 * cancer_y - 1
        alpha = np.zeros(len(signs))
        alpha[model.support_] = np.abs(model.dual_coef_[0])
        free = np.flatnonzero((alpha > 1e-8 * c) & (alpha < c * (1 - 1e-8)))
        bounded = alpha >= c * (1 - 1e-8)
        fixed = np.where(bounded, c, 0.0)
        w_fixed = x.T @ (fixed * signs)
        xs, ys = x[free], signs[free]
        system = np.block([[np.outer(ys, ys) * (xs @ xs.T), ys[:, None]], [ys[None, :], np.zeros((1, 1))]])
        right = np.concatenate([1 - ys * (xs @ w_fixed), [-(fixed * signs).sum()]])
        solution = np.linalg.lstsq(system, right, rcond=None)[0]
        alpha_exact = fixed.copy()
        alpha_exact[free] = solution[:-1]
        out[name + "_exact_coef"] = t(x.T @ (alpha_exact * signs))
        out[name + "_exact_intercept"] = t(np.array([solution[-1]]))

    # CART trees.
    trees = [
        ("tree_mnist_gini3_", x_train, y_train, dict(criterion="gini", max_depth=3)),
        ("tree_mnist_gini10_", x_train, y_train, dict(criterion="gini", max_depth=10)),
        ("tree_mnist_entropy6_", x_train, y_train, dict(criterion="entropy", max_depth=6, min_samples_split=20, min_samples_leaf=5)),
        ("tree_cancer_entropy_", cancer_x, cancer_y, dict(criterion="entropy")),
        ("tree_cancer_gini_leaf_", cancer_x, cancer_y, dict(criterion="gini", min_samples_leaf=7)),
    ]
    for prefix, x, y, settings in trees:
        model = DecisionTreeClassifier(random_state=0, **settings).fit(x, y)
        tree_arrays(prefix, model, out)
        if x is x_train:
            out[prefix + "test_predictions"] = t(model.predict(x_test).astype(np.int64))

    # k nearest neighbours (brute force) on 1,000 test queries.
    for metric in ["euclidean", "cosine"]:
        model = KNeighborsClassifier(n_neighbors=5, metric=metric, algorithm="brute").fit(x_train, y_train)
        _, neighbours = model.kneighbors(x_test)
        out[f"knn_{metric}_neighbours"] = t(neighbours.astype(np.int64))
        out[f"knn_{metric}_k5_predictions"] = t(model.predict(x_test).astype(np.int64))
        model.set_params(n_neighbors=1)
        out[f"knn_{metric}_k1_predictions"] = t(model.predict(x_test).astype(np.int64))
    save_file(out, os.path.join(OUT, "sklearn_transparent.safetensors"))


if __name__ == "__main__":
    main()
