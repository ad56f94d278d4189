#!/usr/bin/env bash
# ecology breed on the shipped eco-tiny model and its adapters, in a temporary registry:
# a signed child registered with its lineage (show, verify, lineage showing the step),
# incompatible parents (a model created with the tiny preset) refused with exit 3 naming
# the field, --rerun reproducing the bytes with 1 and 2 threads (and --out keeping them),
# a child whose bytes were altered re-running to "differs" (exit 1), a seeded merge and a
# mutation with their --param values recorded and re-run with 1 and 2 threads, a recipe
# (linear, mutate, finetune, quantize) registered with every step in its lineage and re-run, a
# recipe refused (exit 3) or malformed, usage errors (exit 2).
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D"
cd "$tmp" || exit 1

expect 0 "registry init" -- "$BIN" registry init
expect 0 "keys generate" -- "$BIN" keys generate --out "$D/keys" --name lab
mkdir -p "$D/keys/trusted" && cp "$D/keys/lab.pub" "$D/keys/trusted/"
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny --sign-key "$D/keys/lab.key"
expect 0 "add adapter" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id arith --sign-key "$D/keys/lab.key"
expect 0 "add adapter 2" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id sort --sign-key "$D/keys/lab.key"
expect 0 "alias" -- "$BIN" alias set champion eco-tiny

# a signed child with its lineage, parents by id and alias
expect 0 "breed fold" -- "$BIN" breed --op fold --parents champion,arith --id child --sign-key "$D/keys/lab.key"
contains "$tmp/out" "registered child (merged, signed; parents eco-tiny, arith)" "breed's summary"
expect 0 "verify the child" -- "$BIN" verify child
expect 0 "show the child" -- "$BIN" show child --json
contains "$tmp/out" '"parents":["eco-tiny","arith"]' "lineage parents"
contains "$tmp/out" '"kind":"merged"' "kind"
contains "$tmp/out" '"name":"merge"' "operation"
expect 0 "lineage" -- "$BIN" lineage child
contains "$tmp/out" "operation merge, seed 0" "lineage shows the step"
contains "$tmp/out" 'params {"lora":' "lineage shows the parameters"
check "$([ -z "$(ls -A "$D/work" 2>/dev/null)" ]; echo $?)" "no working folder left"
expect 0 "breed --json" -- "$BIN" breed --op fold --parents eco-tiny,arith --json
contains "$tmp/out" '"id":"fold-' "default id"

# incompatible parents: exit 3, the field named, nothing registered
expect 0 "model create (another root)" -- "$BIN" model create --preset tiny --seed 3 --out "$tmp/other"
expect 0 "add it" -- "$BIN" add "$tmp/other" --id other
expect 3 "incompatible parents refused" -- "$BIN" breed --op linear --parents eco-tiny,other --id bad
contains "$tmp/err" "differ in base_family" "the field named"
contains "$tmp/err" "distill" "distill suggested"
expect 1 "nothing registered" -- "$BIN" show bad
expect 3 "wrong kinds refused" -- "$BIN" breed --op fold --parents arith,eco-tiny
contains "$tmp/err" "does not fit" "kind refusal"

# re-run: the same bytes, with one thread and two
expect 0 "rerun, 1 thread" -- env OMP_NUM_THREADS=1 "$BIN" breed --rerun child
contains "$tmp/out" "the same bytes" "rerun same (1 thread)"
expect 0 "rerun, 2 threads" -- env OMP_NUM_THREADS=2 "$BIN" breed --rerun child --out "$tmp/again"
contains "$tmp/out" "the same bytes" "rerun same (2 threads)"
exists "$tmp/again/model.safetensors"
expect 1 "rerun --out not empty" -- "$BIN" breed --rerun child --out "$tmp/again"
expect 0 "rerun --out --force" -- "$BIN" breed --rerun child --out "$tmp/again" --force
expect 1 "rerun of a model no operator made" -- "$BIN" breed --rerun eco-tiny
contains "$tmp/err" "not made by a breeding operator" "rerun refusal"

# a registered child whose bytes differ from what its lineage makes: exit 1, file named
mkdir -p "$tmp/fake" && cp "$tmp/again/"* "$tmp/fake/" && chmod -R u+w "$tmp/fake"
python3 - "$tmp/fake/model.safetensors" <<'EOF'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[-1] ^= 1
open(p, "wb").write(bytes(b))
EOF
expect 0 "add the altered child" -- "$BIN" add "$tmp/fake" --id fake
expect 1 "rerun differs" -- "$BIN" breed --rerun fake
contains "$tmp/out" "model.safetensors: different bytes" "differing file named"

# a merge that draws: --param values converted (numbers, lists), recorded, re-run with 1 and 2
# threads to the same bytes
expect 0 "fold sort" -- "$BIN" breed --op fold --parents eco-tiny,sort --id fs
expect 0 "dare_ties" -- "$BIN" breed --op dare_ties --base eco-tiny --parents child,fs \
  --param weights=0.6,0.4 --param density=0.5 --param seed=11 --param rescale=l1 --id dare \
  --sign-key "$D/keys/lab.key"
expect 0 "show dare" -- "$BIN" show dare --json
contains "$tmp/out" '"method":"dare_ties"' "method recorded"
contains "$tmp/out" '"rescale":"l1"' "string parameter recorded"
contains "$tmp/out" '"seed":11' "seed recorded"
contains "$tmp/out" '"parents":["eco-tiny","child","fs"]' "base then parents"
contains "$tmp/out" '"kept_fraction"' "the merge's result recorded"
expect 0 "dare rerun, 1 thread" -- env OMP_NUM_THREADS=1 "$BIN" breed --rerun dare
contains "$tmp/out" "the same bytes" "dare rerun same (1 thread)"
expect 0 "dare rerun, 2 threads" -- env OMP_NUM_THREADS=2 "$BIN" breed --rerun dare
contains "$tmp/out" "the same bytes" "dare rerun same (2 threads)"
expect 1 "a bad parameter named" -- "$BIN" breed --op ties --base eco-tiny --parents child,fs --param weights=1,1 --param density=2
contains "$tmp/err" "density" "parameter named"
expect 0 "mutate" -- "$BIN" breed --op mutate --parents child --param sigma=0.02 --param seed=4 --param modules=q_proj,v_proj --id mut
expect 0 "mutate rerun, 2 threads" -- env OMP_NUM_THREADS=2 "$BIN" breed --rerun mut
contains "$tmp/out" "the same bytes" "mutate rerun same"

# a recipe: linear of two full models, mutate, finetune, quantize: every step in the lineage
"$BIN" tasks generate --capability arith.add@1 --split train --n 16 >"$tmp/c.jsonl"
cat >"$tmp/r.json" <<'EOF2'
{"name": "blend", "parents": ["child", "fs"],
 "steps": [{"op": "linear", "params": {"weights": [0.5, 0.5]}},
           {"op": "mutate", "params": {"sigma": 0.01}, "seed": 7},
           {"op": "finetune", "params": {"steps": 1, "lr": 0.001, "batch": 2, "seq": 32}, "seed": 8},
           {"op": "quantize", "params": {"type": "q8_0"}}],
 "corpus": ["c.jsonl"], "id": "blend-1"}
EOF2
expect 0 "recipe run" -- "$BIN" recipe run "$tmp/r.json" --sign-key "$D/keys/lab.key"
contains "$tmp/out" "registered blend-1 (quantized, 4 steps, signed)" "recipe summary"
expect 0 "verify the recipe's child" -- "$BIN" verify blend-1
expect 0 "lineage of the recipe" -- "$BIN" lineage blend-1
contains "$tmp/out" "operation recipe" "recipe operation"
contains "$tmp/out" "step 1: linear, seed 0" "step 1 shown"
contains "$tmp/out" "step 2: mutate, seed 7" "step 2 shown"
contains "$tmp/out" "step 3: finetune, seed 8" "step 3 shown"
contains "$tmp/out" "step 4: quantize, seed 0" "step 4 shown"
contains "$tmp/out" 'result {"final_loss"' "a step's result shown"
expect 0 "generate with the recipe's q8_0 child" -- "$BIN" generate --model blend-1 --prompt "1+2=" -n 2
check "$([ -z "$(ls -A "$D/work" 2>/dev/null)" ]; echo $?)" "no working folder left by the recipe"
expect 1 "recipe rerun without its corpus" -- "$BIN" breed --rerun blend-1
contains "$tmp/err" "corpora" "corpus asked for"
expect 0 "recipe rerun" -- "$BIN" breed --rerun blend-1 --corpus "$tmp/c.jsonl"
contains "$tmp/out" "the same bytes" "recipe rerun same"
# distill: the student (another architecture's root) given as the base, the teacher a parent
expect 0 "distill" -- "$BIN" breed --op distill --base other --parents eco-tiny --corpus "$tmp/c.jsonl" \
  --param steps=1 --param lr=0.001 --param batch=2 --param seq=32 --param seed=1 --id student-1
contains "$tmp/out" "registered student-1 (distilled" "distilled child"
expect 3 "distill without a student" -- "$BIN" breed --op distill --parents eco-tiny --corpus "$tmp/c.jsonl" \
  --param steps=1 --param lr=0.001
contains "$tmp/err" "needs a base" "student asked for"
cat >"$tmp/bad.json" <<'EOF2'
{"name": "bad", "parents": ["eco-tiny", "other"], "steps": [{"op": "linear", "params": {"weights": [1, 1]}}]}
EOF2
expect 3 "recipe with incompatible parents" -- "$BIN" recipe run "$tmp/bad.json"
contains "$tmp/err" "steps[0] (linear)" "refusing step named"
contains "$tmp/err" "differ in base_family" "refusal's field named"
echo '{"name": "x", "parents": ["eco-tiny"], "steps": [{"op": "blend"}]}' >"$tmp/bad2.json"
expect 1 "malformed recipe" -- "$BIN" recipe run "$tmp/bad2.json"
contains "$tmp/err" "steps[0].op" "malformed field named"
expect 2 "recipe without a file" -- "$BIN" recipe run
expect 2 "recipe unknown subcommand" -- "$BIN" recipe frob

# usage errors
expect 2 "no --op" -- "$BIN" breed --parents eco-tiny
expect 2 "unknown operator" -- "$BIN" breed --op blend --parents eco-tiny
contains "$tmp/err" "blend" "unknown operator named"
expect 2 "no parents" -- "$BIN" breed --op linear
expect 2 "empty parent" -- "$BIN" breed --op linear --parents eco-tiny,,arith
expect 2 "bad --param" -- "$BIN" breed --op linear --parents eco-tiny --param weights
expect 2 "--param twice" -- "$BIN" breed --op linear --parents eco-tiny --param a=1 --param a=2
expect 2 "--param bad JSON" -- "$BIN" breed --op linear --parents eco-tiny --param 'a=[1,'
expect 2 "--rerun with --op" -- "$BIN" breed --rerun child --op fold
expect 2 "--out without --rerun" -- "$BIN" breed --op fold --parents eco-tiny,arith --out x
expect 1 "unknown parent" -- "$BIN" breed --op fold --parents eco-tiny,nobody
contains "$tmp/err" "nobody" "unknown parent named"

finish test_breed_cli
