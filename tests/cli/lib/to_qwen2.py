#!/usr/bin/env python3
"""to_qwen2.py DIR: turns a tiny llama model folder (f32, tied) into a Qwen2ForCausalLM one in
place: config.json says qwen2 and untied, q/k/v biases (seeded, small) and an lm_head (the
embedding, reversed along the hidden axis) are added to model.safetensors."""
import json
import os
import random
import struct
import sys
from array import array

d = sys.argv[1]
cfg_path, st_path = os.path.join(d, "config.json"), os.path.join(d, "model.safetensors")
cfg = json.load(open(cfg_path))
cfg.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=False,
           attention_bias=True)
raw = open(st_path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header.pop("__metadata__", None)
data = raw[8 + n:]
tensors = {}
for name, t in header.items():
    assert t["dtype"] == "F32", (name, t["dtype"])
    b, e = t["data_offsets"]
    tensors[name] = (t["shape"], data[b:e])
rng = random.Random(7)
hd, H, KV = cfg["head_dim"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
for i in range(cfg["num_hidden_layers"]):
    for proj, rows in (("q", H * hd), ("k", KV * hd), ("v", KV * hd)):
        tensors[f"model.layers.{i}.self_attn.{proj}_proj.bias"] = (
            [rows], array("f", [rng.gauss(0, 0.1) for _ in range(rows)]).tobytes())
V, D = tensors["model.embed_tokens.weight"][0]
emb = array("f")
emb.frombytes(tensors["model.embed_tokens.weight"][1])
head = array("f", [emb[r * D + (D - 1 - c)] for r in range(V) for c in range(D)])
tensors["lm_head.weight"] = ([V, D], head.tobytes())
hdr, off, blobs = {}, 0, []
for name in sorted(tensors):
    shape, blob = tensors[name]
    hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
    off += len(blob)
    blobs.append(blob)
h = json.dumps(hdr, separators=(",", ":")).encode()
h += b" " * ((8 - len(h) % 8) % 8)
with open(st_path, "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
with open(cfg_path, "w") as f:
    json.dump(cfg, f, indent=2, sort_keys=True)
    f.write("\n")
