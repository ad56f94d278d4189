#!/usr/bin/env python3
"""Linear probes of a model's residual stream for the sentiment capabilities.

For every TRAIN and EVAL sentence of sentiment.imdb@1 and sentiment.yelp@1 (from
`ecology tasks generate`, duplicates dropped), the model runs in PyTorch (the reference
forward of scripts/make_train_fixtures.py) and each layer's input to attention and to the
MLP, and the final norm's input, are kept: [T, hidden] per sentence. A logistic regression
(features standardised, L2 0.01 and 0.1, 2,000 steps of gradient descent) is fit on the
TRAIN sentences' hidden states, mean-pooled over the review's bytes or at the last byte,
and scored on EVAL. It says how much of the label the base's features carry linearly.

    /usr/bin/python3 scripts/sentiment_probe.py [--model data/models/eco-tiny] [--ecology build/ecology]

Measured on eco-tiny (data/README.md): at best 64% (imdb) and 71% (yelp) on eval, mean-pooled;
46-61% at the last byte.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_fixtures as mf  # noqa: E402
import make_train_fixtures as F  # noqa: E402

PROMPT_HEAD, PROMPT_TAIL = len("Review: "), len("\nSentiment:")  # bytes around the review


def load_weights(path):
    """safetensors (f32) -> {name: tensor}."""
    with open(path, "rb") as f:
        b = f.read()
    n = int.from_bytes(b[:8], "little")
    header = json.loads(b[8:8 + n])
    W = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        a = np.frombuffer(b[8 + n + lo:8 + n + hi], dtype=np.float32).reshape(t["shape"])
        W[name] = torch.tensor(a.copy())
    return W


def items(ecology, cap, split):
    """[(prompt, label 0/1)] of one split, first occurrence of each prompt."""
    out = subprocess.run([ecology, "tasks", "generate", "--capability", cap, "--split", split,
                          "--n", "3000", "--seed", "1"], capture_output=True, text=True, check=True).stdout
    seen, res = set(), []
    for line in out.splitlines():
        d = json.loads(line)
        if d["prompt"] not in seen:
            seen.add(d["prompt"])
            res.append((d["prompt"], 1 if "positive" in d["completion"] else 0))
    return res


def hidden_states(cfg, W, tokens):
    """Every RMSNorm's input, in call order: per layer (attention input, MLP input), then the
    final norm's; each [1, T, hidden]. Caught by wrapping mf.rms_norm around F.forward."""
    caught, orig = [], mf.rms_norm

    def catch(x, w, eps):
        caught.append(x.detach())
        return orig(x, w, eps)

    mf.rms_norm = catch
    try:
        with torch.no_grad():
            F.forward(cfg, W, tokens)
    finally:
        mf.rms_norm = orig
    L = cfg["num_hidden_layers"]
    return [caught[2 * i] for i in range(L)] + [caught[2 * i + 1] for i in range(L)] + [caught[-1]]


def features(cfg, W, prompts, bos):
    """Per probed point: [n, 2·hidden] = mean over the review's bytes ‖ last byte."""
    per_point = None
    for p in prompts:
        hs = hidden_states(cfg, W, torch.tensor([[bos] + list(p.encode())]))
        f = [torch.cat([h[0, 1 + PROMPT_HEAD:-PROMPT_TAIL].mean(0), h[0, -1]]).numpy() for h in hs]
        per_point = per_point or [[] for _ in f]
        for i, v in enumerate(f):
            per_point[i].append(v)
    return [np.array(x) for x in per_point]


def logreg(X, y, Xt, yt, l2):
    """(train accuracy, eval accuracy) of an L2-regularised logistic regression."""
    mu, sd = X.mean(0), X.std(0) + 1e-6
    X, Xt = (X - mu) / sd, (Xt - mu) / sd
    w, b = np.zeros(X.shape[1]), 0.0
    for _ in range(2000):
        p = 1 / (1 + np.exp(-(X @ w + b)))
        w -= 0.5 * (X.T @ (p - y) / len(y) + l2 * w)
        b -= 0.5 * (p - y).mean()
    return ((X @ w + b > 0) == y).mean(), ((Xt @ w + b > 0) == yt).mean()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="data/models/eco-tiny")
    ap.add_argument("--ecology", default="build/ecology")
    a = ap.parse_args()
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    W = load_weights(os.path.join(a.model, "model.safetensors"))
    L = cfg["num_hidden_layers"]
    names = [f"attn-in {i}" for i in range(L)] + [f"mlp-in {i}" for i in range(L)] + ["final"]
    d = cfg["hidden_size"]
    for cap in ("sentiment.imdb@1", "sentiment.yelp@1"):
        tr, ev = items(a.ecology, cap, "train"), items(a.ecology, cap, "eval")
        X = features(cfg, W, [p for p, _ in tr], cfg["bos_token_id"])
        Xt = features(cfg, W, [p for p, _ in ev], cfg["bos_token_id"])
        y, yt = np.array([l for _, l in tr]), np.array([l for _, l in ev])
        for i, name in enumerate(names):
            for part, cols in (("mean", slice(0, d)), ("last", slice(d, 2 * d))):
                res = " ".join("L2 %g: train %.2f eval %.2f" % ((l2,) + logreg(X[i][:, cols], y, Xt[i][:, cols], yt, l2))
                               for l2 in (0.01, 0.1))
                print(f"{cap} {name:9s} {part}  {res}", flush=True)


if __name__ == "__main__":
    main()
