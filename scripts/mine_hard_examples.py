#!/usr/bin/env python3
"""Hard examples from an evaluation report: the cases a model failed, as training records.

Reads the corpus (ecology corpus build JSONL) and the report `ecology eval --out` wrote for
it, and writes {"prompt","completion"} JSONL: one record per failed "exact" case, the
completion in the capability's training format (" " + expected answer + "\\n", as
`ecology tasks generate` writes text.reverse@1 / text.sort@1 / arith.add@1 items).
--with-passed also writes the cases the model got right (the rest of the traffic's
words: more English for the fine-tune, not only the failures). Records keep the corpus's
order; nothing is shuffled here (the trainer shuffles with its seed).

    scripts/mine_hard_examples.py CORPUS.jsonl REPORT.json OUT.jsonl [--with-passed]
"""
import argparse
import json
import sys


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("report")
    ap.add_argument("out")
    ap.add_argument("--with-passed", action="store_true",
                    help="also the cases the model answered right")
    a = ap.parse_args()
    cases = {}
    with open(a.corpus, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                c = json.loads(line)
                cases[c["id"]] = c
    with open(a.report, encoding="utf-8") as f:
        report = json.load(f)
    n_fail = n_pass = 0
    with open(a.out, "w", encoding="utf-8") as out:
        for r in report["cases"]:
            c = cases.get(r["id"])
            if c is None:
                print(f"{a.report}: case {r['id']} is not in {a.corpus}", file=sys.stderr)
                return 1
            if c.get("check") != "exact":
                continue
            if r["passed"]:
                n_pass += 1
                if not a.with_passed:
                    continue
            else:
                n_fail += 1
            rec = {"prompt": c["prompt"], "completion": " " + c["expected"] + "\n"}
            out.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
    kept = n_fail + (n_pass if a.with_passed else 0)
    print(f"{a.out}: {kept} records ({n_fail} failed, {n_pass} passed"
          f"{'' if a.with_passed else ' not kept'})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
