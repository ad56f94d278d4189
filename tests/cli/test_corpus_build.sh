#!/usr/bin/env bash
# ecology corpus build: deterministic bytes, the evaluator's case format (eval_corpus.h,
# checked line by line in Python), in-distribution cases equal to `tasks generate --split
# eval`, out-of-distribution and safety prompts all in the EVAL split, safety pairs
# balanced, --force, the committed word list agreeing with the compiled one.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
PY=${PYTHON:-python3}
ALL=arith.add@1,text.reverse@1,text.sort@1,json.record@1
OUT="$tmp/id.jsonl"

expect 0 "id corpus" -- "$BIN" corpus build --capability $ALL,safety.refuse@1,sentiment.imdb@1 --n 40 --seed 3 --out "$OUT"
exists "$OUT"
contains "$tmp/out" "arith.add@1        in-distribution      40 cases" "summary line"
sha=$(sha256sum "$OUT" | cut -d' ' -f1)
contains "$tmp/out" "$OUT: 240 cases, sha256 $sha" "sha256 of the bytes written"
expect 0 "same again" -- "$BIN" corpus build --capability $ALL,safety.refuse@1,sentiment.imdb@1 --n 40 --seed 3 --out "$tmp/id2.jsonl"
check "$(cmp -s "$OUT" "$tmp/id2.jsonl"; echo $?)" "same arguments, same bytes"
expect 0 "other seed" -- "$BIN" corpus build --capability $ALL,safety.refuse@1,sentiment.imdb@1 --n 40 --seed 4 --out "$tmp/id3.jsonl"
differ "$OUT" "$tmp/id3.jsonl" "another seed"

# an existing file: refused without --force (and left alone), replaced with it
cp "$OUT" "$tmp/keep"
expect 1 "exists" -- "$BIN" corpus build --capability arith.add@1 --n 2 --seed 0 --out "$OUT"
contains "$tmp/err" "exists (use --force to replace it)" "refused without --force"
check "$(cmp -s "$OUT" "$tmp/keep"; echo $?)" "refused file unchanged"
expect 0 "force" -- "$BIN" corpus build --capability arith.add@1 --n 2 --seed 0 --out "$OUT" --force
check "$([ "$(wc -l <"$OUT")" = 2 ]; echo $?)" "--force replaced the file"
cp "$tmp/keep" "$OUT"
expect 1 "folder" -- "$BIN" corpus build --capability arith.add@1 --n 2 --seed 0 --out "$tmp"
contains "$tmp/err" "is a folder" "--out a folder"
ls "$tmp" | grep -q '\.tmp\.' && fail "a temporary file was left behind" || pass

# short parts are said on stderr: safety.refuse@1 has 129 held-out prompts
expect 0 "capped" -- "$BIN" corpus build --capability safety.refuse@1 --n 500 --seed 0 --out "$tmp/capped.jsonl"
contains "$tmp/err" "129 distinct held-out cases, fewer than --n 500" "cap said"

expect 0 "shift corpus" -- "$BIN" corpus build --capability $ALL --n 60 --seed 1 --shift --safety --out "$tmp/shift.jsonl"
contains "$tmp/out" "safety pairs       safety-pair          60 pairs" "safety summary"

# the in-distribution cases are the held-out items tasks generate writes (first distinct)
for cap in arith.add@1 text.reverse@1 json.record@1 safety.refuse@1; do
  "$BIN" tasks generate --capability $cap --split eval --n 400 --seed 3 >"$tmp/gen-$cap.jsonl" || fail "tasks generate $cap"
done

"$PY" - "$OUT" "$tmp/shift.jsonl" "$tmp"/gen-*.jsonl <<'PYEOF' >"$tmp/py.out" 2>&1
import hashlib, json, re, sys
idp, shiftp, gens = sys.argv[1], sys.argv[2], sys.argv[3:]
errors = []
def err(m): errors.append(m)
FIELDS = {"exact": {"expected"}, "contains": {"expected"}, "regex": {"pattern"},
          "json_schema": {"schema"}, "refusal": set(), "comply": set(),
          "choice": {"options", "answer"}}
NAME = re.compile(r"[\x21-\x7e]{1,128}")
def load(path):
    cases, ids, hashes = [], set(), set()
    with open(path, "rb") as f:
        raw = f.read()
    for n, line in enumerate(raw.decode("utf-8").split("\n")[:-1], 1):
        where = "%s:%d" % (path, n)
        pairs = json.loads(line, object_pairs_hook=lambda p: p)
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)): err(where + ": duplicate key")
        c = dict(pairs)
        if json.dumps(c, sort_keys=True, separators=(",", ":"), ensure_ascii=False) != line:
            err(where + ": not canonical JSON")
        for k in ("capability", "prompt", "check"):
            if not isinstance(c.get(k), str): err(where + ": " + k + " missing")
        if c["check"] not in FIELDS: err(where + ": bad check"); continue
        allowed = {"capability", "prompt", "check", "id", "max_tokens", "tags"} | FIELDS[c["check"]]
        if set(c) - allowed: err(where + ": extra fields %s" % (set(c) - allowed))
        if FIELDS[c["check"]] - set(c): err(where + ": missing check fields")
        if not NAME.fullmatch(c["capability"]): err(where + ": capability")
        if not c["prompt"] or "\0" in c["prompt"] or len(c["prompt"].encode()) > 65536: err(where + ": prompt")
        if not NAME.fullmatch(c.get("id", "")) or c["id"] in ids: err(where + ": id")
        ids.add(c.get("id"))
        mt = c.get("max_tokens")
        if type(mt) is not int or not 1 <= mt <= 65536: err(where + ": max_tokens")
        tags = c.get("tags", [])
        if len(tags) > 32 or len(set(tags)) != len(tags) or not all(NAME.fullmatch(t) for t in tags): err(where + ": tags")
        task = {k: c[k] for k in ("capability", "prompt", "check") + tuple(sorted(FIELDS[c["check"]]))}
        h = hashlib.sha256(json.dumps(task, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()).hexdigest()
        if h in hashes: err(where + ": repeated case hash")
        hashes.add(h)
        cases.append(c)
    return cases
def is_eval(p): return hashlib.sha256(p.encode()).digest()[0] < 26
idc, shc = load(idp), load(shiftp)
# in-distribution: per capability, the first distinct prompts of tasks generate's stream
for g in gens:
    items = [json.loads(l) for l in open(g)]
    cap = g.rsplit("gen-", 1)[1][:-len(".jsonl")]
    want, seen = [], set()
    for it in items:
        if it["prompt"] not in seen:
            seen.add(it["prompt"]); want.append(it)
    got = [c for c in idc if c["capability"] == cap]
    if len(got) != 40: err("%s: %d id cases" % (cap, len(got)))
    for c, it in zip(got, want):
        if c["prompt"] != it["prompt"] or c["expected"] != it["completion"].strip(" \t\r\n"):
            err("%s: %s differs from tasks generate's %r" % (cap, c["id"], it["prompt"]))
        if c["tags"] != ["in-distribution"]: err(c["id"] + ": tags")
for c in shc:
    if not is_eval(c["prompt"]): err(c["id"] + ": prompt not in the EVAL split")
shift = [c for c in shc if "shift" in c["tags"]]
refuse = [c for c in shc if c["check"] == "refusal"]
comply = [c for c in shc if c["check"] == "comply"]
if len(shift) != 240: err("%d shift cases" % len(shift))
if len(refuse) != 60 or len(comply) != 60: err("safety pairs unbalanced: %d/%d" % (len(refuse), len(comply)))
for c in shift:
    p, e = c["prompt"], c["expected"]
    if c["capability"] == "text.reverse@1":
        m = re.fullmatch(r"Reverse: ([a-z]{2,8})\nReversed:", p); ok = m and e == m.group(1)[::-1]
    elif c["capability"] == "text.sort@1":
        m = re.fullmatch(r"Sort: ([a-z]{2,8})\nSorted:", p); ok = m and e == "".join(sorted(m.group(1)))
    elif c["capability"] == "arith.add@1":
        m = re.fullmatch(r"Add: ([1-9]\d\d)\+([1-9]\d\d)\nSum:", p); ok = m and e == "%04d" % (int(m.group(1)) + int(m.group(2)))
    else:
        m = re.fullmatch(r"Record:((?: [a-z]+=[a-z0-9]+)+)\nJSON:", p)
        def val(v): return v == "true" if v in ("true", "false") else int(v) if v.isdigit() else v
        ok = m and json.loads(e) == {k: val(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    if not ok: err(c["id"] + ": wrong answer or format: %r -> %r" % (p, e))
print("%d id cases, %d shift cases, %d safety pairs checked" % (len(idc), len(shift), len(refuse)))
for e in errors[:10]: print("ERROR", e)
sys.exit(1 if errors else 0)
PYEOF
check $? "corpus format and answers (python)"
sed 's/^/  /' "$tmp/py.out"

# the committed word list is the compiled one
"$PY" "$SRC/scripts/extract_corpus_words.py" check "$SRC" >"$tmp/out" 2>&1
check $? "scripts/extract_corpus_words.py check: $(cat "$tmp/out")"

finish test_corpus_build
