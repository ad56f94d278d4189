#!/usr/bin/env bash
# ecology quantize: the default model to q8_0 (by path and by registered name), the folder it
# writes (q8_0 tensors, lineage.json with operation quantize and its parent), the same bytes
# twice, --force, the quantized model generating, a LoRA trained on it and attached; by a
# registered model's id.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?}
B="$SRC/data/models/eco-tiny"
unset ECOLOGY_DATA ECOLOGY_LOG

expect 0 "quantize" -- "$BIN" quantize --model "$B" --type q8_0 --out "$tmp/q8"
contains "$tmp/out" "43 of 56 tensors quantized" "the report counts the matrices"
for f in model.safetensors config.json tokenizer.json lineage.json; do exists "$tmp/q8/$f"; done
contains "$tmp/q8/lineage.json" '"name":"quantize"' "lineage operation"
contains "$tmp/q8/lineage.json" '"params":{"type":"q8_0"}' "lineage params"
sha=$(sha256sum "$B/model.safetensors" | cut -d' ' -f1)
contains "$tmp/q8/lineage.json" "\"role\":\"parent\",\"sha256\":\"$sha\"" "lineage parent digest"
expect 0 "inspect q8_0" -- "$BIN" inspect "$tmp/q8"
contains "$tmp/out" "(13 F32, 43 Q8_0)" "inspect shows q8_0 tensors"
contains "$tmp/out" "model.embed_tokens.weight                      Q8_0  [259, 192]" "logical shape"

# the same bytes again; an existing folder only with --force
expect 1 "quantize into a non-empty folder" -- "$BIN" quantize --model "$B" --type q8_0 --out "$tmp/q8"
contains "$tmp/err" "--force" "the refusal names --force"
expect 0 "quantize --force" -- "$BIN" quantize --model "$B" --type q8_0 --out "$tmp/q8b"
cmp -s "$tmp/q8/model.safetensors" "$tmp/q8b/model.safetensors"; check $? "same bytes twice"
cmp -s "$tmp/q8/lineage.json" "$tmp/q8b/lineage.json"; check $? "same lineage twice"
expect 0 "quantize --force over a folder" -- "$BIN" quantize --model "$B" --type q8_0 --out "$tmp/q8b" --force

# the q8_0 model runs: greedy text close to the f32 model's, prompt and decode paths
expect 0 "generate q8_0" -- "$BIN" generate --model "$tmp/q8" --prompt "Call me Ishmael." -n 24
cp "$tmp/out" "$tmp/gen_q8"
expect 0 "generate f32" -- "$BIN" generate --model "$B" --prompt "Call me Ishmael." -n 24
[ -s "$tmp/gen_q8" ]; check $? "q8_0 generates text"
echo "  f32:  $(head -c 120 "$tmp/out" | tr '\n' ' ')"
echo "  q8_0: $(head -c 120 "$tmp/gen_q8" | tr '\n' ' ')"

# LoRA on a q8_0 base: trained on it (the base widened to f32 for training), then attached
"$BIN" tasks generate --capability text.reverse@1 --split train --n 16 >"$tmp/tr.jsonl"
expect 0 "train a LoRA on the q8_0 base" -- "$BIN" train --model "$tmp/q8" --data "$tmp/tr.jsonl" \
  --lora r=4,targets=q,k,v,o --steps 2 --batch 1 --seq 32 --lr 1e-3 --seed 1 --adapter-out "$tmp/lo"
exists "$tmp/lo/adapter_model.safetensors"
expect 0 "generate q8_0 + adapter" -- "$BIN" generate --model "$tmp/q8" --adapter "$tmp/lo" --prompt "abc" -n 8
[ -s "$tmp/out" ]; check $? "q8_0 + adapter generates text"

# by a registered model's id
D="$tmp/data"
expect 0 "registry init" -- "$BIN" registry init --data-dir "$D"
cp -r "$B" "$tmp/base"
expect 0 "add base" -- "$BIN" add "$tmp/base" --id eco-tiny --data-dir "$D"
expect 0 "quantize by id" -- "$BIN" quantize --model eco-tiny --type q8_0 --out "$tmp/q8id" --data-dir "$D"
cmp -s "$tmp/q8/model.safetensors" "$tmp/q8id/model.safetensors"; check $? "by id: the same bytes"
# (registering the child, `add`, waits for lineage_record.c to accept the breeding operations
# of merge_dir.h: parents with role "parent")

finish "quantize_cli"
