#!/usr/bin/env bash
# The registry from the command line: init, keys, add (a base, an adapter resolved through
# base_model_name_or_path, an adapter that does not fit), show, list, lineage (tree and DOT),
# verify (registered and exported, then tampered: one flipped byte in a file, the genome or
# the signature is named), alias compare-and-swap and history, events, the
# require-signature policy, and crash safety: `add` killed with SIGKILL at random points
# leaves no partial object and a registry where everything listed verifies. Then the
# hardening of issue 17: verify's exit codes (4: intact but unsigned or untrusted), a
# damaged object repaired by `add`, a read-only data folder, a refused add leaving no
# objects, `registry gc`, a genome edited in the database, training's working files skipped
# by `add`, and a freshly trained adapter naming its base as `add` resolves it.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D"

expect 0 "registry init" -- "$BIN" registry init
check "$([ -d "$D/keys/trusted" ]; echo $?)" "registry init creates keys/trusted/"
expect 0 "registry init again (idempotent)" -- "$BIN" registry init
expect 0 "keys generate" -- "$BIN" keys generate --out "$D/keys" --name lab
mkdir -p "$D/keys/trusted" && cp "$D/keys/lab.pub" "$D/keys/trusted/"
expect 0 "keys generate ed25519" -- "$BIN" keys generate --out "$tmp/other" --name stranger --type ed25519

# a base (the shipped default model) and its adapters
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny --sign-key "$D/keys/lab.key"
contains "$tmp/out" "eco-tiny" "add prints the id"
expect 0 "add adapter (base from base_model_name_or_path)" -- "$BIN" add "$SRC/data/adapters/arith.add@1" \
  --id eco-tiny-arith --capability arith.add@1 --sign-key "$D/keys/lab.key"
expect 0 "add adapter --base" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id eco-tiny-sort \
  --base eco-tiny --capability text.sort@1 --sign-key "$D/keys/lab.key"
expect 0 "add unsigned" -- "$BIN" add "$SRC/data/adapters/json.record@1" --id eco-tiny-json --capability json.record@1
n_events=$("$BIN" events | wc -l)
sleep 1 # a later second: the registration time must not make the same content a conflict
expect 0 "add the same again is a no-op" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny \
  --sign-key "$D/keys/lab.key"
check "$([ "$("$BIN" events | wc -l)" = "$n_events" ]; echo $?)" "no event for a repeated registration"
"$BIN" model create --preset tiny --seed 5 --out "$tmp/tiny" >/dev/null || exit 1
expect 1 "same id, different content" -- "$BIN" add "$tmp/tiny" --id eco-tiny
contains "$tmp/err" "EEXIST" "conflicting registration refused"
expect 0 "add another base" -- "$BIN" add "$tmp/tiny" --id tiny-random
expect 1 "adapter that does not fit its base" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id bad \
  --base tiny-random
contains "$tmp/err" "does not fit" "misfit adapter named"
expect 1 "adapter with an unknown base" -- "$BIN" add "$SRC/data/adapters/arith.add@1" --id bad2 --base nope
contains "$tmp/err" "nope" "unknown base named"
expect 2 "add without --id" -- "$BIN" add "$tmp/tiny"
expect 1 "add bad id" -- "$BIN" add "$tmp/tiny" --id "../x"

# show, list
expect 0 "show" -- "$BIN" show eco-tiny-arith
contains "$tmp/out" "adapter" "show: kind"
contains "$tmp/out" "adapter_model.safetensors" "show: files"
contains "$tmp/out" "train-lora" "show: lineage operation from training.json"
expect 0 "show --json" -- "$BIN" show eco-tiny-arith --json
contains "$tmp/out" '"base":"eco-tiny"' "show --json: base"
contains "$tmp/out" '"signed":true' "show --json: signed"
expect 1 "show unknown" -- "$BIN" show nope
expect 0 "list" -- "$BIN" list
contains "$tmp/out" "tiny-random" "list: all models"
expect 0 "list --kind adapter" -- "$BIN" list --kind adapter
check "$(grep -c adapter "$tmp/out" | grep -qx 3; echo $?)" "three adapters listed"
expect 0 "list --capability" -- "$BIN" list --capability text.sort@1
contains "$tmp/out" "eco-tiny-sort" "list by capability"
check "$(! grep -q eco-tiny-arith "$tmp/out"; echo $?)" "list by capability filters"
expect 2 "list bad kind" -- "$BIN" list --kind nonsense
expect 0 "list --compatible-with" -- "$BIN" list --compatible-with eco-tiny-arith
contains "$tmp/out" "eco-tiny-sort" "adapters of the same base are compatible"
check "$(! grep -q tiny-random "$tmp/out"; echo $?)" "another base is not"

# lineage
expect 0 "lineage" -- "$BIN" lineage eco-tiny-arith
contains "$tmp/out" "eco-tiny" "lineage shows the base"
expect 0 "lineage of the base" -- "$BIN" lineage eco-tiny
contains "$tmp/out" "eco-tiny-sort" "descendants listed"
expect 0 "lineage --dot" -- "$BIN" lineage eco-tiny-arith --dot
contains "$tmp/out" '"eco-tiny-arith" -> "eco-tiny"' "DOT edge"

# verify and export
expect 0 "verify base" -- "$BIN" verify eco-tiny
contains "$tmp/out" "OK eco-tiny" "verify ok"
expect 0 "verify adapter" -- "$BIN" verify eco-tiny-arith
# a folder named like a registered id, in the current folder, does not shadow the id
mkdir -p "$tmp/cwd/eco-tiny-arith"
(cd "$tmp/cwd" && "$BIN" verify eco-tiny-arith >"$tmp/out" 2>"$tmp/err"); check $? "verify ID beside a folder of that name"
contains "$tmp/out" "OK eco-tiny-arith" "the registered model is verified, not the folder"
expect 4 "verify unsigned: intact but unsigned is exit 4" -- "$BIN" verify eco-tiny-json
contains "$tmp/err" "not signed" "unsigned named"
contains "$tmp/out" "UNTRUSTED eco-tiny-json" "verify says the files match but nobody vouches for them"
expect 0 "export" -- "$BIN" export eco-tiny-arith --out "$tmp/exp"
exists "$tmp/exp/genome.json"
exists "$tmp/exp/signature.json"
expect 0 "verify exported folder" -- "$BIN" verify "$tmp/exp" --trusted "$D/keys/trusted"
expect 4 "verify exported folder, untrusted: exit 4" -- "$BIN" verify "$tmp/exp" --trusted "$tmp/other"
contains "$tmp/err" "not trusted" "untrusted signature named"
expect 1 "export into a non-empty folder" -- "$BIN" export eco-tiny-arith --out "$tmp/exp"
for f in adapter_model.safetensors adapter_config.json genome.json signature.json; do
  rm -rf "$tmp/t" && cp -r "$tmp/exp" "$tmp/t"
  size=$(stat -c %s "$tmp/t/$f")
  flip_byte "$tmp/t/$f" $((size / 2))
  expect 1 "tampered $f detected" -- "$BIN" verify "$tmp/t" --trusted "$D/keys/trusted"
  case $f in
    signature.json) contains "$tmp/err" "signature" "tampered signature named" ;;
    genome.json) contains "$tmp/err" "genome" "tampered genome named" ;;
    *) contains "$tmp/err" "$f" "tampered $f named" ;;
  esac
done
# a flipped byte in the store itself
obj=$(grep -o '"adapter_model.safetensors","sha256":"[0-9a-f]*' "$tmp/exp/genome.json" | grep -o '[0-9a-f]\{64\}')
path="$D/objects/sha256/${obj:0:2}/${obj:2}"
exists "$path"
flip_byte "$path" 100
expect 0 "registry check without --rehash sees sizes only" -- "$BIN" registry check
expect 1 "registry check --rehash names the tampered object" -- "$BIN" registry check --rehash
contains "$tmp/err" "adapter_model.safetensors" "check names the file"
expect 1 "tampered store object detected" -- "$BIN" verify eco-tiny-arith
contains "$tmp/err" "adapter_model.safetensors" "tampered object named"
expect 1 "export refuses a tampered object" -- "$BIN" export eco-tiny-arith --out "$tmp/exp2"
contains "$tmp/err" "EINTEGRITY" "export re-hashes"
check "$([ ! -e "$tmp/exp2" ] && ! ls "$tmp" | grep -q partial; echo $?)" "a failed export leaves nothing behind"
expect 1 "export --trust-cache still refuses it (its mtime changed)" -- "$BIN" export eco-tiny-arith \
  --out "$tmp/exp3" --trust-cache
flip_byte "$path" 100
expect 0 "restored object verifies" -- "$BIN" verify eco-tiny-arith
expect 0 "export --trust-cache" -- "$BIN" export eco-tiny-arith --out "$tmp/exp4" --trust-cache
expect 0 "which verifies" -- "$BIN" verify "$tmp/exp4" --trusted "$D/keys/trusted"

# aliases
expect 0 "alias set (new)" -- "$BIN" alias set champion eco-tiny-arith --expect none
expect 1 "alias set, stale expectation" -- "$BIN" alias set champion eco-tiny-sort --expect eco-tiny
contains "$tmp/err" "eco-tiny-arith" "conflict names the current target"
expect 0 "alias set (CAS)" -- "$BIN" alias set champion eco-tiny-sort --expect eco-tiny-arith
expect 0 "alias get" -- "$BIN" alias get champion
contains "$tmp/out" "eco-tiny-sort" "alias moved"
expect 0 "alias history" -- "$BIN" alias history champion
check "$([ "$(grep -c eco-tiny "$tmp/out")" = 2 ]; echo $?)" "two alias changes recorded"
expect 1 "alias to an unknown model" -- "$BIN" alias set canary nope

# events
expect 0 "events" -- "$BIN" events --json
contains "$tmp/out" '"type":"register"' "register events"
contains "$tmp/out" '"type":"alias"' "alias events"
last=$(tail -1 "$tmp/out" | grep -o '"seq":[0-9]*' | grep -o '[0-9]*')
expect 0 "events --since" -- "$BIN" events --since "$last"
check "$([ ! -s "$tmp/out" ]; echo $?)" "nothing after the last event"

# policy: refuse unsigned or untrusted models
P="$tmp/strict"
expect 0 "init with policy" -- "$BIN" registry init --data-dir "$P" --require-signature
expect 1 "unsigned refused under the policy" -- "$BIN" add "$tmp/tiny" --id t --data-dir "$P"
contains "$tmp/err" "ESIGNATURE" "policy refusal"
expect 1 "untrusted refused under the policy" -- "$BIN" add "$tmp/tiny" --id t --data-dir "$P" \
  --sign-key "$D/keys/lab.key"
mkdir -p "$P/keys/trusted" && cp "$D/keys/lab.pub" "$P/keys/trusted/"
expect 0 "trusted accepted under the policy" -- "$BIN" add "$tmp/tiny" --id t --data-dir "$P" \
  --sign-key "$D/keys/lab.key"

# crash safety: SIGKILL at random points of `add`, many times. Each round adds a new model
# (the folder gets a new file), killed after a random delay within the time one `add` takes.
C="$tmp/crash"
"$BIN" registry init --data-dir "$C" >/dev/null || exit 1
mkdir -p "$C/keys/trusted" && cp "$D/keys/lab.pub" "$C/keys/trusted/"
"$BIN" model create --preset tiny --seed 9 --out "$tmp/big" >/dev/null || exit 1
t0=$(date +%s%N)
"$BIN" add "$tmp/big" --id timing --data-dir "$tmp/scratch" --sign-key "$D/keys/lab.key" >/dev/null 2>&1 ||
  "$BIN" registry init --data-dir "$tmp/scratch" >/dev/null
"$BIN" add "$tmp/big" --id timing --data-dir "$tmp/scratch" --sign-key "$D/keys/lab.key" >/dev/null || exit 1
span_us=$(( ($(date +%s%N) - t0) / 2000 + 1 ))
killed=0
for i in $(seq 1 40); do
  echo "round $i" >"$tmp/big/notes.txt"
  "$BIN" add "$tmp/big" --id "m$i" --data-dir "$C" --sign-key "$D/keys/lab.key" >/dev/null 2>&1 &
  pid=$!
  sleep "$(printf '0.%06d' $(( (RANDOM * 32768 + RANDOM) % span_us )))"
  kill -9 $pid 2>/dev/null && killed=$((killed + 1))
  wait $pid 2>/dev/null
done
echo "crash rounds: 40, killed before finishing: $killed"
bad=0
for f in $(find "$C/objects" -type f); do
  want=$(basename "$(dirname "$f")")$(basename "$f")
  got=$(sha256sum "$f" | cut -c1-64)
  [ "$want" = "$got" ] || { bad=1; echo "  partial object $f"; }
done
check $bad "no partial object after SIGKILLs"
expect 0 "registry check --rehash after crashes" -- "$BIN" registry check --rehash --data-dir "$C"
contains "$tmp/out" "OK: database consistent" "consistent after crashes"
expect 0 "list after crashes" -- "$BIN" list --data-dir "$C"
for id in $(tail -n +2 "$tmp/out" | awk '{print $1}'); do
  expect 0 "verify $id after crashes" -- "$BIN" verify "$id" --data-dir "$C"
done
expect 0 "add after crashes" -- "$BIN" add "$tmp/big" --id m-final --data-dir "$C"
expect 0 "registry gc after crashes" -- "$BIN" registry gc --data-dir "$C"
expect 0 "registry check --rehash after gc" -- "$BIN" registry check --rehash --data-dir "$C"
expect 0 "nothing left to collect" -- "$BIN" registry gc --dry-run --data-dir "$C"
contains "$tmp/out" "would remove 0 unreferenced objects" "gc removed every orphan of the crashes"

# ---- issue 17 ------------------------------------------------------------------------------

# signing: a key that is not trusted is warned about at add and is exit 4 at verify
expect 0 "add signed by an untrusted key" -- "$BIN" add "$tmp/tiny" --id tiny-stranger \
  --sign-key "$tmp/other/stranger.key"
contains "$tmp/err" "not trusted" "add warns that the signing key is not trusted"
expect 4 "verify: signed by an untrusted key is exit 4" -- "$BIN" verify tiny-stranger
contains "$tmp/err" "not trusted" "verify names the untrusted key"
expect 0 "verify: trusted and intact is exit 0" -- "$BIN" verify eco-tiny
P2="$tmp/policy"
expect 0 "init a registry" -- "$BIN" registry init --data-dir "$P2"
expect 0 "init --require-signature on an existing registry" -- "$BIN" registry init --data-dir "$P2" \
  --require-signature
contains "$tmp/out" "policy changed" "init says the policy changed"
expect 0 "init --require-signature again" -- "$BIN" registry init --data-dir "$P2" --require-signature
contains "$tmp/out" "policy unchanged" "init says nothing changed"

# bug 3: a damaged object is re-hashed, not reused, when the same content is added again
obj=$(grep -o '"adapter_model.safetensors","sha256":"[0-9a-f]*' "$tmp/exp/genome.json" | grep -o '[0-9a-f]\{64\}')
path="$D/objects/sha256/${obj:0:2}/${obj:2}"
flip_byte "$path" 200
expect 1 "the damaged object fails verify" -- "$BIN" verify eco-tiny-arith
expect 0 "add of the same content over a damaged object" -- "$BIN" add "$SRC/data/adapters/arith.add@1" \
  --id eco-tiny-arith-again --capability arith.add@1 --sign-key "$D/keys/lab.key"
expect 0 "the new model verifies" -- "$BIN" verify eco-tiny-arith-again
expect 0 "and the old one is repaired" -- "$BIN" verify eco-tiny-arith
check "$([ "$(sha256sum "$path" | cut -c1-64)" = "$obj" ]; echo $?)" "the object holds its content again"
check "$([ ! -w "$path" ] || [ "$(id -u)" = 0 ]; echo $?)" "the repaired object is read-only"
expect 0 "events" -- "$BIN" events --json
contains "$tmp/out" '"type":"repair"' "the repair is logged"

# bug 5: a refused add leaves no objects; gc removes unreferenced ones
n_before=$(find "$P/objects" -type f | wc -l)
"$BIN" model create --preset tiny --seed 77 --out "$tmp/tiny77" >/dev/null || exit 1
expect 1 "unsigned add refused under the policy" -- "$BIN" add "$tmp/tiny77" --id t77 --data-dir "$P"
check "$([ "$(find "$P/objects" -type f | wc -l)" = "$n_before" ]; echo $?)" \
  "a refused add leaves none of its objects in the store"
expect 1 "add with a forged signature refused" -- "$BIN" add "$tmp/tiny77" --id t77 --data-dir "$P" \
  --sign-key "$tmp/other/stranger.key"
check "$([ "$(find "$P/objects" -type f | wc -l)" = "$n_before" ]; echo $?)" \
  "an untrusted-signature refusal leaves nothing either"
expect 0 "the registered model still verifies" -- "$BIN" verify t --data-dir "$P"
printf 'an orphan' >"$tmp/orphan"
orphan=$(sha256sum "$tmp/orphan" | cut -c1-64)
mkdir -p "$P/objects/sha256/${orphan:0:2}" && cp "$tmp/orphan" "$P/objects/sha256/${orphan:0:2}/${orphan:2}"
expect 0 "registry gc --dry-run" -- "$BIN" registry gc --dry-run --data-dir "$P"
contains "$tmp/out" "$orphan" "gc --dry-run lists the orphan"
contains "$tmp/out" "would remove 1 unreferenced objects, 9 bytes" "gc --dry-run counts it"
exists "$P/objects/sha256/${orphan:0:2}/${orphan:2}"
expect 0 "registry gc" -- "$BIN" registry gc --data-dir "$P"
contains "$tmp/out" "removed 1 unreferenced objects" "gc removes it"
check "$([ ! -e "$P/objects/sha256/${orphan:0:2}/${orphan:2}" ]; echo $?)" "the orphan is gone"
expect 0 "registry check --rehash after gc" -- "$BIN" registry check --rehash --data-dir "$P"
expect 0 "verify after gc" -- "$BIN" verify t --data-dir "$P"

# bug 11: `registry check` re-hashes each stored genome against its genome_sha256
if command -v sqlite3 >/dev/null; then
  E="$tmp/edited"
  cp -a "$D" "$E"
  sqlite3 "$E/registry.db" "DROP TRIGGER models_no_update; UPDATE models SET genome = replace(genome, \
'\"tool_version\":\"tiny-ecology', '\"tool_version\":\"tiny-ecologY') WHERE id = 'eco-tiny-json';" ||
    fail "could not edit the copy's database"
  expect 1 "registry check finds an edited unsigned genome" -- "$BIN" registry check --data-dir "$E"
  contains "$tmp/err" "genome_sha256" "check names the recorded hash"
  contains "$tmp/err" "eco-tiny-json" "check names the model"
  expect 1 "verify of an edited unsigned genome is a mismatch (1), not unsigned (4)" -- \
    "$BIN" verify eco-tiny-json --data-dir "$E"
else
  echo "SKIP: sqlite3 command not found: the edited-genome check (bug 11) was not tested"
fi

# bug 4: a read-only data folder: reads work, writes say why they cannot. As root a mode
# does not stop writes, so the commands run as user nobody (the files stay root's).
RO="$tmp/ro"
cp -a "$D" "$RO"
rm -f "$RO"/registry.db-wal "$RO"/registry.db-shm
chmod -R a-w "$RO" && chmod a+rx "$tmp"
as_reader() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups -- "$@"; else "$@"; fi
}
if [ "$(id -u)" != 0 ] || command -v setpriv >/dev/null; then
  for c in "list" "show eco-tiny" "verify eco-tiny" "events" "lineage eco-tiny" "registry check" \
    "registry check --rehash" "alias get champion" "registry gc --dry-run"; do
    # shellcheck disable=SC2086
    expect 0 "read-only folder: $c" -- as_reader "$BIN" $c --data-dir "$RO"
  done
  expect 4 "read-only folder: verify unsigned is still exit 4" -- as_reader "$BIN" verify eco-tiny-json \
    --data-dir "$RO"
  expect 1 "read-only folder: add refused" -- as_reader "$BIN" add "$tmp/tiny77" --id ro --data-dir "$RO"
  contains "$tmp/err" "read-only" "add says the folder is read-only"
  expect 1 "read-only folder: alias set refused" -- as_reader "$BIN" alias set canary eco-tiny --data-dir "$RO"
  contains "$tmp/err" "read-only" "alias set says the folder is read-only"
  check "$([ ! -e "$RO/registry.db-wal" ] && [ ! -e "$RO/registry.db-shm" ]; echo $?)" \
    "nothing was written to the read-only folder"
else
  echo "SKIP: running as root without setpriv: the read-only folder (bug 4) was not tested"
fi
chmod -R u+w "$RO"

# bugs 12 and 13: a freshly trained adapter names its base by its folder's name (or
# registry id), and add skips training's working files
"$BIN" tasks generate --capability arith.add@1 --split train --n 16 --seed 1 >"$tmp/add.jsonl" || exit 1
expect 0 "train a LoRA adapter" -- "$BIN" train --model "$SRC/data/models/eco-tiny/" --data "$tmp/add.jsonl" \
  --lora r=2,targets=q --adapter-out "$tmp/fresh" --steps 2 --batch 2 --seq 32 --lr 0.003 --seed 1 --threads 2
check "$(grep -Eq '"base_model_name_or_path": *"eco-tiny"' "$tmp/fresh/adapter_config.json"; echo $?)" \
  "train writes the base's name, not its path"
mkdir -p "$tmp/fresh/work" "$tmp/fresh/.work"
echo x >"$tmp/fresh/checkpoint.json"
echo x >"$tmp/fresh/work/step.bin"
echo x >"$tmp/fresh/.work/step.bin"
expect 0 "add a freshly trained adapter (base from base_model_name_or_path)" -- "$BIN" add "$tmp/fresh" \
  --id fresh --sign-key "$D/keys/lab.key"
contains "$tmp/err" "checkpoint.json" "add lists the skipped checkpoint"
contains "$tmp/err" "work/" "add lists the skipped working folders"
expect 0 "show the fresh adapter" -- "$BIN" show fresh --json
contains "$tmp/out" '"base":"eco-tiny"' "its base resolved"
check "$(! grep -Eq '"name":"(checkpoint|\.?work/)' "$tmp/out"; echo $?)" "no working file registered"
check "$(! grep -qF "$SRC/data/models" "$tmp/out"; echo $?)" "the genome's lineage names the base by id, not path"
expect 0 "add --base overrides base_model_name_or_path" -- "$BIN" add "$tmp/fresh" --id fresh2 --base eco-tiny
finish test_registry_cli
