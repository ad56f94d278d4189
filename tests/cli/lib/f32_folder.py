"""f32_folder: read and write the f32 model.safetensors and config.json of a tiny model folder,
for the test scripts that rewrite one (to_qwen2.py, with_tokenizer.py). Standard library only."""
import json
import os
import struct


def read(d):
    """(config dict, {name: (shape, f32 bytes)}) of folder d; every tensor must be F32."""
    cfg = json.load(open(os.path.join(d, "config.json")))
    raw = open(os.path.join(d, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    data = raw[8 + n:]
    tensors = {}
    for name, t in header.items():
        assert t["dtype"] == "F32", (name, t["dtype"])
        b, e = t["data_offsets"]
        tensors[name] = (t["shape"], data[b:e])
    return cfg, tensors


def write(d, cfg, tensors):
    """Writes model.safetensors (names sorted, header padded to 8 bytes) and config.json."""
    hdr, off, blobs = {}, 0, []
    for name in sorted(tensors):
        shape, blob = tensors[name]
        hdr[name] = {"dtype": "F32", "shape": shape, "data_offsets": [off, off + len(blob)]}
        off += len(blob)
        blobs.append(blob)
    h = json.dumps(hdr, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(os.path.join(d, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
