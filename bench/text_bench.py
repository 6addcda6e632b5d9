#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench text` on the same texts and settings.

Called with a folder holding settings.json (repeats, the MiniLM folder or null, the texts'
rows, batch sizes, the BiLSTM's sizes and its training ids/labels in bilstm.safetensors).
Writes text_results.json: MiniLM sentence embeddings per second with transformers (texts
sorted by length into batches, as Glassbox does; mean pooling and normalisation as
sentence-transformers), and BiLSTM-attention training tokens per second with a plain
PyTorch loop of the same model (nn.Embedding, nn.LSTM over packed sequences, additive
attention, nn.Linear, Adam) over the same batches.
Environment: Debian's torch 1.13 and transformers 4.36.2 (tools/requirements.txt).
"""
import csv
import gzip
import json
import os
import sys

import torch
from safetensors.torch import load_file
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from timing import timed  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


class BiLSTMAttention(torch.nn.Module):
    def __init__(self, vocabulary, embedding, hidden, attention, classes):
        super().__init__()
        self.embedding = torch.nn.Embedding(vocabulary, embedding)
        self.lstm = torch.nn.LSTM(embedding, hidden, bidirectional=True, batch_first=True)
        self.projection = torch.nn.Linear(2 * hidden, attention)
        self.score = torch.nn.Linear(attention, 1, bias=False)
        self.output = torch.nn.Linear(2 * hidden, classes)

    def forward(self, ids):
        keep = ids != 0
        lengths = keep.sum(1)
        packed = pack_padded_sequence(self.embedding(ids), lengths, batch_first=True, enforce_sorted=False)
        states, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=ids.shape[1])
        scores = self.score(torch.tanh(self.projection(states))).squeeze(2).masked_fill(~keep, float("-inf"))
        weights = torch.softmax(scores, 1)
        return self.output((states * weights.unsqueeze(2)).sum(1))


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    results = {"torch": torch.__version__}
    if settings.get("minilm"):
        from transformers import AutoModel, AutoTokenizer
        import transformers
        results["transformers"] = transformers.__version__
        tokenizer = AutoTokenizer.from_pretrained(settings["minilm"])
        model = AutoModel.from_pretrained(settings["minilm"]).eval()
        with gzip.open(os.path.join(ROOT, "Sources", "Datasets", "Resources", "tweets", "tweets.csv.gz"), "rt", encoding="utf-8", newline="") as f:
            texts = [row["text"] for row in csv.DictReader(f)]
        texts = [texts[r] for r in settings["rows"]]
        lengths = [len(tokenizer(t)["input_ids"]) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (lengths[i], i))
        size = settings["embedding_batch"]

        def embed():
            with torch.no_grad():
                for start in range(0, len(order), size):
                    batch = tokenizer([texts[i] for i in order[start:start + size]], padding=True, return_tensors="pt")
                    hidden = model(**batch).last_hidden_state
                    mask = batch["attention_mask"].unsqueeze(-1).float()
                    torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=1)
        seconds, _ = timed(embed, settings["repeats"])
        results["embedding_seconds"] = seconds
    data = load_file(os.path.join(folder, "bilstm.safetensors"))
    ids, labels, batches = data["ids"], data["labels"], data["batches"]
    s = settings["bilstm"]

    def train_epoch():
        torch.manual_seed(0)
        model = BiLSTMAttention(s["vocabulary"], s["embedding"], s["hidden"], s["attention"], s["classes"])
        optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
        for row in batches:
            index = row[row >= 0]
            x, y = ids[index], labels[index]
            loss = torch.nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    seconds, _ = timed(train_epoch, settings["repeats"])
    results["bilstm_seconds"] = seconds
    json.dump(results, open(os.path.join(folder, "text_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
