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
# the KV cache's element type: greedy text from f16 and f32 caches of a bf16 model
expect 0 "generate --kv-cache f16" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" -n 6 --kv-cache f16 --json
contains "$tmp/out" '"text"' "generate --kv-cache f16 writes text"
expect 0 "generate --kv-cache f32" -- "$BIN" generate --model "$tmp/tiny-bf16" --prompt "Hello" -n 6 --kv-cache f32 --json
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
