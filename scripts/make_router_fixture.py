#!/usr/bin/python3
"""Writes tests/fixtures/router/routellm.json: RouteLLM's router metrics computed with numpy,
independently of the C code (include/ecology/router.h, src/router/routellm.c).

Cases, each with per-request strong and weak quality and a router score (seeded numpy
generator, so the file is the same on every run):

  binary     2000 requests, 0/1 correctness (weak 0.55, strong 0.8, correlated), a noisy
             router (the strong-minus-weak gain plus normal noise), scores rounded to 2
             decimals so that thresholds take ties;
  graded     500 requests with graded scores in [0, 10] (MT-Bench-like), a weak router;
  reversed   300 requests where the router prefers the wrong requests (APGR below 0.5).

For each: the curve as numpy computes it (requests sorted by score with np.argsort(-score,
kind="stable"); at each distinct score the share sent to the strong model and the quality,
np.cumsum of strong - weak added to the weak total), PGR, APGR by np.trapz over call share,
and CPT(p) for p in 0.2, 0.5, 0.8 by the first crossing: np.interp inside the first segment
whose end reaches p (np.interp of p over the curve's PGR where PGR rises, as RouteLLM's
evaluate.py does over its accuracy).

tests/test_router_routellm.c compares eco_routellm_eval against these (tolerance 1e-12).

Usage: /usr/bin/python3 scripts/make_router_fixture.py [OUT]
"""
import json
import os
import sys

import numpy as np


def curve(strong, weak, score):
    n = len(score)
    order = np.argsort(-score, kind="stable")
    s = score[order]
    gain = np.cumsum(strong[order] - weak[order])
    # the last index of each run of equal scores: where a threshold ends
    ends = np.flatnonzero(np.append(s[1:] != s[:-1], True))
    share = np.concatenate([[0.0], (ends + 1) / n])
    q_weak, q_strong = weak.mean(), strong.mean()
    quality = np.concatenate([[q_weak], (weak.sum() + gain[ends]) / n])
    quality[-1] = q_strong
    pgr = (quality - q_weak) / (q_strong - q_weak)
    pgr[-1] = 1.0
    thresholds = np.concatenate([[np.inf], s[ends]])
    return thresholds, share, quality, pgr, q_weak, q_strong


def cpt(share, pgr, p):
    i = int(np.argmax(pgr >= p))  # the first point reaching p
    if i == 0:
        return float(share[0])
    return float(np.interp(p, pgr[i - 1:i + 1], share[i - 1:i + 1]))


def case(name, strong, weak, score):
    th, share, quality, pgr, qw, qs = curve(strong, weak, score)
    trapz = getattr(np, "trapezoid", None) or np.trapz
    return {
        "name": name,
        "strong": strong.tolist(),
        "weak": weak.tolist(),
        "score": score.tolist(),
        "q_weak": float(qw),
        "q_strong": float(qs),
        "n_points": len(share),
        "call_share": share.tolist(),
        "quality": quality.tolist(),
        "pgr": pgr.tolist(),
        "apgr": float(trapz(pgr, share)),
        "cpt": {str(p): cpt(share, pgr, p) for p in (0.2, 0.5, 0.8)},
    }


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fixtures", "router", "routellm.json")
    rng = np.random.default_rng(21)
    cases = []
    n = 2000
    hard = rng.random(n)
    weak = (rng.random(n) > hard * 0.9).astype(float)
    strong = np.maximum(weak, (rng.random(n) < 0.6).astype(float))
    strong[rng.random(n) < 0.05] = 0.0
    score = np.round(strong - weak + rng.normal(0, 0.6, n), 2)
    cases.append(case("binary", strong, weak, score))
    n = 500
    weak = np.round(rng.uniform(0, 10, n), 1)
    strong = np.clip(weak + rng.normal(1.5, 2.0, n), 0, 10).round(1)
    score = (strong - weak) * 0.3 + rng.normal(0, 1, n)
    cases.append(case("graded", strong, weak, score))
    n = 300
    weak = (rng.random(n) < 0.4).astype(float)
    strong = (rng.random(n) < 0.7).astype(float)
    score = -(strong - weak) + rng.normal(0, 0.3, n)
    cases.append(case("reversed", strong, weak, score))
    with open(out, "w") as f:
        f.write("{\"generated_by\": \"scripts/make_router_fixture.py\", \"numpy\": \"%s\", "
                "\"cases\": " % np.__version__)
        json.dump(cases, f, separators=(",", ":"))
        f.write("}\n")


main()
