#!/usr/bin/env bash
# `ecology distill` end to end: usage errors (exit 2), a token-level run (teacher and student
# share the tiny preset's tokenizer) for a few steps writing the student and training.json.
source "$(dirname "$0")/lib/harness.sh"

"$BIN" model create --preset tiny --seed 1 --out "$tmp/teacher" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" model create --preset tiny --seed 2 --out "$tmp/student" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" tasks generate --capability arith.add@1 --split train --n 16 >"$tmp/add.jsonl" || exit 1
H="--steps 3 --batch 2 --seq 32 --lr 0.003 --seed 1 --threads 2"
D="--student $tmp/student --data $tmp/add.jsonl"

# usage errors: exit 2, naming the problem
expect 2 "distill without --teacher" -- "$BIN" distill $D --out "$tmp/o" $H
contains "$tmp/err" "--teacher" "missing --teacher named"; one_line "missing --teacher"
expect 2 "bad --weight" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/o" $H --weight 1.5
contains "$tmp/err" "weight" "bad weight named"
expect 2 "non-numeric --weight" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/o" $H --weight abc
expect 2 "bad --temperature" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/o" $H --temperature 0
expect 2 "distill without --out" -- "$BIN" distill --teacher "$tmp/teacher" $D $H
expect 2 "distill without --steps" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/o" --batch 2 --seq 32 --lr 0.1 --seed 1
contains "$tmp/err" "--steps" "missing --steps named"
expect 2 "empty teacher name" -- "$BIN" distill --teacher "$tmp/teacher," $D --out "$tmp/o" $H
# failure: exit 1
expect 1 "missing teacher" -- "$BIN" distill --teacher "$tmp/none" $D --out "$tmp/o" $H

# token level (same tokenizer)
expect 0 "distill token level" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist" $H
for f in config.json model.safetensors tokenizer.json training.json; do exists "$tmp/dist/$f"; done
contains "$tmp/out" "token level" "summary names the level"
contains "$tmp/out" "steps 3/3" "summary shows steps"
contains "$tmp/dist/training.json" '"level":"token"' "training.json records the level"
differ "$tmp/student/model.safetensors" "$tmp/dist/model.safetensors" "the student changed"
# --resume continues from the last checkpoint: the run is already complete, so nothing new
expect 0 "distill --resume of a finished run" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist" $H --resume --json
contains "$tmp/out" '"resumed":true' "resumed from the checkpoint"
expect 1 "distill --resume with another weight" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist" $H \
  --resume --weight 0.9
contains "$tmp/err" "distill.weight" "changed setting named"
# two teachers, weight and temperature given, JSON summary
expect 0 "distill two teachers" -- "$BIN" distill --teacher "$tmp/teacher,$tmp/teacher" $D --out "$tmp/dist2" $H \
  --weight 0.7 --temperature 1.5 --json
contains "$tmp/out" '"finished":true' "json says finished"
exists "$tmp/dist2/model.safetensors"
exists "$tmp/dist2/training.json"
# packed examples masked from each other (seq 64: two ~25-token items a row)
H64="--steps 3 --batch 2 --seq 64 --lr 0.003 --seed 1 --threads 2"
expect 0 "distill --doc-mask" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist3" $H64 --doc-mask
contains "$tmp/dist3/training.json" '"doc_mask":true' "training.json records doc_mask"
expect 0 "distill without --doc-mask" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist4" $H64
differ "$tmp/dist4/model.safetensors" "$tmp/dist3/model.safetensors" "doc_mask changes the student"

finish "test_distill_cli"
