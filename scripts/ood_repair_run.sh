#!/usr/bin/env bash
# One run of the loop's out-of-distribution repair (issue 21; data/README.md, "The loop's
# recipes"): continue a capability adapter on mined hard examples mixed with the
# capability's own TRAIN items, then score the child on the held-out half of the shift
# corpus (never mined) and on the in-distribution held-out split. Appends one TSV row to
# $RESULTS (default /tmp/exp/results.tsv): name, settings, load before, train seconds,
# train CPU seconds, final loss, OOD passed/n, ID passed/n.
#
#   scripts/ood_repair_run.sh NAME HARD.jsonl[,MORE.jsonl...] ID_ITEMS STEPS BATCH LR WARMUP [REPEAT]
#
# HARD files are concatenated REPEAT times (default 1: upweighting the mined records),
# then ID_ITEMS TRAIN items of the capability (tasks generate --split train --seed 7; 0:
# none) are appended; `ecology train --init-adapter` trains on the file as the breeder's
# finetune operator does (weight decay 0, seq 128, min lr ratio 0.1).
# Environment: B (ecology binary), MODEL, ADAPTER, CAP, HELDOUT (the held-out half),
# THREADS (default 1), OUTDIR (default /tmp/exp), ID_N (default 200), SEED (default 1).
set -euo pipefail
[ $# -ge 7 ] || { sed -n 2,18p "$0"; exit 2; }
name=$1 hard=$2 n_id=$3 steps=$4 batch=$5 lr=$6 warmup=$7 repeat=${8:-1}
root=$(cd "$(dirname "$0")/.." && pwd)
B=${B:-$root/build-bench/ecology}
MODEL=${MODEL:-$root/data/models/eco-tiny}
ADAPTER=${ADAPTER:-$root/data/adapters/text.reverse@1}
CAP=${CAP:-text.reverse@1}
OUTDIR=${OUTDIR:-/tmp/exp}
HELDOUT=${HELDOUT:-$OUTDIR/heldout.jsonl}
THREADS=${THREADS:-1}
ID_N=${ID_N:-200}
RESULTS=${RESULTS:-$OUTDIR/results.tsv}
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
run=$OUTDIR/run-$name
rm -rf "$run"
mkdir -p "$run"
data=$run/data.jsonl
: >"$data"
for ((i = 0; i < repeat; i++)); do
    IFS=, read -ra files <<<"$hard"
    for f in "${files[@]}"; do cat "$f" >>"$data"; done
done
n_hard=$(wc -l <"$data")
if [ "$n_id" -gt 0 ]; then
    "$B" tasks generate --capability "$CAP" --split train --n "$n_id" --seed 7 >>"$data"
fi
printf '{"signature":{"required":false}}\n' >"$run/gates.json"
load0=$(cut -d' ' -f1 /proc/loadavg)
t0=$(date +%s.%N)
/usr/bin/time -f %U -o "$run/cpu" "$B" train --model "$MODEL" --data "$data" --init-adapter "$ADAPTER" --adapter-out "$run/adapter" \
    --steps "$steps" --batch "$batch" --seq 128 --lr "$lr" --seed "${SEED:-1}" --warmup "$warmup" \
    --weight-decay 0 --threads "$THREADS" --json >"$run/train.json" 2>"$run/train.log"
t1=$(date +%s.%N)
load1=$(cut -d' ' -f1 /proc/loadavg)
secs=$(python3 -c "print(f'{$t1-$t0:.0f}')")
cpu=$(tail -1 "$run/cpu" | cut -d. -f1)
loss=$(python3 -c "
import json; r=json.load(open('$run/train.json'))
f=lambda k: r.get(k) if isinstance(r,dict) else None
print(f('first_loss') or '', f('final_loss') or f('last_loss') or '', sep='->')" 2>/dev/null || echo '?')
"$B" eval --model "$MODEL" --adapter "$run/adapter" --corpus "$HELDOUT" --no-robustness \
    --threads "$THREADS" --gates "$run/gates.json" --out "$run/ood.json" >"$run/ood.txt" 2>&1 || true
ood=$(python3 -c "
import json; r=json.load(open('$run/ood.json')); c=r['cases']
print(f'{sum(x[\"passed\"] for x in c)}/{len(c)}')")
"$B" tasks eval --model "$MODEL" --adapter "$run/adapter" --capability "$CAP" --n "$ID_N" \
    --seed 0 --threads "$THREADS" --json >"$run/id.json" 2>/dev/null
id=$(python3 -c "
import json; r=json.load(open('$run/id.json')); print(f'{r[\"correct\"]}/{r[\"n\"]}')")
printf '%s\thard=%s x%s (%s rec)\tid=%s\tsteps=%s\tbatch=%s\tlr=%s\twarmup=%s\tload=%s->%s\t%ss (cpu %ss)\tloss=%s\tood=%s\tid=%s\n' \
    "$name" "$hard" "$repeat" "$n_hard" "$n_id" "$steps" "$batch" "$lr" "$warmup" "$load0" "$load1" \
    "$secs" "$cpu" "$loss" "$ood" "$id" | tee -a "$RESULTS"
rm -rf "$run/adapter/.work"
