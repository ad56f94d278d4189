#!/usr/bin/env python3
"""logits_diff.py A.safetensors B.safetensors: the largest |a - b| over two f32 logits files of
one tensor each (the shapes must match), and the largest |a|; prints
"max_abs_diff D max_abs A argmax_same S" (S: 1 when every row's argmax agrees)."""
import json
import struct
import sys
from array import array


def read(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    t = header[name]
    assert t["dtype"] == "F32", t["dtype"]
    b, e = t["data_offsets"]
    a = array("f")
    a.frombytes(raw[8 + n + b:8 + n + e])
    return t["shape"], a


sa, a = read(sys.argv[1])
sb, b = read(sys.argv[2])
if sa != sb:
    sys.exit(f"shapes differ: {sa} vs {sb}")
cols = sa[-1]
diff = max(abs(x - y) for x, y in zip(a, b))
amax = max(abs(x) for x in a)
same = 1
for r in range(len(a) // cols):
    ra, rb = a[r * cols:(r + 1) * cols], b[r * cols:(r + 1) * cols]
    if max(range(cols), key=ra.__getitem__) != max(range(cols), key=rb.__getitem__):
        same = 0
print(f"max_abs_diff {diff:.6g} max_abs {amax:.6g} argmax_same {same}")
