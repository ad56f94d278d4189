#!/usr/bin/env bash
# `ecology train`, `grads` and `pretrain` end to end: exit codes (0 ok, 1 failure, 2 usage),
# full and LoRA training for a few steps on the tiny preset, the adapter folder, resume,
# gradients readable by `ecology inspect`, and pretraining from tests/data/recipe-test-tiny.json.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}

"$BIN" model create --preset tiny --seed 3 --out "$tmp/tiny" >/dev/null || { echo "FAIL: model create"; exit 1; }
"$BIN" tasks generate --capability arith.add@1 --split train --n 32 --seed 1 >"$tmp/add.jsonl" || exit 1
M="--model $tmp/tiny --data $tmp/add.jsonl"
H="--steps 4 --batch 2 --seq 32 --lr 0.003 --seed 1 --threads 2"

# usage errors: exit 2, one line naming the problem
expect 2 "train without --model" -- "$BIN" train --data "$tmp/add.jsonl" --full --out "$tmp/o" $H
contains "$tmp/err" "--model" "missing --model named"; one_line "missing --model"
expect 2 "train without --lora/--full" -- "$BIN" train $M $H
contains "$tmp/err" "--lora" "mode choice named"; one_line "mode choice"
expect 2 "train with both" -- "$BIN" train $M --full --out "$tmp/o" --lora r=4,targets=q --adapter-out "$tmp/a" $H
expect 2 "full without --out" -- "$BIN" train $M --full $H
expect 2 "lora without --adapter-out" -- "$BIN" train $M --lora r=4,targets=q $H
expect 2 "lora with --out" -- "$BIN" train $M --lora r=4,targets=q --adapter-out "$tmp/a" --out "$tmp/o" $H
contains "$tmp/err" "--work-dir" "lora --out points to --work-dir"
expect 2 "bad lora key" -- "$BIN" train $M --lora r=4,beta=2,targets=q --adapter-out "$tmp/a" $H
contains "$tmp/err" "beta" "bad lora key named"; one_line "bad lora key"
expect 2 "bad lora target" -- "$BIN" train $M --lora r=4,targets=q,x --adapter-out "$tmp/a" $H
contains "$tmp/err" "'x'" "bad target named"
expect 2 "lora without targets" -- "$BIN" train $M --lora r=4 --adapter-out "$tmp/a" $H
# a key given twice is refused, not "the last wins"
expect 2 "repeated lora key" -- "$BIN" train $M --lora r=4,r=8,targets=q --adapter-out "$tmp/a" $H
contains "$tmp/err" "key 'r' given twice" "repeated lora key named"; one_line "repeated lora key"
expect 2 "repeated lora targets" -- "$BIN" train $M --lora targets=q,alpha=4,targets=v --adapter-out "$tmp/a" $H
contains "$tmp/err" "key 'targets' given twice" "repeated targets named"
expect 2 "missing --steps" -- "$BIN" train $M --full --out "$tmp/o" --batch 2 --seq 32 --lr 0.1 --seed 1
contains "$tmp/err" "--steps" "missing --steps named"
expect 2 "bad --lr" -- "$BIN" train $M --full --out "$tmp/o" --steps 2 --batch 2 --seq 32 --lr abc --seed 1
contains "$tmp/err" "'abc'" "bad lr named"
expect 2 "bad --batch" -- "$BIN" train $M --full --out "$tmp/o" --steps 2 --batch 0 --seq 32 --lr 0.1 --seed 1
expect 2 "unknown flag" -- "$BIN" train $M --full --out "$tmp/o" $H --bogus 1
expect 2 "grads without --out" -- "$BIN" grads $M
expect 2 "pretrain without --recipe" -- "$BIN" pretrain
contains "$tmp/err" "--recipe" "missing --recipe named"
# failures: exit 1
expect 1 "train missing model" -- "$BIN" train --model "$tmp/none" --data "$tmp/add.jsonl" --full --out "$tmp/o" $H
contains "$tmp/err" "$tmp/none" "missing model named"
expect 1 "train missing data" -- "$BIN" train --model "$tmp/tiny" --data "$tmp/none.jsonl" --full --out "$tmp/o" $H
printf '{"prompt": 3}\n' >"$tmp/bad.jsonl"
expect 1 "train bad data" -- "$BIN" train --model "$tmp/tiny" --data "$tmp/bad.jsonl" --full --out "$tmp/o" $H
contains "$tmp/err" "bad.jsonl:1" "bad line named"
echo '{"name": "x", "oops": 1}' >"$tmp/bad-recipe.json"
expect 1 "pretrain bad recipe" -- "$BIN" pretrain --recipe "$tmp/bad-recipe.json" --out "$tmp/p"
contains "$tmp/err" "oops" "bad recipe key named"

# full fine-tuning
expect 0 "train --full" -- "$BIN" train $M --full --out "$tmp/full" $H --warmup 1 --accum 2 --checkpoint-every 2
for f in config.json model.safetensors tokenizer.json training.json .work/checkpoint.safetensors; do exists "$tmp/full/$f"; done
[ ! -e "$tmp/full/checkpoint.safetensors" ] && [ ! -e "$tmp/full/checkpoint.json" ]; check $? "no checkpoint beside the model"
contains "$tmp/out" "steps 4/4" "summary shows steps"
contains "$tmp/err" "loss" "progress line shows the loss"
contains "$tmp/err" "tok/s" "progress line shows tokens/s"
contains "$tmp/full/training.json" "$(sha256sum "$tmp/tiny/model.safetensors" | cut -d' ' -f1)" "training.json has the base hash"
expect 0 "inspect trained model" -- "$BIN" inspect "$tmp/full"
expect 0 "generate from trained model" -- "$BIN" generate --model "$tmp/full" --prompt "Add: 1+2" -n 4 --seed 1
# same seed, same bytes; resume after an interruption ends at the same bytes
expect 0 "train --full again" -- "$BIN" train $M --full --out "$tmp/full2" $H --warmup 1 --accum 2 --stop-after 2
contains "$tmp/out" "stopped" "stopped run says so"
expect 0 "train --resume" -- "$BIN" train $M --full --out "$tmp/full2" $H --warmup 1 --accum 2 --resume --json
contains "$tmp/out" '"resumed":true' "json says resumed"
cmp -s "$tmp/full/model.safetensors" "$tmp/full2/model.safetensors"; check $? "a resumed run equals the uninterrupted one"
expect 1 "resume with another lr" -- "$BIN" train $M --full --out "$tmp/full2" --steps 4 --batch 2 --seq 32 --lr 0.01 --seed 1 --warmup 1 --accum 2 --resume
contains "$tmp/err" "hyper.lr" "resume mismatch named"

# outputs are not overwritten: a finished folder needs --force, an input never
cp "$tmp/full/model.safetensors" "$tmp/full.keep"
expect 1 "train into a finished folder" -- "$BIN" train $M --full --out "$tmp/full" $H
contains "$tmp/err" "not empty" "non-empty output refused"; contains "$tmp/err" "--force" "refusal names --force"
cmp -s "$tmp/full.keep" "$tmp/full/model.safetensors"; check $? "the refused run left the model alone"
cp "$tmp/tiny/model.safetensors" "$tmp/tiny.keep"
expect 1 "train --out the base" -- "$BIN" train $M --full --out "$tmp/./tiny/" $H --force
contains "$tmp/err" "$tmp/tiny" "the clash names the input"
ln -s "$tmp/tiny" "$tmp/tiny-link"
expect 1 "train --out a link to the base" -- "$BIN" train $M --full --out "$tmp/tiny-link" $H --force
cmp -s "$tmp/tiny.keep" "$tmp/tiny/model.safetensors"; check $? "the base is untouched"
mkdir -p "$tmp/full3"; echo x >"$tmp/full3/notes.txt"
expect 1 "--resume into a folder with no checkpoint" -- "$BIN" train $M --full --out "$tmp/full3" $H --resume
contains "$tmp/err" "no checkpoint" "resume without checkpoint says so"
expect 0 "train --force" -- "$BIN" train $M --full --out "$tmp/full3" $H --warmup 1 --accum 2 --force
cmp -s "$tmp/full/model.safetensors" "$tmp/full3/model.safetensors"; check $? "--force replaced the folder"
[ ! -e "$tmp/full3/notes.txt" ]; check $? "--force removed the old contents"
# an interrupted run leaves only its working folder under the final name; nothing beside it
expect 0 "train stopped" -- "$BIN" train $M --full --out "$tmp/full4" $H --stop-after 1
[ -z "$(ls "$tmp/full4")" ] && [ -f "$tmp/full4/.work/checkpoint.json" ]; check $? "a stopped run holds only .work"
[ -z "$(ls -A "$tmp" | grep '\.tmp\.')" ]; check $? "no temporary folder left behind"

# LoRA
expect 0 "train --lora" -- "$BIN" train $M --lora r=4,alpha=8,targets=q,k,v,o,dropout=0.05,rslora --adapter-out "$tmp/ad" $H --json
exists "$tmp/ad/adapter_config.json"
exists "$tmp/ad/adapter_model.safetensors"
contains "$tmp/ad/adapter_config.json" '"use_rslora": true' "rslora recorded"
contains "$tmp/out" '"finished":true' "json result"
[ -z "$(ls "$tmp/ad" | grep -v '^adapter_\|^training.json$')" ]; check $? "adapter folder holds the adapter and training.json only"
exists "$tmp/ad/.work/checkpoint.safetensors"
# --work-dir: checkpoints elsewhere; the adapter folder appears only when the run ends
expect 0 "train --lora --work-dir stopped" -- "$BIN" train $M --lora r=4,alpha=8,targets=q,k,v,o,dropout=0.05,rslora \
  --adapter-out "$tmp/ad2" --work-dir "$tmp/wd" $H --stop-after 2
exists "$tmp/wd/checkpoint.safetensors"
[ ! -e "$tmp/ad2" ]; check $? "no adapter folder before the run ends"
expect 0 "train --lora --work-dir --resume" -- "$BIN" train $M --lora r=4,alpha=8,targets=q,k,v,o,dropout=0.05,rslora \
  --adapter-out "$tmp/ad2" --work-dir "$tmp/wd" $H --resume --json
contains "$tmp/out" '"resumed":true' "resumed from --work-dir"
cmp -s "$tmp/ad/adapter_model.safetensors" "$tmp/ad2/adapter_model.safetensors"; check $? "resumed adapter equals the straight one"
[ ! -e "$tmp/ad2/.work" ]; check $? "--work-dir keeps .work out of the adapter"
expect 1 "--work-dir inside the output" -- "$BIN" train $M --lora r=4,targets=q --adapter-out "$tmp/ad" --work-dir "$tmp/ad/ck" $H --force
expect 1 "--work-dir inside an output that does not exist yet" -- "$BIN" train $M --lora r=4,targets=q \
  --adapter-out "$tmp/new-ad" --work-dir "$tmp/new-ad/ck" $H
contains "$tmp/err" "lies in the output folder" "a working folder the swap would delete is refused before the run"
[ ! -e "$tmp/new-ad" ]; check $? "the refused run wrote nothing"
contains "$tmp/err" "working folder" "work dir inside the output refused"

# grads
expect 0 "grads full" -- "$BIN" grads $M --out "$tmp/g.safetensors" --batch 2 --seq 24
expect 0 "inspect grads" -- "$BIN" inspect "$tmp/g.safetensors"
contains "$tmp/out" "model.embed_tokens.weight" "grads hold the embedding gradient"
expect 0 "grads lora" -- "$BIN" grads $M --adapter "$tmp/ad" --out "$tmp/ga.safetensors" --json
contains "$tmp/out" '"loss"' "grads json has the loss"
expect 0 "inspect lora grads" -- "$BIN" inspect "$tmp/ga.safetensors"
contains "$tmp/out" "lora_A.weight" "lora grads present"
expect 0 "grads doc-mask" -- "$BIN" grads $M --out "$tmp/gd.safetensors" --batch 2 --seq 64 --doc-mask --json
contains "$tmp/out" '"doc_mask":true' "grads json says doc_mask"
expect 0 "grads --json, a quote in --out" -- "$BIN" grads $M --out "$tmp/g\"q.safetensors" --batch 1 --seq 24 --json
contains "$tmp/out" "\"out\":\"$tmp/g\\\"q.safetensors\"" "grads json escapes the path"
expect 0 "inspect doc-mask grads" -- "$BIN" inspect "$tmp/gd.safetensors"
contains "$tmp/out" "position_ids" "doc-mask grads hold the position ids"
expect 1 "grads missing adapter" -- "$BIN" grads $M --adapter "$tmp/none" --out "$tmp/gx.safetensors"

# rows that hold no target (issue 17): the arith prompts are 18 tokens, so at --seq 16 every
# example is cut inside its prompt; training and grads refuse instead of "loss 0 -> 0"
expect 1 "train with no target in reach" -- "$BIN" train $M --lora r=4,targets=q --adapter-out "$tmp/a-none" --steps 2 --batch 2 --seq 16 --lr 0.003 --seed 1
contains "$tmp/err" "32 of 32 examples are cut (longer than 17 tokens) and 32 of them lose every target" "cut examples counted"
contains "$tmp/err" "--seq 18 keeps a target in every example" "smallest --seq named"
[ ! -e "$tmp/a-none/adapter_model.safetensors" ]; check $? "no adapter written without targets"
expect 1 "train --seq 1" -- "$BIN" train $M --full --out "$tmp/f-none" --steps 2 --batch 2 --seq 1 --lr 0.003 --seed 1
contains "$tmp/err" "no target token" "--seq 1 refused"
expect 1 "grads with no target in reach" -- "$BIN" grads $M --out "$tmp/g-none.safetensors" --batch 2 --seq 16
contains "$tmp/err" "the first batch has no target token" "grads refuse an empty batch"
# more than 10% of the examples lose their targets: a warning, and training goes on
{ head -n 24 "$tmp/add.jsonl"; for i in 1 2 3 4; do echo '{"prompt": "A prompt much longer than the row '$i'", "completion": " x"}'; done; } >"$tmp/mixed.jsonl"
expect 0 "train with some examples cut" -- "$BIN" train --model "$tmp/tiny" --data "$tmp/mixed.jsonl" --lora r=4,targets=q --adapter-out "$tmp/a-mixed" --steps 1 --batch 8 --seq 24 --lr 0.003 --seed 1
contains "$tmp/err" "4 of 28 examples (14%) lose every target" "warning counts the examples"
# the context rule: --seq past max_position_embeddings (1024 for the tiny preset)
expect 1 "train --seq past the context" -- "$BIN" train $M --full --out "$tmp/f-long" --steps 1 --batch 1 --seq 2048 --lr 0.003 --seed 1
contains "$tmp/err" "--seq 2048: 2048 positions exceed the model's context of 1024 (max_position_embeddings in config.json)" "context message"
expect 1 "grads --seq past the context" -- "$BIN" grads $M --out "$tmp/g-long.safetensors" --batch 1 --seq 2048
contains "$tmp/err" "2048 positions exceed the model's context of 1024" "grads context message"

# pretrain from the test recipe
expect 0 "pretrain" -- "$BIN" pretrain --recipe "$SRC/tests/data/recipe-test-tiny.json" --out "$tmp/pre" --threads 1
for f in config.json model.safetensors tokenizer.json training.json .work/corpus.jsonl; do exists "$tmp/pre/$f"; done
[ ! -e "$tmp/pre/work" ] && [ ! -e "$tmp/pre/checkpoint.safetensors" ]; check $? "pretrain keeps its working files in .work"
expect 1 "pretrain into a finished folder" -- "$BIN" pretrain --recipe "$SRC/tests/data/recipe-test-tiny.json" --out "$tmp/pre" --threads 1
contains "$tmp/err" "--force" "pretrain refusal names --force"
expect 0 "pretrain --resume of a finished run" -- "$BIN" pretrain --recipe "$SRC/tests/data/recipe-test-tiny.json" --out "$tmp/pre" --threads 1 --resume
contains "$tmp/pre/training.json" "recipe-test-tiny.json" "training.json names the recipe"
expect 0 "pretrain again" -- "$BIN" pretrain --recipe "$SRC/tests/data/recipe-test-tiny.json" --out "$tmp/pre2" --threads 1
cmp -s "$tmp/pre/model.safetensors" "$tmp/pre2/model.safetensors"; check $? "pretraining twice gives the same weights"
expect 2 "pretrain without out" -- "$BIN" pretrain --recipe "$SRC/tests/data/recipe-test-tiny.json"
contains "$tmp/err" "--out" "missing out named"

finish "test_train_cli"
