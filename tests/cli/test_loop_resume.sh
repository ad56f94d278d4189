#!/usr/bin/env bash
# The loop resumes after kill -9 at any moment without losing or duplicating a model
# (issue 21): a tiny loop (data/loop/quick.json: eco-tiny and two adapters, 2 generations of
# 2 children at small n) runs once uninterrupted; then again in another data folder, killed
# with SIGKILL each time the event log reaches a drawn length (polling `ecology events`),
# and resumed until it finishes. Checks: no model registered twice, every candidate has its
# gate event, the run finished both times, and the final state equals the uninterrupted
# run's: the same model ids, the same archive (members and values), the same champions.
# ECO_LOOP_KILLS (default 4) kill points, drawn from ECO_LOOP_SEED (default: the date).
. "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2} OMP_WAIT_POLICY=passive
# the shipped quick config, its model paths made absolute
sed "s#\"\\.\\./#\"$SRC/data/#" "$SRC/data/loop/quick.json" >"$tmp/loop.json"

run() { "$BIN" run --config "$tmp/loop.json" --minutes 600 --data-dir "$1"; }
events() { "$BIN" events --data-dir "$1" --json 2>/dev/null; }
n_events() { events "$1" | wc -l; }

# the state compared: model ids, the archive, the champions
state() {
  "$BIN" list --data-dir "$1" 2>/dev/null | awk 'NR>1 {print $1}' | sort
  "$BIN" archive show --json --data-dir "$1"
  for c in text.reverse@1 text.sort@1; do "$BIN" alias get "$c.champion" --data-dir "$1"; done
}

# 1. uninterrupted
expect 0 "uninterrupted run" -- run "$tmp/a"
cp "$tmp/out" "$tmp/a.out"
contains "$tmp/a.out" "generation 2:" "the run reached generation 2"
total=$(n_events "$tmp/a")
check $([ "$total" -gt 20 ] && echo 0 || echo 1) "uninterrupted run logged $total events"

# 2. killed at drawn event counts, resumed each time
seed=${ECO_LOOP_SEED:-$(date +%s)}
kills=${ECO_LOOP_KILLS:-4}
echo "kill points drawn from seed $seed (ECO_LOOP_SEED), $kills kills"
RANDOM=$seed
points=$(for _ in $(seq "$kills"); do echo $((RANDOM % (total - 4) + 2)); done | sort -n | uniq)
b="$tmp/b"
for p in $points; do
  # the command itself in the background (not a function: its subshell would be killed and
  # the loop left running)
  "$BIN" run --config "$tmp/loop.json" --minutes 600 --data-dir "$b" >"$tmp/b.out" 2>"$tmp/b.err" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null && [ "$(n_events "$b")" -lt "$p" ]; do sleep 0.05; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -9 "$pid"
    wait "$pid" 2>/dev/null
    echo "killed at $(n_events "$b") events (point $p)"
  else
    wait "$pid"
    echo "finished before point $p"
  fi
done
expect 0 "the resumed run finishes" -- run "$b"
cp "$tmp/out" "$tmp/b.out"

# 3. checks
events "$b" >"$tmp/b.events"
dups=$(grep '"type":"register"' "$tmp/b.events" | sed 's/.*"model":"\([^"]*\)".*/\1/' | sort | uniq -d)
check $([ -z "$dups" ] && echo 0 || echo 1) "models registered twice: $dups"
missing=""
for id in $(grep '"type":"candidate"' "$tmp/b.events" | sed 's/.*"model":"\([^"]*\)".*/\1/' | sort -u); do
  grep -q "\"model\":\"$id\",\"seq\":[0-9]*,\"type\":\"gate\"" "$tmp/b.events" || missing="$missing $id"
done
check $([ -z "$missing" ] && echo 0 || echo 1) "candidates without a gate event:$missing"
n_cand=$(grep '"type":"candidate"' "$tmp/b.events" | sed 's/.*"model":"\([^"]*\)".*/\1/' | sort -u | wc -l)
check $([ "$n_cand" -ge 2 ] && echo 0 || echo 1) "candidates bred: $n_cand"
grep -q '"phase":"end"' "$tmp/b.events" && grep -q '"generation":2,"phase":"end"' "$tmp/b.events"
check $? "generation 2 finished after the kills"
state "$tmp/a" >"$tmp/a.state"
state "$b" >"$tmp/b.state"
if cmp -s "$tmp/a.state" "$tmp/b.state"; then pass; else
  fail "the resumed run's state differs from the uninterrupted run's"
  diff "$tmp/a.state" "$tmp/b.state" | head -20 | sed 's/^/  | /'
fi
finish test_loop_resume
