#!/usr/bin/env bash
# The `ecology` command end to end: exit codes (0 ok, 1 failure, 2 usage), model create,
# inspect, generate, logits, tokenize. Run by ctest with ECOLOGY_BIN set.
source "$(dirname "$0")/lib/harness.sh"

expect 2 "no arguments" -- "$BIN"
expect 2 "unknown command" -- "$BIN" frobnicate
contains "$tmp/err" "unknown command 'frobnicate'" "unknown command message"
expect 0 "help" -- "$BIN" help
expect 2 "unknown flag" -- "$BIN" generate --model x --prompt y --bogus 1
contains "$tmp/err" "unknown option '--bogus'" "unknown flag message"
expect 2 "missing --model" -- "$BIN" generate --prompt y
contains "$tmp/err" "--model" "missing --model message"
expect 2 "flag without value" -- "$BIN" generate --model
expect 2 "bad -n" -- "$BIN" generate --model x --prompt y -n abc
contains "$tmp/err" "'abc'" "bad -n message"
expect 2 "bad temperature" -- "$BIN" generate --model x --prompt y --temperature -1
expect 2 "bad preset" -- "$BIN" model create --preset nope --out "$tmp/m"
contains "$tmp/err" "nope" "bad preset message"
expect 2 "bad dtype" -- "$BIN" model create --preset tiny --dtype f64 --out "$tmp/m"
expect 1 "missing model folder" -- "$BIN" generate --model "$tmp/none" --prompt hi
contains "$tmp/err" "$tmp/none" "missing folder named"
expect 1 "inspect missing file" -- "$BIN" inspect "$tmp/none.safetensors"

expect 0 "model create tiny" -- "$BIN" model create --preset tiny --seed 3 --out "$tmp/tiny"
for f in config.json model.safetensors tokenizer.json; do
  exists "$tmp/tiny/$f"
done
expect 0 "model create tiny again" -- "$BIN" model create --preset tiny --seed 3 --out "$tmp/tiny2"
cmp -s "$tmp/tiny/model.safetensors" "$tmp/tiny2/model.safetensors"; check $? "same seed gives the same weights"
expect 0 "model create bf16" -- "$BIN" model create --preset tiny --seed 3 --dtype bf16 --out "$tmp/tiny-bf16"

expect 0 "inspect folder" -- "$BIN" inspect "$tmp/tiny"
contains "$tmp/out" "LlamaForCausalLM" "inspect shows the architecture"
contains "$tmp/out" "model.layers.0.self_attn.q_proj.weight" "inspect lists tensors"
expect 0 "inspect bf16 file" -- "$BIN" inspect "$tmp/tiny-bf16/model.safetensors"
contains "$tmp/out" "BF16" "inspect shows dtype"
expect 0 "inspect --json" -- "$BIN" inspect --json "$tmp/tiny"
contains "$tmp/out" '"parameters"' "inspect json"

expect 0 "generate" -- "$BIN" generate --model "$tmp/tiny" --prompt "Hello" -n 8 --temperature 0.8 --seed 5
cp "$tmp/out" "$tmp/gen1"
contains "$tmp/err" "decode:" "generate prints timings"
expect 0 "generate same seed" -- "$BIN" generate --model "$tmp/tiny" --prompt "Hello" -n 8 --temperature 0.8 --seed 5
cmp -s "$tmp/out" "$tmp/gen1"; check $? "same seed gives the same text"
expect 0 "generate --json" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" -n 4 --json --top-k 5 --top-p 0.9 --temperature 1 --seed 1
contains "$tmp/out" '"logprobs"' "generate json has logprobs"
contains "$tmp/out" '"finish_reason"' "generate json has finish_reason"
# the KV cache's element type: greedy text from f16 and f32 caches of a bf16 model is the same
expect 0 "generate --kv-cache f16" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" -n 6 --kv-cache f16 --json
contains "$tmp/out" '"text"' "generate --kv-cache f16 writes text"
grep -A7 '"text"' "$tmp/out" >"$tmp/kv16"
expect 0 "generate --kv-cache f32" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" -n 6 --kv-cache f32 --json
grep -A7 '"text"' "$tmp/out" >"$tmp/kv32"
cmp -s "$tmp/kv16" "$tmp/kv32"; check $? "f16 and f32 caches give the same greedy text and tokens"
# the random model repeats one byte; the trained eco-tiny says more, and the same with both caches
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
ECO_TINY="$SRC/data/models/eco-tiny"
expect 0 "eco-tiny --kv-cache f16" -- "$BIN" generate --model "$ECO_TINY" --prompt "Once upon a time" -n 48 --kv-cache f16
cp "$tmp/out" "$tmp/eco16"
expect 0 "eco-tiny --kv-cache f32" -- "$BIN" generate --model "$ECO_TINY" --prompt "Once upon a time" -n 48 --kv-cache f32
cmp -s "$tmp/out" "$tmp/eco16"; check $? "eco-tiny: f16 and f32 caches give the same greedy text"
[ "$(wc -c <"$tmp/out")" -gt 40 ]; check $? "eco-tiny generated its 48 tokens"

# the prompt from stdin or a file; plain mode echoes the prompt, --json's text is the new text only
printf 'Once upon a time' >"$tmp/prompt.txt"
expect 0 "generate --prompt -" -- "$BIN" generate --model "$ECO_TINY" --prompt - -n 48 <"$tmp/prompt.txt"
cmp -s "$tmp/out" "$tmp/eco16"; check $? "--prompt - reads the prompt from stdin"
expect 0 "generate --prompt-file" -- "$BIN" generate --model "$ECO_TINY" --prompt-file "$tmp/prompt.txt" -n 48
cmp -s "$tmp/out" "$tmp/eco16"; check $? "--prompt-file reads the prompt from the file"
head -c 16 "$tmp/out" | grep -qx 'Once upon a time'; check $? "plain mode echoes the prompt"
expect 2 "--prompt and --prompt-file" -- "$BIN" generate --model "$ECO_TINY" --prompt x --prompt-file "$tmp/prompt.txt"
expect 1 "missing --prompt-file" -- "$BIN" generate --model "$ECO_TINY" --prompt-file "$tmp/none.txt"
contains "$tmp/err" "$tmp/none.txt" "missing prompt file named"
printf 'a\0b' >"$tmp/nul.txt"
expect 1 "prompt with a NUL byte" -- "$BIN" generate --model "$ECO_TINY" --prompt-file "$tmp/nul.txt"
contains "$tmp/err" "NUL byte at offset 1" "NUL byte located"
# several --stop: generation ends before the earliest; --json's text excludes prompt and stop
expect 0 "several --stop" -- "$BIN" generate --model "$ECO_TINY" --prompt "Once upon a time" -n 48 --stop zzz --stop sea --json
contains "$tmp/out" '"text": " the "' "text cut before the stop sequence, prompt not echoed"
contains "$tmp/out" '"finish_reason": "stop"' "finish reason stop"
expect 2 "empty --stop" -- "$BIN" generate --model "$ECO_TINY" --prompt "x" --stop ""

# one context rule for generate and logits (max_position_embeddings: 512 for eco-tiny)
long=$(head -c 490 /dev/zero | tr '\0' 'a')   # + BOS: 491 tokens
expect 0 "generate up to the context" -- "$BIN" generate --model "$ECO_TINY" --prompt "$long" -n 21 --json
contains "$tmp/out" '"prompt_tokens": 491' "491-token prompt"
expect 1 "generate past the context" -- "$BIN" generate --model "$ECO_TINY" --prompt "$long" -n 22
contains "$tmp/err" "prompt of 491 tokens + 22 to generate: 513 positions exceed the model's context of 512 (max_position_embeddings in config.json)" "generate context message"
expect 0 "logits up to the context" -- "$BIN" logits --model "$ECO_TINY" --tokens "$(yes 97 | head -n 512 | paste -sd,)" --out "$tmp/l512.safetensors"
expect 1 "logits past the context" -- "$BIN" logits --model "$ECO_TINY" --tokens "$(yes 97 | head -n 513 | paste -sd,)" --out "$tmp/l513.safetensors"
contains "$tmp/err" "513 positions exceed the model's context of 512 (max_position_embeddings in config.json)" "logits context message"

# OMP_NUM_THREADS past what --threads allows is clamped, with a warning (libgomp crashed)
expect 0 "OMP_NUM_THREADS=100000" -- env OMP_NUM_THREADS=100000 "$BIN" generate --model "$tmp/tiny" --prompt "Hi" -n 2
contains "$tmp/err" "OMP_NUM_THREADS asks for 100000 threads" "thread clamp said"
expect 2 "--threads past the limit" -- "$BIN" generate --model "$tmp/tiny" --prompt "Hi" --threads 100000

# non-finite logits: an error naming the position, not NUL bytes and "logprobs": []
cp -r "$tmp/tiny" "$tmp/tiny-nan"
f="$tmp/tiny-nan/model.safetensors"
hlen=$(od -An -tu8 -N8 "$f" | tr -d ' ')
span=$(head -c $((8 + hlen)) "$f" | tail -c "$hlen" | grep -o '"model.norm.weight":{[^}]*}' | grep -o '"data_offsets":\[[0-9]*,[0-9]*' | grep -o '[0-9]*,[0-9]*')
b=${span%,*}; e=${span#*,}
head -c $((e - b)) /dev/zero | tr '\0' '\377' | dd of="$f" bs=1 seek=$((8 + hlen + b)) conv=notrunc status=none
expect 1 "generate from NaN weights" -- "$BIN" generate --model "$tmp/tiny-nan" --prompt "Hello" -n 4 --json
contains "$tmp/err" "logits at position 5 are not finite" "non-finite position named"
[ ! -s "$tmp/out" ]; check $? "no JSON for a failed generation"
# every token has its log-probability
expect 0 "generate --json logprobs" -- "$BIN" generate --model "$tmp/tiny" --prompt "Hello" -n 5 --json --temperature 1 --seed 2
[ "$(tr -d ' \n' <"$tmp/out" | grep -o '"logprobs":\[[^]]*\]' | tr -cd ',' | wc -c)" = 4 ]; check $? "five log-probabilities for five tokens"

# a model folder whose name is not UTF-8: the id is escaped, not dropped
bad_dir="$tmp/$(printf 'tiny-\377')"
cp -r "$tmp/tiny" "$bad_dir"
expect 0 "generate --json, non-UTF-8 folder" -- "$BIN" generate --model "$bad_dir" --prompt "Hi" -n 2 --json
contains "$tmp/out" "\"model\": \"tiny-$(printf '\357\277\275')\"" "model id with U+FFFD"
expect 2 "generate bad --kv-cache" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" --kv-cache bf16
expect 2 "logits bad --kv-cache" -- "$BIN" logits --model "$tmp/tiny" --tokens 1,2 --out "$tmp/l.safetensors" --kv-cache q8

expect 0 "logits" -- "$BIN" logits --model "$tmp/tiny" --tokens 1,2,3 --out "$tmp/logits.safetensors"
expect 0 "inspect logits" -- "$BIN" inspect "$tmp/logits.safetensors"
contains "$tmp/out" "logits" "logits tensor present"
contains "$tmp/out" "[3, " "logits shape has 3 rows"
expect 2 "logits bad ids" -- "$BIN" logits --model "$tmp/tiny" --tokens 1,x --out "$tmp/l.safetensors"
expect 1 "logits id out of range" -- "$BIN" logits --model "$tmp/tiny" --tokens 1,99999 --out "$tmp/l.safetensors"
[ ! -e "$tmp/l.safetensors" ]; check $? "a failed logits run leaves no file"

text='héllo wörld 👋 日本語'
expect 0 "tokenize" -- "$BIN" tokenize --tokenizer "$tmp/tiny" --text "$text" --no-special
ids=$(cat "$tmp/out")
expect 0 "tokenize --decode" -- "$BIN" tokenize --tokenizer "$tmp/tiny/tokenizer.json" --text "$ids" --decode
[ "$(cat "$tmp/out")" = "$text" ]; check $? "decode(encode(x)) == x (got: $(cat "$tmp/out"))"
expect 0 "tokenize --json" -- "$BIN" tokenize --tokenizer "$tmp/tiny" --text "ab" --json
contains "$tmp/out" "[256,97,98]" "byte tokenizer ids with BOS"
expect 2 "tokenize both inputs" -- "$BIN" tokenize --tokenizer "$tmp/tiny" --text a --file b
expect 1 "tokenize decode out of range" -- "$BIN" tokenize --tokenizer "$tmp/tiny" --text "70000" --decode

finish "cli"
