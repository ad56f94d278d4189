#!/usr/bin/python3
"""Writes tests/fixtures/pareto/reference.json: NSGA-II ranks and crowding distances
computed in numpy, independently of the C code (include/ecology/pareto.h has the rules).

  rank      the dominance matrix D[p, q] = p dominates q (no worse in every objective,
            better in one, after flipping maximised objectives to minimised), then fronts
            peeled off: the points no remaining point dominates are the next front
            (Deb et al. 2002's definition, not its bookkeeping).
  crowding  per front and objective, np.argsort(values, kind="stable") (ties in point
            order), the first and last point +inf, each interior point adding
            (next - previous) / (max - min) when max > min (Deb et al. 2002, section III-B).
            Infinite distances are written as null.

Values are drawn from a few levels so that ties, equal vectors and fronts of one or two
points all occur. tests/test_pareto.c compares eco_pareto_rank (exactly) and
eco_pareto_crowding (tolerance 1e-12, the largest difference printed) against these.

Usage: /usr/bin/python3 scripts/make_pareto_fixture.py [OUT]  (needs python3-numpy)
"""
import json
import os
import sys

import numpy as np


def ranks(v, dirs):
    w = np.where(np.asarray(dirs) == "max", -v, v)  # all minimised
    le = (w[:, None, :] <= w[None, :, :]).all(axis=2)
    lt = (w[:, None, :] < w[None, :, :]).any(axis=2)
    dom = le & lt  # dom[p, q]: p dominates q
    n = len(v)
    rank = np.full(n, -1)
    left = np.ones(n, dtype=bool)
    r = 0
    while left.any():
        dominated = (dom & left[:, None]).any(axis=0)
        front = left & ~dominated
        rank[front] = r
        left &= ~front
        r += 1
    return rank


def crowding(v, rank):
    n, m = v.shape
    dist = np.zeros(n)
    for r in np.unique(rank):
        idx = np.flatnonzero(rank == r)
        for j in range(m):
            order = idx[np.argsort(v[idx, j], kind="stable")]
            dist[order[0]] = np.inf
            dist[order[-1]] = np.inf
            lo, hi = v[order[0], j], v[order[-1], j]
            if hi > lo:
                for t in range(1, len(order) - 1):
                    dist[order[t]] += (v[order[t + 1], j] - v[order[t - 1], j]) / (hi - lo)
    return dist


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/pareto/reference.json"
    rng = np.random.default_rng(21)
    sets = []
    for n, m, levels in [(1, 2, 5), (2, 2, 5), (7, 2, 0), (12, 3, 4), (30, 2, 0), (40, 3, 6),
                         (60, 5, 3), (80, 4, 0), (100, 2, 10), (25, 1, 5)]:
        if levels:
            v = rng.integers(0, levels, size=(n, m)).astype(np.float64) / 4.0
        else:
            v = np.round(rng.normal(0, 1, size=(n, m)), 6)
        dirs = [str(d) for d in rng.choice(["max", "min"], size=m)]
        rank = ranks(v, dirs)
        dist = crowding(v, rank)
        sets.append({"dirs": dirs, "values": [[float(x) for x in row] for row in v],
                     "rank": [int(x) for x in rank],
                     "crowding": [None if np.isinf(x) else float(x) for x in dist]})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump({"generator": "scripts/make_pareto_fixture.py", "numpy": np.__version__,
                   "sets": sets}, f)
        f.write("\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
