#!/usr/bin/python3
"""Writes the training fixtures that tests/test_train.c compares against.

Usage:  /usr/bin/python3 scripts/make_train_fixtures.py tests/fixtures   (`make fixtures`)

Needs only Debian's python3-torch (1.13) and numpy; reuses the safetensors writer, the
config and the weight generator of scripts/make_fixtures.py. The batched llama forward
below (with optional LoRA on any of q, k, v, o, gate, up, down) is written in plain torch
following Hugging Face LlamaForCausalLM / Qwen2ForCausalLM and PEFT's lora.Linear
(result = base(x) + lora_B(lora_A(dropout(x))) * scaling, dropout 0 here); losses and
gradients come from torch autograd, the optimiser trajectory from torch.optim.AdamW with
torch.nn.utils.clip_grad_norm_ and a warm-up + cosine schedule set by hand each step.

Each case is a folder <out>/train/<case>/:
  config.json, model.safetensors     the tiny model (f32)
  expected.safetensors
    tokens I32 [B, T], targets I32 [B, T] (−1 = masked), loss F32 [1], logits F32 [B, T, V]
    grad.<name>   F32  gradient of every trainable tensor (HF names; PEFT names for LoRA)
    param.<name>  F32  LoRA only: the A and B the case uses (B not zero, so every path moves)
    adam.tokens I32 [2·B, T], adam.targets I32 [2·B, T]: two micro-batches of B rows
    adam.losses F32 [10]   mean micro-batch loss before each of ten AdamW steps
    adam.norms  F32 [10]   global gradient norm before clipping at each step
The LoRA settings of each case are repeated in tests/test_train.c (CASES there).
"""
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402

torch.set_num_threads(1)

B, T = 2, 8
TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
PATHS = {"q_proj": "self_attn.q_proj", "k_proj": "self_attn.k_proj", "v_proj": "self_attn.v_proj",
         "o_proj": "self_attn.o_proj", "gate_proj": "mlp.gate_proj", "up_proj": "mlp.up_proj",
         "down_proj": "mlp.down_proj"}
ADAM = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1, clip=1.0, warmup=3, total=10,
            min_lr_ratio=0.1, steps=10)


def tiny_config(arch, **kw):
    c = mf.base_config(arch, vocab_size=64, hidden_size=16, intermediate_size=24, num_hidden_layers=2,
                       num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=64)
    c.update(kw)
    return c


def lora_scale(spec, r, alpha):
    return alpha / math.sqrt(r) if spec.get("rslora") else alpha / r


def pattern_value(patterns, module, default):
    for key, val in patterns.items():
        if module == key or module.endswith("." + key):
            return val
    return default


def lora_modules(cfg, spec, seed):
    """{(layer, target): [A, B, scale]} with A Kaiming-uniform-sized, B random (not zero)."""
    g = torch.Generator().manual_seed(seed)
    d, f = cfg["hidden_size"], cfg["intermediate_size"]
    hd = mf.head_dim_of(cfg)
    qd, kvd = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    dims = {"q_proj": (d, qd), "k_proj": (d, kvd), "v_proj": (d, kvd), "o_proj": (qd, d),
            "gate_proj": (d, f), "up_proj": (d, f), "down_proj": (f, d)}
    out = {}
    for i in range(cfg["num_hidden_layers"]):
        for t in TARGETS:
            if t not in spec["targets"]:
                continue
            module = f"model.layers.{i}.{PATHS[t]}"
            r = pattern_value(spec.get("rank_pattern", {}), module, spec["r"])
            alpha = pattern_value(spec.get("alpha_pattern", {}), module, spec["alpha"])
            fin, fout = dims[t]
            bound = 1.0 / math.sqrt(fin)
            A = (torch.rand(r, fin, generator=g) * 2 - 1) * bound
            Bm = torch.randn(fout, r, generator=g) * 0.3
            out[(i, t)] = [A, Bm, lora_scale(spec, r, alpha)]
    return out


def peft_name(i, t, half):
    return f"base_model.model.model.layers.{i}.{PATHS[t]}.lora_{half}.weight"


def forward(cfg, W, tokens, lora=None):
    """logits [B, T, V] for tokens [B, T]; W and the LoRA tensors may require grad."""
    d = cfg["hidden_size"]
    H, KV = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = mf.head_dim_of(cfg)
    eps = cfg["rms_norm_eps"]
    nb, n = tokens.shape
    qwen = cfg["architectures"][0] == "Qwen2ForCausalLM"
    qkv_bias = qwen or cfg.get("attention_bias", False)
    o_bias = cfg.get("attention_bias", False) and not qwen
    inv_freq = mf.rope_inv_freq(cfg)
    pos = torch.arange(n, dtype=torch.int64)
    freqs = (inv_freq[None, :, None].float() @ pos[None, None, :].float()).transpose(1, 2)[0]
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((n, n), float("-inf")).triu(1)

    def linear(x, i, t, bias_name=None):
        p = f"model.layers.{i}.{PATHS[t]}"
        y = x @ W[p + ".weight"].T
        if bias_name:
            y = y + W[p + ".bias"]
        if lora and (i, t) in lora:
            A, Bm, s = lora[(i, t)]
            y = y + ((x @ A.T) @ Bm.T) * s
        return y

    h = W["model.embed_tokens.weight"][tokens.long()]  # [B, T, d]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = mf.rms_norm(h, W[p + "input_layernorm.weight"], eps)
        q = linear(a, i, "q_proj", qkv_bias)
        k = linear(a, i, "k_proj", qkv_bias)
        v = linear(a, i, "v_proj", qkv_bias)
        q = q.view(nb, n, H, hd).transpose(1, 2)   # [B, H, T, hd]
        k = k.view(nb, n, KV, hd).transpose(1, 2)
        v = v.view(nb, n, KV, hd).transpose(1, 2)
        q = q * cos + mf.rotate_half(q) * sin
        k = k * cos + mf.rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, dim=1)
        v = v.repeat_interleave(H // KV, dim=1)
        s = (q @ k.transpose(-1, -2)) * hd ** -0.5 + mask
        s = torch.softmax(s.float(), dim=-1)
        o = (s @ v).transpose(1, 2).reshape(nb, n, H * hd)
        h = h + linear(o, i, "o_proj", o_bias)
        m = mf.rms_norm(h, W[p + "post_attention_layernorm.weight"], eps)
        g = torch.nn.functional.silu(linear(m, i, "gate_proj"))
        u = linear(m, i, "up_proj")
        h = h + linear(g * u, i, "down_proj")
    h = mf.rms_norm(h, W["model.norm.weight"], eps)
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return h @ head.T


def loss_of(logits, targets):
    return torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                             targets.reshape(-1).long(), ignore_index=-1)


def make_batch(vocab, seed, rows, masked):
    g = torch.Generator().manual_seed(seed)
    seq = torch.randint(0, vocab, (rows, T + 1), generator=g, dtype=torch.int64)
    tokens, targets = seq[:, :-1].clone(), seq[:, 1:].clone()
    if masked:  # a prompt of 3 tokens in each row, 5 in every other row
        for r in range(rows):
            targets[r, : (3 if r % 2 == 0 else 5)] = -1
    return tokens.to(torch.int32), targets.to(torch.int32)


def lr_at(step):
    a = ADAM
    if step < a["warmup"]:
        return a["lr"] * (step + 1) / a["warmup"]
    progress = min(1.0, (step - a["warmup"]) / (a["total"] - a["warmup"]))
    return a["lr"] * (a["min_lr_ratio"] + (1 - a["min_lr_ratio"]) * 0.5 * (1 + math.cos(math.pi * progress)))


def is_decay(name):
    return not (name.endswith("norm.weight") or name.endswith(".bias"))


def write_case(out, name, cfg, spec=None, masked=False, seed=0):
    W = {k: v.clone() for k, v in mf.random_weights(cfg, seed=3000 + seed).items()}
    folder = os.path.join(out, "train", name)
    os.makedirs(folder, exist_ok=True)
    import json
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    mf.write_safetensors(os.path.join(folder, "model.safetensors"), W, {"format": "pt"})

    lora = lora_modules(cfg, spec, seed=4000 + seed) if spec else None
    tokens, targets = make_batch(cfg["vocab_size"], 5000 + seed, B, masked)

    def trainable():
        if lora:
            out_ = {}
            for (i, t), (A, Bm, _) in sorted(lora.items(), key=lambda kv: (kv[0][0], TARGETS.index(kv[0][1]))):
                out_[peft_name(i, t, "A")] = A
                out_[peft_name(i, t, "B")] = Bm
            return out_
        return W

    exp = {"tokens": tokens, "targets": targets}
    if lora:
        for k, v in trainable().items():
            exp["param." + k] = v.clone()

    # loss and gradients
    params = trainable()
    for v in params.values():
        v.requires_grad_(True)
    logits = forward(cfg, W, tokens, lora)
    loss = loss_of(logits, targets)
    loss.backward()
    exp["loss"] = loss.detach().reshape(1)
    exp["logits"] = logits.detach().contiguous()
    gmax = 0.0
    for k, v in params.items():
        exp["grad." + k] = v.grad.detach().clone()
        gmax = max(gmax, v.grad.abs().max().item())
        v.grad = None

    # ten AdamW steps, two micro-batches each, clipping, warm-up + cosine
    atok, atgt = make_batch(cfg["vocab_size"], 6000 + seed, 2 * B, masked)
    decay = [v for k, v in params.items() if is_decay(k)]
    no_decay = [v for k, v in params.items() if not is_decay(k)]
    groups = [{"params": decay, "weight_decay": ADAM["weight_decay"]}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    opt = torch.optim.AdamW(groups, lr=ADAM["lr"], betas=ADAM["betas"], eps=ADAM["eps"], foreach=False)
    losses, norms = [], []
    for step in range(ADAM["steps"]):
        for gr in opt.param_groups:
            gr["lr"] = lr_at(step)
        opt.zero_grad()
        total = 0.0
        for mb in range(2):
            lg = forward(cfg, W, atok[mb * B:(mb + 1) * B], lora)
            ls = loss_of(lg, atgt[mb * B:(mb + 1) * B])
            (ls / 2).backward()
            total += ls.item() / 2
        norm = torch.nn.utils.clip_grad_norm_(list(params.values()), ADAM["clip"])
        losses.append(total)
        norms.append(norm.item())
        opt.step()
    exp["adam.tokens"] = atok
    exp["adam.targets"] = atgt
    exp["adam.losses"] = torch.tensor(losses, dtype=torch.float32)
    exp["adam.norms"] = torch.tensor(norms, dtype=torch.float32)
    mf.write_safetensors(os.path.join(folder, "expected.safetensors"), exp,
                         {"generator": "scripts/make_train_fixtures.py", "torch": torch.__version__})
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name:18s} loss {loss.item():.5f}  |grad| max {gmax:.4f}  adam {losses[0]:.4f} → {losses[-1]:.4f}"
          f"  norms {norms[0]:.3f}..{norms[-1]:.3f}  {size / 1024:.1f} KiB")


def write_distill_case(out, name, cfg, teacher_cfgs, weight, temperature, spec=None, masked=False, seed=0):
    """Token-level distillation fixture <out>/train/<name>/ (tests/test_distill.c):
      config.json, model.safetensors         the student (f32)
      teacher<k>/config.json, model.safetensors   teacher k (same vocabulary, any shape)
      expected.safetensors
        tokens I32 [B, T], targets I32 [B, T] (−1 = masked), weight F32 [1], temperature F32 [1]
        teacher.<k>.logits F32 [B, T, V]   teacher k's logits for tokens
        logits F32 [B, T, V]               the student's
        loss, ce, kl F32 [1]               loss = (1 − w)·ce + w·τ²·kl, where over the rows of
                                           unmasked positions p = mean_k softmax(t_k/τ) and
                                           kl = KLDivLoss(reduction='batchmean')(log_softmax(z/τ), p)
        grad.<name>, param.<name>          as in write_case (of the mixed loss)"""
    import json
    F = torch.nn.functional
    W = {k: v.clone() for k, v in mf.random_weights(cfg, seed=7000 + seed).items()}
    folder = os.path.join(out, "train", name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    mf.write_safetensors(os.path.join(folder, "model.safetensors"), W, {"format": "pt"})
    tokens, targets = make_batch(cfg["vocab_size"], 7500 + seed, B, masked)
    exp = {"tokens": tokens, "targets": targets,
           "weight": torch.tensor([weight], dtype=torch.float32),
           "temperature": torch.tensor([temperature], dtype=torch.float32)}
    V = cfg["vocab_size"]
    teacher_logits = []
    for k, tcfg in enumerate(teacher_cfgs):
        assert tcfg["vocab_size"] == V
        TW = mf.random_weights(tcfg, seed=7100 + 10 * seed + k)
        tdir = os.path.join(folder, f"teacher{k}")
        os.makedirs(tdir, exist_ok=True)
        with open(os.path.join(tdir, "config.json"), "w") as f:
            json.dump(tcfg, f, indent=2, sort_keys=True)
            f.write("\n")
        mf.write_safetensors(os.path.join(tdir, "model.safetensors"), TW, {"format": "pt"})
        with torch.no_grad():
            tl = forward(tcfg, TW, tokens).contiguous()
        exp[f"teacher.{k}.logits"] = tl
        teacher_logits.append(tl)

    lora = lora_modules(cfg, spec, seed=7200 + seed) if spec else None
    if lora:
        params = {}
        for (i, t), (A, Bm, _) in sorted(lora.items(), key=lambda kv: (kv[0][0], TARGETS.index(kv[0][1]))):
            params[peft_name(i, t, "A")] = A
            params[peft_name(i, t, "B")] = Bm
        for k, v in params.items():
            exp["param." + k] = v.clone()
    else:
        params = W
    for v in params.values():
        v.requires_grad_(True)
    logits = forward(cfg, W, tokens, lora)
    ce = loss_of(logits, targets)
    valid = targets.reshape(-1) >= 0
    z = logits.reshape(-1, V)[valid]
    p = torch.stack([F.softmax(tl.reshape(-1, V)[valid] / temperature, dim=-1) for tl in teacher_logits]).mean(0)
    kl = torch.nn.KLDivLoss(reduction="batchmean")(F.log_softmax(z / temperature, dim=-1), p)
    loss = (1 - weight) * ce + weight * temperature ** 2 * kl
    loss.backward()
    exp["logits"] = logits.detach().contiguous()
    exp["loss"] = loss.detach().reshape(1).float()
    exp["ce"] = ce.detach().reshape(1)
    exp["kl"] = kl.detach().reshape(1)
    gmax = 0.0
    for k, v in params.items():
        exp["grad." + k] = v.grad.detach().clone()
        gmax = max(gmax, v.grad.abs().max().item())
    mf.write_safetensors(os.path.join(folder, "expected.safetensors"), exp,
                         {"generator": "scripts/make_train_fixtures.py", "torch": torch.__version__})
    print(f"{name:18s} loss {loss.item():.5f} (ce {ce.item():.5f}, kl {kl.item():.5f}, w {weight}, τ {temperature},"
          f" {len(teacher_cfgs)} teacher(s))  |grad| max {gmax:.4f}")


def write_distill_cases(out):
    # full Llama student, two teachers of other shapes (Qwen2 tied, wider; Llama, one layer), masked
    write_distill_case(out, "distill_llama", tiny_config("LlamaForCausalLM"),
                       [tiny_config("Qwen2ForCausalLM", tie_word_embeddings=True, hidden_size=32,
                                    intermediate_size=48, bos_token_id=None, eos_token_id=63),
                        tiny_config("LlamaForCausalLM", num_hidden_layers=1)],
                       weight=0.5, temperature=2.0, masked=True, seed=1)
    # LoRA Qwen2 student (q, v, o, down), one Llama teacher, low temperature, no mask
    write_distill_case(out, "distill_lora_qwen2",
                       tiny_config("Qwen2ForCausalLM", tie_word_embeddings=True, bos_token_id=None, eos_token_id=63),
                       [tiny_config("LlamaForCausalLM", attention_bias=True)],
                       weight=0.8, temperature=0.5,
                       spec={"r": 2, "alpha": 4, "targets": ["q_proj", "v_proj", "o_proj", "down_proj"]},
                       masked=False, seed=2)


def main():
    if len(sys.argv) != 2:
        print("usage: make_train_fixtures.py <fixtures-dir>", file=sys.stderr)
        return 2
    out = sys.argv[1]
    # full fine-tuning: Llama untied GQA without bias; Qwen2 tied with q/k/v bias, masked prompt
    write_case(out, "full_llama", tiny_config("LlamaForCausalLM"), seed=1)
    write_case(out, "full_qwen2_masked",
               tiny_config("Qwen2ForCausalLM", tie_word_embeddings=True, num_key_value_heads=1,
                           rms_norm_eps=1e-6, bos_token_id=None, eos_token_id=63),
               masked=True, seed=2)
    # LoRA: Llama untied with q/k/v/o bias, every target, rank/alpha patterns;
    #       Qwen2 tied with bias, rsLoRA on q, v, o, down, masked prompt
    write_case(out, "lora_llama",
               tiny_config("LlamaForCausalLM", attention_bias=True),
               spec={"r": 4, "alpha": 8, "targets": TARGETS,
                     "rank_pattern": {"layers.1.mlp.down_proj": 2}, "alpha_pattern": {"o_proj": 4}},
               seed=3)
    write_case(out, "lora_qwen2_rslora_masked",
               tiny_config("Qwen2ForCausalLM", tie_word_embeddings=True, bos_token_id=None, eos_token_id=63),
               spec={"r": 2, "alpha": 4, "rslora": True, "targets": ["q_proj", "v_proj", "o_proj", "down_proj"]},
               masked=True, seed=4)
    write_distill_cases(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
