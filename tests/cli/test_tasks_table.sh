#!/usr/bin/env bash
# `ecology tasks table` on small models made here: two families given with --family (their
# adapters found as ADAPTER_DIR/<capability> and ADAPTER_DIR/<group>/<capability>, an
# adapter of another base ignored), the JSON's shape (families with size, speed and
# identity; per capability each family's held-out and shift rates, null without an adapter
# or a shift corpus, and the best family), the text table, the families of a --data-root,
# and bad input (malformed --family, unknown folders: clear errors).
source "$(dirname "$0")/lib/harness.sh"

"$BIN" model create --preset tiny --seed 1 --out "$tmp/fa" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" model create --preset tiny --seed 2 --out "$tmp/fb" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" tasks generate --capability text.reverse@1 --split train --n 8 >"$tmp/rev.jsonl" || exit 1
"$BIN" tasks generate --capability arith.add@1 --split train --n 8 >"$tmp/add.jsonl" || exit 1
T=(--lora r=2,alpha=4,targets=q,v --steps 1 --batch 1 --seq 32 --lr 1e-3 --seed 1 --threads 1)
# family A: a reverse adapter at ADAPTER_DIR/<capability>
expect 0 "train A's reverse adapter" -- "$BIN" train --model "$tmp/fa" --data "$tmp/rev.jsonl" "${T[@]}" \
  --adapter-out "$tmp/ad-a/text.reverse@1"
# family B: an arith adapter in a group folder, and A's reverse adapter (another base) beside it
expect 0 "train B's arith adapter" -- "$BIN" train --model "$tmp/fb" --data "$tmp/add.jsonl" "${T[@]}" \
  --adapter-out "$tmp/ad-b/grp/arith.add@1"
cp -r "$tmp/ad-a/text.reverse@1" "$tmp/ad-b/text.reverse@1"
grep -q '"base_model_name_or_path": "fa"' "$tmp/ad-a/text.reverse@1/adapter_config.json"
check $? "the trainer names the base by its folder"

F=(--family "A=$tmp/fa:$tmp/ad-a" --family "B=$tmp/fb:$tmp/ad-b")
C=(--capability text.reverse@1,arith.add@1,sentiment.imdb@1 --n 4 --threads 1)
expect 0 "tasks table --json" -- "$BIN" tasks table "${F[@]}" "${C[@]}" --json
cp "$tmp/out" "$tmp/table.json"
contains "$tmp/err" "tasks table: A, text.reverse@1: " "progress on stderr"
python3 - "$tmp/table.json" "$tmp" <<'PY'; check $? "JSON shape"
import json, sys
t = json.load(open(sys.argv[1])); tmp = sys.argv[2]
def need(cond, what):
    if not cond:
        print("  bad:", what); sys.exit(1)
need(t["n"] == 4 and t["seed"] == 0 and t["threads"] == 1, "n, seed, threads")
need(isinstance(t["wall_s"], float), "wall_s")
fams = t["families"]
need([f["name"] for f in fams] == ["A", "B"], "families in order")
for f in fams:
    need(set(f) == {"name", "model", "adapters", "base", "parameters", "bytes", "tokenizer_hash",
                    "architecture_hash", "tokens_per_s", "bytes_per_s", "eval_s", "n_adapters"},
         "family keys %s" % sorted(f))
    need(f["parameters"] > 0 and f["bytes"] > 0 and f["tokens_per_s"] > 0 and f["bytes_per_s"] > 0,
         "family figures")
    need(len(f["tokenizer_hash"]) == 64 and len(f["architecture_hash"]) == 64, "hashes")
need(fams[0]["base"] == "fa" and fams[1]["base"] == "fb", "bases: the folders' names")
need(fams[0]["model"] == tmp + "/fa" and fams[1]["adapters"] == tmp + "/ad-b", "folders")
need(fams[0]["n_adapters"] == 1 and fams[1]["n_adapters"] == 1, "one adapter each")
caps = {c["capability"]: c for c in t["capabilities"]}
need(list(caps) == ["text.reverse@1", "arith.add@1", "sentiment.imdb@1"], "capabilities in order")
for c in caps.values():
    need(set(c) == {"capability", "has_shift", "best", "families"}, "capability keys")
    need([r["family"] for r in c["families"]] == ["A", "B"], "one row a family")
rev, add, imdb = caps["text.reverse@1"], caps["arith.add@1"], caps["sentiment.imdb@1"]
a, b = rev["families"]
need(a["adapter"] == tmp + "/ad-a/text.reverse@1", "A's reverse adapter")
need(b["adapter"] is None and b["in_distribution"] is None and b["shift"] is None,
     "B: A's adapter beside its own is not B's: no adapter")
need(rev["has_shift"] and a["shift"]["n"] == 4 and a["in_distribution"]["n"] == 4, "reverse rates")
for r in (a["in_distribution"], a["shift"]):
    need(set(r) == {"k", "n", "rate", "lo", "hi"} and r["rate"] == r["k"] / r["n"]
         and r["lo"] <= r["rate"] <= r["hi"], "a rate with its interval")
need(rev["best"] == "A", "the only family with an adapter is the best")
need(add["families"][1]["adapter"] == tmp + "/ad-b/grp/arith.add@1", "B's adapter in a group folder")
need(add["families"][0]["adapter"] is None and add["best"] == "B", "arith: B alone")
need(not imdb["has_shift"] and imdb["best"] is None, "imdb: no shift corpus, no adapter")
need(all(r["adapter"] is None and r["in_distribution"] is None for r in imdb["families"]),
     "missing adapters are rows")
PY

# the text table: the families' figures, then one row a capability
expect 0 "tasks table (text)" -- "$BIN" tasks table "${F[@]}" "${C[@]}"
contains "$tmp/out" "PARAMETERS" "family header"
contains "$tmp/out" "BEST" "capability header"
grep -q "^sentiment.imdb@1 .*no adapter .*no adapter .*—" "$tmp/out"; check $? "a row without adapters"
grep -q "^text.reverse@1 .* / .*no adapter .*A$" "$tmp/out"; check $? "reverse's row: A's rates, A best"
grep -q "^arith.add@1 .*no adapter .* / [0-9.]* .*B$" "$tmp/out"; check $? "arith's row: B's rates, B best"
# a family without an adapter folder: every row says so
expect 0 "a family without adapters" -- "$BIN" tasks table --family "A=$tmp/fa" --capability text.sort@1 --n 2 --threads 1 --json
python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); c=t["capabilities"][0]; sys.exit(0 if t["families"][0]["adapters"] is None and c["families"][0]["adapter"] is None and c["best"] is None else 1)' "$tmp/out"
check $? "no adapter folder: no adapter"

# --data-root: every model of DIR/models, adapters from DIR/adapters
mkdir -p "$tmp/root/models" "$tmp/root/adapters/grp" && cp -r "$tmp/fa" "$tmp/fb" "$tmp/root/models/"
mkdir -p "$tmp/root/models/notes"  # a folder without config.json is no family
cp -r "$tmp/ad-a/text.reverse@1" "$tmp/root/adapters/"
cp -r "$tmp/ad-b/grp/arith.add@1" "$tmp/root/adapters/grp/"
expect 0 "tasks table --data-root" -- "$BIN" tasks table --data-root "$tmp/root" --capability text.reverse@1,arith.add@1 --n 2 --threads 1 --json
python3 - "$tmp/out" <<'PY'; check $? "--data-root families"
import json, sys
t = json.load(open(sys.argv[1]))
names = [f["name"] for f in t["families"]]
best = [c["best"] for c in t["capabilities"]]
ok = names == ["fa", "fb"] and best == ["fa", "fb"]
print("  got", names, best) if not ok else None
sys.exit(0 if ok else 1)
PY

# bad input
expect 2 "malformed --family" -- "$BIN" tasks table --family "A$tmp/fa"
contains "$tmp/err" "is not NAME=MODEL_DIR[:ADAPTER_DIR]" "malformed --family named"; one_line "malformed --family"
expect 2 "--family without a model" -- "$BIN" tasks table --family "A=:$tmp/ad-a"
expect 2 "--family with an empty adapter folder" -- "$BIN" tasks table --family "A=$tmp/fa:"
expect 2 "a family name twice" -- "$BIN" tasks table --family "A=$tmp/fa" --family "A=$tmp/fb"
contains "$tmp/err" "given twice" "the repeated name said"
expect 2 "--family and --data-root" -- "$BIN" tasks table --family "A=$tmp/fa" --data-root "$tmp/root"
expect 2 "unknown capability" -- "$BIN" tasks table --family "A=$tmp/fa" --capability nope@1
expect 1 "unknown family folder" -- "$BIN" tasks table --family "A=$tmp/none" --n 1
contains "$tmp/err" "family 'A': $tmp/none: no such folder" "the missing folder named"
expect 1 "a family's adapter folder missing" -- "$BIN" tasks table --family "A=$tmp/fa:$tmp/none" --n 1
contains "$tmp/err" "$tmp/none: no such folder" "the missing adapter folder named"
expect 1 "a family folder that is no model" -- "$BIN" tasks table --family "A=$tmp/ad-a" --n 1
contains "$tmp/err" "no config.json" "not a model folder said"
expect 1 "a data root without models" -- "$BIN" tasks table --data-root "$tmp/ad-a" --n 1
contains "$tmp/err" "models: no such folder" "the missing models folder named"

finish "test_tasks_table"
