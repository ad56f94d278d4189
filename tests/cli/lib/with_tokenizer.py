#!/usr/bin/env python3
"""with_tokenizer.py DIR TOKENIZER.json: gives the tiny model folder DIR (f32, tied) another
tokenizer: tokenizer.json copied in, vocab_size / bos / eos in config.json set from it (bos
"<s>", eos "</s>"), and the embedding regrown to the new vocabulary (seeded normal values,
std 0.05)."""
import json
import os
import random
import shutil
import struct
import sys
from array import array

d, tok_path = sys.argv[1], sys.argv[2]
tok = json.load(open(tok_path))
ids = dict(tok["model"]["vocab"])
for a in tok.get("added_tokens", []):
    ids[a["content"]] = a["id"]
V = max(ids.values()) + 1
cfg_path, st_path = os.path.join(d, "config.json"), os.path.join(d, "model.safetensors")
cfg = json.load(open(cfg_path))
cfg.update(vocab_size=V, bos_token_id=ids.get("<s>", 1), eos_token_id=ids.get("</s>", 2))
raw = open(st_path, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header.pop("__metadata__", None)
data = raw[8 + n:]
tensors = {k: (t["shape"], data[t["data_offsets"][0]:t["data_offsets"][1]]) for k, t in header.items()}
D = cfg["hidden_size"]
rng = random.Random(3)
tensors["model.embed_tokens.weight"] = ([V, D], array("f", [rng.gauss(0, 0.05) for _ in range(V * D)]).tobytes())
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
shutil.copy(tok_path, os.path.join(d, "tokenizer.json"))
