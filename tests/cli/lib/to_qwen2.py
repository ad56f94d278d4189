#!/usr/bin/env python3
"""to_qwen2.py DIR: turns a tiny llama model folder (f32, tied) into a Qwen2ForCausalLM one in
place: config.json says qwen2 and untied, q/k/v biases (seeded, small) and an lm_head (the
embedding, reversed along the hidden axis) are added to model.safetensors."""
import os
import random
import sys
from array import array

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import f32_folder  # noqa: E402

d = sys.argv[1]
cfg, tensors = f32_folder.read(d)
cfg.update(architectures=["Qwen2ForCausalLM"], model_type="qwen2", tie_word_embeddings=False,
           attention_bias=True)
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
f32_folder.write(d, cfg, tensors)
