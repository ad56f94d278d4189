#!/usr/bin/env bash
# The two shipped base families kept apart (issue 20): eco-tiny (bytes) and eco-tiny-bpe
# (BPE) registered in a temporary data folder with an adapter each; their compatibility
# identities differ in every field; `list --compatible-with` shows each family's models and
# none of the other's; parameter operators refuse to mix them (breed: exit 3 naming the
# architecture and tokenizer fields and suggesting distill; a folder merge of the two
# adapters: exit 3 naming both bases).
source "$(dirname "$0")/lib/harness.sh"
use_registry

expect 0 "add eco-tiny" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add eco-tiny-bpe" -- "$BIN" add "$SRC/data/models/eco-tiny-bpe" --id eco-tiny-bpe
expect 0 "add a byte adapter" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id rev --capability text.reverse@1
expect 0 "add the bpe adapter" -- "$BIN" add "$SRC/data/adapters/bpe/sentiment.imdb@1" --id bpe-imdb \
  --capability sentiment.imdb@1
# each adapter found its base through base_model_name_or_path
expect 0 "show rev" -- "$BIN" show rev --json
contains "$tmp/out" '"base":"eco-tiny"' "the byte adapter's base"
expect 0 "show bpe-imdb" -- "$BIN" show bpe-imdb --json
contains "$tmp/out" '"base":"eco-tiny-bpe"' "the bpe adapter's base"
cp "$tmp/out" "$tmp/bpe.json"
"$BIN" show eco-tiny --json >"$tmp/byte.json"
python3 - "$tmp/byte.json" "$tmp/bpe.json" <<'PY'; check $? "the identities differ in every field"
import json, sys
a, b = (json.load(open(p))["genome"]["compatibility"] for p in sys.argv[1:])
diff = [k for k in ("base_family", "architecture_hash", "tokenizer_hash", "tensor_schema_hash") if a[k] != b[k]]
print("  differing:", diff) if len(diff) != 4 else None
sys.exit(0 if len(diff) == 4 else 1)
PY

# list --compatible-with: each family's own models, never the other's
ids() { python3 -c 'import json,sys; print(" ".join(sorted(m["id"] for m in json.load(open(sys.argv[1])))))' "$1"; }
expect 0 "list --compatible-with eco-tiny" -- "$BIN" list --compatible-with eco-tiny --json
[ "$(ids "$tmp/out")" = "eco-tiny rev" ]; check $? "eco-tiny's: itself and the byte adapter ($(ids "$tmp/out"))"
expect 0 "list --compatible-with eco-tiny-bpe" -- "$BIN" list --compatible-with eco-tiny-bpe --json
[ "$(ids "$tmp/out")" = "bpe-imdb eco-tiny-bpe" ]; check $? "eco-tiny-bpe's: itself and its adapter ($(ids "$tmp/out"))"
expect 0 "list --compatible-with rev" -- "$BIN" list --compatible-with rev --json
[ "$(ids "$tmp/out")" = "eco-tiny rev" ]; check $? "the byte adapter's: the byte family"
expect 0 "list --compatible-with bpe-imdb" -- "$BIN" list --compatible-with bpe-imdb --json
[ "$(ids "$tmp/out")" = "bpe-imdb eco-tiny-bpe" ]; check $? "the bpe adapter's: the bpe family"

# parameter operators refuse to mix them: exit 3, the fields named, nothing registered
expect 3 "breed linear of a byte and a bpe adapter" -- "$BIN" breed --op linear --parents rev,bpe-imdb --id mixed
contains "$tmp/err" "parents 'rev' and 'bpe-imdb' differ in base_family" "the first field named"
contains "$tmp/err" "they also differ in architecture_hash, tokenizer_hash, tensor_schema_hash" \
  "the architecture and tokenizer named"
contains "$tmp/err" "use distill" "distill suggested"
expect 1 "nothing registered" -- "$BIN" show mixed
expect 3 "breed linear of the two bases" -- "$BIN" breed --op linear --parents eco-tiny,eco-tiny-bpe
contains "$tmp/err" "tokenizer_hash" "the tokenizer named for the bases"
expect 3 "fold the bpe adapter into eco-tiny" -- "$BIN" breed --op fold --parents eco-tiny,bpe-imdb
contains "$tmp/err" "architecture_hash" "the architecture named for a fold"
# the same two adapters as plain folders (no registry): refused, both bases named
expect 3 "merge of the two adapter folders" -- "$BIN" merge --method linear --weights 1,1 \
  --parents "$SRC/data/adapters/text.reverse@1,$SRC/data/adapters/bpe/sentiment.imdb@1" --out "$tmp/m"
contains "$tmp/err" "adapts 'eco-tiny-bpe'" "the bpe base named"
contains "$tmp/err" "adapts 'eco-tiny'" "the byte base named"
[ ! -e "$tmp/m" ]; check $? "no merged folder"

finish "test_families_apart"
