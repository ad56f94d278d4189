#!/usr/bin/python3
"""Writes tests/fixtures/q8_0/blocks.safetensors: f32 rows and their GGUF Q8_0 blocks.

An independent transcription, in numpy, of ggml's reference quantizer
(ggml/src/ggml-quants.c, quantize_row_q8_0_ref: "reference implementation for
deterministic creation of model files"):

    amax = max_j |x_j|            (over the 32 weights of a block)
    d    = amax / ((1 << 7) - 1)  (f32 division)
    id   = d ? 1.0f/d : 0.0f
    y.d  = GGML_FP32_TO_FP16(d)   (IEEE binary16, round to nearest even)
    y.qs[j] = roundf(x_j * id)    (f32 product; roundf: halfway cases away from zero)

block_q8_0 is {ggml_half d; int8_t qs[32];}: 34 bytes, d little-endian first. numpy's
own rounding (np.round, np.rint) is half-to-even, so roundf is done here in f64 on the
exact f32 product: sign(v) * floor(|v| + 0.5), which is exact for every f32 |v| < 2^52.

The file holds "x" F32 [R, 64] (two blocks a row) and "q8_0" U8 [R, 68], the blocks of
each row, for hand-picked edge cases (all zeros, ±amax, halfway products, a scale that
rounds in f16, a subnormal f16 scale, a scale past f16's range) and seeded normal rows.
tests/test_q8_0.c checks eco_q8_0_quantize_row against these bytes.

Usage: /usr/bin/python3 scripts/make_q8_0_fixture.py [OUT]  (needs python3-numpy)
"""
import json
import struct
import sys

import numpy as np

QK = 32


def quantize_row_q8_0_ref(x):
    x = np.asarray(x, dtype=np.float32)
    assert x.size % QK == 0
    out = bytearray()
    for blk in x.reshape(-1, QK):
        amax = np.float32(0.0)
        for v in blk:
            amax = max(amax, np.float32(abs(v)))
        d = np.float32(amax) / np.float32(127)
        idd = np.float32(1.0) / d if d != 0 else np.float32(0.0)
        with np.errstate(over="ignore"):  # a d past 65504 is stored as inf, as ggml does
            out += np.array([d], dtype=np.float32).astype(np.float16).tobytes()  # RNE
        prod = (blk * idd).astype(np.float32).astype(np.float64)
        q = np.sign(prod) * np.floor(np.abs(prod) + 0.5)
        out += q.astype(np.int8).tobytes()
    return bytes(out)


def rows():
    r = []
    r.append(np.zeros(64, np.float32))  # all zeros: d = 0, id = 0, q = 0
    a = np.linspace(-1, 1, 64, dtype=np.float32)
    a[5], a[40] = 3.0, -3.0  # +amax in one block, -amax in the other
    r.append(a)
    # halfway products: amax 127 gives d = 1 exactly, so x*id = x
    h = np.array([127.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 126.5, -126.5, 0.49999997]
                 + [0.0] * 22, dtype=np.float32)
    r.append(np.concatenate([h, -h]))
    # amax whose d = amax/127 is not an f16: the stored scale rounds
    r.append(np.concatenate([np.full(32, 0.1, np.float32), np.arange(32, dtype=np.float32) / 7]))
    # tiny (d a subnormal f16) and huge (d beyond f16's 65504: stored as inf)
    r.append(np.concatenate([np.linspace(-1e-4, 1e-4, 32, dtype=np.float32),
                             np.linspace(-1e7, 1e7, 32, dtype=np.float32)]))
    rng = np.random.default_rng(20261207)
    for _ in range(11):
        r.append((rng.standard_normal(64) * rng.uniform(0.01, 4)).astype(np.float32))
    return np.stack(r).astype(np.float32)


def write_safetensors(path, tensors):
    header, data = {}, b""
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"generator": "scripts/make_q8_0_fixture.py"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/q8_0/blocks.safetensors"
    x = rows()
    q = b"".join(quantize_row_q8_0_ref(row) for row in x)
    R = x.shape[0]
    write_safetensors(out, {"x": ("F32", (R, 64), x.tobytes()),
                            "q8_0": ("U8", (R, 68), q)})
    print(f"{out}: {R} rows of 64 weights, {len(q)} bytes of Q8_0 blocks")


if __name__ == "__main__":
    main()
