#!/usr/bin/env bash
# `ecology distill` end to end: usage errors (exit 2), a token-level run (teacher and student
# share the tiny preset's tokenizer) for a few steps writing the student and training.json,
# a sequence-level run (a teacher whose tokenizer differs) interrupted and resumed, and the
# output folder's rules (no overwriting, working files in .work or --work-dir).
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

# outputs: a finished student is not replaced without --force; the student or a teacher never
expect 1 "distill into a finished folder" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/dist" $H
contains "$tmp/err" "--force" "refusal names --force"
expect 1 "distill into the student" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/student" $H --force
expect 1 "distill into a teacher" -- "$BIN" distill --teacher "$tmp/teacher" $D --out "$tmp/teacher/" $H --force
contains "$tmp/err" "$tmp/teacher" "the clash names the teacher"
[ ! -e "$tmp/dist/checkpoint.safetensors" ] && [ -f "$tmp/dist/.work/checkpoint.safetensors" ]; check $? "checkpoints live in .work"

# sequence level: the teacher's tokenizer differs from the student's (the ids of "1" and "2"
# swapped), so the teacher's completions go through text into the student's tokens
"$BIN" model create --preset tiny --seed 5 --out "$tmp/teacher2" >/dev/null || fail "model create teacher2"
sed -i 's/"1": *49,/"1": 50,/; s/"2": *50,/"2": 49,/' "$tmp/teacher2/tokenizer.json"
differ "$tmp/teacher/tokenizer.json" "$tmp/teacher2/tokenizer.json" "the teacher's tokenizer differs"
S="--teacher $tmp/teacher2 $D --max-tokens 6 $H"
expect 0 "distill sequence level" -- "$BIN" distill $S --out "$tmp/seq" --json
contains "$tmp/out" '"finished":true' "sequence level finished"
for f in config.json model.safetensors tokenizer.json training.json .work/distill.jsonl; do exists "$tmp/seq/$f"; done
[ ! -e "$tmp/seq/work" ]; check $? "no work/ folder in the student"
contains "$tmp/seq/training.json" '"level":"sequence"' "training.json records the sequence level"
contains "$tmp/seq/.work/distill.jsonl" '"completion"' "the teacher's completions are the data"
differ "$tmp/student/model.safetensors" "$tmp/seq/model.safetensors" "the student changed"
cmp -s "$tmp/student/tokenizer.json" "$tmp/seq/tokenizer.json"; check $? "the student keeps its own tokenizer"
expect 0 "distill sequence level, text summary" -- "$BIN" distill $S --out "$tmp/seq-text"
contains "$tmp/out" "sequence level" "summary names the level"
# interrupted after one step (only .work under the final name), then resumed: same bytes
expect 0 "distill sequence level stopped" -- "$BIN" distill $S --out "$tmp/seq2" --stop-after 1
[ -z "$(ls "$tmp/seq2")" ] && [ -f "$tmp/seq2/.work/checkpoint.json" ]; check $? "a stopped run holds only .work"
expect 0 "distill sequence level --resume" -- "$BIN" distill $S --out "$tmp/seq2" --resume --json
contains "$tmp/out" '"resumed":true' "sequence level resumed"
contains "$tmp/out" '"start_step":1' "resumed after the first step"
cmp -s "$tmp/seq/model.safetensors" "$tmp/seq2/model.safetensors"; check $? "the resumed student equals the straight one"
# (training.json names each run's own distill.jsonl, so compare its loss rather than its bytes)
[ "$(grep -o '"final_loss":[^,]*' "$tmp/seq/training.json")" = "$(grep -o '"final_loss":[^,]*' "$tmp/seq2/training.json")" ]
check $? "and ends at the same loss"
expect 1 "distill sequence level --resume with another --max-tokens" -- "$BIN" distill --teacher "$tmp/teacher2" $D \
  --max-tokens 3 $H --out "$tmp/seq2" --resume
contains "$tmp/err" "differs" "changed setting refused"
# --work-dir: the completions and checkpoints elsewhere, the student folder only at the end
expect 0 "distill --work-dir stopped" -- "$BIN" distill $S --out "$tmp/seq3" --work-dir "$tmp/dw" --stop-after 2
[ ! -e "$tmp/seq3" ] && [ -f "$tmp/dw/distill.jsonl" ]; check $? "nothing under the final name before the end"
expect 0 "distill --work-dir --resume" -- "$BIN" distill $S --out "$tmp/seq3" --work-dir "$tmp/dw" --resume
cmp -s "$tmp/seq/model.safetensors" "$tmp/seq3/model.safetensors"; check $? "resumed from --work-dir, same bytes"
[ ! -e "$tmp/seq3/.work" ]; check $? "no .work with --work-dir"

finish "test_distill_cli"
