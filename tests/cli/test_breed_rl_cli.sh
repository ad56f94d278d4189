#!/usr/bin/env bash
# ecology breed --op rl on the shipped eco-tiny model and its arith.add@1 adapter, in a
# temporary registry: a signed adapter child registered with its base implied, the rl
# operation in its lineage (every setting, the seed, the result with the prompt set's hash),
# the capabilities taken from the adapter's claim or from --param; --rerun reproducing the
# bytes with 1 and 2 threads; a recipe with an rl step; refusals: no capability, a bad
# parameter (named), a corpus, a full model as the parent (exit 3); usage listing rl.
source "$(dirname "$0")/lib/harness.sh"
use_registry
expect 0 "keys generate" -- "$BIN" keys generate --out "$D/keys" --name lab
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add adapter (claims arith)" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id arith \
  --capability arith.add@1
expect 0 "add adapter (claims nothing)" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id sort

# the child: an adapter of eco-tiny, parents base then adapter, the operation recorded
expect 0 "breed rl" -- env OMP_NUM_THREADS=2 "$BIN" breed --op rl --parents arith --param steps=2 --param batch=2 \
  --param group=4 --param lr=0.001 --param seed=7 --param eval_n=8 --id rl1 \
  --sign-key "$D/keys/lab.key"
contains "$tmp/out" "registered rl1 (adapter, signed; parents eco-tiny, arith)" "summary"
expect 0 "show" -- "$BIN" show rl1 --json
contains "$tmp/out" '"kind":"adapter"' "kind adapter"
contains "$tmp/out" '"base":"eco-tiny"' "base implied"
contains "$tmp/out" '"name":"rl"' "operation rl"
contains "$tmp/out" '"capabilities":["arith.add@1"]' "capabilities from the adapter's claim"
contains "$tmp/out" '"group":4' "group recorded"
contains "$tmp/out" '"eval_n":8' "eval_n recorded"
contains "$tmp/out" '"loss_type":"grpo"' "defaults recorded"
contains "$tmp/out" '"steps_done":2' "result: steps"
contains "$tmp/out" '"prompts_used":4' "result: prompts used"
contains "$tmp/out" '"prompts_sha256":"' "result: prompt set hash"
contains "$tmp/out" '"seed":7' "seed"
expect 0 "lineage" -- "$BIN" lineage rl1
contains "$tmp/out" "operation rl, seed 7" "lineage shows the step"
check "$([ -z "$(ls -A "$D/work" 2>/dev/null)" ]; echo $?)" "no working folder left"

# re-run: the same bytes with one thread and two (each run uses the count it is given)
expect 0 "rerun, 2 threads" -- env OMP_NUM_THREADS=2 "$BIN" breed --rerun rl1 --out "$tmp/again"
contains "$tmp/out" "the same bytes" "rerun same"
exists "$tmp/again/adapter_model.safetensors"
exists "$tmp/again/lineage.json"
check "$([ ! -e "$tmp/again/training.json" ]; echo $?)" "no training.json in the child"
check "$(grep -q "$tmp" "$tmp/again/lineage.json"; [ $? = 1 ]; echo $?)" "no paths in lineage.json"
expect 0 "breed rl, 1 thread" -- env OMP_NUM_THREADS=1 "$BIN" breed --op rl --parents sort \
  --param steps=1 --param batch=1 --param group=2 --param capabilities=text.sort@1 \
  --param eval_n=0 --param seed=2 --id rl2
expect 0 "rerun, 1 thread" -- env OMP_NUM_THREADS=1 "$BIN" breed --rerun rl2
contains "$tmp/out" "the same bytes" "rerun same (1 thread)"
expect 0 "show rl2" -- "$BIN" show rl2 --json
contains "$tmp/out" '"capabilities":["text.sort@1"]' "capabilities from --param"
contains "$tmp/out" '"heldout_start":null' "no evaluation with eval_n=0"

# a recipe with an rl step (its base implied, its seed required)
cat >"$tmp/r.json" <<'EOF'
{"name": "rl-recipe", "parents": ["arith"],
 "steps": [{"op": "rl", "params": {"steps": 1, "batch": 1, "group": 2, "eval_n": 0}, "seed": 4}],
 "id": "rlr"}
EOF
expect 0 "recipe run" -- "$BIN" recipe run "$tmp/r.json"
expect 0 "lineage of the recipe" -- "$BIN" lineage rlr
contains "$tmp/out" "step 1: rl, seed 4" "the rl step shown"
expect 0 "recipe rerun" -- "$BIN" breed --rerun rlr
contains "$tmp/out" "the same bytes" "recipe rerun same"
sed 's/, "seed": 4//' "$tmp/r.json" >"$tmp/r2.json"
expect 1 "recipe rl step without a seed" -- "$BIN" recipe run "$tmp/r2.json"
contains "$tmp/err" "steps[0].seed" "the missing seed named"

# refusals
expect 1 "no capability claimed or given" -- "$BIN" breed --op rl --parents sort --param steps=1
contains "$tmp/err" "capabilities: missing" "missing capabilities named"
expect 1 "unknown capability" -- "$BIN" breed --op rl --parents arith --param steps=1 \
  --param capabilities=nope@1
contains "$tmp/err" "capabilities" "the parameter named"
expect 1 "group of one" -- "$BIN" breed --op rl --parents arith --param steps=1 --param group=1
contains "$tmp/err" "rl: params: group" "group named"
expect 1 "unknown parameter" -- "$BIN" breed --op rl --parents arith --param steps=1 --param sigma=1
contains "$tmp/err" "unknown parameter 'sigma'" "unknown parameter named"
printf '{"prompt": "1+1=", "completion": "2"}\n' >"$tmp/c.jsonl"
expect 1 "a corpus" -- "$BIN" breed --op rl --parents arith --param steps=1 --corpus "$tmp/c.jsonl"
contains "$tmp/err" "takes no corpus" "corpus refused"
expect 3 "a full model" -- "$BIN" breed --op rl --parents eco-tiny --param steps=1
contains "$tmp/err" "'eco-tiny' is not an adapter" "refusal names the parent"
expect 1 "nothing registered" -- "$BIN" show rl-bad
expect 0 "usage lists rl" -- "$BIN" breed --help
contains "$tmp/out" "rl (GRPO" "usage"

finish test_breed_rl_cli
