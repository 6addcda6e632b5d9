#!/usr/bin/env python3
"""Times the PyTorch side of `glassbox bench sae`'s activation-collection row.

Called with a folder holding inputs.safetensors (a one-layer language model's weights under
Glassbox's names, which follow nn.TransformerEncoderLayer's inside the block, and `ids`, token ids
(texts, length) with padding 0) and settings.json (batch size, rows per shard, repeats, threads,
heads, and the folder to write the store to: Glassbox's side writes to the same kind of place). For each batch of texts, trimmed to its longest: token plus position embeddings, the
pre-LayerNorm block's causal self-attention and residual, then the MLP's GELU output (the hook
point blocks.0.hook_mlp_post) and nothing after it, as TransformerLens's stop_at_layer does; the
rows of real tokens are gathered and written as safetensors shards of `rows_per_shard` rows.
Writes collect_results.json with the median seconds of `repeats` runs after one warm-up and the
rows collected. Environment: Debian's torch 1.13 (tools/requirements.txt).
"""
import json
import os
import shutil
import sys

import torch
from safetensors.torch import load_file, save_file

from timing import timed


def build(weights, heads):
    width = weights["embed.weight"].shape[1]
    embed = torch.nn.Embedding.from_pretrained(weights["embed.weight"])
    positions = torch.nn.Embedding.from_pretrained(weights["pos_embed.weight"])
    block = torch.nn.TransformerEncoderLayer(width, heads, dim_feedforward=weights["blocks.0.linear1.weight"].shape[0],
                                             dropout=0.0, activation="gelu", batch_first=True, norm_first=True)
    block.load_state_dict({k[len("blocks.0."):]: v for k, v in weights.items() if k.startswith("blocks.0.")})
    block.eval()
    return embed, positions, block


def collect(model, ids, settings, out):
    embed, positions, block = model
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    pending, pending_rows, shards, rows = [], 0, 0, 0

    def flush(count):
        nonlocal pending, pending_rows, shards
        everything = torch.cat(pending)
        save_file({"activations": everything[:count].contiguous()}, os.path.join(out, f"part-0-of-1-{shards:05d}.safetensors"))
        pending = [everything[count:]] if count < everything.shape[0] else []
        pending_rows -= count
        shards += 1

    with torch.inference_mode():
        for start in range(0, ids.shape[0], settings["batch_size"]):
            batch = ids[start:start + settings["batch_size"]]
            batch = batch[:, :max(1, int((batch != 0).sum(1).max()))]
            length = batch.shape[1]
            x = embed(batch) + positions(torch.arange(length)).unsqueeze(0)
            causal = torch.triu(torch.full((length, length), float("-inf")), diagonal=1)
            h = block.norm1(x)
            x = x + block.self_attn(h, h, h, attn_mask=causal, need_weights=False)[0]
            post = torch.nn.functional.gelu(block.linear1(block.norm2(x)))
            real = post[batch != 0]
            pending.append(real)
            pending_rows += real.shape[0]
            rows += real.shape[0]
            while pending_rows >= settings["rows_per_shard"]:
                flush(settings["rows_per_shard"])
        if pending_rows > 0:
            flush(pending_rows)
    return rows


def main(folder):
    settings = json.load(open(os.path.join(folder, "settings.json")))
    torch.set_num_threads(settings["threads"])
    weights = load_file(os.path.join(folder, "inputs.safetensors"))
    ids = weights.pop("ids")
    model = build(weights, settings["heads"])
    out = settings["store"]
    seconds, rows = timed(lambda: collect(model, ids, settings, out), settings["repeats"])
    shutil.rmtree(out, ignore_errors=True)
    json.dump({"torch": torch.__version__, "seconds": seconds, "rows": rows}, open(os.path.join(folder, "collect_results.json"), "w"))


if __name__ == "__main__":
    main(sys.argv[1])
