#!/usr/bin/env bash
# The fitness's new-capability coverage (issue 19, evaluator.h: eco_eval_coverage) for a
# registered model: the share of the corpus's capabilities it passes that none of its lineage
# parents passes — a parent by its stored report on the same corpus, else by the capabilities
# its genome lists. The shipped text.reverse@1 adapter over a copy of eco-tiny, on a
# reverse corpus: 1 when the base's report shows it failing, 0 when the base (with no report
# on the corpus) lists text.reverse@1. Run by ctest with ECOLOGY_BIN set.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D" OMP_NUM_THREADS=1
cd "$tmp" || exit 1
EV=(--no-robustness --max-tokens 12 --threads 1)
# coverage FILE: the verdict's coverage in a report JSON
coverage() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verdict"]["coverage"])' "$1"; }

expect 0 "registry init" -- "$BIN" registry init
mkdir dir-base && cp "$SRC"/data/models/eco-tiny/{config.json,tokenizer.json,*.safetensors} dir-base/
expect 0 "add base" -- "$BIN" add dir-base --id base
expect 0 "add adapter" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id rev --base base
expect 0 "corpus" -- "$BIN" corpus build --capability text.reverse@1 --n 10 --seed 1 --out c.jsonl
printf '{"signature": {"required": false}}\n' >gates.json

# the base first: no parents, coverage 0; its report (reverse failed) is stored
expect 0 "base" -- "$BIN" eval --model base --corpus c.jsonl --gates gates.json "${EV[@]}" --out base.json
check "$([ "$(coverage base.json)" = 0.0 ] && echo 0 || echo 1)" "a model without parents has coverage 0"
# the adapter passes reverse, which its parent's report on this corpus fails: coverage 1/1
expect 0 "adapter" -- "$BIN" eval --model base --adapter rev --corpus c.jsonl --gates gates.json "${EV[@]}" --out rev.json
echo "coverage over a parent that fails reverse: $(coverage rev.json)"
check "$([ "$(coverage rev.json)" = 1.0 ] && echo 0 || echo 1)" "coverage 1 over a failing parent"
contains "$tmp/err" "coverage 1.0000 (capabilities passed that none of 1 parent passes)" "coverage on stderr"
contains "$tmp/out" "coverage 0.1000" "the fitness's coverage term (weight 0.1)"

# a parent never evaluated on the corpus that lists text.reverse@1: nothing new
expect 0 "add base2" -- "$BIN" add dir-base --id base2 --capability text.reverse@1
expect 0 "add adapter2" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id rev2 --base base2
expect 0 "adapter2" -- "$BIN" eval --model base2 --adapter rev2 --corpus c.jsonl --gates gates.json "${EV[@]}" --out rev2.json
echo "coverage over a parent listing reverse: $(coverage rev2.json)"
check "$([ "$(coverage rev2.json)" = 0.0 ] && echo 0 || echo 1)" "coverage 0 over a parent that lists the capability"

finish test_eval_coverage
