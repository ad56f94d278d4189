#!/usr/bin/env bash
# Knowledge moving between the shipped families by distillation (issue 20): a byte adapter
# (text.reverse@1) folded into eco-tiny (`breed --op fold`, registered), then that model as
# the teacher of eco-tiny-bpe, sequence level (the tokenizers differ): the teacher's
# completions are the adapter's answers, the student keeps its BPE tokenizer, and a run
# stopped after one step and resumed gives the same bytes as a straight run. Short: four
# prompts, 12 new tokens, two steps.
source "$(dirname "$0")/lib/harness.sh"
use_registry
BPE="$SRC/data/models/eco-tiny-bpe"

expect 0 "add eco-tiny" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add the byte adapter" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id rev --capability text.reverse@1
"$BIN" tasks generate --capability text.reverse@1 --split train --n 4 --seed 3 >"$tmp/prompts.jsonl" || exit 1
# distill takes whole models: the adapter is folded into its base first
expect 3 "an adapter as the teacher is refused by breed" -- "$BIN" breed --op distill --base eco-tiny \
  --parents rev --corpus "$tmp/prompts.jsonl" --param steps=1
contains "$tmp/err" "takes full models, not adapters" "the refusal says why"
expect 0 "fold the adapter into eco-tiny" -- "$BIN" breed --op fold --parents eco-tiny,rev --id tiny-rev
expect 0 "the folded teacher answers as the adapter" -- "$BIN" tasks eval --model tiny-rev --capability text.reverse@1 --n 8 --threads 1 --json
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["correct"] >= 6 else 1)' "$tmp/out"
check $? "the folded model reverses (at least 6 of 8)"

S=(--teacher tiny-rev --student "$BPE" --data "$tmp/prompts.jsonl" --max-tokens 12
   --steps 2 --batch 2 --seq 32 --lr 0.001 --seed 1 --threads 1)
expect 0 "distill eco-tiny+reverse into eco-tiny-bpe" -- "$BIN" distill "${S[@]}" --out "$tmp/s1" --json
contains "$tmp/out" '"finished":true' "finished"
contains "$tmp/s1/training.json" '"level":"sequence"' "sequence level: the tokenizers differ"
cmp -s "$BPE/tokenizer.json" "$tmp/s1/tokenizer.json"; check $? "the student keeps the BPE tokenizer"
cmp -s "$BPE/config.json" "$tmp/s1/config.json"; check $? "and its architecture"
differ "$BPE/model.safetensors" "$tmp/s1/model.safetensors" "the student changed"
# the teacher's completions are the reversals the adapter learnt (the data's own answers)
python3 - "$tmp/prompts.jsonl" "$tmp/s1/.work/distill.jsonl" <<'PY'; check $? "the teacher's completions are the adapter's answers"
import json, sys
want = [json.loads(l) for l in open(sys.argv[1])]
got = [json.loads(l) for l in open(sys.argv[2])]
ok = [w["prompt"] for w in want] == [g["prompt"] for g in got]
right = sum(g["completion"].startswith(w["completion"]) for w, g in zip(want, got))
print("  prompts differ" if not ok else "", right, "of", len(want), "right") if not ok or right < 3 else None
sys.exit(0 if ok and right >= 3 else 1)
PY

# stopped after one step, then resumed: the same student as the straight run
expect 0 "distill stopped after one step" -- "$BIN" distill "${S[@]}" --out "$tmp/s2" --stop-after 1
[ -f "$tmp/s2/.work/checkpoint.json" ] && [ ! -e "$tmp/s2/model.safetensors" ]; check $? "a stopped run holds only .work"
expect 0 "distill --resume" -- "$BIN" distill "${S[@]}" --out "$tmp/s2" --resume --json
contains "$tmp/out" '"resumed":true' "resumed"
contains "$tmp/out" '"start_step":1' "after the first step"
cmp -s "$tmp/s1/model.safetensors" "$tmp/s2/model.safetensors"; check $? "the resumed student equals the straight one"
cmp -s "$tmp/s1/.work/distill.jsonl" "$tmp/s2/.work/distill.jsonl"; check $? "from the same completions"

finish "test_families_distill"
