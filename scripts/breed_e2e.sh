#!/usr/bin/env bash
# Breeding end to end on the default model (issue 18, "End to end on the default model"):
# merge two capability adapters of eco-tiny with each method, then measure each parent
# skill's held-out exact match in each parent, in the merged child, and in the child after a
# short fine-tune on both capabilities' training data mixed; print one table.
#
#   scripts/breed_e2e.sh [--n N] [--train-n N] [--steps S] [--batch B] [--seq T] [--lr LR]
#                        [--warmup W] [--rank R] [--density D] [--methods "ties linear"]
#                        [--threads T] [--out DIR] [--weights w1,w2] [--mix A:B]
#                        [--train-args "ARGS"] [--goal]
#                        [--parents-only] [--no-parents] [--no-child-eval] [--no-finetune]
#                        [--no-after-eval]
#
#   --n          held-out items per evaluation (default 200, `ecology tasks eval --n`)
#   --train-n    training items per capability in the fine-tune mix (default 400; the
#                TRAIN split, seed 7, so never the held-out items)
#   --steps ...  the fine-tune (LoRA continued from the child's own weights:
#                `ecology train --init-adapter`): default 30 steps, batch 8, seq 128, lr 1e-3,
#                --warmup 0 (linear warm-up steps, then cosine decay)
#   --rank       the merged adapter's rank (default 64 = 32 + 32: linear is then an exact
#                concatenation)
#   --methods    merge methods (default "ties linear"); weights: ties 1,1 (density --density,
#                default 1), linear 0.5,0.5 (the model soup); "fresh" is the baseline without
#                a merge: a new LoRA (r = --rank, alpha 2r, all seven projections) trained
#                from scratch by the same fine-tune (its "child" is the bare model)
#   --weights    the merge weights (reverse, sort) instead of the method's default above
#                (linear normalises them: 1,2 is 1/3, 2/3)
#   --mix A:B    TRAIN items of reverse and sort in the ratio A:B, 2 x --train-n in all
#                (default 1:1: --train-n of each)
#   --train-args more `ecology train` options, one word each (e.g. "--weight-decay 0")
#   --goal       the issue's goal (data/README.md, "Longer fine-tunes"): --methods linear
#                --weights 1,2 --mix 1:2 --train-n 8000 --steps 500 --batch 16 --lr 1.5e-3
#                --warmup 30 (options after it override these)
#   --out        keep the folders (default: a temporary folder, removed)
#   --no-parents, --no-child-eval, --no-after-eval: skip scoring the parents / the merged
#                children before the fine-tune / the fine-tuned children ("-")
#   --no-finetune: no fine-tune at all
# Environment: ECOLOGY_BIN (default build/ecology), ECO_SOURCE_DIR (default the checkout).
# Output: a Markdown table on stdout, one row per (method, capability): the parent's score,
# the child's before and after the fine-tune, and the share of the parent's score kept; then
# the seconds each phase took. Exit 1 when a command fails (its stderr is shown).
set -euo pipefail

SRC=${ECO_SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${ECOLOGY_BIN:-$SRC/build/ecology}
N=200 TRAIN_N=400 STEPS=30 BATCH=8 SEQ=128 LR=1e-3 WARMUP=0 RANK=64 DENSITY=1 THREADS=2
METHODS="ties linear" OUT="" WEIGHTS="" MIX="1:1" TRAIN_ARGS="" PARENTS_ONLY=0 PARENTS=1 FINETUNE=1 AFTER=1 CHILD=1
while [ $# -gt 0 ]; do
  case $1 in
    --n) N=$2; shift 2 ;;
    --train-n) TRAIN_N=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --batch) BATCH=$2; shift 2 ;;
    --seq) SEQ=$2; shift 2 ;;
    --lr) LR=$2; shift 2 ;;
    --warmup) WARMUP=$2; shift 2 ;;
    --rank) RANK=$2; shift 2 ;;
    --density) DENSITY=$2; shift 2 ;;
    --methods) METHODS=$2; shift 2 ;;
    --threads) THREADS=$2; shift 2 ;;
    --weights) WEIGHTS=$2; shift 2 ;;
    --mix) MIX=$2; shift 2 ;;
    --train-args) TRAIN_ARGS=$2; shift 2 ;;
    --goal) METHODS=linear WEIGHTS=1,2 MIX=1:2 TRAIN_N=8000 STEPS=500 BATCH=16 LR=1.5e-3
      WARMUP=30; shift ;;
    --out) OUT=$2; shift 2 ;;
    --parents-only) PARENTS_ONLY=1; shift ;;
    --no-parents) PARENTS=0; shift ;;
    --no-finetune) FINETUNE=0; shift ;;
    --no-after-eval) AFTER=0; shift ;;
    --no-child-eval) CHILD=0; shift ;;
    -h|--help) sed -n '2,39p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "breed_e2e: unknown option '$1' (--help)" >&2; exit 2 ;;
  esac
done

MODEL=$SRC/data/models/eco-tiny
CAPS=(text.reverse@1 text.sort@1)
PARENT_DIRS=("$SRC/data/adapters/text.reverse@1" "$SRC/data/adapters/text.sort@1")
if [ -n "$OUT" ]; then mkdir -p "$OUT"; W=$OUT; else
  W=$(mktemp -d); trap 'rm -rf "$W"' EXIT; fi

# run LOG command...: the command's stdout and stderr to $W/LOG; on failure show them, exit 1
run() {
  local log=$W/$1; shift
  if ! "$@" >"$log" 2>&1; then
    echo "breed_e2e: failed: $*" >&2; tail -20 "$log" >&2; exit 1
  fi
}
# score ADAPTER CAP: the exact match (a fraction) of eco-tiny + ADAPTER on CAP's held-out split
score() {
  local log="eval-$(basename "${1:-bare}")-$2.json" ad=()
  if [ -n "$1" ]; then ad=(--adapter "$1"); fi
  run "$log" "$BIN" tasks eval --model "$MODEL" "${ad[@]}" --capability "$2" --n "$N" \
    --threads "$THREADS" --json --failures 0
  sed -n 's/^ *"accuracy": *\([0-9.eE+-]*\),\{0,1\}$/\1/p' "$W/$log" | head -1
}
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b != "" && b > 0) printf "%.3f", a / b; else printf "-" }'; }
pct() { if [ -z "$1" ]; then printf -- "-"; else awk -v a="$1" 'BEGIN { printf "%.1f%%", 100 * a }'; fi; }

declare -A PARENT
TIMES="" LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(now)
for i in 0 1; do
  if [ "$PARENTS" = 1 ]; then PARENT[${CAPS[$i]}]=$(score "${PARENT_DIRS[$i]}" "${CAPS[$i]}")
  else PARENT[${CAPS[$i]}]=""; fi
done
t1=$(now)
TIMES+="parent evals $(secs "$t0" "$t1")s"
if [ "$PARENTS_ONLY" = 1 ]; then
  for c in "${CAPS[@]}"; do echo "$c parent $(pct "${PARENT[$c]}")"; done
  exit 0
fi

# the fine-tune data: both capabilities' TRAIN items, mixed
t0=$(now)
: >"$W/mix.jsonl"
MIX_A=${MIX%%:*} MIX_B=${MIX#*:}
for i in 0 1; do
  w=$MIX_A; if [ "$i" = 1 ]; then w=$MIX_B; fi
  n=$(awk -v n="$TRAIN_N" -v w="$w" -v a="$MIX_A" -v b="$MIX_B" \
    'BEGIN { if (a + b <= 0) exit 1; printf "%d", 2 * n * w / (a + b) + 0.5 }') ||
    { echo "breed_e2e: --mix '$MIX': expected A:B, two non-negative numbers" >&2; exit 2; }
  if [ "$n" -gt 0 ]; then
    "$BIN" tasks generate --capability "${CAPS[$i]}" --split train --n "$n" --seed 7 \
      >>"$W/mix.jsonl"
  fi
done
TIMES+=", data $(secs "$t0" "$(now)")s"

ROWS="" FTLINES="" GOALS=""
for m in $METHODS; do
  MOPT=()
  case $m in
    linear) MOPT=(--weights 0.5,0.5) ;;
    ties) MOPT=(--weights 1,1 --density "$DENSITY") ;;
    *) MOPT=(--weights 1,1) ;;
  esac
  if [ -n "$WEIGHTS" ]; then MOPT[1]=$WEIGHTS; fi
  child=$W/child-$m
  t0=$(now)
  if [ "$m" = fresh ]; then
    INIT=(--lora "r=$RANK,alpha=$((2 * RANK)),targets=q,k,v,o,gate,up,down") scored=""
  else
    run "merge-$m.log" "$BIN" merge --method "$m" \
      --parents "${PARENT_DIRS[0]},${PARENT_DIRS[1]}" "${MOPT[@]}" --rank "$RANK" \
      --out "$child" --force
    INIT=(--init-adapter "$child") scored=$child
  fi
  t1=$(now)
  TIMES+=", merge $m $(secs "$t0" "$t1")s"
  declare -A BEFORE=() AFTER_S=()
  if [ "$CHILD" = 1 ]; then
    for c in "${CAPS[@]}"; do BEFORE[$c]=$(score "$scored" "$c"); done
  fi
  t2=$(now)
  TIMES+=", child evals $(secs "$t1" "$t2")s"
  if [ "$FINETUNE" = 1 ]; then
    FTLOAD=$(cut -d' ' -f1 /proc/loadavg)
    run "finetune-$m.log" "$BIN" train --model "$MODEL" "${INIT[@]}" \
      --adapter-out "$child-ft" --data "$W/mix.jsonl" --steps "$STEPS" --batch "$BATCH" \
      --seq "$SEQ" --lr "$LR" --warmup "$WARMUP" --seed 1 --threads "$THREADS" --force $TRAIN_ARGS
    t3=$(now)
    TIMES+=", fine-tune $m $(secs "$t2" "$t3")s"
    FTLINES+="fine-tune $m (load $FTLOAD at its start): $(grep -o 'steps [0-9/]*, loss .*' \
      "$W/finetune-$m.log" | tail -1)"$'\n'
    if [ "$AFTER" = 1 ]; then
      for c in "${CAPS[@]}"; do AFTER_S[$c]=$(score "$child-ft" "$c"); done
      TIMES+=", fine-tuned evals $(secs "$t3" "$(now)")s"
    fi
  fi
  for c in "${CAPS[@]}"; do
    p=${PARENT[$c]} b=${BEFORE[$c]:-} a=${AFTER_S[$c]:-}
    last=${a:-$b}
    ROWS+="| $m | $c | $(pct "$p") | $(pct "$b") | $(pct "$a") | $(ratio "$last" "$p") |"$'\n'
  done
  # the issue's goal: each parent skill kept >= 0.95 after a fine-tune of <= 180 s (2 cores)
  if [ "$FINETUNE" = 1 ] && [ "$AFTER" = 1 ] && [ "$PARENTS" = 1 ]; then
    k0=$(ratio "${AFTER_S[${CAPS[0]}]}" "${PARENT[${CAPS[0]}]}")
    k1=$(ratio "${AFTER_S[${CAPS[1]}]}" "${PARENT[${CAPS[1]}]}")
    ft=$(secs "$t2" "$t3")
    met=$(awk -v a="$k0" -v b="$k1" -v t="$ft" 'BEGIN {
      k = (a >= 0.95 && b >= 0.95) ? "kept: met" : "kept: not met"
      printf "%s, time: %s", k, (t <= 180 ? "met" : "not met (at this load)") }')
    GOALS+="goal $m (each skill kept >= 0.95, fine-tune <= 180 s): kept $k0 / $k1, fine-tune ${ft} s at load $FTLOAD: $met"$'\n'
  fi
done

echo "eco-tiny, --n $N held-out items, rank $RANK, ties density $DENSITY; fine-tune: $STEPS steps, batch $BATCH, seq $SEQ, lr $LR, warmup $WARMUP, $TRAIN_N train items per capability (mix $MIX), merge weights ${WEIGHTS:-default}${TRAIN_ARGS:+, train $TRAIN_ARGS}, $THREADS threads; load average at the start: $LOAD0"
echo
echo "| method | skill | parent | child | child + fine-tune | kept (last / parent) |"
echo "|---|---|---|---|---|---|"
printf "%s" "$ROWS"
echo
printf "%s" "$FTLINES"
printf "%s" "$GOALS"
echo "seconds: $TIMES"
