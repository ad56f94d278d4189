#!/usr/bin/env bash
# The shipped BPE family (data/models/eco-tiny-bpe): its files match SHA256SUMS and its
# tokenizer is the recipe's; it loads everywhere eco-tiny does (generate with a stop at the
# newline, tasks eval, eval, inspect, bpb); bits per byte agree with the tokenizer's count
# and stay below ceilings just above the figures measured when it was shipped (2.466 and
# 2.735 bits a byte on the text used below).
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
BPE="$SRC/data/models/eco-tiny-bpe"
BYTE="$SRC/data/models/eco-tiny"
TOK="$SRC/data/tokenizers/eco-bpe-4096/tokenizer.json"

(cd "$SRC/data/models" && sha256sum --quiet -c SHA256SUMS) >"$tmp/sums" 2>&1; check $? "data/models/SHA256SUMS"
grep -q "eco-tiny-bpe/model.safetensors" "$SRC/data/models/SHA256SUMS"; check $? "SHA256SUMS lists eco-tiny-bpe"
cmp -s "$BPE/tokenizer.json" "$TOK"; check $? "the model ships the recipe's tokenizer"
want=$(sha256sum "$TOK" | cut -d' ' -f1)
contains "$SRC/data/recipes/eco-tiny-bpe.json" "$want" "the recipe names the tokenizer's SHA-256"
contains "$BPE/training.json" "eco-tiny-bpe.json" "training.json names the recipe"

expect 0 "inspect" -- "$BIN" inspect "$BPE" --json
contains "$tmp/out" '"vocab_size": 4096' "vocabulary"
contains "$tmp/out" '"parameters": 3443136' "parameters"

# generation stops at the newline (the tasks' stop), whatever tokens carry it
expect 0 "generate --stop" -- "$BIN" generate --model "$BPE" --prompt $'Add: 12+34\nSum:' -n 24 --stop $'\n' --json
python3 - "$tmp/out" <<'PY'; check $? "generated text cut before the newline"
import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if "\n" not in r["text"] and r["finish_reason"] in ("stop", "length") else 1)
PY

expect 0 "tasks eval" -- "$BIN" tasks eval --model "$BPE" --capability arith.add@1 --n 10 --json
contains "$tmp/out" '"accuracy"' "tasks eval report"

"$BIN" corpus build --capability arith.add@1,text.reverse@1 --n 5 --seed 0 --out "$tmp/c.jsonl" >/dev/null 2>&1; check $? "corpus build"
# a folder is unsigned: only the signature gate is turned off (the corpus measures no safety)
printf '{"signature": {"required": false}}\n' >"$tmp/nosig.json"
expect 0 "eval" -- "$BIN" eval --model "$BPE" --corpus "$tmp/c.jsonl" --gates "$tmp/nosig.json" --no-robustness --json
contains "$tmp/out" '"cases"' "eval report"

# bits per byte: the token count is the tokenizer's, and both families score a text they
# were trained on (the shipped corpus' first 20,000 bytes) well below 8 bits a byte
head -c 20000 "$SRC/data/corpus/moby-dick-1-39.txt" >"$tmp/text.txt"
expect 0 "bpb eco-tiny-bpe" -- "$BIN" bpb --model "$BPE" --file "$tmp/text.txt" --json
cp "$tmp/out" "$tmp/bpe.json"
"$BIN" tokenize --tokenizer "$TOK" --file "$tmp/text.txt" --no-special --json >"$tmp/ids.json"; check $? "tokenize"
expect 0 "bpb eco-tiny" -- "$BIN" bpb --model "$BYTE" --file "$tmp/text.txt" --json
cp "$tmp/out" "$tmp/byte.json"
python3 - "$tmp/bpe.json" "$tmp/byte.json" "$tmp/ids.json" <<'PY'; check $? "bpb figures"
import json, math, sys
bpe, byte, ids = (json.load(open(p)) for p in sys.argv[1:])
ok = bpe["tokens"] == len(ids) and bpe["bytes"] == 20000 and byte["tokens"] == 20000
ok &= bpe["windows"] == math.ceil(len(ids) / 127) and byte["windows"] == math.ceil(20000 / 127)
ok &= abs(bpe["bits_per_byte"] - bpe["nll_nats"] / math.log(2) / 20000) < 1e-6
ok &= 0 < bpe["bits_per_byte"] < 2.55 and 0 < byte["bits_per_byte"] < 2.80
print(bpe, byte) if not ok else None
sys.exit(0 if ok else 1)
PY

finish "test_bpe_model"
