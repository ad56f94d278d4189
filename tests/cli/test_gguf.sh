#!/usr/bin/env bash
# `model export --format gguf` and loading the .gguf wherever a model goes, on the shipped
# eco-tiny (llama, MHA, tied), the tiny preset (llama, GQA), a qwen2 variant of it (q/k/v
# biases, untied head: tests/cli/lib/to_qwen2.py), eco-tiny with llama3 rope scaling and the tiny
# preset with Mistral's SentencePiece-style tokenizer (tests/cli/lib/with_tokenizer.py):
#  - logits from the .gguf equal the folder's bit for bit for f32; within a stated tolerance
#    for f16 (|Δ| ≤ 0.005), bf16 (≤ 0.05) and q8_0 (≤ 0.12) with every position's argmax the same
#    (largest differences printed; f16 and bf16 on eco-tiny only);
#  - export → import → export gives identical bytes for every type;
#  - generate and tokenize accept the .gguf; `model import` writes a folder with the same
#    logits whose export repeats the .gguf's bytes; usage errors and refusals;
#  - llama.cpp itself (node-llama-cpp@3.21.1, scripts/llamacpp_check.mjs) reads each f32 export
#    and eco-tiny's q8_0 one: same token ids, next-token probabilities within 1e-3 (f32) / 1e-2
#    (q8_0: llama.cpp quantises the activations too) and the top 10's log-probabilities within
#    1e-2 / 0.1 (measured: ≤ 1.2e-3 / 2.4e-2), the same 6 greedy tokens. Skipped with a message
#    when node-llama-cpp is not installed (scripts/fetch-test-material.sh installs it into
#    .cache/test-material/node-llama-cpp; ECO_NODE_LLAMA_CPP=DIR points elsewhere).
. "$(dirname "$0")/lib/harness.sh"
src=${ECO_SOURCE_DIR:?}
lib="$src/tests/cli/lib"
diff_py() { python3 "$lib/logits_diff.py" "$@"; }
toks=256,84,104,101,32,99,97,116,32,115,97,116,32,111,110,32,116,104,101,10,9,200

# usage and refusals
expect 2 "export without --format" -- "$BIN" model export --model "$src/data/models/eco-tiny" --out "$tmp/a.gguf"
expect 2 "export --format onnx" -- "$BIN" model export --format onnx --model "$src/data/models/eco-tiny" --out "$tmp/a.gguf"
expect 2 "export --type q4_0" -- "$BIN" model export --format gguf --type q4_0 --model "$src/data/models/eco-tiny" --out "$tmp/a.gguf"
expect 2 "export without --out" -- "$BIN" model export --format gguf --model "$src/data/models/eco-tiny"
expect 1 "export of a missing model" -- "$BIN" model export --format gguf --model "$tmp/nothing" --out "$tmp/a.gguf"
expect 0 "export" -- "$BIN" model export --format gguf --model "$src/data/models/eco-tiny" --out "$tmp/a.gguf"
expect 1 "export over an existing file" -- "$BIN" model export --format gguf --model "$src/data/models/eco-tiny" --out "$tmp/a.gguf"
contains "$tmp/err" "--force" "the refusal names --force"
expect 1 "export onto its own input" -- "$BIN" model export --format gguf --model "$tmp/a.gguf" --out "$tmp/a.gguf" --force
expect 1 "export into a folder" -- "$BIN" model export --format gguf --model "$src/data/models/eco-tiny" --out "$tmp"
printf 'GGUF\003\000\000\000' >"$tmp/bad.gguf"
expect 1 "a truncated .gguf" -- "$BIN" logits --model "$tmp/bad.gguf" --tokens 1 --out "$tmp/x.safetensors"
contains "$tmp/err" "bad.gguf: truncated" "the error names the file"

# the three models
mkdir -p "$tmp/m"
cp -r "$src/data/models/eco-tiny" "$tmp/m/eco-tiny"
"$BIN" model create --preset tiny --seed 11 --out "$tmp/m/tiny" >/dev/null || fail "model create tiny"
"$BIN" model create --preset tiny --seed 12 --out "$tmp/m/qwen2" >/dev/null || fail "model create qwen2 base"
python3 "$lib/to_qwen2.py" "$tmp/m/qwen2" || fail "to_qwen2.py"
# eco-tiny with llama3 rope scaling (exported as rope_freqs.weight): both sides must apply it
cp -r "$src/data/models/eco-tiny" "$tmp/m/llama3"
python3 - "$tmp/m/llama3/config.json" <<'PY' || fail "llama3 config"
import json, sys
c = json.load(open(sys.argv[1]))
c["rope_scaling"] = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 64}
json.dump(c, open(sys.argv[1], "w"), indent=2)
PY

tol_f16=0.005 tol_bf16=0.05 tol_q8_0=0.12
# the tiny preset with Mistral's SentencePiece-style tokenizer (llama.cpp's "llama" tokenizer)
models="eco-tiny tiny qwen2 llama3"
spm_tok="$src/.cache/test-material/llama2/package/models/tokenizer.json"
if [ -f "$spm_tok" ]; then
  "$BIN" model create --preset tiny --seed 13 --out "$tmp/m/spm" >/dev/null || fail "model create spm"
  python3 "$lib/with_tokenizer.py" "$tmp/m/spm" "$spm_tok" || fail "with_tokenizer.py"
  models="$models spm"
else
  echo "SKIP: SentencePiece-style export: $spm_tok missing (scripts/fetch-test-material.sh)"
fi
for name in $models; do
  m="$tmp/m/$name"
  "$BIN" logits --model "$m" --tokens "$toks" --out "$tmp/$name.ref.safetensors" >/dev/null || fail "$name: logits"
  types="f32 f16 bf16 q8_0"
  [ $name = eco-tiny ] || types="f32 q8_0"
  for ty in $types; do
    g="$tmp/$name.$ty.gguf"
    expect 0 "$name: export $ty" -- "$BIN" model export --format gguf --type $ty --model "$m" --out "$g"
    expect 0 "$name $ty: logits from the .gguf" -- "$BIN" logits --model "$g" --tokens "$toks" --out "$tmp/$name.$ty.safetensors"
    if [ $ty = f32 ]; then
      if cmp -s "$tmp/$name.ref.safetensors" "$tmp/$name.$ty.safetensors"; then pass; else
        fail "$name f32: logits differ from the folder's: $(diff_py "$tmp/$name.ref.safetensors" "$tmp/$name.$ty.safetensors")"; fi
    else
      r=$(diff_py "$tmp/$name.ref.safetensors" "$tmp/$name.$ty.safetensors")
      tol_var=tol_$ty
      echo "$name $ty: $r (tolerance ${!tol_var})"
      check "$(echo "$r" | awk -v t="${!tol_var}" '{exit !($2 <= t && $6 == 1)}'; echo $?)" "$name $ty: $r exceeds ${!tol_var} or an argmax differs"
    fi
    expect 0 "$name $ty: re-export of the .gguf" -- "$BIN" model export --format gguf --type $ty --model "$g" --out "$tmp/$name.$ty.again.gguf"
    if cmp -s "$g" "$tmp/$name.$ty.again.gguf"; then pass; else fail "$name $ty: export → import → export changed the bytes"; fi
  done
done
# model import: a folder with the same logits, exported back to the same bytes (f32 and q8_0)
for ty in f32 q8_0; do
  expect 0 "import $ty" -- "$BIN" model import --model "$tmp/tiny.$ty.gguf" --out "$tmp/imp.$ty"
  "$BIN" logits --model "$tmp/imp.$ty" --tokens "$toks" --out "$tmp/imp.$ty.safetensors" >/dev/null
  if cmp -s "$tmp/imp.$ty.safetensors" "$tmp/tiny.$ty.safetensors"; then pass; else fail "import $ty: logits differ from the .gguf's"; fi
  expect 0 "export of the imported $ty folder" -- "$BIN" model export --format gguf --type $ty --model "$tmp/imp.$ty" --out "$tmp/imp.$ty.gguf"
  if cmp -s "$tmp/imp.$ty.gguf" "$tmp/tiny.$ty.gguf"; then pass; else fail "import $ty: folder → .gguf changed the bytes"; fi
done
expect 1 "import of a folder" -- "$BIN" model import --model "$tmp/m/tiny" --out "$tmp/imp.x"
expect 1 "import over a non-empty folder" -- "$BIN" model import --model "$tmp/tiny.f32.gguf" --out "$tmp/imp.f32"
# `ecology quantize` (the engine's q8_0 folders) and the q8_0 export agree: the folder exports
# to the same bytes, and its logits equal the .gguf's exactly (both run the q8_0 kernels)
expect 0 "quantize eco-tiny" -- "$BIN" quantize --model "$tmp/m/eco-tiny" --type q8_0 --out "$tmp/qz"
expect 0 "export of the q8_0 folder" -- "$BIN" model export --format gguf --type q8_0 --model "$tmp/qz" --out "$tmp/qz.gguf"
if cmp -s "$tmp/qz.gguf" "$tmp/eco-tiny.q8_0.gguf"; then pass; else fail "quantize → export differs from export --type q8_0"; fi
"$BIN" logits --model "$tmp/qz" --tokens "$toks" --out "$tmp/qz.safetensors" >/dev/null
if cmp -s "$tmp/qz.safetensors" "$tmp/eco-tiny.q8_0.safetensors"; then pass; else fail "q8_0 folder and .gguf logits differ"; fi
expect 0 "generate from a .gguf" -- "$BIN" generate --model "$tmp/eco-tiny.f32.gguf" --prompt "The cat" -n 8 --temperature 0
"$BIN" generate --model "$tmp/m/eco-tiny" --prompt "The cat" -n 8 --temperature 0 >"$tmp/gen.folder" 2>/dev/null
"$BIN" generate --model "$tmp/eco-tiny.f32.gguf" --prompt "The cat" -n 8 --temperature 0 >"$tmp/gen.gguf" 2>/dev/null
if cmp -s "$tmp/gen.folder" "$tmp/gen.gguf"; then pass; else fail "generate: the .gguf's text differs from the folder's"; fi
for name in $models; do
  for text in "héllo, world 123" $'  two spaces\n\ttab 日本語 🤖'; do
    "$BIN" tokenize --tokenizer "$tmp/m/$name" --text "$text" >"$tmp/tok.folder"
    "$BIN" tokenize --tokenizer "$tmp/$name.q8_0.gguf" --text "$text" >"$tmp/tok.gguf"
    if cmp -s "$tmp/tok.folder" "$tmp/tok.gguf"; then pass; else fail "$name: tokenize: the .gguf's ids differ from the folder's for '$text'"; fi
  done
done

# llama.cpp itself
nlc=${ECO_NODE_LLAMA_CPP:-$src/.cache/test-material/node-llama-cpp}
if ! command -v node >/dev/null || [ ! -f "$nlc/node_modules/node-llama-cpp/package.json" ]; then
  echo "SKIP: llama.cpp check: node-llama-cpp is not installed in $nlc (scripts/fetch-test-material.sh)"
else
  long="The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. Then"
  for name in $models; do
    types="f32 q8_0"
    [ $name = eco-tiny ] || types=f32
    for ty in $types; do
      tol=1e-3 ltol=1e-2
      [ $ty = q8_0 ] && tol=1e-2 ltol=0.1
      g="$tmp/$name.$ty.gguf"
      prompts=(--prompt "The cat sat on the" --prompt $'hello\nworld 1 + 1 = ')
      [ $name = llama3 ] && prompts=(--prompt "$long" --prompt "Once upon a time there was")
      [ $name = spm ] && prompts=(--prompt "Hello world, this is a test." --prompt $'  two spaces\n\ttab 日本語 🤖' --prompt "antidisestablishmentarianism")
      (cd "$nlc" && node "$src/scripts/llamacpp_check.mjs" --ecology "$BIN" --model "$g" --gguf "$g" \
        --prob-tol $tol --logp-tol $ltol --steps 6 "${prompts[@]}") >"$tmp/lc.out" 2>&1
      rc=$?
      echo "llama.cpp on $name $ty: $(tail -1 "$tmp/lc.out")"
      if [ $rc = 0 ]; then pass; else fail "llama.cpp check on $name $ty (exit $rc)"; sed 's/^/  | /' "$tmp/lc.out" | tail -15; fi
    done
  done
fi
finish test_gguf
