#!/usr/bin/env python3
"""How fast in-context copying forms in a small llama-shaped model trained from scratch.

The model: RMSNorm, rotary embeddings (rotate_half), SwiGLU, tied byte embeddings (259
tokens, as eco-tiny), weights drawn at standard deviation --init. The data: lines "s|s\\n"
packed into sequences of --seq bytes, s of --minlen to --maxlen symbols. Every 100 steps it
prints the loss on the copied half ("copy": what copying can predict) and on the random half
("src": what nothing can predict, about ln(vocab)).

    python3 scripts/induction_probe.py --steps 1000 --distinct 1   # s without repeats
    python3 scripts/induction_probe.py --steps 1000                # s with repeats

Measured (data/README.md): copy loss 0.09 at step 700 with --distinct 1, 1.4 at step 1,000
without. This is what drill.echo (src/tasks/drills.c) is built on.
"""
import argparse
import math
import random
import time

import torch

VOCAB = 259  # the byte tokenizer: 256 bytes + 3 specials


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--d", type=int, default=192, help="hidden size")
    ap.add_argument("--ff", type=int, default=512, help="MLP size")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warm", type=int, default=50, help="warm-up steps, then cosine to lr/10")
    ap.add_argument("--wd", type=float, default=0.0, help="AdamW weight decay of the matrices")
    ap.add_argument("--init", type=float, default=0.06, help="std of every matrix at start")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--minlen", type=int, default=4)
    ap.add_argument("--maxlen", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=26, help="symbols s is drawn from (letters)")
    ap.add_argument("--distinct", type=int, default=0, help="1: no symbol twice in s")
    ap.add_argument("--seed", type=int, default=1)
    return ap.parse_args()


def make_line(rng, a):
    """One "s|s\\n" line and the length of its unpredictable part ("s|")."""
    n = rng.randint(a.minlen, a.maxlen)
    letters = [chr(97 + i) for i in range(a.vocab)]
    s = "".join(rng.sample(letters, n) if a.distinct else [rng.choice(letters) for _ in range(n)])
    return s + "|" + s + "\n", n + 1


def make_batch(rng, a):
    """x, y [batch, seq] token ids (y is x shifted by one); mask [batch, seq], 1 on copies."""
    rows, masks = [], []
    for _ in range(a.batch):
        ids, mask = [], []
        while len(ids) < a.seq + 1:
            text, k = make_line(rng, a)
            b = list(text.encode())
            ids += b
            mask += [0] * k + [1] * (len(b) - k)
        rows.append(ids[: a.seq + 1])
        masks.append(mask[: a.seq + 1])
    t = torch.tensor(rows)
    m = torch.tensor(masks, dtype=torch.float)
    return t[:, :-1], t[:, 1:], m[:, 1:]


class RMSNorm(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        self.w = torch.nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * self.w


def rope(x, hd):
    """x [B, H, T, hd] rotated as Hugging Face's rotate_half, theta 10000."""
    T = x.shape[2]
    inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
    f = torch.outer(torch.arange(T).float(), inv)
    emb = torch.cat([f, f], -1)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * emb.cos() + torch.cat([-x2, x1], -1) * emb.sin()


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.h, self.hd = heads, d // heads
        self.n1, self.n2 = RMSNorm(d), RMSNorm(d)
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False)  # noqa: E731
        self.q, self.k, self.v, self.o = lin(d, d), lin(d, d), lin(d, d), lin(d, d)
        self.gate, self.up, self.down = lin(d, ff), lin(d, ff), lin(ff, d)

    def forward(self, x):  # x [B, T, d]
        B, T, D = x.shape
        y = self.n1(x)
        split = lambda t: t.view(B, T, self.h, self.hd).transpose(1, 2)  # noqa: E731
        q, k, v = rope(split(self.q(y)), self.hd), rope(split(self.k(y)), self.hd), split(self.v(y))
        att = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd)
        att = att.masked_fill(torch.triu(torch.ones(T, T, dtype=torch.bool), 1), float("-inf"))
        x = x + self.o((att.softmax(-1) @ v).transpose(1, 2).reshape(B, T, D))
        y = self.n2(x)
        return x + self.down(torch.nn.functional.silu(self.gate(y)) * self.up(y))


class Model(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed = torch.nn.Embedding(VOCAB, a.d)
        self.blocks = torch.nn.ModuleList([Block(a.d, a.heads, a.ff) for _ in range(a.layers)])
        self.norm = RMSNorm(a.d)
        for p in self.parameters():
            if p.dim() == 2:
                torch.nn.init.normal_(p, 0, a.init)

    def forward(self, x):  # x [B, T] -> logits [B, T, VOCAB]
        h = self.embed(x)
        for b in self.blocks:
            h = b(h)
        return self.norm(h) @ self.embed.weight.T


def main():
    a = parse_args()
    torch.manual_seed(a.seed)
    torch.set_num_threads(1)
    model = Model(a)
    matrices = [p for p in model.parameters() if p.dim() == 2]
    vectors = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": matrices, "weight_decay": a.wd}, {"params": vectors, "weight_decay": 0.0}],
                            lr=a.lr, betas=(0.9, 0.95))
    rng = random.Random(a.seed)
    t0 = time.time()
    for step in range(1, a.steps + 1):
        lr = a.lr * min(1.0, step / a.warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / a.steps)))
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, mask = make_batch(rng, a)
        per_token = torch.nn.functional.cross_entropy(model(x).reshape(-1, VOCAB), y.reshape(-1),
                                                      reduction="none").view(y.shape)
        loss = per_token.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 100 == 0 or step == a.steps:
            copy = (per_token * mask).sum() / mask.sum()
            src = (per_token * (1 - mask)).sum() / (1 - mask).sum()
            print(f"step {step} loss {loss.item():.3f} copy {copy.item():.3f} src {src.item():.3f} "
                  f"t {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
