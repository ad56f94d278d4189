#!/usr/bin/env bash
# ecology breed on the shipped eco-tiny model and its adapters, in a temporary registry:
# a signed child registered with its lineage (show, verify, lineage showing the step),
# incompatible parents (a model created with the tiny preset) refused with exit 3 naming
# the field, --rerun reproducing the bytes with 1 and 2 threads (and --out keeping them),
# a child whose bytes were altered re-running to "differs" (exit 1), usage errors (exit 2).
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

# an operator not in this build (until its folder function lands): exit 1, said so
"$BIN" breed --op mutate --parents eco-tiny --id m >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 1 ]; then contains "$tmp/err" "mutate" "unsupported operator named"; fi

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
