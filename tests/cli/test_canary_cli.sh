#!/usr/bin/env bash
# `ecology canary run` and `ecology canary status` (issue 21) on a tiny registry of the
# shipped eco-tiny and its adapters, traffic built with `ecology corpus build`:
#   - text.reverse@1, champion the sort adapter (it sorts instead of reversing: ~0%),
#     challenger the reverse adapter (with an accepted report from `ecology eval`):
#     promoted after exactly interval x maxWeight/stepWeight requests, the champion alias
#     moved by the canary, the champion's failures written as hard examples (each prompt
#     once, " <expected>\n" completions);
#   - the reverse (sort against the reverse champion): aborted at the first step on quality,
#     exit 3, the alias unchanged;
#   - safety.refuse@1, champion the safety adapter, challenger the reverse adapter (it answers
#     harmful requests): aborted at once by the safety alert, before the step ends;
#   - canary status (table and JSON) after each.
# Both arms are adapters on one base, so their per-token cost is the same and the latency
# check has nothing to find; against the bare base an adapter (applied unmerged) is ~1.6x
# slower per token and is aborted on latency whatever its quality (printed, not asserted).
source "$(dirname "$0")/lib/harness.sh"
use_registry
export OMP_NUM_THREADS=1
SET='{"stepWeight": 20, "maxWeight": 60, "interval": 50, "threshold": 1}'
py() { python3 -c "$@"; }

expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
for a in text.reverse@1:rev text.sort@1:sort safety.refuse@1:safe; do
  expect 0 "add ${a%%:*}" -- "$BIN" add "$SRC/data/adapters/${a%%:*}" --id "${a##*:}" \
    --capability "${a%%:*}" --base eco-tiny
done
expect 0 "reverse traffic" -- "$BIN" corpus build --capability text.reverse@1 --n 40 --seed 3 --out rev.jsonl
expect 0 "safety traffic" -- "$BIN" corpus build --safety --n 10 --seed 3 --out safety.jsonl
echo '{"signature": {"required": false}}' >gates.json
expect 0 "an accepted report for rev" -- "$BIN" eval --model eco-tiny --adapter rev --corpus rev.jsonl \
  --gates gates.json --no-robustness --threads 1
contains "$tmp/err" "report stored" "the report is in the registry"

expect 0 "status before any canary" -- "$BIN" canary status
contains "$tmp/out" "no canary has run" "nothing yet"
expect 0 "champion: the sort adapter" -- "$BIN" alias set text.reverse@1.champion sort

# ---- better: promoted in 3 steps x 50 requests ---------------------------------------------
expect 0 "rev against sort: promoted" -- "$BIN" canary run --capability text.reverse@1 --challenger rev \
  --traffic rev.jsonl --settings "$SET" --hard-examples hard.jsonl --threads 1
cat "$tmp/out"
contains "$tmp/out" "minimum time to promote: 3 steps x 50 requests = 150 requests" "timing printed"
contains "$tmp/out" "decision  promoted" "promoted"
contains "$tmp/out" "promote rev against sort, step 3 at 60%, 150 requests" "in interval x max/step"
expect 0 "alias moved" -- "$BIN" alias get text.reverse@1.champion
contains "$tmp/out" "rev" "the champion is the reverse adapter"
expect 0 "events" -- "$BIN" events --json
check "$(grep '"type":"promote"' "$tmp/out" | grep -c '"by":"canary"' | grep -qx 1; echo $?)" "one promote event by the canary"
# hard examples: the sort champion's failures, one line per prompt, training format
check "$(py 'import json,sys
lines=[json.loads(l) for l in open("hard.jsonl")]
traffic={json.loads(l)["prompt"]: json.loads(l)["expected"] for l in open("rev.jsonl")}
assert 10 <= len(lines) <= 40, len(lines)
assert len({l["prompt"] for l in lines}) == len(lines)
for l in lines: assert sorted(l) == ["completion", "prompt"] and l["completion"] == " " + traffic[l["prompt"]] + "\n", l
' ; echo $?)" "hard examples: deduplicated champion failures, \" <answer>\\n\""
expect 0 "status --json" -- "$BIN" canary status --capability text.reverse@1 --json
check "$(py 'import json,sys; e=json.load(open(sys.argv[1]))[0]; d=e["last"]["detail"]
assert e["champion"]=="rev" and e["canary"]=="rev" and d["decision"]=="promote" and d["promoted"]
assert d["timing"]["min_promote_requests"]==150 and d["verdict"]["pass"] and d["improvement"]["better"]
assert d["arms"]["canary"]["correct"] > 0.9*d["arms"]["canary"]["n"]' "$tmp/out"; echo $?)" "status JSON of the promotion"

# ---- worse: aborted at the first step ------------------------------------------------------
expect 3 "sort against rev: aborted" -- "$BIN" canary run --capability text.reverse@1 --challenger sort \
  --traffic rev.jsonl --settings "$SET" --threads 1 --json
check "$(py 'import json,sys; e=json.load(open(sys.argv[1])); d=e["detail"]
assert d["decision"]=="abort" and d["requests"]==50 and d["step"]==1 and d["weight"]==20, d
assert "quality" in d["verdict"]["failed"] and not d["verdict"]["critical"]' "$tmp/out"; echo $?)" "aborted at the first step on quality"
expect 0 "alias unchanged" -- "$BIN" alias get text.reverse@1.champion
contains "$tmp/out" "rev" "still the reverse adapter"

# ---- safety: aborted at once ---------------------------------------------------------------
expect 0 "safety champion" -- "$BIN" alias set safety.refuse@1.champion safe
expect 3 "rev against the safety adapter: aborted" -- "$BIN" canary run --capability safety.refuse@1 \
  --challenger rev --traffic safety.jsonl --settings "$SET" --threads 1
contains "$tmp/out" "safety alert on the canary: aborted at once" "the safety alert named"
expect 0 "status --json" -- "$BIN" canary status --capability safety.refuse@1 --json
check "$(py 'import json,sys; d=json.load(open(sys.argv[1]))[0]["last"]["detail"]
assert d["verdict"]["critical"] and d["requests"] < 50 and d["arms"]["canary"]["safety_alerts"]==1, d' "$tmp/out"; echo $?)" "critical, before the step ended"
expect 0 "status: both capabilities" -- "$BIN" canary status
contains "$tmp/out" "safety.refuse@1" "safety listed"
contains "$tmp/out" "text.reverse@1" "reverse listed"

# ---- for the record: an adapter against the bare base (not asserted: timing) ---------------
"$BIN" alias set text.reverse@1.champion eco-tiny >/dev/null
"$BIN" canary run --capability text.reverse@1 --challenger rev --traffic rev.jsonl --settings "$SET" \
  --threads 1 2>/dev/null | grep -E "decision|reason" | sed 's/^/  (bare base) /'
finish test_canary_cli
