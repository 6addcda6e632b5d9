#!/usr/bin/env python3
"""Times scikit-learn on the same data and settings as `glassbox bench transparent`.

Called by that command with a folder and a settings JSON in it (settings.json: repeats,
tree depths, k); reads the bundled MNIST split itself (the IDX files in
Sources/Datasets/Resources/mnist5k, pixels / 255 in float32, as Glassbox reads them) and
writes sklearn_results.json back: median seconds per row and the predictions, so
Glassbox can report agreement. Environment: scikit-learn 1.3.2 (tools/requirements.txt).
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn.neighbors import KNeighborsClassifier
from sklearn.tree import DecisionTreeClassifier

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools"))
from make_transparent_fixtures import mnist  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import timed  # noqa: E402


def main(folder):
    with open(os.path.join(folder, "settings.json")) as f:
        settings = json.load(f)
    repeats = settings["repeats"]
    x_train, y_train = mnist("train")
    x_test, _ = mnist("test")
    rows = {}
    for depth in settings["tree_depths"]:
        seconds, tree = timed(lambda: DecisionTreeClassifier(max_depth=depth, random_state=0).fit(x_train, y_train), repeats)
        rows[f"tree-depth-{depth}"] = {"seconds": seconds, "predictions": tree.predict(x_test).tolist()}
    for metric in ["euclidean", "cosine"]:
        model = KNeighborsClassifier(n_neighbors=settings["k"], metric=metric, algorithm="brute").fit(x_train, y_train)
        seconds, predictions = timed(lambda: model.predict(x_test), repeats)
        rows[f"knn-{metric}"] = {"seconds": seconds, "predictions": predictions.tolist()}
    with open(os.path.join(folder, "sklearn_results.json"), "w") as f:
        json.dump({"sklearn": sklearn.__version__, "rows": rows}, f)


if __name__ == "__main__":
    main(sys.argv[1])
