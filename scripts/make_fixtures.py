#!/usr/bin/python3
"""Writes the numerical reference fixtures that tests/test_model.c compares against.

Usage:  /usr/bin/python3 scripts/make_fixtures.py tests/fixtures      (`make fixtures`)

Needs only Debian's python3-torch (1.13) and python3-numpy: transformers and the
safetensors package are not used. The llama forward below is written independently in
plain torch, following Hugging Face LlamaForCausalLM / Qwen2ForCausalLM (transformers
4.4x, eager attention) step by step:

  * LlamaRMSNorm: in f32, x * rsqrt(mean(x^2) + eps), then weight * x
  * rotary embedding: inv_freq = 1 / theta^(arange(0, hd, 2)/hd) in f32 (with the llama3
    rescaling of `_compute_llama3_parameters` when rope_scaling asks for it),
    freqs = inv_freq x position in f32, emb = cat(freqs, freqs), q' = q*cos + rotate_half(q)*sin
  * GQA via repeat_kv, scores = q k^T * hd^-0.5, causal mask, softmax in f32, @ v
  * SwiGLU MLP: down(silu(gate(x)) * up(x)); q/k/v biases for Qwen2
  * lm_head = embed_tokens when tie_word_embeddings

Each case is a model folder under <out>/model/<case>/:
  config.json          Hugging Face config
  model.safetensors    weights (HF tensor names), written by write_safetensors below
  expected.safetensors "tokens" I32 [T], "logits" F32 [T, vocab]
                       (bf16 case also "logits_f32": the f32 model's logits)

Seeds are fixed: re-running reproduces the same bytes with the same torch build.
Weights are not the std-0.02 initialisation of a fresh model: they are scaled so that
attention is far from uniform and every part of the forward changes the logits
(norm weights around 1 rather than exactly 1, biases non-zero).
"""
import json
import math
import os
import struct
import sys

import torch

torch.set_num_threads(1)  # summation order independent of the machine

T = 16  # tokens per fixture sequence (llama3_rope: LONG_T)
LONG_T = 150  # more than one 64-query attention block on the C side, past the original context


# ---- safetensors, written and read by hand --------------------------------------------

_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16", torch.int32: "I32"}
_NAMES = {v: k for k, v in _DTYPES.items()}


def _tensor_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().astype("<i2").tobytes()
    if t.dtype == torch.float16:
        return t.numpy().astype("<f2").tobytes()
    if t.dtype == torch.float32:
        return t.numpy().astype("<f4").tobytes()
    if t.dtype == torch.int32:
        return t.numpy().astype("<i4").tobytes()
    raise ValueError(f"unsupported dtype {t.dtype}")


def write_safetensors(path, tensors, metadata=None):
    """Names sorted, data packed in that order, header padded with spaces to 8 bytes."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name]
        data = _tensor_bytes(t)
        header[name] = {"dtype": _DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    if metadata:
        header["__metadata__"] = dict(metadata)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def read_safetensors(path):
    """Reads back what write_safetensors wrote (used to check the round trip)."""
    import numpy as np
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    buf = raw[8 + n:]
    out = {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        dt = _NAMES[info["dtype"]]
        if dt == torch.bfloat16:
            arr = np.frombuffer(buf[b:e], dtype="<i2").copy()
            t = torch.from_numpy(arr).view(torch.bfloat16)
        else:
            npdt = {torch.float32: "<f4", torch.float16: "<f2", torch.int32: "<i4"}[dt]
            t = torch.from_numpy(np.frombuffer(buf[b:e], dtype=npdt).copy())
        out[name] = t.reshape(info["shape"])
    return out


# ---- the reference forward ---------------------------------------------------------------

def head_dim_of(cfg):
    return cfg.get("head_dim") or cfg["hidden_size"] // cfg["num_attention_heads"]


def rope_inv_freq(cfg):
    """HF _compute_default_rope_parameters (+ _compute_llama3_parameters), in f32."""
    hd = head_dim_of(cfg)
    base = cfg["rope_theta"]
    inv_freq = 1.0 / (base ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    rs = cfg.get("rope_scaling")
    if rs and rs.get("rope_type", rs.get("type")) == "llama3":
        factor = rs["factor"]
        low_freq_factor = rs["low_freq_factor"]
        high_freq_factor = rs["high_freq_factor"]
        old_context_len = rs["original_max_position_embeddings"]
        low_freq_wavelen = old_context_len / low_freq_factor
        high_freq_wavelen = old_context_len / high_freq_factor
        wavelen = 2 * math.pi / inv_freq
        inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
        smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
        smoothed_inv_freq = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
        is_medium_freq = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
        inv_freq = torch.where(is_medium_freq, smoothed_inv_freq, inv_freq_llama)
    return inv_freq


def rms_norm(x, w, eps):
    x = x.float()
    var = x.pow(2).mean(-1, keepdim=True)
    x = x * torch.rsqrt(var + eps)
    return w * x


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


def repeat_kv(x, n_rep):
    kvh, t, hd = x.shape
    if n_rep == 1:
        return x
    return x[:, None, :, :].expand(kvh, n_rep, t, hd).reshape(kvh * n_rep, t, hd)


def forward(cfg, W, tokens):
    """logits [T, vocab] for tokens [T] at positions 0..T-1; W holds f32 tensors."""
    d = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    n = tokens.shape[0]
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    bias = qwen or cfg.get("attention_bias", False)

    inv_freq = rope_inv_freq(cfg)
    pos = torch.arange(n, dtype=torch.int64)
    freqs = (inv_freq[None, :, None].float() @ pos[None, None, :].float()).transpose(1, 2)[0]
    emb = torch.cat((freqs, freqs), dim=-1)  # [T, hd]
    cos, sin = emb.cos(), emb.sin()

    mask = torch.full((n, n), float("-inf")).triu(1)
    h = W["model.embed_tokens.weight"][tokens.long()]  # [T, d]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = a @ W[p + "self_attn.q_proj.weight"].T
        k = a @ W[p + "self_attn.k_proj.weight"].T
        v = a @ W[p + "self_attn.v_proj.weight"].T
        if bias:
            q = q + W[p + "self_attn.q_proj.bias"]
            k = k + W[p + "self_attn.k_proj.bias"]
            v = v + W[p + "self_attn.v_proj.bias"]
        q = q.view(n, H, hd).transpose(0, 1)   # [H, T, hd]
        k = k.view(n, KV, hd).transpose(0, 1)  # [KV, T, hd]
        v = v.view(n, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = repeat_kv(k, H // KV)
        v = repeat_kv(v, H // KV)
        s = (q @ k.transpose(1, 2)) * hd ** -0.5 + mask
        s = torch.softmax(s.float(), dim=-1)
        o = (s @ v).transpose(0, 1).reshape(n, H * hd)
        o = o @ W[p + "self_attn.o_proj.weight"].T
        if cfg.get("attention_bias", False) and not qwen:
            o = o + W[p + "self_attn.o_proj.bias"]
        h = h + o
        m = rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(m @ W[p + "mlp.gate_proj.weight"].T)
        u = m @ W[p + "mlp.up_proj.weight"].T
        h = h + (g * u) @ W[p + "mlp.down_proj.weight"].T
    h = rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T


def forward_prefixes(cfg, W, tokens):
    """Row i recomputed from the prefix tokens[:i+1] alone: checks that the reference
    itself is causal (not written to any fixture)."""
    rows = [forward(cfg, W, tokens[: i + 1])[-1] for i in range(tokens.shape[0])]
    return torch.stack(rows)


# ---- the cases ---------------------------------------------------------------------------

def base_config(arch, **kw):
    cfg = {
        "architectures": [arch],
        "model_type": "qwen2" if arch == "Qwen2ForCausalLM" else "llama",
        "hidden_act": "silu",
        "vocab_size": 97,
        "hidden_size": 32,
        "intermediate_size": 48,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 64,
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "torch_dtype": "float32",
        "initializer_range": 0.02,
        "use_cache": True,
    }
    if arch == "Qwen2ForCausalLM":
        cfg.update({"use_sliding_window": False, "sliding_window": 64, "max_window_layers": 2,
                    "attention_dropout": 0.0})
    else:
        cfg.update({"attention_bias": False, "mlp_bias": False, "attention_dropout": 0.0,
                    "pretraining_tp": 1, "rope_scaling": None})
    cfg.update(kw)
    return cfg


def random_weights(cfg, seed, head_scale=1.0):
    """f32 weights with HF names and shapes, from a fixed torch seed. head_scale shrinks
    lm_head (and so the logits), keeping bf16 rounding under the 1e-2 tolerance."""
    g = torch.Generator().manual_seed(seed)

    def normal(*shape, std):
        return torch.randn(*shape, generator=g) * std

    d, f, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    H, KV, hd = cfg["num_attention_heads"], cfg["num_key_value_heads"], head_dim_of(cfg)
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    bias = qwen or cfg.get("attention_bias", False)
    W = {"model.embed_tokens.weight": normal(V, d, std=0.5 if cfg["tie_word_embeddings"] else 1.0)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = 1.0 + normal(d, std=0.1)
        W[p + "self_attn.q_proj.weight"] = normal(H * hd, d, std=1.5 / math.sqrt(d))
        W[p + "self_attn.k_proj.weight"] = normal(KV * hd, d, std=1.5 / math.sqrt(d))
        W[p + "self_attn.v_proj.weight"] = normal(KV * hd, d, std=1.0 / math.sqrt(d))
        W[p + "self_attn.o_proj.weight"] = normal(d, H * hd, std=1.0 / math.sqrt(H * hd))
        if bias:
            W[p + "self_attn.q_proj.bias"] = normal(H * hd, std=0.1)
            W[p + "self_attn.k_proj.bias"] = normal(KV * hd, std=0.1)
            W[p + "self_attn.v_proj.bias"] = normal(KV * hd, std=0.1)
        if cfg.get("attention_bias", False) and not qwen:
            W[p + "self_attn.o_proj.bias"] = normal(d, std=0.1)
        W[p + "post_attention_layernorm.weight"] = 1.0 + normal(d, std=0.1)
        W[p + "mlp.gate_proj.weight"] = normal(f, d, std=1.0 / math.sqrt(d))
        W[p + "mlp.up_proj.weight"] = normal(f, d, std=1.0 / math.sqrt(d))
        W[p + "mlp.down_proj.weight"] = normal(d, f, std=1.0 / math.sqrt(f))
    W["model.norm.weight"] = 1.0 + normal(d, std=0.1)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = normal(V, d, std=head_scale / math.sqrt(d))
    return W


def fixed_tokens(vocab, seed, n=T):
    g = torch.Generator().manual_seed(seed)
    t = torch.randint(0, vocab, (n,), generator=g, dtype=torch.int64)
    t[3] = 0            # the edges of the vocabulary
    t[7] = vocab - 1
    t[11] = t[10]       # a repeated token
    return t.to(torch.int32)


def write_case(out_dir, name, cfg, W_stored, tokens, extra=None):
    """W_stored: tensors as they go into model.safetensors (any dtype); the reference
    widens them to f32 first, exactly as the C loader does."""
    folder = os.path.join(out_dir, "model", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    path = os.path.join(folder, "model.safetensors")
    write_safetensors(path, W_stored, {"format": "pt"})
    back = read_safetensors(path)
    assert set(back) == set(W_stored)
    for k in W_stored:
        assert back[k].dtype == W_stored[k].dtype and torch.equal(back[k], W_stored[k]), k

    W32 = {k: v.float() for k, v in W_stored.items()}
    logits = forward(cfg, W32, tokens)
    inc = forward_prefixes(cfg, W32, tokens)
    inc_diff = (inc - logits).abs().max().item()
    assert inc_diff < 1e-5, f"{name}: reference is not causal ({inc_diff})"
    exp = {"tokens": tokens, "logits": logits.contiguous()}
    if extra:
        exp.update(extra)
    write_safetensors(os.path.join(folder, "expected.safetensors"), exp,
                      {"generator": "scripts/make_fixtures.py", "torch": torch.__version__})
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name:16s} vocab {cfg['vocab_size']:4d}  |logits| max {logits.abs().max().item():.3f}"
          f"  std {logits.std().item():.3f}  {size / 1024:.1f} KiB")
    return logits


def main():
    if len(sys.argv) != 2:
        print("usage: make_fixtures.py <fixtures-dir>", file=sys.stderr)
        return 2
    out = sys.argv[1]

    # (1) Llama, untied, GQA 4 heads over 2 kv heads, head_dim 8, odd vocab and widths.
    c1 = base_config("LlamaForCausalLM")
    w1 = random_weights(c1, seed=1001, head_scale=0.25)
    tok1 = fixed_tokens(c1["vocab_size"], seed=2001)
    logits1 = write_case(out, "llama_gqa", c1, w1, tok1)

    # (2) Qwen2: tied embeddings, q/k/v bias, eps 1e-6, theta 1e6.
    c2 = base_config("Qwen2ForCausalLM", tie_word_embeddings=True, rms_norm_eps=1e-6,
                     rope_theta=1000000.0, num_attention_heads=4, num_key_value_heads=1,
                     bos_token_id=None, eos_token_id=96)
    w2 = random_weights(c2, seed=1002)
    tok2 = fixed_tokens(c2["vocab_size"], seed=2002)
    write_case(out, "qwen2_tied_bias", c2, w2, tok2)

    # (3) llama3 rope scaling: head_dim 16, theta 10000, original context 64 so that the
    #     8 frequencies fall in all three bands (kept, smoothed, divided by factor); a
    #     150-token sequence, past the original context and over several query blocks.
    c3 = base_config("LlamaForCausalLM", num_attention_heads=2, num_key_value_heads=1,
                     max_position_embeddings=512, rope_theta=10000.0,
                     rope_scaling={"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                   "high_freq_factor": 4.0,
                                   "original_max_position_embeddings": 64})
    w3 = random_weights(c3, seed=1003)
    tok3 = fixed_tokens(c3["vocab_size"], seed=2003, n=LONG_T)
    inv = rope_inv_freq(c3)
    plain = rope_inv_freq(dict(c3, rope_scaling=None))
    bands = ["kept" if a == b else ("divided" if abs(a - b / 8) < 1e-12 else "smoothed")
             for a, b in zip(inv.tolist(), plain.tolist())]
    assert set(bands) == {"kept", "smoothed", "divided"}, bands
    write_case(out, "llama3_rope", c3, w3, tok3)

    # (4) case 1 with every tensor rounded to bf16; expected logits from the rounded
    #     weights in f32 math, plus case 1's f32 logits for the 1e-2 comparison.
    c4 = dict(c1, torch_dtype="bfloat16")
    w4 = {k: v.to(torch.bfloat16) for k, v in w1.items()}
    logits4 = write_case(out, "llama_gqa_bf16", c4, w4, tok1, {"logits_f32": logits1})
    diff = (logits4 - logits1).abs().max().item()
    print(f"{'':16s} bf16 vs f32 logits: max abs diff {diff:.5f}")
    assert diff < 1e-2, diff

    # (5) explicit head_dim 16 with hidden 32 and 4 heads (q_proj [64, 32]).
    c5 = base_config("LlamaForCausalLM", head_dim=16, num_attention_heads=4, num_key_value_heads=2)
    w5 = random_weights(c5, seed=1005)
    tok5 = fixed_tokens(c5["vocab_size"], seed=2005)
    write_case(out, "llama_head_dim", c5, w5, tok5)

    # (6) case 2 in f16 (the f16 weight path and f16 norms/biases widened at load).
    c6 = dict(c2, torch_dtype="float16")
    w6 = {k: v.to(torch.float16) for k, v in w2.items()}
    write_case(out, "qwen2_tied_bias_f16", c6, w6, tok2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
