#!/usr/bin/env python3
"""An independent check of a LoRA merge (`ecology merge` on adapter folders) in numpy.

Usage: check_lora_merge.py METHOD OUT_DIR W1,W2,... PARENT_DIR...
METHOD is linear or task_arithmetic (lambda 1). Reads every adapter's safetensors and
adapter_config.json itself, forms each module's full delta s*B@A in float64 (s = alpha/r, or
alpha/sqrt(r) with rsLoRA; rank_pattern/alpha_pattern not handled: refused), the reference
sum c_i*dW_i (c_i = w_i / sum(w) for linear), and compares the merged adapter's delta with it:
exact (relative Frobenius error <= 1e-5) when the merge concatenated, else the error must be
what Eckart-Young says for the adapter's rank (the dropped singular values of the reference,
numpy's SVD) and what lineage.json reports, within 1e-3 relative. Prints the largest
mismatches; exit 0 when every module passes, 1 otherwise.
"""
import json
import struct
import sys

import numpy as np

DT = {"F32": np.float32, "F16": np.float16}


def load(d):
    cfg = json.load(open(d + "/adapter_config.json"))
    if cfg.get("rank_pattern") or cfg.get("alpha_pattern"):
        sys.exit(f"{d}: rank_pattern/alpha_pattern not handled by this check")
    b = open(d + "/adapter_model.safetensors", "rb").read()
    n = struct.unpack("<Q", b[:8])[0]
    hdr = json.loads(b[8:8 + n])
    base = 8 + n
    ts = {}
    for name, t in hdr.items():
        if name == "__metadata__":
            continue
        lo, hi = t["data_offsets"]
        if t["dtype"] == "BF16":
            raw = np.frombuffer(b[base + lo:base + hi], dtype=np.uint16).astype(np.uint32) << 16
            a = raw.view(np.float32)
        else:
            a = np.frombuffer(b[base + lo:base + hi], dtype=DT[t["dtype"]])
        ts[name] = a.astype(np.float64).reshape(t["shape"])
    r, alpha = cfg["r"], cfg["lora_alpha"]
    s = alpha / (r ** 0.5) if cfg.get("use_rslora") else alpha / r
    deltas = {}
    for name, a in ts.items():
        if ".lora_A." in name:
            mod = name.split("base_model.model.")[1].split(".lora_A.")[0]
            deltas[mod] = s * ts[name.replace(".lora_A.", ".lora_B.")] @ a
    return deltas


def main():
    method, out, weights, parents = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    w = [float(x) for x in weights.split(",")]
    c = [x / sum(w) for x in w] if method == "linear" else w
    ps = [load(p) for p in parents]
    got = load(out)
    lin = json.load(open(out + "/lineage.json"))["operation"]["result"]
    r = json.load(open(out + "/adapter_config.json"))["r"]
    concat = lin["factorization"] == "concatenation"
    worst, bad = 0.0, 0
    for mod, g in sorted(got.items()):
        ref = sum(ci * p[mod] for ci, p in zip(c, ps) if mod in p)
        err = np.linalg.norm(g - ref) / np.linalg.norm(ref)
        if concat:
            mism = err
            ok = err <= 1e-5
        else:
            sv = np.linalg.svd(ref, compute_uv=False)
            want = np.sqrt(np.sum(sv[r:] ** 2)) / np.linalg.norm(sv)
            mism = max(abs(err - want), abs(lin["modules"][mod] - want)) / want
            ok = mism <= 1e-3
        worst = max(worst, mism)
        bad += not ok
    print(f"check_lora_merge: {len(got)} modules, {'concatenation' if concat else 'svd'} at "
          f"rank {r}: largest {'relative error' if concat else 'Eckart-Young mismatch'} "
          f"{worst:.3g}, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
