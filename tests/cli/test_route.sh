#!/usr/bin/env bash
# `ecology route` over a tiny registry (data/models/eco-tiny and three shipped adapters): a
# capability route picking the adapter that advertises the request's capability (and the
# same greedy text as `generate` with that adapter), ranking by the stored evaluation
# reports' quality and excluding by their p95 latency, a cascade escalating exactly when the
# first stage's confidence is under the threshold (the threshold set just above and just
# below the confidence it printed), a canary split agreeing with SHA-256 of the request id
# (computed here in Python) at shares 0, 1 and 0.5 and nested inside a capability route, a
# shadow scored and discarded, an ensemble's majority, folder targets, the plain trace, and
# refusals (a policy naming an unknown target, a malformed policy naming the field, a route
# without a capability, an unknown model).
source "$(dirname "$0")/lib/harness.sh"
use_registry
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add arith" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id arith --capability arith.add@1
expect 0 "add reverse" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id reverse --capability text.reverse@1
expect 0 "add sort" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id sort --capability text.sort@1
ADD=$'Add: 088+636\nSum:'
REV=$'Reverse: kosjeco\nReversed:'
R=(--stop $'\n' --threads 1 --json)
MODELS=(--model eco-tiny --model arith --model reverse --model sort)
# field FILE EXPR: a Python expression over the JSON in FILE (as j)
field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
# pick ID SHARE: whether router.h's canary split sends ID to the canary
pick() {
  python3 -c 'import hashlib,sys; h=hashlib.sha256(sys.argv[1].encode()).digest()
print("canary" if int.from_bytes(h[:8], "big") / 2**64 < float(sys.argv[2]) else "champion")' "$1" "$2"
}

# capability: arith for an arith request, reverse for a reverse request
expect 0 "capability route (arith)" -- "$BIN" route --policy '{"policy":"capability"}' "${MODELS[@]}" \
  --capability arith.add@1 --prompt "$ADD" "${R[@]}"
cp "$tmp/out" "$tmp/cap.json"
check "$([ "$(field "$tmp/cap.json" 'j["trace"]["answered"]')" = arith ]; echo $?)" "arith answered"
check "$([ "$(field "$tmp/cap.json" 'len(j["trace"]["calls"])')" = 1 ]; echo $?)" "one call"
check "$([ "$(field "$tmp/cap.json" 'j["trace"]["calls"][0]["via"]')" = capability ]; echo $?)" "via capability"
expect 0 "generate with the arith adapter" -- "$BIN" generate --model eco-tiny --adapter arith --prompt "$ADD" \
  --stop $'\n' --threads 1 -n 16 --json
check "$([ "$(field "$tmp/cap.json" 'j["text"]')" = "$(field "$tmp/out" 'j["text"]')" ]; echo $?)" \
  "route's answer is generate's"
check "$(python3 - "$tmp/cap.json" "$tmp/out" <<'PY'
import json, math, sys
r, g = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
want = math.exp(sum(g["logprobs"]) / len(g["logprobs"]))
sys.exit(0 if abs(r["trace"]["confidence"] - want) < 1e-5 else 1)
PY
echo $?)" "confidence = exp(mean log-probability) of generate's tokens"
expect 0 "capability route (reverse)" -- "$BIN" route --policy '{"policy":"capability"}' "${MODELS[@]}" \
  --capability text.reverse@1 --prompt "$REV" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = reverse ]; echo $?)" "reverse answered"

# the evaluator's reports rank the members: fake-arith (the sort adapter registered as arith)
# listed first and as cheap, but its stored report passes no arith case; a p95 bound below
# every report's latency leaves no member
expect 0 "add fake-arith" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id fake-arith --capability arith.add@1
expect 0 "without reports: the order given" -- "$BIN" route --policy '{"policy":"capability"}' --model fake-arith \
  --model arith --capability arith.add@1 --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = fake-arith ]; echo $?)" "tie: the first listed"
expect 0 "corpus" -- "$BIN" corpus build --capability arith.add@1 --n 8 --seed 1 --out "$tmp/add.jsonl"
echo '{"signature": {"required": false}}' >"$tmp/gates.json"
for id in arith fake-arith; do
  expect 0 "eval $id" -- "$BIN" eval --model eco-tiny --adapter $id --corpus "$tmp/add.jsonl" --gates "$tmp/gates.json" \
    --no-robustness --threads 1
  contains "$tmp/err" "report stored in the registry for '$id'" "$id's report stored"
done
expect 0 "with reports: the better" -- "$BIN" route --policy '{"policy":"capability"}' --model fake-arith \
  --model arith --capability arith.add@1 --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = arith ]; echo $?)" "the report's quality decides"
expect 1 "a profile nobody fits" -- "$BIN" route --policy '{"policy":"capability","profile":{"max_p95_ms":0.001}}' \
  --model fake-arith --model arith --capability arith.add@1 --prompt "$ADD" "${R[@]}"
contains "$tmp/err" "no engine advertises 'arith.add@1' within the profile" "the profile excludes by p95"

# cascade: the base first (cheaper: no adapter), then arith; escalated exactly below the threshold
cascade() { printf '{"policy":"cascade","threshold":%s,"stages":["arith","eco-tiny"]}' "$1"; }
expect 0 "cascade, threshold 1" -- "$BIN" route --policy "$(cascade 1)" "${MODELS[@]}" --prompt "$ADD" "${R[@]}"
cp "$tmp/out" "$tmp/c1.json"
check "$([ "$(field "$tmp/c1.json" '[c["target"] for c in j["trace"]["calls"]]')" = "['eco-tiny', 'arith']" ]; echo $?)" \
  "cheapest stage first, then escalated"
check "$([ "$(field "$tmp/c1.json" '[c["escalated"] for c in j["trace"]["calls"]]')" = "[True, False]" ]; echo $?)" \
  "the first stage escalated"
C0=$(field "$tmp/c1.json" 'j["trace"]["calls"][0]["confidence"]')
above=$(python3 -c "print(min(1.0, $C0 + 1e-6))")
below=$(python3 -c "print($C0 - 1e-6)")
expect 0 "cascade, threshold just above" -- "$BIN" route --policy "$(cascade "$above")" "${MODELS[@]}" --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["escalations"]')" = 1 ]; echo $?)" "escalated just above its confidence"
expect 0 "cascade, threshold just below" -- "$BIN" route --policy "$(cascade "$below")" "${MODELS[@]}" --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["escalations"]')" = 0 ]; echo $?)" "kept just below its confidence"
check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = eco-tiny ]; echo $?)" "the first stage answered"

# canary: shares 0 and 1, and 0.5 against SHA-256 of the request id, inside a capability route
canary() { printf '{"policy":"capability","members":["reverse",{"policy":"canary","share":%s,"champion":"arith","canary":"a2"}]}' "$1"; }
CM=(--model arith --model a2=arith --model reverse)
for share in 0 1 0.5; do
  for id in r1 r2 r3 r4 r5 r6; do
    expect 0 "canary $share $id" -- "$BIN" route --policy "$(canary $share)" "${CM[@]}" --capability arith.add@1 \
      --request-id "$id" --prompt "$ADD" "${R[@]}"
    want=$(pick "$id" "$share")
    got=$(field "$tmp/out" 'j["trace"]["arms"][0]["arm"]')
    check "$([ "$got" = "$want" ]; echo $?)" "canary share $share, $id: $got, want $want"
    check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = "$([ "$want" = canary ] && echo a2 || echo arith)" ]; echo $?)" \
      "the arm answered"
  done
done
check "$([ "$(field "$tmp/out" 'j["trace"]["arms"][0]["at"]')" = "members[1]" ]; echo $?)" "the split's place"

# shadow: the champion answers; the canary's answer is scored (agreement) and discarded
expect 0 "shadow" -- "$BIN" route --policy '{"policy":"shadow","champion":"arith","canary":"s"}' \
  --model arith --model s=arith --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" '[(c["target"], c["shadow"], c["chosen"], c["score"]) for c in j["trace"]["calls"]]')" \
  = "[('arith', False, True, None), ('s', True, False, 1.0)]" ]; echo $?)" "shadow scored 1 (same answer), discarded"
expect 0 "shadow disagreeing" -- "$BIN" route --policy '{"policy":"shadow","champion":"arith","canary":"eco-tiny"}' \
  --model arith --model eco-tiny --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'j["trace"]["answered"]')" = arith ]; echo $?)" "the champion's answer"

# ensemble: two arith copies outvote sort
expect 0 "ensemble" -- "$BIN" route --policy '{"policy":"ensemble","members":["sort","a","b"]}' \
  --model sort --model a=arith --model b=arith --prompt "$ADD" "${R[@]}"
check "$([ "$(field "$tmp/out" 'len(j["trace"]["calls"])')" = 3 ]; echo $?)" "every member answered"
check "$(field "$tmp/out" 'j["trace"]["answered"] in ("a", "b")' | grep -q True; echo $?)" "the majority's answer"

# folder targets, a policy file, the plain trace
echo '{"policy":"cascade","threshold":1,"stages":["tiny","add"]}' >"$tmp/policy.json"
expect 0 "folders and a policy file" -- "$BIN" route --policy "$tmp/policy.json" \
  --model "tiny=$SRC/data/models/eco-tiny" --model "add=$SRC/data/models/eco-tiny+$SRC/data/adapters/arith.add@1" \
  --prompt "$ADD" --stop $'\n' --threads 1
contains "$tmp/out" "answered by add, confidence" "plain summary"
contains "$tmp/out" "escalated" "plain trace shows the escalation"
contains "$tmp/out" "via cascade" "plain trace shows the policy"

# refusals
expect 1 "unknown target" -- "$BIN" route --policy '{"policy":"canary","share":0.1,"champion":"arith","canary":"nobody"}' \
  --model arith --prompt "$ADD"
contains "$tmp/err" "canary: unknown target 'nobody'" "unknown target named with its place"
expect 1 "malformed policy" -- "$BIN" route --policy '{"policy":"cascade","threshold":2,"stages":["arith","eco-tiny"]}' \
  --model arith --model eco-tiny --prompt "$ADD"
contains "$tmp/err" "--policy: threshold: 2 outside [0, 1]" "the field named"
expect 1 "no capability" -- "$BIN" route --policy '{"policy":"capability"}' --model arith --prompt "$ADD"
contains "$tmp/err" "the request names no capability" "a capability route needs one"
expect 1 "nobody advertises" -- "$BIN" route --policy '{"policy":"capability"}' --model arith --prompt "$ADD" \
  --capability text.sort@1
contains "$tmp/err" "no engine advertises 'text.sort@1'" "none advertises"
expect 1 "unknown model" -- "$BIN" route --policy '"x"' --model x=nobody --prompt "$ADD"
contains "$tmp/err" "'nobody'" "the model named"
expect 1 "policy file missing" -- "$BIN" route --policy "$tmp/none.json" --model arith --prompt "$ADD"
contains "$tmp/err" "none.json" "the file named"

finish "route"
