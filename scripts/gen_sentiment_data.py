#!/usr/bin/env python3
"""Writes the C source of the sentiment rows from data/tasks/sentiment-{imdb,yelp}.jsonl.

The build runs this (CMakeLists.txt, a custom command into the build folder), so the rows
are committed once, as JSONL, and compiled into libecology so that it needs no data path at
run time. Each input line is {"text": str, "class": 0|1}; every file must hold 1,000 rows
with non-blank texts and no line breaks (scripts/vendor-sentiment.sh wrote them).
The output defines eco_sentiment_<domain>_rows[] and _count (src/tasks/tasks_internal.h):
texts as C string literals of their UTF-8 bytes, printable ASCII as is except '"', '\\'
and '?' (no trigraphs), every other byte as a 3-digit octal escape (a hex escape would
swallow the hex digits after it).

Usage: scripts/gen_sentiment_data.py DATA_DIR OUT.c     (exit 1 naming file:line on bad input)
"""
import json
import os
import sys

DOMAINS = ("imdb", "yelp")


def c_string(s):
    out = ['"']
    for b in s.encode("utf-8"):
        if 0x20 <= b < 0x7F and b not in (0x22, 0x5C, 0x3F):
            out.append(chr(b))
        else:
            out.append("\\%03o" % b)
    out.append('"')
    return "".join(out)


def rows_of(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            where = "%s:%d" % (path, lineno)
            try:
                r = json.loads(line)
            except ValueError as e:
                raise SystemExit("%s: not JSON: %s" % (where, e))
            if not isinstance(r, dict) or set(r) != {"text", "class"}:
                raise SystemExit('%s: expected {"text", "class"}' % where)
            t, c = r["text"], r["class"]
            if not isinstance(t, str) or not t.strip() or "\n" in t or "\r" in t:
                raise SystemExit("%s: text must be a non-blank string on one line" % where)
            if type(c) is not int or c not in (0, 1):
                raise SystemExit("%s: class must be 0 or 1" % where)
            rows.append((t, c))
    if len(rows) != 1000:
        raise SystemExit("%s: %d rows, expected 1000" % (path, len(rows)))
    return rows


def main():
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    data_dir, out_path = sys.argv[1], sys.argv[2]
    c = ["""/* GENERATED at build time by scripts/gen_sentiment_data.py from
 * data/tasks/sentiment-{imdb,yelp}.jsonl: do not edit.
 *
 * UCI Sentiment Labelled Sentences: 1,000 sentences each from IMDB and Yelp reviews,
 * labelled 1 (positive) or 0 (negative).
 *   Dimitrios Kotzias, Misha Denil, Nando de Freitas and Padhraic Smyth, "From Group to
 *   Individual Labels using Deep Features", KDD 2015.
 *   https://archive.ics.uci.edu/dataset/331/sentiment+labelled+sentences
 *   Licence: Creative Commons Attribution 4.0 International (CC BY 4.0).
 * Texts are byte-for-byte as in the source (normalised at run time, see gen_sentiment.c).
 * See data/tasks/ATTRIBUTION.md.
 */
#include "tasks/tasks_internal.h"
"""]
    for d in DOMAINS:
        rows = rows_of(os.path.join(data_dir, "sentiment-%s.jsonl" % d))
        c.append("\nconst sentiment_row eco_sentiment_%s_rows[] = {\n" % d)
        c.extend("    {%s, %d},\n" % (c_string(t), k) for t, k in rows)
        c.append("};\nconst size_t eco_sentiment_%s_count = sizeof eco_sentiment_%s_rows / "
                 "sizeof eco_sentiment_%s_rows[0];\n" % (d, d, d))
    tmp = out_path + ".tmp"
    with open(tmp, "w", encoding="ascii", newline="\n") as f:
        f.write("".join(c))
    os.replace(tmp, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
