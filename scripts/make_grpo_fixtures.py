#!/usr/bin/python3
"""Writes the GRPO fixtures that tests/test_grpo.c compares against.

Usage:  /usr/bin/python3 scripts/make_grpo_fixtures.py tests/fixtures   (`make fixtures`)

Needs Debian's python3-torch and the tiny llama of scripts/make_train_fixtures.py. The
objective is written here from TRL's GRPOTrainer (_generate_and_score_completions for the
advantages, _compute_loss for the loss) in plain torch, and differentiated by autograd:

  advantages  = rewards − group mean, divided by (group std + 1e-4) when scale_rewards
                (torch.std: unbiased)
  coef_1      = exp(lp − old)          (old = lp.detach() when there is none)
  coef_2      = clamp(coef_1, 1 − ε_low, 1 + ε_high)
  per_token   = −min(coef_1·A, coef_2·A) + β·(exp(ref − lp) − (ref − lp) − 1)
  "grpo"      ((per_token·mask).sum(−1) / mask.sum(−1).clamp(min=1)).mean()
  "bnpo"      (per_token·mask).sum() / mask.sum().clamp(min=1)
  "dr_grpo"   (per_token·mask).sum() / (B·max_completion_length)
  lp          log_softmax(logits / temperature) at the completion's tokens

Two folders under <out>/train/:
  grpo_objective/expected.safetensors      the pure objective, in float64 autograd
    rewards F32 [n_groups, G], adv.scaled / adv.unscaled F32 [n_groups·G]
    lp, old, ref F32 [B, T], mask I32 [B, T] (rows with no completion token included),
    advantages F32 [B] (= adv.scaled), and per variant v (VARIANTS, repeated in the test):
    <v>.loss F32 [1], <v>.dlp F32 [B, T] (computed in float64, rounded),
    <v>.clipped_low / <v>.clipped_high I32 [1]
  grpo_lora_llama/  config.json, model.safetensors (a tiny llama), expected.safetensors
    tokens, targets I32 [B, T] (prompt + completion rows, targets −1 off the completion),
    param.<name> the LoRA A and B, advantages F32 [B], and per model variant v:
    <v>.old, <v>.ref F32 [B, T], <v>.logps F32 [B, T], <v>.loss F32 [1],
    <v>.grad.<name> F32 (PEFT names) from float32 autograd through the model.
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import make_train_fixtures as mt  # noqa: E402

torch.set_num_threads(1)

# name: (loss_type, beta, eps_low, eps_high, with_old, max_completion_length)
VARIANTS = {
    "grpo_b0":        ("grpo", 0.0, 0.2, 0.2, True, 0),
    "grpo_kl":        ("grpo", 0.04, 0.2, 0.28, True, 0),
    "grpo_noold_kl":  ("grpo", 0.1, 0.2, 0.2, False, 0),
    "bnpo_kl":        ("bnpo", 0.04, 0.2, 0.2, True, 0),
    "bnpo_b0":        ("bnpo", 0.0, 0.1, 0.3, True, 0),
    "dr_grpo_kl":     ("dr_grpo", 0.05, 0.2, 0.2, True, 9),
}
# name: (loss_type, beta, eps_low, eps_high, temperature, max_completion_length)
MODEL_VARIANTS = {
    "grpo":    ("grpo", 0.04, 0.2, 0.28, 0.7, 0),
    "bnpo":    ("bnpo", 0.0, 0.2, 0.2, 1.0, 0),
    "dr_grpo": ("dr_grpo", 0.1, 0.2, 0.2, 1.3, 8),
}


def advantages_of(rewards, scale):
    """TRL: rewards [n_groups·G] viewed [-1, G]."""
    G = rewards.shape[1]
    flat = rewards.reshape(-1)
    mean = rewards.mean(dim=1).repeat_interleave(G)
    std = rewards.std(dim=1).repeat_interleave(G)
    adv = flat - mean
    return adv / (std + 1e-4) if scale else adv


def grpo_loss(lp, old, ref, mask, adv, loss_type, beta, el, eh, lmax):
    """TRL's _compute_loss on per-token log-probabilities lp [B, T]."""
    maskf = mask.to(lp.dtype)
    old = lp.detach() if old is None else old
    coef_1 = torch.exp(lp - old)
    coef_2 = torch.clamp(coef_1, 1 - el, 1 + eh)
    per_token = -torch.min(coef_1 * adv.unsqueeze(1), coef_2 * adv.unsqueeze(1))
    if beta != 0.0:
        per_token = per_token + beta * (torch.exp(ref - lp) - (ref - lp) - 1)
    if loss_type == "grpo":
        loss = ((per_token * maskf).sum(-1) / maskf.sum(-1).clamp(min=1.0)).mean()
    elif loss_type == "bnpo":
        loss = (per_token * maskf).sum() / maskf.sum().clamp(min=1.0)
    else:
        loss = (per_token * maskf).sum() / (per_token.size(0) * lmax)
    low = ((coef_1 < 1 - el) & (adv.unsqueeze(1) < 0) & mask).sum().item()
    high = ((coef_1 > 1 + eh) & (adv.unsqueeze(1) > 0) & mask).sum().item()
    return loss, low, high


def write_objective(out):
    g = torch.Generator().manual_seed(2301)
    n_groups, G, T = 3, 4, 6
    B = n_groups * G
    # group 0 graded, group 1 all equal (no signal), group 2 pass/fail
    rewards = torch.tensor([[0.25, 1.0, 0.0, 0.75], [1.0, 1.0, 1.0, 1.0], [0.0, 1.0, 1.0, 0.0]],
                           dtype=torch.float32)
    adv_s = advantages_of(rewards.double(), True).float()
    adv_u = advantages_of(rewards.double(), False).float()
    lens = [6, 4, 1, 0, 5, 6, 2, 3, 6, 5, 4, 6]
    mask = torch.zeros(B, T, dtype=torch.bool)
    for b, n in enumerate(lens):
        mask[b, T - n:] = True  # completions end the row (the prompt's positions are masked)
    lp = (-0.1 - 3.0 * torch.rand(B, T, generator=g)).float()
    old = (lp + 0.35 * torch.randn(B, T, generator=g)).float()
    ref = (lp + 0.3 * torch.randn(B, T, generator=g)).float()
    exp = {"rewards": rewards, "adv.scaled": adv_s, "adv.unscaled": adv_u, "lp": lp, "old": old,
           "ref": ref, "mask": mask.to(torch.int32), "advantages": adv_s}
    for v, (lt, beta, el, eh, with_old, lmax) in VARIANTS.items():
        x = lp.double().clone().requires_grad_(True)
        loss, low, high = grpo_loss(x, old.double() if with_old else None, ref.double(), mask,
                                    adv_s.double(), lt, beta, el, eh, lmax)
        loss.backward()
        exp[f"{v}.loss"] = loss.detach().reshape(1).float()
        exp[f"{v}.dlp"] = x.grad.detach().float().contiguous()
        exp[f"{v}.clipped_low"] = torch.tensor([low], dtype=torch.int32)
        exp[f"{v}.clipped_high"] = torch.tensor([high], dtype=torch.int32)
        if with_old:
            assert low > 0 and high > 0, f"{v}: the fixture must clip on both sides"
        print(f"grpo_objective {v:14s} loss {loss.item(): .6f}  clipped low {low} high {high}")
    folder = os.path.join(out, "train", "grpo_objective")
    os.makedirs(folder, exist_ok=True)
    mf.write_safetensors(os.path.join(folder, "expected.safetensors"), exp,
                         {"generator": "scripts/make_grpo_fixtures.py", "torch": torch.__version__})


def write_model(out):
    cfg = mt.tiny_config("LlamaForCausalLM")
    spec = {"r": 2, "alpha": 4, "targets": mt.TARGETS}
    W = {k: v.clone() for k, v in mf.random_weights(cfg, seed=2310).items()}
    folder = os.path.join(out, "train", "grpo_lora_llama")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    mf.write_safetensors(os.path.join(folder, "model.safetensors"), W, {"format": "pt"})
    g = torch.Generator().manual_seed(2311)
    n_groups, G, P, T = 2, 3, 4, 10
    B, V = n_groups * G, cfg["vocab_size"]
    lens = [6, 4, 6, 2, 5, 1]  # completion tokens per row; the rest of the row is padding (0)
    tokens = torch.zeros(B, T, dtype=torch.int64)
    targets = torch.full((B, T), -1, dtype=torch.int64)
    tokens[:, :P] = torch.randint(0, V, (n_groups, P), generator=g).repeat_interleave(G, dim=0)
    for b, n in enumerate(lens):
        tokens[b, P:P + n] = torch.randint(1, V, (n,), generator=g)
        targets[b, P - 1:P - 1 + n] = tokens[b, P:P + n]
    mask = targets >= 0
    rewards = torch.tensor([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]])
    adv = advantages_of(rewards.double(), True).float()
    lora = mt.lora_modules(cfg, spec, seed=2312)
    params = {}
    for (i, t), (A, Bm, _) in sorted(lora.items(), key=lambda kv: (kv[0][0], mt.TARGETS.index(kv[0][1]))):
        params[mt.peft_name(i, t, "A")] = A
        params[mt.peft_name(i, t, "B")] = Bm
    exp = {"tokens": tokens.to(torch.int32), "targets": targets.to(torch.int32), "advantages": adv}
    for k, v in params.items():
        exp["param." + k] = v.clone()
        v.requires_grad_(True)
    safe_t = targets.clamp(min=0)
    for v, (lt, beta, el, eh, temp, lmax) in MODEL_VARIANTS.items():
        for p in params.values():
            p.grad = None
        logits = mt.forward(cfg, W, tokens, lora)
        logp = torch.log_softmax(logits / temp, dim=-1).gather(-1, safe_t.unsqueeze(-1)).squeeze(-1)
        lp0 = logp.detach()
        ref = torch.where(mask, lp0 + 0.3 * torch.randn(B, T, generator=g), torch.zeros(B, T))
        while True:  # old log-probabilities that clip on both sides (the draws are seeded)
            old = torch.where(mask, lp0 + 0.3 * torch.randn(B, T, generator=g), torch.zeros(B, T))
            loss, low, high = grpo_loss(logp, old, ref, mask, adv, lt, beta, el, eh, lmax)
            if low > 0 and high > 0:
                break
        loss.backward()
        exp[f"{v}.old"] = old.float().contiguous()
        exp[f"{v}.ref"] = ref.float().contiguous()
        exp[f"{v}.logps"] = torch.where(mask, lp0, torch.zeros(B, T)).float().contiguous()
        exp[f"{v}.loss"] = loss.detach().reshape(1).float()
        gmax = 0.0
        for k, p in params.items():
            exp[f"{v}.grad.{k}"] = p.grad.detach().clone()
            gmax = max(gmax, p.grad.abs().max().item())
        print(f"grpo_lora_llama {v:8s} loss {loss.item(): .6f}  clipped low {low} high {high}"
              f"  |grad| max {gmax:.4f}")
    mf.write_safetensors(os.path.join(folder, "expected.safetensors"), exp,
                         {"generator": "scripts/make_grpo_fixtures.py", "torch": torch.__version__})


def main():
    if len(sys.argv) != 2:
        print("usage: make_grpo_fixtures.py <fixtures-dir>", file=sys.stderr)
        return 2
    write_objective(sys.argv[1])
    write_model(sys.argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main())
