#!/usr/bin/env bash
# The registry from the command line: init, keys, add (a base, an adapter resolved through
# base_model_name_or_path, an adapter that does not fit), show, list, lineage (tree and DOT),
# verify (registered and exported, then tampered: one flipped byte in a file, the genome or
# the signature is named), alias compare-and-swap and history, events, the
# require-signature policy, and crash safety: `add` killed with SIGKILL at random points
# leaves no partial object and a registry where everything listed verifies.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D"

# flip_byte FILE OFFSET: xor one byte with 0x01 (the file may be read-only)
flip_byte() {
  chmod u+w "$1"
  local b
  b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
  printf "$(printf '\\%03o' $((b ^ 1)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

expect 0 "registry init" -- "$BIN" registry init
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
expect 1 "verify unsigned" -- "$BIN" verify eco-tiny-json
contains "$tmp/err" "not signed" "unsigned named"
expect 0 "export" -- "$BIN" export eco-tiny-arith --out "$tmp/exp"
exists "$tmp/exp/genome.json"
exists "$tmp/exp/signature.json"
expect 0 "verify exported folder" -- "$BIN" verify "$tmp/exp" --trusted "$D/keys/trusted"
expect 1 "verify exported folder, untrusted" -- "$BIN" verify "$tmp/exp" --trusted "$tmp/other"
contains "$tmp/err" "ESIGNATURE" "untrusted signature refused"
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
finish test_registry_cli
