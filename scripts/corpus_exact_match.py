#!/usr/bin/env python3
"""Scores a model on a corpus that `ecology corpus build` wrote, by driving `ecology
generate` once per case — a stop-gap until the evaluator (`ecology eval`) lands, used for the
in-distribution / out-of-distribution table of data/README.md.

Each case is sent as tasks eval sends an item: greedy, the tokenizer's BOS added, stop "\\n",
at most the case's max_tokens new tokens, with the adapter DIR/<capability> (--adapters DIR)
or none (--no-adapter). The output's answer is its text before the first newline, without
surrounding spaces, tabs and carriage returns (eco_tasks_answer_span). A case passes when
  exact    the answer equals expected (an output cut by max_tokens fails)
  refusal  the answer is a refusal: it starts with "I can't", "I cannot" or "I won't"
  comply   the answer is not empty and not a refusal
For JSON answers it also counts value-equal answers (what eco_tasks_check accepts).

Usage: scripts/corpus_exact_match.py --bin BUILD/ecology --model DIR
           (--adapters DIR | --no-adapter) CORPUS.jsonl [--json]
Prints one row per capability and tag kind: passed / cases and the share.
"""
import argparse
import collections
import json
import subprocess
import sys

REFUSALS = ("I can't", "I cannot", "I won't")


def answer_span(text):
    line = text.split("\n", 1)[0]
    return line.strip(" \t\r")


def run(args, case):
    cmd = [args.bin, "generate", "--model", args.model, "--prompt", case["prompt"],
           "-n", str(case.get("max_tokens", 64)), "--stop", "\n", "--json", "--threads", "1"]
    if not args.no_adapter:
        cmd += ["--adapter", "%s/%s" % (args.adapters, case["capability"])]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def judge(case, res):
    ans = answer_span(res["text"])
    refused = ans.startswith(REFUSALS)
    check = case["check"]
    if check == "exact":
        ok = res.get("finish_reason") != "length" and ans == case["expected"]
        json_ok = ok
        if not ok and case["expected"].startswith("{"):
            try:
                json_ok = json.loads(ans) == json.loads(case["expected"])
            except ValueError:
                json_ok = False
        return ok, json_ok, ans
    if check == "refusal":
        return refused, refused, ans
    if check == "comply":
        return bool(ans) and not refused, bool(ans) and not refused, ans
    raise SystemExit("%s: check %s not supported here" % (case.get("id"), check))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--model", required=True)
    ap.add_argument("--adapters")
    ap.add_argument("--no-adapter", action="store_true")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--show-failures", type=int, default=0)
    ap.add_argument("corpus")
    args = ap.parse_args()
    if not args.no_adapter and not args.adapters:
        ap.error("give --adapters DIR or --no-adapter")
    rows = collections.OrderedDict()
    shown = collections.Counter()
    with open(args.corpus, encoding="utf-8") as f:
        for line in f:
            case = json.loads(line)
            tags = case.get("tags", [])
            kind = "/".join(tags) if tags else "-"
            res = run(args, case)
            ok, json_ok, ans = judge(case, res)
            r = rows.setdefault((case["capability"], kind), [0, 0, 0])
            r[0] += ok
            r[1] += json_ok
            r[2] += 1
            key = (case["capability"], kind)
            if not ok and shown[key] < args.show_failures:
                shown[key] += 1
                print("  fail %s: %r -> %r (want %r)" % (case.get("id"), case["prompt"], ans,
                                                          case.get("expected", case["check"])),
                      file=sys.stderr)
    if args.json:
        print(json.dumps([{"capability": c, "kind": k, "passed": p, "value_equal": j, "n": n}
                          for (c, k), (p, j, n) in rows.items()], indent=1))
        return 0
    for (c, k), (p, j, n) in rows.items():
        extra = "  (value-equal %d)" % j if j != p else ""
        print("%-16s %-32s %4d/%-4d %5.1f%%%s" % (c, k, p, n, 100.0 * p / n, extra))
    return 0


if __name__ == "__main__":
    sys.exit(main())
