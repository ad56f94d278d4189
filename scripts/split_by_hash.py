#!/usr/bin/env python3
"""Split an evaluation corpus (ecology corpus build JSONL) in two by a hash of each prompt.

A case goes to the first output ("traffic": the half the loop sends to the champion and
mines for hard examples) when eco_route_canary_pick("traffic/" + prompt, share) is true
(src/router/split.c), i.e. when the first 8 bytes of SHA-256 of the UTF-8 bytes of
"traffic/" followed by the case's prompt, read big-endian as an unsigned integer and
divided by 2^64, are below --share (default 0.5; at 0.5: "the first byte of the digest is
below 0x80"). Every other case goes to the second output ("held-out": never mined, scored
before and after). The salt "traffic/" matters: the prompt's own SHA-256 already decides
its task split (eco_tasks_split_of), and every --shift case is an EVAL-split prompt, whose
digest starts low, so an unsalted hash puts them all on one side. The split depends on the
prompt alone, so it is the same for any --n / --seed of `ecology corpus build` and any
order of the input.

    scripts/split_by_hash.py IN.jsonl TRAFFIC.jsonl HELDOUT.jsonl [--share 0.5]
"""
import argparse
import hashlib
import json
import sys


SALT = "traffic/"


def in_first(prompt: str, share: float) -> bool:
    h = hashlib.sha256((SALT + prompt).encode("utf-8")).digest()
    return int.from_bytes(h[:8], "big") / 2.0**64 < share


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("traffic")
    ap.add_argument("heldout")
    ap.add_argument("--share", type=float, default=0.5)
    a = ap.parse_args()
    n = [0, 0]
    with open(a.corpus, encoding="utf-8") as f, open(a.traffic, "w", encoding="utf-8") as t, \
            open(a.heldout, "w", encoding="utf-8") as h:
        for line in f:
            if not line.strip():
                continue
            case = json.loads(line)
            first = in_first(case["prompt"], a.share)
            (t if first else h).write(line if line.endswith("\n") else line + "\n")
            n[0 if first else 1] += 1
    print(f"{a.traffic}: {n[0]} cases; {a.heldout}: {n[1]} cases", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
