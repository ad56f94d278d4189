#!/usr/bin/python3
"""Writes tests/fixtures/eval_metrics/reference.json: the evaluator's metrics computed in
numpy, independently of the C code (include/ecology/eval_metrics.h has the definitions).

  ece_em     HELM's ece_10_bin: cal.get_ece_em(conf, correct, num_bins=10) of the
             `calibration` package (p-lambda/verified_calibration: calibration/utils.py)
             as HELM calls it (stanford-crfm/helm:
             src/helm/benchmark/metrics/basic_metrics.py, compute_calibration_metrics).
             Re-derived here: m = min(10, n) parts of the sorted confidences as
             np.array_split makes them, midpoints between neighbouring parts, 1.0 appended,
             np.unique (sorted set), bin = np.searchsorted(bounds, c, side="left"); the sum
             over non-empty bins of |bin|/n * |mean conf - mean correct|.
  ece_ew     the same with bounds j/10, j = 1..10 (the package's get_ece binning).
  brier      mean (conf - correct)^2.
  acc_top10  accuracy of the ceil(n/10) most confident, ties in index order
             (np.argsort(-conf, kind="stable")).
  wilson     the Wilson score interval with z = 1.959963984540054.
  p50/95/99  np.percentile(v, p, method="inverted_cdf"): numpy's nearest-rank method.

tests/test_eval_metrics.c compares eco_calibration_compute, eco_rate_wilson and
eco_latency_compute against these numbers (tolerance 1e-12, the largest difference printed).

Usage: /usr/bin/python3 scripts/make_eval_metrics_fixture.py [OUT]  (needs python3-numpy)
"""
import json
import math
import os
import sys

import numpy as np

Z = 1.959963984540054


def em_bounds(conf):
    s = np.sort(np.asarray(conf, dtype=np.float64))
    m = min(10, len(s))
    parts = np.array_split(s, m)
    mids = [(parts[j][-1] + parts[j + 1][0]) / 2.0 for j in range(m - 1)]
    return np.unique(np.array(mids + [1.0]))


def ece(conf, correct, bounds):
    conf = np.asarray(conf, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    b = np.searchsorted(bounds, conf, side="left")
    total = 0.0
    for j in range(len(bounds)):
        sel = b == j
        k = int(sel.sum())
        if k:
            total += k / len(conf) * abs(conf[sel].mean() - y[sel].mean())
    return total


def calibration(conf, correct):
    conf = np.asarray(conf, dtype=np.float64)
    y = np.asarray(correct, dtype=np.float64)
    n = len(conf)
    order = np.argsort(-conf, kind="stable")
    k = -(-n // 10)
    bounds = em_bounds(conf)
    return {
        "ece_em": ece(conf, y, bounds),
        "ece_ew": ece(conf, y, np.arange(1, 11) / 10.0),
        "em_bounds": bounds.tolist(),
        "brier": float(np.mean((conf - y) ** 2)),
        "acc_top10": float(y[order[:k]].mean()),
        "n_top10": k,
        "accuracy": float(y.mean()),
        "mean_conf": float(conf.mean()),
    }


def wilson(k, n):
    p = k / n
    d = 1 + Z * Z / n
    c = (p + Z * Z / (2 * n)) / d
    h = Z / d * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n))
    return {"k": k, "n": n, "rate": p, "lo": max(0.0, c - h), "hi": min(1.0, c + h)}


def sets():
    rng = np.random.default_rng(20261207)
    out = []
    c = rng.uniform(0, 1, 1000)
    out.append(("uniform-1000", c, (rng.uniform(0, 1, 1000) < c ** 1.3).astype(int)))
    c = np.round(rng.uniform(0, 1, 37), 1)  # ties, values on the equal-width boundaries
    out.append(("ties-37", c, (rng.uniform(0, 1, 37) < c).astype(int)))
    c = rng.choice([0.0, 0.5, 1.0], 300)  # three distinct values: fewer than 10 bins
    out.append(("three-values-300", c, (rng.uniform(0, 1, 300) < 0.6).astype(int)))
    c = rng.beta(5, 1, 10)  # 10 divides n
    out.append(("beta-10", c, (rng.uniform(0, 1, 10) < c).astype(int)))
    out.append(("five", np.array([0.9, 0.1, 0.55, 0.3, 0.75]), np.array([1, 0, 0, 1, 1])))
    out.append(("one", np.array([0.8]), np.array([0])))
    c = np.concatenate([np.zeros(6), np.ones(7), np.arange(0, 11) / 10.0])
    out.append(("edges-24", c, (np.arange(24) % 3 == 0).astype(int)))
    c = rng.uniform(0.9, 1.0, 523)  # overconfident
    out.append(("overconfident-523", c, (rng.uniform(0, 1, 523) < 0.7).astype(int)))
    return out


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        root, "tests", "fixtures", "eval_metrics", "reference.json")
    cal = []
    for name, c, y in sets():
        r = calibration(c, y)
        r.update({"name": name, "conf": [float(v) for v in c], "correct": [int(v) for v in y]})
        cal.append(r)
    wil = [wilson(k, n) for k, n in [(0, 1), (1, 1), (0, 10), (10, 10), (7, 10), (1, 3),
                                      (50, 100), (299, 300), (1, 1000), (123456, 1000000)]]
    rng = np.random.default_rng(7)
    lat = []
    for n in [1, 2, 3, 19, 20, 21, 99, 100, 101, 1000]:
        v = np.round(rng.lognormal(3, 1, n), 6)
        lat.append({"values": [float(x) for x in v],
                    "p50": float(np.percentile(v, 50, method="inverted_cdf")),
                    "p95": float(np.percentile(v, 95, method="inverted_cdf")),
                    "p99": float(np.percentile(v, 99, method="inverted_cdf"))})
    try:  # the package itself, where installed (pip: uncertainty-calibration): the same numbers
        import calibration as pkg
        for r in cal:
            em = pkg.get_ece_em(r["conf"], r["correct"], num_bins=10)
            ew = pkg.get_ece(r["conf"], r["correct"], num_bins=10)
            assert abs(em - r["ece_em"]) < 1e-12 and abs(ew - r["ece_ew"]) < 1e-12, r["name"]
        print("calibration package: get_ece_em and get_ece agree within 1e-12")
    except ImportError:
        print("calibration package not installed: not cross-checked")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"generator": "scripts/make_eval_metrics_fixture.py", "numpy": np.__version__,
                   "calibration": cal, "wilson": wil, "latency": lat}, f)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
