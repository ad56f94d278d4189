#!/usr/bin/env bash
# Lineage of sharded parents: two merges of the same parents with different seeds, written
# in shards (the same model.safetensors.index.json, different shard bytes), are told apart
# by the lineage of their children (the index and every shard's digest), and `ecology add`
# of a child links the parent whose shards it was made from.
source "$(dirname "$0")/lib/harness.sh"
D="$tmp/data"
export ECOLOGY_DATA="$D"
unset ECOLOGY_LOG
for s in 1 2 3; do
  "$BIN" model create --preset tiny --seed $s --out "$tmp/m$s" >/dev/null || { echo "setup failed"; exit 1; }
done
for s in 3 4; do
  expect 0 "sharded merge, seed $s" -- "$BIN" merge --method dare_ties --base "$tmp/m3" --parents "$tmp/m1,$tmp/m2" --weights 1,1 --density 0.5 --seed $s --shard-bytes 100000 --out "$tmp/s$s"
done
cmp -s "$tmp/s3/model.safetensors.index.json" "$tmp/s4/model.safetensors.index.json"
check $? "the two sharded parents have the same index"
if cmp -s "$tmp/s3/model-00001-of-00005.safetensors" "$tmp/s4/model-00001-of-00005.safetensors"; then
  fail "the two sharded parents' shards differ"; else pass; fi

# a child of each: their lineage records differ, and name every shard
for s in 3 4; do
  expect 0 "child of s$s" -- "$BIN" merge --method linear --parents "$tmp/s$s,$tmp/m1" --weights 0.5,0.5 --out "$tmp/c$s"
done
if cmp -s "$tmp/c3/lineage.json" "$tmp/c4/lineage.json"; then
  fail "children of different sharded parents record different parents"; else pass; fi
sha=$(sha256sum "$tmp/s4/model-00002-of-00005.safetensors" | cut -d' ' -f1)
contains "$tmp/c4/lineage.json" "\"file\":\"model-00002-of-00005.safetensors\",\"sha256\":\"$sha\"" "a shard's digest in the lineage"

# the registry links the right parent
expect 0 "registry init" -- "$BIN" registry init
for m in m1 m2 m3 s3 s4; do
  expect 0 "add $m" -- "$BIN" add "$tmp/$m" --id $m
done
expect 0 "add the child of s4" -- "$BIN" add "$tmp/c4" --id c4
expect 0 "show c4" -- "$BIN" show c4 --json
contains "$tmp/out" '"s4"' "the child of s4 links s4"
if grep -q '"s3"' "$tmp/out"; then fail "the child of s4 links s3"; else pass; fi
expect 0 "add the child of s3" -- "$BIN" add "$tmp/c3" --id c3
expect 0 "show c3" -- "$BIN" show c3 --json
contains "$tmp/out" '"s3"' "the child of s3 links s3"

# a shard digest no registered model holds: refused, naming the shards
cp -r "$tmp/c4" "$tmp/c5"
sed -i "s/$sha/$(printf '0%.0s' $(seq 64))/" "$tmp/c5/lineage.json"
expect 1 "a shard digest nobody holds" -- "$BIN" add "$tmp/c5" --id c5
contains "$tmp/err" "and the shards listed" "the refusal names the shards"
# malformed shards: EFORMAT naming the field
cp -r "$tmp/c4" "$tmp/c6"
sed -i 's/"shards":\[{"file":"model-00001-of-00005.safetensors"/"shards":[{"file":"..\/x"/' "$tmp/c6/lineage.json"
expect 1 "a shard that is not a file name" -- "$BIN" add "$tmp/c6" --id c6
contains "$tmp/err" "shards[0].file" "the refusal names the shard's field"
# a record written before shards were listed: matched by the index alone, as before
cp -r "$tmp/c4" "$tmp/c7"
sed -i -E 's/,"shards":\[[^]]*\]//' "$tmp/c7/lineage.json"
if grep -q shards "$tmp/c7/lineage.json"; then fail "the old-form record has no shards"; else pass; fi
expect 0 "add an old-form record" -- "$BIN" add "$tmp/c7" --id c7
expect 0 "show c7" -- "$BIN" show c7 --json
contains "$tmp/out" '"parents":["s3","m1"]' "an old-form record links the first registered holder of the index"
finish sharded_lineage
