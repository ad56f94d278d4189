#!/usr/bin/env bash
# Issue 19, on the default model: for each synthetic capability, its in-distribution corpus
# (`ecology corpus build`, n 30) passes a gates file holding that capability's minimum with
# the shipped adapter (data/adapters/<cap>, exit 0) and fails it with the bare eco-tiny
# (exit 3), the numbers printed; the out-of-distribution (--shift) figures are printed
# beside them, not gated. Run by ctest with ECOLOGY_BIN set.
#
# The minimum: 0.70 for every capability. data/README.md's held-out figures (n 200) are
# 93.5% (arith.add@1), 99.5% (text.reverse@1), 95.5% (text.sort@1), 91.5% (json.record@1),
# the bare base's 0-12%. At n 30 a true rate of 91.5% falls below 0.70 with probability
# about 0.2% (binomial: 21 or fewer of 30), and the base's best (12%) reaches it with
# probability ~1e-12; the corpus is fixed (--seed 1), so the verdicts are deterministic.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
MODEL="$SRC/data/models/eco-tiny"
export OMP_NUM_THREADS=1 # a 2.7M-parameter model only loses from more threads
unset ECOLOGY_DATA
MIN=0.7
N=30

# "pass rate k/n" of capability $1 in the report JSON $2 ($3: in_distribution or shift)
figure() {
  python3 -c 'import json,sys; f=json.load(open(sys.argv[2]))["capabilities"][sys.argv[1]][sys.argv[3]]
print("%.3f (%d/%d)" % (f["rate"], f["k"], f["n"]))' "$1" "$2" "$3"
}
# the longest expected answer of corpus $1 in bytes, plus room for the stop (byte tokenizer)
max_tokens() {
  python3 -c 'import json,sys; print(max(len(json.loads(l)["expected"].encode()) for l in open(sys.argv[1])) + 4)' "$1"
}

printf '%-16s %-18s %-18s %-18s\n' CAPABILITY "ADAPTER ID" "BASE ID" "ADAPTER OOD"
for cap in arith.add@1 text.reverse@1 text.sort@1 json.record@1; do
  id="$tmp/$cap.id.jsonl" ood="$tmp/$cap.ood.jsonl"
  expect 0 "$cap: corpus" -- "$BIN" corpus build --capability "$cap" --n $N --seed 1 --out "$id"
  expect 0 "$cap: shift corpus" -- "$BIN" corpus build --capability "$cap" --n $N --seed 1 --shift --out "$ood"
  printf '{"quality": {"min": {"%s": %s}}, "signature": {"required": false}}\n' "$cap" $MIN >"$tmp/gates.json"
  mt=$(max_tokens "$id")
  run=(eval --model "$MODEL" --threads 1 --no-robustness --max-tokens "$mt")
  expect 0 "$cap: the adapter passes its minimum $MIN" -- \
    "$BIN" "${run[@]}" --adapter "$SRC/data/adapters/$cap" --corpus "$id" --gates "$tmp/gates.json" --out "$tmp/a.json"
  expect 3 "$cap: the bare base fails it" -- \
    "$BIN" "${run[@]}" --corpus "$id" --gates "$tmp/gates.json" --out "$tmp/b.json"
  contains "$tmp/out" "failed quality.min[$cap]" "$cap: the base rejected on its quality gate"
  mt=$(max_tokens "$ood")
  # not gated: only the signature gate is turned off (folders are unsigned); the default
  # safety gates measure nothing on this corpus and pass
  printf '{"signature": {"required": false}}\n' >"$tmp/nogate.json"
  expect 0 "$cap: the adapter out of distribution (no gate)" -- \
    "$BIN" eval --model "$MODEL" --threads 1 --no-robustness --max-tokens "$mt" \
    --adapter "$SRC/data/adapters/$cap" --corpus "$ood" --gates "$tmp/nogate.json" --out "$tmp/o.json"
  printf '%-16s %-18s %-18s %-18s\n' "$cap" "$(figure "$cap" "$tmp/a.json" in_distribution)" \
    "$(figure "$cap" "$tmp/b.json" in_distribution)" "$(figure "$cap" "$tmp/o.json" shift)"
done
echo "minimum $MIN on the in-distribution pass rate; OOD reported, not gated"

finish test_eval_adapters
