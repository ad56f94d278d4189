#!/usr/bin/env bash
# `ecology rl` end to end on the shipped eco-tiny model: help, usage errors (exit 2), a short
# run continuing the shipped arith adapter that writes the adapter and training.json, --json
# output, the output folder's rule (no overwriting without --force), and --stop-after then
# --resume ending with the bytes of an uninterrupted run.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
M="$SRC/data/models/eco-tiny"
AD="$SRC/data/adapters/arith.add@1"
C="--capability arith.add@1"
H="--group 3 --batch 2 --steps 3 --eval-n 20 --eval-every 2 --lr 0.003 --seed 1 --threads 2"

expect 0 "rl --help" -- "$BIN" rl --help
contains "$tmp/out" "--capability" "help lists --capability"

# usage errors: exit 2, one line, naming the problem
expect 2 "rl without --capability" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $H --adapter-out "$tmp/o"
contains "$tmp/err" "--capability" "missing --capability named"; one_line "missing --capability"
expect 2 "rl --lora with --adapter" -- "$BIN" rl --model "$M" --adapter "$AD" --lora r=4,targets=q $C $H --adapter-out "$tmp/o"
contains "$tmp/err" "--adapter" "--lora with --adapter named"; one_line "--lora with --adapter"
expect 2 "rl --continue without --adapter" -- "$BIN" rl --model "$M" --continue $C $H --adapter-out "$tmp/o"
contains "$tmp/err" "--continue needs --adapter" "--continue without --adapter named"; one_line "--continue alone"
expect 2 "rl unknown capability" -- "$BIN" rl --model "$M" --adapter "$AD" --continue --capability nope@1 $H --adapter-out "$tmp/o"
contains "$tmp/err" "nope@1" "unknown capability named"; one_line "unknown capability"
expect 2 "rl --group 1" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $C --group 1 --batch 2 --steps 3 --adapter-out "$tmp/o"
contains "$tmp/err" "--group" "--group 1 named"; one_line "--group 1"
[ ! -e "$tmp/o" ]; check $? "no output after usage errors"

# a short run
expect 0 "rl run" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $C $H --adapter-out "$tmp/a" --json
for f in adapter_config.json adapter_model.safetensors training.json; do exists "$tmp/a/$f"; done
python3 - "$tmp/out" "$tmp/a/training.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = json.load(open(sys.argv[2]))
assert r["finished"] is True and r["steps_done"] == 3 and r["resumed"] is False, r
assert t["steps_done"] == 3 and len(t["curve"]) == 3, t["steps_done"]
assert t["run"]["mode"] == "rl" and t["run"]["capabilities"] == ["arith.add@1"], t["run"]
assert [h["step"] for h in t["heldout"]] == [0, 2, 3], t["heldout"]
assert abs(r["heldout_end"] - t["heldout"][-1]["arith.add@1"]) < 1e-12, (r, t["heldout"])
PY
check $? "--json output and training.json agree"
cmp -s "$AD/adapter_model.safetensors" "$tmp/a/adapter_model.safetensors"
[ $? != 0 ]; check $? "the adapter changed"

# a non-empty output folder is refused without --force
expect 1 "rl into a non-empty folder" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $C $H --adapter-out "$tmp/a"
contains "$tmp/err" "--force" "refusal names --force"

# --stop-after then --resume: the bytes of the uninterrupted run
expect 0 "rl --stop-after 1" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $C $H --adapter-out "$tmp/b" --stop-after 1
[ ! -e "$tmp/b/adapter_model.safetensors" ]; check $? "no adapter after --stop-after"
exists "$tmp/b/.work/checkpoint.safetensors"
expect 0 "rl --resume" -- "$BIN" rl --model "$M" --adapter "$AD" --continue $C $H --adapter-out "$tmp/b" --resume --json
contains "$tmp/out" '"resumed":true' "resumed"
cmp -s "$tmp/a/adapter_model.safetensors" "$tmp/b/adapter_model.safetensors"; check $? "resumed adapter bytes equal"
cmp -s "$tmp/a/training.json" "$tmp/b/training.json"; check $? "resumed training.json bytes equal"

finish "test_rl_cli"
