#!/usr/bin/env python3
"""Writes the seed corpus of fuzz/fuzz_gguf.c (fuzz/seeds/fuzz_gguf/) with a GGUF v3 writer of
its own (independent of src/formats/gguf_write.c): a micro llama (f32), a micro qwen2 (Q8_0
matrices, biases, a merge), a micro llama with a SentencePiece-style ("llama") tokenizer, and a
header holding every value type. Deterministic.
Usage: scripts/make_gguf_seeds.py [OUT_DIR]"""
import os
import random
import struct
import sys

U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)
FMT = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32: "<f", BOOL: "<?",
       U64: "<Q", I64: "<q", F64: "<d"}
GF32, GF16, GQ8_0 = 0, 1, 8


def s(x):
    b = x.encode()
    return struct.pack("<Q", len(b)) + b


def value(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        et, items = v
        return struct.pack("<IQ", et, len(items)) + b"".join(value(et, i) for i in items)
    return struct.pack(FMT[t], v)


def half(x):
    return struct.pack("<e", x)


def q8_0(row):
    out = b""
    for k in range(0, len(row), 32):
        blk = row[k:k + 32]
        amax = max(abs(x) for x in blk)
        d = amax / 127
        inv = 1 / d if d else 0
        out += half(d) + bytes((int(round(x * inv)) & 0xFF) for x in blk)
    return out


def gguf(kvs, tensors, align=32):
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs))
    for k, t, v in kvs:
        head += s(k) + struct.pack("<I", t) + value(t, v)
    off, blobs = 0, []
    for name, ne, gt, blob in tensors:
        head += s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
        head += struct.pack("<IQ", gt, off)
        pad = (-len(blob)) % align
        blobs.append(blob + b"\0" * pad)
        off += len(blob) + pad
    head += b"\0" * ((-len(head)) % align)
    return head + b"".join(blobs)


def model(arch, qtype, rng, spm=False):
    d, ff, heads, kv, hd, vocab = 32, 32, 2, 1, 16, 8
    toks = ["a", "b", "c", "d", "ab", "Ġ", "<s>", "</s>"]
    types = [1, 1, 1, 1, 1, 1, 3, 3]
    if spm:
        toks = ["<unk>", "<s>", "</s>", "<0x41>", "\u2581", "a", "\u2581a", "aa"]
        types = [2, 3, 3, 6, 1, 1, 1, 1]
    kvs = [("general.architecture", STR, arch), ("general.type", STR, "model"),
           (f"{arch}.block_count", U32, 1), (f"{arch}.context_length", U32, 64),
           (f"{arch}.embedding_length", U32, d), (f"{arch}.feed_forward_length", U32, ff),
           (f"{arch}.attention.head_count", U32, heads), (f"{arch}.attention.head_count_kv", U32, kv),
           (f"{arch}.rope.freq_base", F32, 10000.0),
           (f"{arch}.attention.layer_norm_rms_epsilon", F32, 1e-5),
           ("tokenizer.ggml.model", STR, "llama" if spm else "gpt2"),
           ("tokenizer.ggml.pre", STR, "qwen2" if arch == "qwen2" else "default"),
           ("tokenizer.ggml.tokens", ARR, (STR, toks)), ("tokenizer.ggml.token_type", ARR, (I32, types)),
           ("tokenizer.ggml.merges", ARR, (STR, ["a b"] if arch == "qwen2" else [])),
           ("tokenizer.ggml.bos_token_id", U32, 1 if spm else 6),
           ("tokenizer.ggml.eos_token_id", U32, 2 if spm else 7),
           ("tokenizer.ggml.add_bos_token", BOOL, True)]
    if spm:
        kvs += [("tokenizer.ggml.scores", ARR, (F32, [0.0, 0.0, 0.0, 0.0, -1e9, -1e9, 0.0, -1.0])),
                ("tokenizer.ggml.unknown_token_id", U32, 0),
                ("tokenizer.ggml.add_space_prefix", BOOL, True)]

    def mat(rows, cols):
        vals = [rng.gauss(0, 0.1) for _ in range(rows * cols)]
        if qtype == GQ8_0:
            return [cols, rows], GQ8_0, b"".join(q8_0(vals[r * cols:(r + 1) * cols]) for r in range(rows))
        return [cols, rows], GF32, struct.pack(f"<{len(vals)}f", *vals)

    def vec(n, one=False):
        vals = [1.0 if one else rng.gauss(0, 0.1) for _ in range(n)]
        return [n], GF32, struct.pack(f"<{n}f", *vals)

    t = [("token_embd.weight",) + mat(vocab, d)]
    layer = [("attn_norm.weight", vec(d, True)), ("attn_q.weight", mat(heads * hd, d)),
             ("attn_k.weight", mat(kv * hd, d)), ("attn_v.weight", mat(kv * hd, d)),
             ("attn_output.weight", mat(d, heads * hd)), ("ffn_norm.weight", vec(d, True)),
             ("ffn_gate.weight", mat(ff, d)), ("ffn_up.weight", mat(ff, d)),
             ("ffn_down.weight", mat(d, ff))]
    if arch == "qwen2":
        layer += [("attn_q.bias", vec(heads * hd)), ("attn_k.bias", vec(kv * hd)),
                  ("attn_v.bias", vec(kv * hd))]
    t += [(f"blk.0.{n}",) + x for n, x in layer]
    t += [("output_norm.weight",) + vec(d, True)]
    if arch == "qwen2":
        t += [("output.weight",) + mat(vocab, d)]
    return gguf(kvs, t)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "fuzz",
                                                             "seeds", "fuzz_gguf")
    os.makedirs(out, exist_ok=True)
    rng = random.Random(1)
    files = {
        "llama_f32.gguf": model("llama", GF32, rng),
        "qwen2_q8_0.gguf": model("qwen2", GQ8_0, rng),
        "llama_spm.gguf": model("llama", GF32, rng, spm=True),
        "values.gguf": gguf([("u8", U8, 1), ("i8", I8, -1), ("u16", U16, 2), ("i16", I16, -2),
                             ("u32", U32, 3), ("i32", I32, -3), ("f32", F32, 0.5), ("b", BOOL, False),
                             ("s", STR, "x"), ("u64", U64, 4), ("i64", I64, -4), ("f64", F64, 0.25),
                             ("general.alignment", U32, 64), ("arr", ARR, (F32, [1.0, 2.0])),
                             ("strs", ARR, (STR, ["", "é"]))],
                            [("t", [2, 3], GF16, half(1.0) * 6)], align=64),
    }
    for name, data in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


main()
