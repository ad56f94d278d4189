#!/usr/bin/python3
"""Writes tests/fixtures/canary/reference.json: the canary judge's statistics computed with
scipy and numpy, independently of the C code (include/ecology/canary.h has the definitions).

  mwu        scipy.stats.mannwhitneyu(canary, champion, method="asymptotic",
             use_continuity=True), alternative "greater" and "two-sided": U of the canary
             and both p-values (tie correction is scipy's own).
  prop       the pooled two-proportion z-test: z from the counts, p_worse by
             scipy.stats.norm.cdf (lower tail for a success rate, upper for an error rate).
  hl         the Hodges-Lehmann shift: np.median of np.subtract.outer(canary, champion);
             its 98% interval as Kayenta's MannWhitney (R's wilcox.test, correct=TRUE)
             defines it, found here by brute force: at mu just past each distinct pairwise
             difference (the midpoint to the next one) the statistic is recomputed from
             scipy.stats.rankdata of (canary - mu, champion) with the ties of that pooled
             sample; lo is the first difference after which it is <= z, hi the first after
             which it is <= -z (z = norm.ppf(0.99)).

tests/test_canary.c compares eco_canary_mann_whitney, eco_canary_prop_test and
eco_canary_hodges_lehmann against these numbers (the largest difference printed).

Usage: /usr/bin/python3 scripts/make_canary_fixture.py [OUT]  (needs python3-scipy)
"""
import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

Z98 = float(stats.norm.ppf(0.99))


def w_stat(x, y, mu):
    """Kayenta's wilcoxonDiff(mu, 0, x, y): the continuity-corrected, tie-corrected z."""
    n, m = len(x), len(y)
    r = stats.rankdata(np.concatenate([x - mu, y]))
    _, t = np.unique(np.concatenate([x - mu, y]), return_counts=True)
    dz = r[:n].sum() - n * (n + 1) / 2 - n * m / 2
    s = math.sqrt(n * m / 12 * ((n + m + 1) - (t**3 - t).sum() / ((n + m) * (n + m - 1))))
    return (dz - np.sign(dz) * 0.5) / s


def hl(x, y):
    d = np.sort(np.subtract.outer(x, y).ravel())
    u = np.unique(d)
    right = np.append((u[:-1] + u[1:]) / 2, u[-1] + 1.0)  # a mu just past each difference
    w = np.array([w_stat(x, y, mu) for mu in right])

    def jump(level):
        idx = np.nonzero(w <= level)[0]
        return float(u[idx[0]]) if len(idx) else float(u[-1])

    return {"estimate": float(np.median(d)), "lo": jump(Z98), "hi": jump(-Z98)}


def mwu(x, y):
    g = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True, alternative="greater")
    t = stats.mannwhitneyu(x, y, method="asymptotic", use_continuity=True,
                           alternative="two-sided")
    return {"u": float(g.statistic), "p_greater": float(g.pvalue), "p_two_sided": float(t.pvalue)}


def prop(k1, n1, k2, n2, higher_is_worse):
    p1, p2 = k1 / n1, k2 / n2
    pool = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pool * (1 - pool) * (1 / n1 + 1 / n2))
    z = (p1 - p2) / se if se > 0 else 0.0
    p = float(stats.norm.cdf(-z if higher_is_worse else z))
    return {"k_canary": k1, "n_canary": n1, "k_champion": k2, "n_champion": n2,
            "higher_is_worse": higher_is_worse, "z": z, "p_worse": p}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "fixtures", "canary", "reference.json")
    rng = np.random.default_rng(20261207)
    sets = []

    def add(name, x, y):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        e = {"name": name, "canary": x.tolist(), "champion": y.tolist()}
        e.update(mwu(x, y))
        e["hl"] = hl(x, y)
        sets.append(e)

    add("small-hand", [12.0, 15.0, 11.0, 19.0, 14.0], [10.0, 9.0, 13.0, 8.0])
    add("ties-integers", rng.integers(10, 20, 40), rng.integers(9, 19, 55))
    add("lognormal-equal", np.round(rng.lognormal(3.0, 0.4, 80), 2),
        np.round(rng.lognormal(3.0, 0.4, 120), 2))
    add("lognormal-slower", np.round(rng.lognormal(3.3, 0.4, 60), 2),
        np.round(rng.lognormal(3.0, 0.4, 90), 2))
    add("normal-faster", rng.normal(40.0, 5.0, 70), rng.normal(45.0, 5.0, 70))
    add("two-values", [1.0, 1.0, 2.0, 2.0, 2.0, 1.0], [1.0, 2.0, 1.0, 1.0, 1.0, 1.0, 1.0])

    props = [prop(45, 50, 88, 100, False), prop(30, 60, 500, 600, False),
             prop(190, 200, 560, 600, False), prop(3, 200, 2, 800, True),
             prop(0, 40, 1, 300, True), prop(7, 7, 9, 10, False)]
    doc = {"generator": "scripts/make_canary_fixture.py", "scipy": scipy.__version__,
           "numpy": np.__version__, "z98": Z98, "samples": sets, "prop": props}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
