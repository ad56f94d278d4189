#!/usr/bin/python3
"""Writes the merge fixture that tests/test_merge.c (test_fixture) compares against.

Usage:  /usr/bin/python3 scripts/make_merge_fixtures.py tests/fixtures

Needs only numpy (Debian's python3-numpy). The reference below is written from
../shared/design/MERGING.md (and mergekit's merge_methods/generalized_task_arithmetic.py,
sparsify.py and slerp.py, which it follows), independently of src/breeder/: deltas are
float32 differences, everything after them is float64, cast to float32 at the end.

It writes <out>/merge/cases.json:
  {"cases": [{"name", "params" (the JSON of eco_merge_params_from_json), "rows", "cols",
              "t" (slerp), "base" (null: the parents are deltas), "parents": [[...]],
              "masks" (null, or one 0/1 list per parent: the random keeps, drawn here),
              "expected": [...]}]}
Every float is a float32 value written exactly (as the float64 that holds it). The random
sparsifiers take the masks drawn here, so the expected values are exact functions of them.
"""
import json
import math
import os
import sys

import numpy as np

ROWS, COLS = 6, 8


def f32(x):
    return np.asarray(x, dtype=np.float32)


# ---- sparsifiers (on a float32 delta; return a float32 delta) ----------------------------

def order_desc(d):
    """Indices by |d| descending, ties by lower index first."""
    return np.argsort(-np.abs(d.astype(np.float64)), kind="stable")


def magnitude(d, density):
    if density >= 1:
        return d.copy()
    k = int(density * d.size)
    out = np.zeros_like(d)
    keep = order_desc(d)[:k]
    out[keep] = d[keep]
    return out


def breadcrumbs(d, density, gamma):
    if density >= 1:
        return d.copy()
    target = int(density * d.size)
    n_top = min(int(gamma * d.size), target)
    out = np.zeros_like(d)
    keep = order_desc(d)[n_top:target]
    out[keep] = d[keep]
    return out


def l1_rescale(d, masked):
    before = np.abs(d.astype(np.float64)).sum()
    after = np.abs(masked.astype(np.float64)).sum()
    if before > 0 and after > 0:
        return f32(masked.astype(np.float64) * (before / after))
    return masked


def random_keep(d, density, rescale, mask):
    if density >= 1:
        return d.copy()
    masked = np.where(mask != 0, d, np.float32(0)).astype(np.float32)
    if rescale == "inverse":
        return f32(masked.astype(np.float64) / density)
    return l1_rescale(d, masked)


def della_probs(d2, density, eps):
    """Per row: rank by |d| ascending (ties: lower index first), p = d − ε + 2ε·(r−1)/(n−1)."""
    rows, cols = d2.shape
    p = np.empty(d2.shape, dtype=np.float64)
    for r in range(rows):
        q = np.empty(cols, dtype=np.float64)
        q[np.argsort(np.abs(d2[r].astype(np.float64)), kind="stable")] = np.arange(cols)
        p[r] = density - eps + 2 * eps * q / (cols - 1)
    return p


def della(d2, density, eps, rescale, mask2):
    if density >= 1:
        return d2.copy()
    p = della_probs(d2, density, eps)
    masked = np.where(mask2 != 0, d2, np.float32(0)).astype(np.float32)
    if rescale == "inverse":
        return f32(masked.astype(np.float64) / p)
    return l1_rescale(d2, masked)


# ---- merges -----------------------------------------------------------------------------

CONSENSUS = {"ties", "dare_ties", "della"}
NORMALIZE = {"linear": True, "task_arithmetic": False, "ties": True, "dare_linear": False,
             "dare_ties": False, "breadcrumbs": False, "della": True}


def task_vectors(params, base, parents, masks):
    method = params["method"]
    w = params["weights"]
    lam = params.get("lambda", 1.0)
    dens = params.get("density", 1.0)
    if not isinstance(dens, list):
        dens = [dens] * len(parents)
    normalize = params.get("normalize", NORMALIZE[method])
    deltas = []
    for m, th in enumerate(parents):
        d = (th - base).astype(np.float32) if base is not None else th.copy()
        if method == "ties":
            d = magnitude(d.ravel(), dens[m]).reshape(d.shape)
        elif method in ("dare_linear", "dare_ties"):
            d = random_keep(d.ravel(), dens[m], params.get("rescale", "inverse"),
                            masks[m].ravel()).reshape(d.shape)
        elif method == "breadcrumbs":
            d = breadcrumbs(d.ravel(), dens[m], params.get("gamma", 0.01)).reshape(d.shape)
        elif method == "della":
            d = della(d, dens[m], params.get("epsilon", 0.15), params.get("rescale", "inverse"),
                      masks[m])
        deltas.append(d.astype(np.float64))
    u = np.stack([w[m] * deltas[m] for m in range(len(parents))])
    if method in CONSENSUS:
        if params.get("election", "sum") == "sum":
            s = u.sum(axis=0)
        else:
            s = np.sign(u).sum(axis=0)
        e = np.where(s >= 0, 1.0, -1.0)
        sel = np.sign(u) == e
        mix = (u * sel).sum(axis=0)
        div = (np.array(w)[:, None, None] * sel).sum(axis=0)
        div = np.where(div == 0, 1.0, div)
    else:
        mix = u.sum(axis=0)
        div = sum(w)
        if abs(div) < 1e-8:
            div = 1.0
    if normalize:
        mix = mix / div
    b = base.astype(np.float64) if base is not None else 0.0
    return f32(b + lam * mix)


def linear(params, base, parents):
    w = params["weights"]
    soup = sum(w[m] * parents[m].astype(np.float64) for m in range(len(parents)))
    div = sum(w)
    if params.get("normalize", True) and abs(div) >= 1e-8:
        soup = soup / div
    lam = params.get("lambda", 1.0)
    if lam == 1 or base is None:
        return f32(lam * soup)
    b = base.astype(np.float64)
    return f32(b + lam * (soup - b))


def slerp(t, a, b):
    """mergekit's slerp: the whole tensor is one vector; lerp when |cos| > 0.9995."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    na, nb = np.linalg.norm(a64), np.linalg.norm(b64)
    an = a64 / na if na > 1e-8 else a64
    bn = b64 / nb if nb > 1e-8 else b64
    dot = float(np.sum(an * bn))
    if abs(dot) > 0.9995:
        out = (1 - t) * a64 + t * b64
    else:
        th = math.acos(dot)
        out = math.sin((1 - t) * th) / math.sin(th) * a64 + math.sin(t * th) / math.sin(th) * b64
    return f32(out).reshape(a.shape)


# ---- cases ------------------------------------------------------------------------------

def floats(x):
    return [float(v) for v in np.asarray(x, dtype=np.float32).ravel()]


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: make_merge_fixtures.py OUT_DIR (tests/fixtures)")
    rng = np.random.default_rng(20261207)
    shape = (ROWS, COLS)
    base = f32(rng.standard_normal(shape))
    parents = [f32(base + 0.1 * rng.standard_normal(shape)) for _ in range(3)]
    cases = []

    def add(name, params, use_base=True, plist=None, masks=None, t=None):
        plist = plist if plist is not None else parents
        b = base if use_base else None
        if params["method"] == "slerp":
            exp = slerp(t, plist[0], plist[1])
        elif params["method"] == "linear":
            exp = linear(params, b, plist)
        else:
            exp = task_vectors(params, b, plist, masks)
        cases.append({
            "name": name, "params": params, "rows": ROWS, "cols": COLS, "t": t,
            "base": floats(b) if b is not None else None,
            "parents": [floats(p) for p in plist],
            "masks": [[int(v) for v in m.ravel()] for m in masks] if masks is not None else None,
            "expected": floats(exp),
        })

    w3 = [0.7, -0.4, 1.2]
    add("linear", {"method": "linear", "weights": w3})
    add("linear_unnormalized", {"method": "linear", "weights": w3, "normalize": False},
        use_base=False)
    add("task_arithmetic", {"method": "task_arithmetic", "weights": w3, "lambda": 0.8})
    add("ties", {"method": "ties", "weights": w3, "density": [0.5, 0.3, 0.7], "lambda": 0.9})
    add("ties_count", {"method": "ties", "weights": w3, "density": [0.5, 0.3, 0.7],
                       "election": "count"})
    add("ties_deltas", {"method": "ties", "weights": [1, 1, 1], "density": 0.4},
        use_base=False, plist=[f32(rng.standard_normal(shape)) for _ in range(3)])
    add("breadcrumbs", {"method": "breadcrumbs", "weights": w3, "density": 0.6, "gamma": 0.1})

    dens = [0.6, 0.4, 0.5]
    dare_masks = [(rng.random(shape) < d).astype(np.uint8) for d in dens]
    add("dare_ties", {"method": "dare_ties", "weights": w3, "density": dens},
        masks=dare_masks)
    add("dare_linear_l1", {"method": "dare_linear", "weights": w3, "density": dens,
                           "rescale": "l1"}, masks=dare_masks)

    eps = 0.2
    della_masks = []
    for m, d in enumerate(dens):
        delta = (parents[m] - base).astype(np.float32)
        della_masks.append((rng.random(shape) < della_probs(delta, d, eps)).astype(np.uint8))
    add("della", {"method": "della", "weights": w3, "density": dens, "epsilon": eps},
        masks=della_masks)
    add("della_l1", {"method": "della", "weights": w3, "density": dens, "epsilon": eps,
                     "rescale": "l1", "lambda": 1.3}, masks=della_masks)

    a, b = f32(rng.standard_normal(shape)), f32(rng.standard_normal(shape))
    add("slerp", {"method": "slerp", "t": 0.3}, plist=[a, b], t=0.3)
    add("slerp_related", {"method": "slerp", "t": 0.6}, plist=[parents[0], parents[1]], t=0.6)

    out = os.path.join(sys.argv[1], "merge")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"cases": cases}, f, indent=None, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {out}/cases.json")


if __name__ == "__main__":
    main()
