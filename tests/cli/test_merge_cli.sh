#!/usr/bin/env bash
# `ecology merge` on plain folders: linear, ties over a base, sharded output, the lineage
# record, the refusal of incompatible parents (exit 3), and that the child loads.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
unset ECOLOGY_DATA ECOLOGY_LOG
for s in 1 2 3; do
  "$BIN" model create --preset tiny --seed $s --out "$tmp/m$s" >/dev/null || { echo "setup failed"; exit 1; }
done

expect 0 "linear merge" -- "$BIN" merge --method linear --parents "$tmp/m1,$tmp/m2" --weights 0.5,0.5 --out "$tmp/lin"
contains "$tmp/out" "linear merge of 2 models" "merge summary"
exists "$tmp/lin/model.safetensors"
exists "$tmp/lin/config.json"
exists "$tmp/lin/tokenizer.json"
contains "$tmp/lin/lineage.json" '"name":"merge"' "lineage operation"
contains "$tmp/lin/lineage.json" '"method":"linear"' "lineage params"
sha=$(sha256sum "$tmp/m2/model.safetensors" | cut -d' ' -f1)
contains "$tmp/lin/lineage.json" "$sha" "lineage names the second parent's digest"
if grep -qF "$tmp" "$tmp/lin/lineage.json"; then fail "lineage.json holds a path"; else pass; fi
expect 0 "the child generates" -- "$BIN" generate --model "$tmp/lin" --prompt "ab" -n 3 --temperature 0

# the same merge again: same bytes; an existing output needs --force
expect 1 "existing output refused" -- "$BIN" merge --method linear --parents "$tmp/m1,$tmp/m2" --weights 0.5,0.5 --out "$tmp/lin"
contains "$tmp/err" "--force" "the refusal names --force"
expect 0 "again with --force" -- "$BIN" merge --method linear --parents "$tmp/m1,$tmp/m2" --weights 0.5,0.5 --out "$tmp/lin2"
cmp -s "$tmp/lin/model.safetensors" "$tmp/lin2/model.safetensors"; check $? "same merge, same bytes"

# ties over a base, sharded
expect 0 "ties sharded" -- "$BIN" merge --method dare_ties --base "$tmp/m3" --parents "$tmp/m1,$tmp/m2" --weights 1,1 --density 0.5 --seed 5 --shard-bytes 100000 --out "$tmp/ties"
exists "$tmp/ties/model.safetensors.index.json"
exists "$tmp/ties/model-00001-of-00005.safetensors"
contains "$tmp/ties/lineage.json" '"role":"base"' "the base in the lineage"
contains "$tmp/ties/lineage.json" '"seed":5' "the seed in the lineage"
expect 0 "a sharded child generates" -- "$BIN" generate --model "$tmp/ties" --prompt "ab" -n 3 --temperature 0

# incompatible parents: exit 3, the field named
expect 3 "incompatible parents" -- "$BIN" merge --method linear --parents "$tmp/m1,$SRC/data/models/eco-tiny" --weights 1,1 --out "$tmp/never"
contains "$tmp/err" "architecture_hash differs" "the refusal names the field"
contains "$tmp/err" "distill" "the refusal suggests distill"
if [ -e "$tmp/never" ]; then fail "a refused merge left its output"; else pass; fi
finish merge_cli
