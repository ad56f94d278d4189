#!/usr/bin/env python3
"""bench_train_torch: the PyTorch side of bench_train (a benchmark, never a test).

One training step = zero_grad + forward + cross-entropy + backward + AdamW step on a
plain-torch llama (the same arithmetic as scripts/make_fixtures.py's reference forward,
batched), random weights, random tokens, in f32 on the CPU. LoRA is written out by hand:
y = x·Wᵀ + s·(x·Aᵀ)·Bᵀ with W frozen and A, B trainable (PEFT init: A Kaiming-uniform, B 0).

Prints one line that bench_train parses:
  TORCH tokens_per_s=<float> step_s=<median seconds> maxrss_kb=<ru_maxrss> params=<trainable>
"""
import argparse
import math
import resource
import time

import torch
import torch.nn.functional as F


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Linear(torch.nn.Module):
    def __init__(self, din, dout, lora_r=0, lora_alpha=8.0, trainable=True):
        super().__init__()
        self.weight = torch.nn.Parameter(torch.randn(dout, din) * 0.02, requires_grad=trainable)
        self.r = lora_r
        if lora_r > 0:
            bound = 1.0 / math.sqrt(din)
            self.A = torch.nn.Parameter(torch.empty(lora_r, din).uniform_(-bound, bound))
            self.B = torch.nn.Parameter(torch.zeros(dout, lora_r))
            self.s = lora_alpha / lora_r

    def forward(self, x):
        y = x @ self.weight.t()
        if self.r > 0:
            y = y + self.s * ((x @ self.A.t()) @ self.B.t())
        return y


class Llama(torch.nn.Module):
    def __init__(self, a):
        super().__init__()
        full = a.mode == "full"
        d, f, H, KV = a.hidden, a.inter, a.heads, a.kv
        self.a = a
        self.hd = a.head_dim or d // H
        hd = self.hd
        self.embed = torch.nn.Parameter(torch.randn(a.vocab, d) * 0.02, requires_grad=full)
        self.layers = torch.nn.ModuleList()
        for _ in range(a.layers):
            L = torch.nn.Module()
            r = a.r if not full else 0
            L.ln1 = torch.nn.Parameter(torch.ones(d), requires_grad=full)
            L.ln2 = torch.nn.Parameter(torch.ones(d), requires_grad=full)
            L.q = Linear(d, H * hd, r, a.alpha, full)
            L.k = Linear(d, KV * hd, 0, a.alpha, full)
            L.v = Linear(d, KV * hd, r, a.alpha, full)
            L.o = Linear(H * hd, d, 0, a.alpha, full)
            L.gate = Linear(d, f, 0, a.alpha, full)
            L.up = Linear(d, f, 0, a.alpha, full)
            L.down = Linear(f, d, 0, a.alpha, full)
            self.layers.append(L)
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=full)
        if not a.tie:
            self.lm_head = torch.nn.Parameter(torch.randn(a.vocab, d) * 0.02, requires_grad=full)
        inv_freq = 1.0 / (a.rope_theta ** (torch.arange(0, hd, 2).float() / hd))
        pos = torch.arange(a.seq).float()
        freqs = torch.outer(pos, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos", emb.cos())
        self.register_buffer("sin", emb.sin())
        self.register_buffer("mask", torch.full((a.seq, a.seq), float("-inf")).triu(1))

    def forward(self, tokens):
        a = self.a
        B, T = tokens.shape
        H, KV, hd = a.heads, a.kv, self.hd
        cos, sin, mask = self.cos[:T], self.sin[:T], self.mask[:T, :T]
        h = self.embed[tokens]
        for L in self.layers:
            x = rms_norm(h, L.ln1, a.eps)
            q = L.q(x).view(B, T, H, hd).transpose(1, 2)
            k = L.k(x).view(B, T, KV, hd).transpose(1, 2)
            v = L.v(x).view(B, T, KV, hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if H != KV:
                k = k.repeat_interleave(H // KV, dim=1)
                v = v.repeat_interleave(H // KV, dim=1)
            s = torch.softmax((q @ k.transpose(-1, -2)) * hd ** -0.5 + mask, dim=-1)
            o = (s @ v).transpose(1, 2).reshape(B, T, H * hd)
            h = h + L.o(o)
            m = rms_norm(h, L.ln2, a.eps)
            h = h + L.down(F.silu(L.gate(m)) * L.up(m))
        h = rms_norm(h, self.norm, a.eps)
        head = self.embed if a.tie else self.lm_head
        return h @ head.t()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", choices=["full", "lora"], default="full")
    p.add_argument("--vocab", type=int, required=True)
    p.add_argument("--hidden", type=int, required=True)
    p.add_argument("--inter", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--kv", type=int, required=True)
    p.add_argument("--head-dim", type=int, default=0)
    p.add_argument("--tie", type=int, default=1)
    p.add_argument("--eps", type=float, default=1e-5)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--r", type=int, default=8)
    p.add_argument("--alpha", type=float, default=8.0)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--seq", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--steps", type=int, default=5)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(1234)
    model = Llama(a)
    params = [q for q in model.parameters() if q.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01)
    g = torch.Generator().manual_seed(99)
    tokens = torch.randint(0, a.vocab, (a.batch, a.seq + 1), generator=g)
    x, y = tokens[:, :-1], tokens[:, 1:]

    times = []
    for i in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=False)
        logits = model(x)
        loss = F.cross_entropy(logits.reshape(-1, a.vocab), y.reshape(-1))
        loss.backward()
        opt.step()
        dt = time.perf_counter() - t0
        if i >= a.warmup:
            times.append(dt)
    times.sort()
    n = len(times)
    med = times[n // 2] if n % 2 else 0.5 * (times[n // 2 - 1] + times[n // 2])
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("TORCH tokens_per_s=%.1f step_s=%.4f maxrss_kb=%d params=%d loss=%.4f torch=%s threads=%d"
          % (a.batch * a.seq / med, med, rss, sum(q.numel() for q in params), loss.item(),
             torch.__version__, torch.get_num_threads()), flush=True)


if __name__ == "__main__":
    main()
