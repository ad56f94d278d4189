#!/usr/bin/env bash
# The loop's commands (issue 21): `ecology demo --quick` (data/loop/quick.json: eco-tiny and
# the reverse and sort adapters, 2 generations at small n) runs the loop end to end and says
# where its results are; its record holds every event type of the loop; `archive show`
# (table, --json, --profile); `promote` (gated: exit 3 without an accepted report, a move
# with one); `rollback`; running the demo again continues the same population.
. "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=passive
D="$tmp/data"
cd "$tmp" || exit 1 # the shipped config is found beside the executable

expect 0 "demo --quick" -- "$BIN" demo --quick --minutes 10 --data-dir "$D"
cp "$tmp/out" "$tmp/demo.out"
contains "$tmp/demo.out" "generation 0: bred 0" "the seeding's line"
contains "$tmp/demo.out" "generation 1: bred 2" "generation 1 bred two children"
contains "$tmp/demo.out" "generation 2:" "generation 2's line"
contains "$tmp/demo.out" "text.reverse@1 = " "the champion of reverse in the progress line"
contains "$tmp/demo.out" "results in $D" "where the results are"
contains "$tmp/demo.out" "report: $D/report/index.html" "the report page's place"
exists "$D/report/index.html"
contains "$D/report/index.html" 'id="pareto-front"' "the report's Pareto front"
"$BIN" events --json --data-dir "$D" >"$tmp/events"
for t in loop-start generation candidate gate archive hard-examples promote canary; do
  contains "$tmp/events" "\"type\":\"$t\"" "an event of type $t"
done
contains "$tmp/events" '"by":"seed"' "the champions set by the seeding"
contains "$tmp/events" '"id":"quick-g1-0"' "the first child in the archive"
# every canary decided, with its reasons (a promotion, or why none was)
n_canary=$(grep -c '"type":"canary"' "$tmp/events")
n_decided=$(grep '"type":"canary"' "$tmp/events" | grep -E '"decision":"(promote|abort)"' | grep -c '"reasons":\["')
check $([ "$n_canary" -ge 1 ] && [ "$n_canary" = "$n_decided" ] && echo 0 || echo 1) \
  "canaries with a decision and reasons: $n_decided of $n_canary"
# a seeded champion's gate event names its held-out and shift scores
contains "$tmp/events" '"quality":{"text.reverse@1":' "held-out exact match in a gate event"

expect 0 "archive show" -- "$BIN" archive show --data-dir "$D"
contains "$tmp/out" "q_text_reverse_1" "per-capability objective in the table"
expect 0 "archive show --json" -- "$BIN" archive show --json --data-dir "$D"
contains "$tmp/out" '"members":[' "archive JSON"
contains "$tmp/out" '"best":null' "no profile: no best"
expect 0 "archive show --profile" -- "$BIN" archive show --profile min_q_text_sort_1=0.5 --data-dir "$D"
contains "$tmp/out" "best for min_q_text_sort_1=0.5:" "the best member for a profile"
expect 2 "a profile on an objective the archive lacks" -- \
  "$BIN" archive show --profile max_p95_ms=50 --data-dir "$D"
contains "$tmp/err" "the archive has no objective 'p95_ms'" "the missing objective named"

# promote: gated (the base has no report), then a move to an accepted child and back
expect 3 "promote without an accepted report" -- \
  "$BIN" promote eco-tiny --capability text.sort@1 --data-dir "$D"
acc=$(grep '"type":"gate"' "$tmp/events" | grep '"accepted":true' | grep '"text.sort@1"' |
  grep -o '"model":"quick-g[^"]*"' | head -1 | cut -d'"' -f4)
champ=$("$BIN" alias get text.sort@1.champion --data-dir "$D")
if [ -n "$acc" ] && [ "$acc" != "$champ" ]; then
  expect 0 "promote an accepted child" -- "$BIN" promote "$acc" --capability text.sort@1 --data-dir "$D"
  contains "$tmp/out" "text.sort@1.champion -> $acc" "the champion moved"
  expect 0 "rollback" -- "$BIN" rollback text.sort@1 --reason "test" --data-dir "$D"
  contains "$tmp/out" "text.sort@1.champion -> $champ" "the champion moved back"
  "$BIN" events --json --data-dir "$D" >"$tmp/events2"
  contains "$tmp/events2" '"by":"manual"' "the manual promotion recorded"
  contains "$tmp/events2" '"reason":"test"' "the rollback recorded with its reason"
else
  fail "no accepted sort child other than the champion to promote (accepted '$acc', champion '$champ')"
fi

# again: the same population, continued (the quick budget is reached: nothing bred)
expect 0 "demo --quick again" -- "$BIN" demo --quick --data-dir "$D"
contains "$tmp/out" "continuing run quick after generation 2" "the run continued"
n_reg=$("$BIN" events --json --data-dir "$D" | grep -c '"type":"register"')
n_reg1=$(grep -c '"type":"register"' "$tmp/events")
check $([ "$n_reg" = "$n_reg1" ] && echo 0 || echo 1) "nothing registered again ($n_reg1, then $n_reg)"
finish test_loop_cli
