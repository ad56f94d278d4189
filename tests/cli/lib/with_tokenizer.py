#!/usr/bin/env python3
"""with_tokenizer.py DIR TOKENIZER.json: gives the tiny model folder DIR (f32, tied) another
tokenizer: tokenizer.json copied in, vocab_size / bos / eos in config.json set from it (bos
"<s>", eos "</s>"), and the embedding regrown to the new vocabulary (seeded normal values,
std 0.05)."""
import json
import os
import random
import shutil
import sys
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import f32_folder  # noqa: E402

d, tok_path = sys.argv[1], sys.argv[2]
tok = json.load(open(tok_path))
ids = dict(tok["model"]["vocab"])
for a in tok.get("added_tokens", []):
    ids[a["content"]] = a["id"]
V = max(ids.values()) + 1
cfg, tensors = f32_folder.read(d)
cfg.update(vocab_size=V, bos_token_id=ids.get("<s>", 1), eos_token_id=ids.get("</s>", 2))
D = cfg["hidden_size"]
rng = random.Random(3)
tensors["model.embed_tokens.weight"] = ([V, D], array("f", [rng.gauss(0, 0.05) for _ in range(V * D)]).tobytes())
f32_folder.write(d, cfg, tensors)
shutil.copy(tok_path, os.path.join(d, "tokenizer.json"))
