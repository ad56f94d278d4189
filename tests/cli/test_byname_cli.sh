#!/usr/bin/env bash
# Models by name: a model and an adapter added to a registry, aliases set, then generate,
# logits, tasks eval, inspect, model merge and train given the registry id or the alias
# instead of a folder (same results as with the folder), show/verify/lineage/export by
# alias (and add --base, list --compatible-with), an alias that would shadow a model id (and the reverse) refused, the wrong kind
# refused, a folder of the same name winning, and a damaged store object making loading by
# id fail with a message naming the file.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D"
cd "$tmp" || exit 1

expect 0 "registry init" -- "$BIN" registry init
expect 0 "keys generate" -- "$BIN" keys generate --out "$D/keys" --name lab
mkdir -p "$D/keys/trusted" && cp "$D/keys/lab.pub" "$D/keys/trusted/"
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny --sign-key "$D/keys/lab.key"
expect 0 "add adapter" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id eco-tiny-arith \
  --capability arith.add@1 --sign-key "$D/keys/lab.key"
expect 0 "alias champion" -- "$BIN" alias set champion eco-tiny
expect 0 "alias with a scope" -- "$BIN" alias set arith@champion eco-tiny-arith

# add --base and list --compatible-with take an alias
expect 0 "add --base by alias" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id eco-tiny-sort --base champion
expect 0 "show the adapter" -- "$BIN" show eco-tiny-sort --json
contains "$tmp/out" '"base":"eco-tiny"' "the alias resolved to the base's id"
expect 0 "list --compatible-with an alias" -- "$BIN" list --compatible-with champion
contains "$tmp/out" "eco-tiny-sort" "list by alias"

# alias set to another alias: the target's id
expect 0 "alias set to an alias" -- "$BIN" alias set canary champion
expect 0 "alias get" -- "$BIN" alias get canary
contains "$tmp/out" "eco-tiny" "the alias points at the id"
expect 1 "alias set to an unknown name" -- "$BIN" alias set canary nobody
contains "$tmp/err" "'nobody'" "unknown target named"

# shadowing refused both ways
expect 1 "alias named like a model id" -- "$BIN" alias set eco-tiny-arith eco-tiny
contains "$tmp/err" "shadow" "alias shadowing a model id refused"
expect 1 "alias get of the refused name" -- "$BIN" alias get eco-tiny-arith
expect 1 "model id that is an alias name" -- "$BIN" add "$SRC/data/models/eco-tiny" --id champion
contains "$tmp/err" "alias" "id shadowing an alias refused"

# generate: folder, id and alias give the same greedy text
expect 0 "generate by folder" -- "$BIN" generate --model "$SRC/data/models/eco-tiny" --prompt "12+30=" -n 6 --json
cp "$tmp/out" "$tmp/gen_dir.json"
expect 0 "generate by id" -- "$BIN" generate --model eco-tiny --prompt "12+30=" -n 6 --json
cp "$tmp/out" "$tmp/gen_id.json"
expect 0 "generate by alias" -- "$BIN" generate --model champion --prompt "12+30=" -n 6 --json
cp "$tmp/out" "$tmp/gen_alias.json"
text() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["text"])' "$1"; }
check "$([ "$(text "$tmp/gen_dir.json")" = "$(text "$tmp/gen_id.json")" ]; echo $?)" "generate: id = folder"
check "$([ "$(text "$tmp/gen_dir.json")" = "$(text "$tmp/gen_alias.json")" ]; echo $?)" "generate: alias = folder"
expect 0 "generate with an adapter by alias" -- "$BIN" generate --model champion --adapter arith@champion \
  --prompt "12+30=" -n 6 --json
cp "$tmp/out" "$tmp/gen_ad.json"
expect 0 "generate with the adapter folder" -- "$BIN" generate --model "$SRC/data/models/eco-tiny" \
  --adapter "$SRC/data/adapters/arith.add@1" --prompt "12+30=" -n 6 --json
check "$([ "$(text "$tmp/gen_ad.json")" = "$(text "$tmp/out")" ]; echo $?)" "generate: adapter by alias = folder"
expect 0 "generate with --data-dir" -- env -u ECOLOGY_DATA "$BIN" generate --model champion --prompt "1" -n 1 \
  --data-dir "$D"
expect 1 "unknown name" -- "$BIN" generate --model nobody --prompt "1" -n 1
contains "$tmp/err" "'nobody'" "unknown name named"
expect 1 "no registry to look in" -- env -u ECOLOGY_DATA "$BIN" generate --model champion --prompt "1" -n 1 \
  --data-dir "$tmp/none"
contains "$tmp/err" "no registry" "missing registry said"
expect 1 "an adapter as --model" -- "$BIN" generate --model arith@champion --prompt "1" -n 1
contains "$tmp/err" "adapter" "wrong kind named"
expect 1 "a model as --adapter" -- "$BIN" generate --model champion --adapter eco-tiny --prompt "1" -n 1
contains "$tmp/err" "not an adapter" "wrong kind named (adapter)"

# logits: the same bytes by folder and by alias
expect 0 "logits by folder" -- "$BIN" logits --model "$SRC/data/models/eco-tiny" --tokens 1,2,3 --out "$tmp/l_dir.st"
expect 0 "logits by alias" -- "$BIN" logits --model champion --tokens 1,2,3 --out "$tmp/l_alias.st"
check "$(cmp -s "$tmp/l_dir.st" "$tmp/l_alias.st"; echo $?)" "logits: alias = folder"
expect 0 "logits by id with adapter id" -- "$BIN" logits --model eco-tiny --adapter eco-tiny-arith --tokens 1,2 \
  --out "$tmp/l_ad.st"

# tasks eval by id and by alias
expect 0 "tasks eval by id" -- "$BIN" tasks eval --model eco-tiny --adapter eco-tiny-arith --capability arith.add@1 \
  --n 3 --seed 1 --json
contains "$tmp/out" '"model": "eco-tiny+eco-tiny-arith"' "tasks eval names the registry ids"
cp "$tmp/out" "$tmp/eval_id.json"
expect 0 "tasks eval by alias" -- "$BIN" tasks eval --model champion --adapter arith@champion \
  --capability arith.add@1 --n 3 --seed 1 --json
contains "$tmp/out" '"accuracy":' "tasks eval by alias ran"

# inspect, model merge and train by name
expect 0 "inspect by alias" -- "$BIN" inspect champion
contains "$tmp/out" "model.norm.weight" "inspect lists the tensors"
expect 0 "model merge by name" -- "$BIN" model merge --model champion --adapter eco-tiny-arith --out "$tmp/merged"
exists "$tmp/merged/model.safetensors"
printf '{"prompt": "1+1=", "completion": "2"}\n{"prompt": "2+2=", "completion": "4"}\n' >"$tmp/train.jsonl"
expect 0 "train by alias" -- "$BIN" train --model champion --data "$tmp/train.jsonl" --lora r=2,alpha=4,targets=q,v \
  --adapter-out "$tmp/ad" --steps 1 --batch 1 --seq 16 --lr 1e-3 --seed 1
exists "$tmp/ad/adapter_model.safetensors"

# show, verify, lineage, export by alias
expect 0 "show by alias" -- "$BIN" show champion
contains "$tmp/out" "eco-tiny" "show by alias shows the model"
expect 0 "verify by alias" -- "$BIN" verify champion
contains "$tmp/out" "OK eco-tiny" "verify by alias names the id"
expect 0 "lineage by alias" -- "$BIN" lineage arith@champion
contains "$tmp/out" "eco-tiny-arith" "lineage by alias"
expect 0 "export by alias" -- "$BIN" export champion --out "$tmp/exported"
exists "$tmp/exported/genome.json"
expect 0 "verify the export" -- "$BIN" verify "$tmp/exported"
expect 1 "show of an unknown name" -- "$BIN" show nobody

# a folder of the same name wins
mkdir -p "$tmp/champion" && cp "$SRC/data/models/eco-tiny/"* "$tmp/champion/"
expect 0 "a folder named like the alias wins" -- "$BIN" generate --model champion --prompt "1" -n 1 --json
contains "$tmp/out" '"model": "champion"' "the folder was loaded"
rm -rf "$tmp/champion"

# a damaged object: loading by id fails, naming the file
obj=$(python3 -c 'import json,sys
g=json.load(open(sys.argv[1]))
print([f["sha256"] for f in g["files"] if f["name"]=="model.safetensors"][0])' "$tmp/exported/genome.json")
flip_byte "$D/objects/sha256/${obj:0:2}/${obj:2}" 4096
expect 1 "generate by id with a damaged object" -- "$BIN" generate --model eco-tiny --prompt "1" -n 1
contains "$tmp/err" "model.safetensors" "damaged file named"
contains "$tmp/err" "EINTEGRITY" "damage reported as integrity"
expect 1 "logits by alias with a damaged object" -- "$BIN" logits --model champion --tokens 1 --out "$tmp/l2.st"
contains "$tmp/err" "model.safetensors" "damaged file named (logits)"

finish "test_byname_cli"
