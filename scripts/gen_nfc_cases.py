#!/usr/bin/env python3
"""Writes tests/reference/nfc_cases.txt: NFC test vectors for tests/test_tokenizer.c.

NFC itself is utf8proc's (src/tokenizer/tokenizer_nfc.c); these vectors hold it to the
Unicode NormalizationTest.txt(.bz2) as Debian's `unicode-data` package installs it
(/usr/share/unicode; `scripts/deps.sh --fixtures` installs it). One line per case,
"<source code points>;<NFC code points>" in hex: c2 == NFC(c1) == NFC(c2) == NFC(c3) and
c4 == NFC(c4) == NFC(c5) of every test line, each pair once.
Usage: scripts/gen_nfc_cases.py [/usr/share/unicode] > tests/reference/nfc_cases.txt
"""
import bz2
import os
import sys

ucd = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/unicode"
path = os.path.join(ucd, "NormalizationTest.txt")
f = open(path, encoding="utf-8") if os.path.exists(path) else \
    bz2.open(path + ".bz2", "rt", encoding="utf-8")
seen = set()
out = sys.stdout
out.write("# NFC test vectors from the Unicode NormalizationTest.txt (scripts/gen_nfc_cases.py)\n")
for line in f:
    line = line.split("#")[0].strip()
    if not line or line.startswith("@"):
        continue
    c = line.split(";")
    for src, nfc in ((c[0], c[1]), (c[2], c[1]), (c[3], c[3]), (c[4], c[3])):
        if (src, nfc) not in seen:
            seen.add((src, nfc))
            out.write("%s;%s\n" % (src, nfc))
