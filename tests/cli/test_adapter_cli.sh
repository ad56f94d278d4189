#!/usr/bin/env bash
# LoRA adapters at inference from the command line: `generate --adapter`, `logits --adapter`,
# `model merge` and `tasks eval [--adapter]` on the tiny preset with an adapter trained for a
# few steps (so B is non-zero). Exit codes (0 ok, 1 failure, 2 usage) and outputs only: the
# numbers (unmerged = merged = training forward within 1e-4) are checked in test_lora_infer.
source "$(dirname "$0")/lib/harness.sh"

"$BIN" model create --preset tiny --seed 3 --out "$tmp/tiny" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" model create --preset tiny --seed 4 --out "$tmp/tiny-bf16" --dtype bf16 >/dev/null || exit 1
"$BIN" tasks generate --capability arith.add@1 --split train --n 32 --seed 1 >"$tmp/add.jsonl" || exit 1
expect 0 "train --lora" -- "$BIN" train --model "$tmp/tiny" --data "$tmp/add.jsonl" \
  --lora r=4,alpha=8,targets=q,k,v,o,gate,up,down --adapter-out "$tmp/ad" \
  --steps 3 --batch 2 --seq 32 --lr 0.01 --seed 1 --threads 2
exists "$tmp/ad/adapter_model.safetensors"
TOK=1,72,101,108,108,111

# logits: with the adapter they differ from the base's; the merged model's differ too
expect 0 "logits base" -- "$BIN" logits --model "$tmp/tiny" --tokens $TOK --out "$tmp/base.safetensors"
expect 0 "logits --adapter" -- "$BIN" logits --model "$tmp/tiny" --adapter "$tmp/ad" --tokens $TOK \
  --out "$tmp/lora.safetensors"
contains "$tmp/out" "logits [6, 259]" "logits shape printed"
differ "$tmp/base.safetensors" "$tmp/lora.safetensors" "adapter changes the logits"
expect 1 "logits missing adapter" -- "$BIN" logits --model "$tmp/tiny" --adapter "$tmp/none" --tokens $TOK \
  --out "$tmp/x.safetensors"
contains "$tmp/err" "none" "missing adapter named"
expect 1 "logits adapter of another model" -- "$BIN" logits --model "$tmp/tiny" --adapter "$tmp/tiny" \
  --tokens $TOK --out "$tmp/x.safetensors"

# generate
expect 0 "generate --adapter" -- "$BIN" generate --model "$tmp/tiny" --adapter "$tmp/ad" --prompt "1+2=" -n 8 --json
contains "$tmp/out" '"model": "tiny+ad"' "genome id names the adapter"
contains "$tmp/out" '"completion_tokens": 8' "8 tokens generated"
expect 0 "generate --adapter text" -- "$BIN" generate --model "$tmp/tiny" --adapter "$tmp/ad" --prompt "abc" -n 4
expect 1 "generate missing adapter" -- "$BIN" generate --model "$tmp/tiny" --adapter "$tmp/none" --prompt "x"

# model merge
expect 2 "merge without --adapter" -- "$BIN" model merge --model "$tmp/tiny" --out "$tmp/m"
contains "$tmp/err" "--adapter" "missing --adapter named"
expect 2 "merge without --out" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad"
expect 1 "merge into the base" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" --out "$tmp/tiny"
expect 0 "merge" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" --out "$tmp/merged"
# the merged folder's bytes do not depend on where its parents lay
mkdir -p "$tmp/elsewhere" && cp -r "$tmp/tiny" "$tmp/ad" "$tmp/elsewhere/"
expect 0 "merge from another place" -- "$BIN" model merge --model "$tmp/elsewhere/tiny" --adapter "$tmp/elsewhere/ad" \
  --out "$tmp/merged-elsewhere"
cmp -s "$tmp/merged/lineage.json" "$tmp/merged-elsewhere/lineage.json"; check $? "lineage.json names no paths"
# "." and the current folder are never replaced as a whole, even with --force
mkdir -p "$tmp/here" && echo keep >"$tmp/here/precious.txt"
(cd "$tmp/here" && "$BIN" model create --preset tiny --out . --force >"$tmp/out" 2>"$tmp/err"); check "$([ $? = 1 ]; echo $?)" "model create --out . --force is refused"
contains "$tmp/err" "cannot be written as a whole" "the refusal says why"
(cd "$tmp/here" && "$BIN" model create --preset tiny --out "$tmp/here" --force >"$tmp/out" 2>"$tmp/err"); check "$([ $? = 1 ]; echo $?)" "the current folder by its full path is refused"
contains "$tmp/err" "current folder" "the refusal names the current folder"
exists "$tmp/here/precious.txt"
exists "$tmp/merged/model.safetensors"
exists "$tmp/merged/config.json"
exists "$tmp/merged/tokenizer.json"
expect 0 "logits merged" -- "$BIN" logits --model "$tmp/merged" --tokens $TOK --out "$tmp/merged.safetensors"
differ "$tmp/base.safetensors" "$tmp/merged.safetensors" "merged logits differ from the base's"
expect 0 "generate merged" -- "$BIN" generate --model "$tmp/merged" --prompt "1+2=" -n 4
expect 1 "merge missing adapter" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/none" --out "$tmp/m2"
[ ! -e "$tmp/m2" ]; check $? "a failed merge leaves no output folder"
[ -z "$(ls -A "$tmp" | grep '\.tmp\.')" ]; check $? "a failed merge leaves no temporary folder"
# outputs are not overwritten: a non-empty folder needs --force; an input never, however spelled
cp "$tmp/merged/model.safetensors" "$tmp/merged.keep"
expect 1 "merge into a model folder" -- "$BIN" model merge --model "$tmp/tiny-bf16" --adapter "$tmp/ad" --out "$tmp/merged"
contains "$tmp/err" "--force" "refusal names --force"
cmp -s "$tmp/merged.keep" "$tmp/merged/model.safetensors"; check $? "the refused merge left the folder alone"
cp "$tmp/tiny/model.safetensors" "$tmp/tiny.keep"
expect 1 "merge into the base, respelled, forced" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" \
  --out "$tmp/./tiny/" --force
expect 1 "merge into the adapter, forced" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" --out "$tmp/ad" --force
cmp -s "$tmp/tiny.keep" "$tmp/tiny/model.safetensors"; check $? "the base is untouched"
exists "$tmp/ad/adapter_model.safetensors"
expect 0 "merge --force" -- "$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" --out "$tmp/merged" --force
cmp -s "$tmp/merged.keep" "$tmp/merged/model.safetensors"; check $? "a forced merge writes the same bytes"
expect 0 "model create" -- "$BIN" model create --preset tiny --out "$tmp/created" --seed 9
cp "$tmp/created/model.safetensors" "$tmp/created.keep"
expect 1 "model create over a model" -- "$BIN" model create --preset tiny --out "$tmp/created" --seed 8
contains "$tmp/err" "not empty" "model create refuses a non-empty folder"
cmp -s "$tmp/created.keep" "$tmp/created/model.safetensors"; check $? "the refused create left the folder alone"
expect 0 "model create --force" -- "$BIN" model create --preset tiny --out "$tmp/created" --seed 8 --force
differ "$tmp/created.keep" "$tmp/created/model.safetensors" "--force replaced the model"
# lineage: `add` registers the merge as merged from its base and adapter, the created model
# with its preset and seed (the seed's default, 0, recorded too)
contains "$tmp/merged/lineage.json" '"name":"merge"' "merge leaves its lineage record"
expect 0 "model create, default seed" -- "$BIN" model create --preset tiny --out "$tmp/created0"
contains "$tmp/out" "seed 0" "the default seed is said"
contains "$tmp/created0/lineage.json" '"seed":0' "the default seed is recorded"
export ECOLOGY_DATA="$tmp/data"
"$BIN" registry init >/dev/null || fail "registry init"
expect 0 "add the base" -- "$BIN" add "$tmp/tiny" --id base1
expect 0 "add the adapter" -- "$BIN" add "$tmp/ad" --id ad1 --base base1
expect 0 "add the merge" -- "$BIN" add "$tmp/merged" --id merged1
expect 0 "show the merge" -- "$BIN" show merged1 --json
contains "$tmp/out" '"kind":"merged"' "the merge is registered as merged"
contains "$tmp/out" '"parents":["base1","ad1"]' "parents are the base and the adapter"
contains "$tmp/out" '"name":"merge"' "operation is merge"
expect 0 "show the base" -- "$BIN" show base1 --json
contains "$tmp/out" '"name":"create"' "a created model records its operation"
contains "$tmp/out" '"preset":"tiny"' "and its preset"
contains "$tmp/out" '"seed":3' "and its seed"
expect 0 "add the created model" -- "$BIN" add "$tmp/created" --id created1
expect 0 "merge an unregistered base" -- "$BIN" model merge --model "$tmp/tiny-bf16" --adapter "$tmp/ad" --out "$tmp/mb"
expect 1 "add a merge whose base is not registered" -- "$BIN" add "$tmp/mb" --id mb
contains "$tmp/err" "add it first" "the missing parent is explained"
# the record is input like any file: a malformed one is refused naming the field
mkdir -p "$tmp/badlin" && cp "$tmp/merged"/*.json "$tmp/merged"/*.safetensors "$tmp/badlin/"
sed -i 's/"name":"merge"/"name":"merg"/' "$tmp/badlin/lineage.json"
expect 1 "add with a malformed lineage.json" -- "$BIN" add "$tmp/badlin" --id bad1
contains "$tmp/err" "operation.name" "the malformed field is named"
sed -i 's/"name":"merg"/"name":"merge"/; s/"role":"adapter"/"role":"base"/' "$tmp/badlin/lineage.json"
expect 1 "add with a lineage.json of two bases" -- "$BIN" add "$tmp/badlin" --id bad2
contains "$tmp/err" "parents[1]" "the bad parent is named"
unset ECOLOGY_DATA
# the adapter fits any model of the same config: merged into a bf16 base, stored as bf16
expect 0 "merge into bf16" -- "$BIN" model merge --model "$tmp/tiny-bf16" --adapter "$tmp/ad" --out "$tmp/m-bf16"
head -c 4096 "$tmp/m-bf16/model.safetensors" >"$tmp/header"
contains "$tmp/header" '"dtype":"BF16"' "merged bf16 keeps its dtype"

# tasks eval
expect 2 "eval without --model" -- "$BIN" tasks eval --capability arith.add@1
expect 2 "eval without --capability" -- "$BIN" tasks eval --model "$tmp/tiny"
expect 2 "eval unknown capability" -- "$BIN" tasks eval --model "$tmp/tiny" --capability nope@1
expect 2 "eval bad --n" -- "$BIN" tasks eval --model "$tmp/tiny" --capability arith.add@1 --n 0
expect 0 "eval" -- "$BIN" tasks eval --model "$tmp/tiny" --capability arith.add@1 --n 4 --seed 2
contains "$tmp/out" "exact match" "accuracy line"
expect 0 "eval --adapter --json" -- "$BIN" tasks eval --model "$tmp/tiny" --adapter "$tmp/ad" \
  --capability text.reverse@1 --n 3 --json
contains "$tmp/out" '"capability": "text.reverse@1"' "json capability"
contains "$tmp/out" '"n": 3' "json n"
contains "$tmp/out" '"accuracy":' "json accuracy"
contains "$tmp/out" '"failures":' "json failures"
contains "$tmp/out" '"model": "tiny+ad"' "json model names the adapter"
expect 1 "eval missing adapter" -- "$BIN" tasks eval --model "$tmp/tiny" --adapter "$tmp/none" \
  --capability arith.add@1 --n 2

finish "test_adapter_cli"
