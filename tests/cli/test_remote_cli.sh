#!/usr/bin/env bash
# Registered remote models (`ecology add-remote`) in `ecology route` and `ecology eval`: an
# `ecology serve` on loopback serves the shipped base and its reverse adapter; a remote model
# "far" registered against it (its key read from a variable) routes to the same greedy answer
# as the local adapter, takes no +ADAPTER, is tried last in a cascade (its cost is taken as
# above every local target's), and evaluates to the same pass rate as the local adapter on a
# reverse corpus; a corpus with a choice case is refused (no weights to score with); a
# missing key variable is named.
source "$(dirname "$0")/lib/harness.sh"
use_registry
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add reverse" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id reverse --capability text.reverse@1
cat >"$tmp/keys.json" <<'KEYS'
{"keys": [{"key": "sk-inference-0123456789", "scope": "inference"}]}
KEYS
serve_start "$tmp/serve.out" "$tmp/serve.err" --port 0 --threads 1 --api-keys "$tmp/keys.json"
check "$([ -n "$URL" ]; echo $?)" "the server printed its address"
[ -n "$URL" ] || { cat "$tmp/serve.err"; kill "$PID"; finish test_remote_cli; }
expect 0 "add-remote" -- "$BIN" add-remote --id far --endpoint "$URL/v1" --model reverse \
  --key-env ECO_TEST_FAR_KEY --capability text.reverse@1
REV=$'Reverse: kosjeco\nReversed:'
field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

# route: the remote model answers as the local adapter does
expect 0 "route local" -- "$BIN" route --policy '"reverse"' --model reverse --prompt "$REV" -n 16 --stop $'\n' --threads 1 --json
cp "$tmp/out" "$tmp/local.json"
expect 1 "route remote without its key" -- env -u ECO_TEST_FAR_KEY "$BIN" route --policy '"far"' --model far --prompt "$REV" -n 16
contains "$tmp/err" "ECO_TEST_FAR_KEY" "the missing key's variable is named"
export ECO_TEST_FAR_KEY=sk-inference-0123456789
expect 0 "route remote" -- "$BIN" route --policy '"far"' --model far --prompt "$REV" -n 16 --stop $'\n' --threads 1 --json
cp "$tmp/out" "$tmp/far.json"
L=$(field "$tmp/local.json" 'j["text"]') R=$(field "$tmp/far.json" 'j["text"]')
check "$([ -n "$L" ] && [ "$L" = "$R" ]; echo $?)" "route's remote answer '$R' is the local one '$L'"
expect 1 "a remote model takes no adapter" -- "$BIN" route --policy '"far"' --model far+reverse --prompt "$REV" -n 4
contains "$tmp/err" "remote model" "the refusal says why"
# a cascade with a threshold no answer meets: the cheapest stage first, the remote one last
expect 0 "cascade" -- "$BIN" route --policy '{"policy":"cascade","threshold":1,"stages":["far","reverse"]}' \
  --model far --model reverse --prompt "$REV" -n 16 --stop $'\n' --threads 1 --json
check "$(python3 - "$tmp/out" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["trace"]
sys.exit(0 if [c["target"] for c in t["calls"]] == ["reverse", "far"] and t["answered"] == "far" else 1)
PY
echo $?)" "the cascade tried the local adapter before the remote model"

# eval: the same pass rate through the http engine as on the local adapter
"$BIN" tasks generate --capability text.reverse@1 --split eval --n 12 --seed 5 >"$tmp/items.jsonl" ||
  { echo "setup: tasks generate failed"; exit 1; }
python3 - "$tmp/items.jsonl" "$tmp/c.jsonl" "$tmp/choice.jsonl" <<'PY' || { echo "setup: corpus failed"; exit 1; }
import json, sys
rows = [json.dumps({"capability": "text.reverse@1", "prompt": d["prompt"], "check": "exact",
                    "expected": d["completion"]}) for d in map(json.loads, open(sys.argv[1]))]
open(sys.argv[2], "w").write("\n".join(rows) + "\n")
choice = json.dumps({"capability": "sentiment.imdb@1", "check": "choice",
                     "prompt": "Review: A wonderful, moving film.\nSentiment:",
                     "options": [" positive", " negative"], "answer": 0})
open(sys.argv[3], "w").write(rows[0] + "\n" + choice + "\n")
PY
rate() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(j["capabilities"]["text.reverse@1"]["quality"]["k"], j["capabilities"]["text.reverse@1"]["quality"]["n"])' "$1"; }
"$BIN" eval --model eco-tiny --adapter reverse --corpus "$tmp/c.jsonl" --no-robustness --threads 1 --json >"$tmp/eval_local.json" 2>"$tmp/err"
check "$([ -s "$tmp/eval_local.json" ]; echo $?)" "eval of the local adapter wrote its report"
"$BIN" eval --model far --corpus "$tmp/c.jsonl" --no-robustness --threads 1 --json >"$tmp/eval_far.json" 2>"$tmp/err"
S=$?
check "$([ "$S" = 0 ] || [ "$S" = 3 ]; echo $?)" "eval of the remote model ran (exit $S: $(head -c 300 "$tmp/err"))"
check "$([ "$(rate "$tmp/eval_local.json")" = "$(rate "$tmp/eval_far.json")" ]; echo $?)" \
  "the remote model's reverse quality is the local adapter's"
check "$(python3 - "$tmp/eval_local.json" "$tmp/eval_far.json" <<'PY'
import json, sys
a, b = ([c["output"] for c in json.load(open(f))["cases"]] for f in sys.argv[1:])
sys.exit(0 if len(a) == 12 and a == b and any(x.strip() for x in a) else 1)
PY
echo $?)" "the remote model's outputs are the local adapter's, case for case"
expect 1 "a choice case needs the weights" -- "$BIN" eval --model far --corpus "$tmp/choice.jsonl" --no-robustness --threads 1
contains "$tmp/err" "EUNSUPPORTED" "the choice case is refused as unsupported"

kill -TERM "$PID"
wait "$PID"
finish test_remote_cli
