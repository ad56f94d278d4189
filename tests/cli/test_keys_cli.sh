#!/usr/bin/env bash
# `ecology keys generate` end to end: both key types, the files and their modes, the key id
# (checked against openssl's SHA-256 of the DER public key when openssl is present), refusal
# to overwrite (exit 1, files untouched), usage errors (exit 2). Run by ctest with
# ECOLOGY_BIN set.
source "$(dirname "$0")/lib/harness.sh"

mode() { stat -c %a "$1"; }

expect 2 "keys without subcommand" -- "$BIN" keys
contains "$tmp/err" "generate" "subcommand named"
expect 2 "unknown subcommand" -- "$BIN" keys frob
contains "$tmp/err" "'frob'" "unknown subcommand named"
expect 2 "generate without --out" -- "$BIN" keys generate
contains "$tmp/err" "--out" "missing --out named"
one_line "missing --out"
expect 2 "bad --type" -- "$BIN" keys generate --out "$tmp/k" --type rsa
contains "$tmp/err" "'rsa'" "bad type named"
one_line "bad --type"
check "$([ ! -e "$tmp/k" ]; echo $?)" "nothing written on a usage error"
expect 2 "bad --name" -- "$BIN" keys generate --out "$tmp/k" --name ../evil
contains "$tmp/err" "--name" "bad name flagged"
expect 2 "stray flag" -- "$BIN" keys generate --out "$tmp/k" --bogus

# defaults: ecdsa-p256 named "ecology"
expect 0 "generate default" -- "$BIN" keys generate --out "$tmp/keys"
exists "$tmp/keys/ecology.key"
exists "$tmp/keys/ecology.pub"
contains "$tmp/out" "ecdsa-p256" "default type printed"
contains "$tmp/out" "$tmp/keys/ecology.key" "private path printed"
contains "$tmp/out" "$tmp/keys/ecology.pub" "public path printed"
check "$([ "$(mode "$tmp/keys/ecology.key")" = 600 ]; echo $?)" "ecology.key mode is $(mode "$tmp/keys/ecology.key"), want 600"
contains "$tmp/keys/ecology.key" "-----BEGIN PRIVATE KEY-----" "PKCS#8 private key"
contains "$tmp/keys/ecology.pub" "-----BEGIN PUBLIC KEY-----" "SPKI public key"
id=$(sed -n 's/^key id: *\([0-9a-f]\{64\}\) .*/\1/p' "$tmp/out")
check "$([ ${#id} = 64 ]; echo $?)" "64-hex key id printed"
if command -v openssl >/dev/null 2>&1; then
  want=$(openssl pkey -pubin -in "$tmp/keys/ecology.pub" -outform DER | openssl dgst -sha256 -r | cut -c1-64)
  check "$([ "$id" = "$want" ]; echo $?)" "key id $id is not openssl's $want"
  openssl pkey -in "$tmp/keys/ecology.key" -noout -text 2>/dev/null | grep -q "P-256"
  check $? "openssl reads the private key as P-256"
fi

# refuses to overwrite: exit 1, the key stays the same
cp "$tmp/keys/ecology.key" "$tmp/before.key"
expect 1 "overwrite refused" -- "$BIN" keys generate --out "$tmp/keys"
contains "$tmp/err" "already exists" "overwrite message"
contains "$tmp/err" "EEXIST" "overwrite status"
check "$(cmp -s "$tmp/before.key" "$tmp/keys/ecology.key"; echo $?)" "existing key changed"
expect 1 "overwrite refused for the other type too" -- "$BIN" keys generate --out "$tmp/keys" --type ed25519

# ed25519 under another name, JSON output, in the same folder
expect 0 "generate ed25519 --json" -- "$BIN" keys generate --out "$tmp/keys" --name signer --type=ed25519 --json
contains "$tmp/out" '"type":"ed25519"' "json type"
contains "$tmp/out" "\"private_key\":\"$tmp/keys/signer.key\"" "json private path"
contains "$tmp/out" "\"public_key\":\"$tmp/keys/signer.pub\"" "json public path"
grep -q '"keyid":"[0-9a-f]\{64\}"' "$tmp/out"
check $? "json key id"
check "$([ "$(mode "$tmp/keys/signer.key")" = 600 ]; echo $?)" "signer.key mode is not 600"
if command -v openssl >/dev/null 2>&1; then
  openssl pkey -in "$tmp/keys/signer.key" -noout -text 2>/dev/null | grep -qi "ED25519"
  check $? "openssl reads the private key as Ed25519"
fi
check "$([ "$(ls -A "$tmp/keys" | wc -l)" = 4 ]; echo $?)" "exactly four files (no temp files left)"

# an --out that cannot be a folder
echo x >"$tmp/file"
expect 1 "--out is a file" -- "$BIN" keys generate --out "$tmp/file"

finish test_keys_cli
