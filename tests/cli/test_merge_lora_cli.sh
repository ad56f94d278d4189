#!/usr/bin/env bash
# `ecology merge` on adapter folders (eco_merge_adapters_dir): the two shipped capability
# adapters (rank 32, eco-tiny) merged by linear (concatenated: exact, rank 64), by ties
# truncated to rank 16 (the truncation error printed and in the lineage), with --base; the
# child is a PEFT adapter that generate loads; adapters of another base are refused with
# exit 3. The numbers are checked in test_merge_lora, and here independently in numpy
# (scripts/check_lora_merge.py) when /usr/bin/python3 has it (scripts/deps.sh --fixtures).
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
unset ECOLOGY_DATA ECOLOGY_LOG
R="$SRC/data/adapters/text.reverse@1"; S="$SRC/data/adapters/text.sort@1"; M="$SRC/data/models/eco-tiny"

expect 0 "linear adapter merge" -- "$BIN" merge --method linear --parents "$R,$S" --weights 0.5,0.5 --rank 64 --out "$tmp/lin"
contains "$tmp/out" "merge of 2 adapters" "adapter merge summary"
contains "$tmp/out" "rank 64 (concatenated, exact)" "concatenation at the sum of the ranks"
exists "$tmp/lin/adapter_model.safetensors"
contains "$tmp/lin/adapter_config.json" '"r": 64' "rank written"
contains "$tmp/lin/adapter_config.json" '"lora_alpha": 64' "alpha = r: scale 1"
contains "$tmp/lin/lineage.json" '"factorization":"concatenation"' "lineage result"
contains "$tmp/lin/lineage.json" '"role":"parent"' "parents in the lineage"
expect 0 "generate with the merged adapter" -- "$BIN" generate --model "$M" --adapter "$tmp/lin" --prompt "abc" -n 4 --temperature 0

expect 0 "ties adapter merge at rank 16" -- "$BIN" merge --method ties --parents "$R,$S" --weights 1,1 --density 0.5 --rank 16 --base "$M" --out "$tmp/ties"
contains "$tmp/out" "rank 16 (truncated SVD), relative truncation error" "truncation error printed"
contains "$tmp/ties/lineage.json" '"factorization":"svd"' "svd in the lineage"
contains "$tmp/ties/lineage.json" '"role":"base"' "the base in the lineage"
contains "$tmp/ties/lineage.json" '"model.layers.5.mlp.down_proj":' "per-module errors"
expect 0 "generate with the ties child" -- "$BIN" generate --model "$M" --adapter "$tmp/ties" --prompt "abc" -n 4 --temperature 0

# an independent check in numpy (scripts/check_lora_merge.py), when numpy is there; its BLAS
# single-threaded (on a busy 2-core machine spinning BLAS threads make it 30x slower)
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c "import numpy" 2>/dev/null; then
  expect 0 "numpy: linear concatenation exact" -- env OPENBLAS_NUM_THREADS=1 "$PY" "$SRC/scripts/check_lora_merge.py" linear "$tmp/lin" 0.5,0.5 "$R" "$S"
  contains "$tmp/out" "0 failed" "numpy check of the concatenation"
  expect 0 "task arithmetic at rank 24" -- "$BIN" merge --method task_arithmetic --parents "$R,$S" --weights 1,-0.5 --rank 24 --out "$tmp/ta"
  expect 0 "numpy: truncation error = dropped singular values" -- env OPENBLAS_NUM_THREADS=1 "$PY" "$SRC/scripts/check_lora_merge.py" task_arithmetic "$tmp/ta" 1,-0.5 "$R" "$S"
  contains "$tmp/out" "0 failed" "numpy check of the truncation"
  expect 1 "numpy: a wrong weight is caught" -- env OPENBLAS_NUM_THREADS=1 "$PY" "$SRC/scripts/check_lora_merge.py" task_arithmetic "$tmp/ta" 1,-0.4 "$R" "$S"
else
  echo "numpy not available to /usr/bin/python3: the numpy check (scripts/check_lora_merge.py) not run"
fi

# an adapter of the tiny preset (another base: hidden size 64, not 192): refused, exit 3
"$BIN" model create --preset tiny --seed 1 --out "$tmp/tiny" >/dev/null || { echo "setup failed"; exit 1; }
"$BIN" model create --preset tiny --seed 2 --out "$tmp/tiny2" >/dev/null || exit 1
"$BIN" extract --model "$tmp/tiny2" --base "$tmp/tiny" --rank 2 --out "$tmp/other" >/dev/null 2>&1 || { echo "setup: extract failed"; exit 1; }
expect 3 "adapters of different bases" -- "$BIN" merge --method linear --parents "$R,$tmp/other" --weights 1,1 --out "$tmp/bad"
contains "$tmp/err" "different base models" "the refusal says why"
expect 3 "extract against another base" -- "$BIN" extract --model "$M" --base "$tmp/tiny" --rank 2 --out "$tmp/bad2"
contains "$tmp/err" "hidden_size" "the refusal names the field"

finish "merge_lora_cli"
