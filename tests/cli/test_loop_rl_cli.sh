#!/usr/bin/env bash
# The ecology loop breeding with the rl operator: quick.json's population (eco-tiny and two
# shipped adapters) with one operator entry, "rl", which takes a tournament winner (an adapter)
# on its base; one generation breeds two rl children, each gated, archived and canaried, its
# lineage the rl operation with the entry's settings.
source "$(dirname "$0")/lib/harness.sh"
use_registry
python3 - "$SRC" "$tmp/rl.json" <<'PY'
import json, sys
src, out = sys.argv[1], sys.argv[2]
c = json.load(open(src + "/data/loop/quick.json"))
for p in c["population"]:
    p["path"] = p["path"].replace("../", src + "/data/")
c["operators"] = [{"op": "rl", "weight": 1,
                   "params": {"steps": 2, "batch": 2, "group": 4, "lr": 1e-5, "eval_n": 0}}]
c["budget"] = {"generations": 1, "minutes": 5}
json.dump(c, open(out, "w"))
PY
expect 0 "run one generation" -- env OMP_NUM_THREADS=1 "$BIN" run --config "$tmp/rl.json"
contains "$tmp/out" "bred 2, rejected 0, breeding failed 0" "two rl children bred"
expect 0 "show a child" -- "$BIN" show quick-g1-0 --json
contains "$tmp/out" '"kind":"adapter"' "an adapter"
contains "$tmp/out" '"name":"rl"' "bred by rl"
contains "$tmp/out" '"group":4' "the entry's settings"
contains "$tmp/out" '"base":"eco-tiny"' "on the parent's base"
finish test_loop_rl_cli
