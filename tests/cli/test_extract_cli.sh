#!/usr/bin/env bash
# `ecology extract`: a LoRA from a full fine-tune. The fine-tune here is the tiny preset with
# a rank-4 adapter (trained a few steps) folded in by `model merge`, so extracting at rank 4
# gets that adapter's ΔW back (the numbers are checked in test_merge_lora; here exit codes,
# files, the lineage and the printed figures), the extracted adapter runs with generate,
# and the refusals name what is wrong.
source "$(dirname "$0")/lib/harness.sh"

"$BIN" model create --preset tiny --seed 3 --out "$tmp/tiny" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" tasks generate --capability arith.add@1 --split train --n 16 --seed 1 >"$tmp/add.jsonl" || exit 1
"$BIN" train --model "$tmp/tiny" --data "$tmp/add.jsonl" --lora r=4,alpha=8,targets=q,v,up \
  --adapter-out "$tmp/ad" --steps 3 --batch 2 --seq 32 --lr 0.01 --seed 1 --threads 2 >/dev/null ||
  { echo "FAIL: train"; exit 1; }
"$BIN" model merge --model "$tmp/tiny" --adapter "$tmp/ad" --out "$tmp/ft" >/dev/null || { echo "FAIL: merge"; exit 1; }

expect 0 "extract --rank 4" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --rank 4 --out "$tmp/ex"
contains "$tmp/out" "LoRA of rank 4 over 6 modules" "rank and modules printed"
contains "$tmp/out" "energy kept 1.0" "all the energy of a rank-4 change kept"
exists "$tmp/ex/adapter_model.safetensors"
exists "$tmp/ex/adapter_config.json"
contains "$tmp/ex/adapter_config.json" '"v_proj"' "targets written"
contains "$tmp/ex/lineage.json" '"name":"extract"' "lineage names the operation"
contains "$tmp/ex/lineage.json" '"role":"base"' "lineage names the base"
expect 0 "generate with the extracted adapter" -- "$BIN" generate --model "$tmp/tiny" --adapter "$tmp/ex" --prompt "1+2=" -n 4

# a lower rank keeps less; --sv-epsilon alone; --json
expect 0 "extract --rank 1 --json" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --rank 1 --out "$tmp/ex1" --json
contains "$tmp/out" '"rank":1' "rank 1 in the JSON"
contains "$tmp/out" '"energy":0.' "less than all the energy"
expect 0 "extract --sv-epsilon" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --sv-epsilon 1e-4 --out "$tmp/ex2"
contains "$tmp/out" "LoRA of rank" "sv-epsilon result printed"

# refusals
expect 1 "extract into an existing folder" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --rank 4 --out "$tmp/ex"
contains "$tmp/err" "--force" "the refusal names --force"
expect 0 "extract --force" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --rank 2 --out "$tmp/ex" --force
expect 1 "extract from the base itself" -- "$BIN" extract --model "$tmp/tiny" --base "$tmp/tiny" --rank 4 --out "$tmp/ex3"
contains "$tmp/err" "nothing to extract" "identical models refused"
expect 1 "extract an adapter folder" -- "$BIN" extract --model "$tmp/ad" --base "$tmp/tiny" --rank 4 --out "$tmp/ex3"
expect 2 "extract without a rank" -- "$BIN" extract --model "$tmp/ft" --base "$tmp/tiny" --out "$tmp/ex3"
contains "$tmp/err" "--rank" "missing rank named"

finish "extract_cli"
