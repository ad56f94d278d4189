#!/usr/bin/env bash
# `ecology tasks list|generate|eval` end to end: exit codes (0 ok, 2 usage), the table and JSON
# list, JSONL output that parses (node when present, a grep otherwise), same seed → same
# bytes, and train/eval prompts that never overlap. Run by ctest with ECOLOGY_BIN set.
source "$(dirname "$0")/lib/harness.sh"

# jsonl_ok FILE N: N lines, each a JSON object with string "prompt" and "completion" only
jsonl_ok() {
  local lines
  lines=$(wc -l <"$1")
  [ "$lines" = "$2" ] || { echo "  $lines lines, want $2"; return 1; }
  if command -v node >/dev/null 2>&1; then
    node -e '
      const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n");
      if (lines.pop() !== "") throw new Error("no final newline");
      for (const l of lines) {
        const v = JSON.parse(l);
        if (Object.keys(v).join(",") !== "prompt,completion") throw new Error("keys: " + l);
        if (typeof v.prompt !== "string" || !v.prompt.endsWith(":")) throw new Error("prompt: " + l);
        if (!/^ [^\n]+\n$/.test(v.completion)) throw new Error("completion: " + l);
      }' "$1"
  else
    ! grep -qv '^{"prompt":".*:","completion":" .*\\n"}$' "$1"
  fi
}

expect 2 "tasks without subcommand" -- "$BIN" tasks
contains "$tmp/err" "list, generate" "subcommands named"
expect 2 "unknown subcommand" -- "$BIN" tasks frob
contains "$tmp/err" "'frob'" "unknown subcommand named"

expect 0 "tasks list" -- "$BIN" tasks list
for c in arith.add@1 text.reverse@1 text.sort@1 json.record@1 safety.refuse@1 safety.refuse@2 sentiment.imdb@1 sentiment.yelp@1; do
  contains "$tmp/out" "$c" "list shows $c"
done
contains "$tmp/out" "CAPABILITY" "list has a header"
expect 0 "tasks list --json" -- "$BIN" tasks list --json
contains "$tmp/out" '"name":"json.record@1"' "json list names"
contains "$tmp/out" '"json_schema":{' "json list carries the record schema"
if command -v node >/dev/null 2>&1; then
  node -e '
    const a = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    if (a.length !== 8) throw new Error("count " + a.length);
    for (const d of ["sentiment.imdb@1", "sentiment.yelp@1"]) {
      const c = a.find(x => x.name === d);
      if (c.train + c.eval !== 1000) throw new Error(d + ": " + c.train + "+" + c.eval);
    }' "$tmp/out"
  check $? "list --json parses, sentiment splits add up to 1000"
fi
expect 2 "list with a stray flag" -- "$BIN" tasks list --bogus

expect 2 "generate without --capability" -- "$BIN" tasks generate --split train --n 3
contains "$tmp/err" "--capability" "missing capability named"
expect 2 "generate without --split" -- "$BIN" tasks generate --capability arith.add@1 --n 3
contains "$tmp/err" "--split" "missing split named"
expect 2 "generate without --n" -- "$BIN" tasks generate --capability arith.add@1 --split train
expect 2 "unknown capability" -- "$BIN" tasks generate --capability arith.mul@1 --split train --n 3
contains "$tmp/err" "unknown capability 'arith.mul@1'" "unknown capability message"
contains "$tmp/err" "arith.add@1" "known capabilities listed"
expect 2 "bad split" -- "$BIN" tasks generate --capability arith.add@1 --split test --n 3
contains "$tmp/err" "'test'" "bad split named"
expect 2 "n = 0" -- "$BIN" tasks generate --capability arith.add@1 --split train --n 0
expect 2 "n not a number" -- "$BIN" tasks generate --capability arith.add@1 --split train --n many
expect 2 "n too large" -- "$BIN" tasks generate --capability arith.add@1 --split train --n 999999999999
expect 2 "negative seed" -- "$BIN" tasks generate --capability arith.add@1 --split train --n 3 --seed -1
[ -s "$tmp/out" ]; check $((! $?)) "nothing on stdout after a usage error"

for c in arith.add@1 text.reverse@1 text.sort@1 json.record@1 safety.refuse@1 safety.refuse@2 sentiment.imdb@1 sentiment.yelp@1; do
  expect 0 "generate $c train" -- "$BIN" tasks generate --capability "$c" --split train --n 300 --seed 4
  jsonl_ok "$tmp/out" 300; check $? "$c train JSONL well formed"
  sed 's/^{"prompt":"\(.*\)","completion":.*$/\1/' "$tmp/out" | sort -u >"$tmp/train.prompts"
  cp "$tmp/out" "$tmp/train1"
  expect 0 "generate $c train again" -- "$BIN" tasks generate --capability "$c" --split train --n 300 --seed 4
  cmp -s "$tmp/out" "$tmp/train1"; check $? "$c: same seed, same bytes"
  expect 0 "generate $c eval" -- "$BIN" tasks generate --capability "$c" --split eval --n 50 --seed=4
  jsonl_ok "$tmp/out" 50; check $? "$c eval JSONL well formed"
  sed 's/^{"prompt":"\(.*\)","completion":.*$/\1/' "$tmp/out" | sort -u >"$tmp/eval.prompts"
  [ -z "$(comm -12 "$tmp/train.prompts" "$tmp/eval.prompts")" ]; check $? "$c: no eval prompt among train prompts"
done
expect 0 "generate seed 5" -- "$BIN" tasks generate --capability arith.add@1 --split train --n 20 --seed 5
cp "$tmp/out" "$tmp/s5"
expect 0 "generate seed 6" -- "$BIN" tasks generate --capability arith.add@1 --split train --n 20 --seed 6
! cmp -s "$tmp/out" "$tmp/s5"; check $? "different seeds, different items"
expect 0 "generate json" -- "$BIN" tasks generate --capability json.record@1 --split eval --n 1 --seed 1
contains "$tmp/out" '{"prompt":"Record: id=7101 score=517 name=sabacira\nJSON:","completion":" {\"id\":7101,\"name\":\"sabacira\",\"score\":517}\n"}' "golden json.record item"

# --n past a split's unique items: generate says how many there are (issue 17)
expect 0 "generate past the split" -- "$BIN" tasks generate --capability sentiment.imdb@1 --split eval --n 200 --seed 1
contains "$tmp/err" "sentiment.imdb@1 has 98 unique eval items; --n 200 repeats them" "unique items said"
[ "$(sort -u "$tmp/out" | wc -l)" = 98 ]; check $? "98 unique eval items"
expect 0 "generate within the split" -- "$BIN" tasks generate --capability sentiment.imdb@1 --split eval --n 98 --seed 1
[ ! -s "$tmp/err" ]; check $? "no note when --n fits the split"

# tasks eval from a folder whose name is not UTF-8: the JSON escapes it (it ended "out of memory")
bad_dir="$tmp/$(printf 'tiny-\377')"
"$BIN" model create --preset tiny --seed 3 --out "$bad_dir" >/dev/null || fail "model create"
expect 0 "eval --json, non-UTF-8 folder" -- "$BIN" tasks eval --model "$bad_dir" --capability arith.add@1 --n 2 --json
contains "$tmp/out" "\"model\": \"tiny-$(printf '\357\277\275')\"" "model id with U+FFFD"
contains "$tmp/out" '"n_requested": 2' "eval json says what was asked"

finish "tasks cli"
