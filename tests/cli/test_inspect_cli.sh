#!/usr/bin/env bash
# ecology inspect: adapter folders (r, alpha, targets, base, tensors), tensors in natural
# order (layers.2 before layers.10), and columns as wide as the longest name.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?}

# a safetensors file with one F32 scalar per name, written byte by byte: 8-byte little-endian
# header length, the JSON header (space-padded to a multiple of 8), the data
write_st() {
  local out=$1; shift
  local hdr="{" off=0 sep=""
  for name in "$@"; do
    hdr+="$sep\"$name\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[$off,$((off + 4))]}"
    sep=","; off=$((off + 4))
  done
  hdr+="}"
  while [ $(( ${#hdr} % 8 )) != 0 ]; do hdr+=" "; done
  local n=${#hdr} le="" i
  for i in 0 1 2 3 4 5 6 7; do le+=$(printf '\\x%02x' $(( (n >> (8 * i)) & 255 ))); done
  { printf "$le"; printf '%s' "$hdr"; head -c "$off" /dev/zero; } >"$out"
}
long=model.layers.2.self_attn.a_tensor_name_that_is_much_longer_than_fifty_six_characters.weight
write_st "$tmp/n.safetensors" layers.10.w layers.2.w layers.1.w "$long" layers.02.w
expect 0 "inspect names" -- "$BIN" inspect "$tmp/n.safetensors"
grep -oE '^  (layers\.[0-9]+\.w|model\.layers\.2\.\S+)' "$tmp/out" | tr -d ' ' | tr '\n' ' ' >"$tmp/order"
[ "$(cat "$tmp/order")" = "layers.1.w layers.2.w layers.02.w layers.10.w $long " ]
check $? "natural order (got: $(cat "$tmp/order"))"
# the dtype column starts at the same place on every tensor row, the long name included
cols=$(grep -E 'F32 ' "$tmp/out" | grep -v tensors | awk '{print index($0, " F32 ")}' | sort -u | wc -l)
[ "$cols" = 1 ]; check $? "one dtype column for all names ($cols)"
contains "$tmp/out" "$long F32" "a long name is printed whole"
expect 0 "inspect --json names" -- "$BIN" inspect --json "$tmp/n.safetensors"
grep -o '"name": "[^"]*"' "$tmp/out" | head -2 | tr '\n' ' ' >"$tmp/order"
contains "$tmp/order" '"name": "layers.1.w" "name": "layers.2.w"' "json in natural order too"

# an adapter folder
A="$SRC/data/adapters/json.record@1"
expect 0 "inspect adapter" -- "$BIN" inspect "$A"
contains "$tmp/out" "LoRA r 32, alpha 64" "adapter r and alpha"
contains "$tmp/out" "targets q_proj,k_proj,v_proj,o_proj" "adapter targets"
contains "$tmp/out" "base          eco-tiny" "adapter base"
contains "$tmp/out" "layers.0.self_attn.q_proj.lora_A.weight" "adapter tensors"
expect 0 "inspect adapter --json" -- "$BIN" inspect --json "$A"
contains "$tmp/out" '"lora_alpha": 64' "adapter json alpha"
contains "$tmp/out" '"base_model_name_or_path": "eco-tiny"' "adapter json base"
# an adapter folder without its weights names the missing file
mkdir "$tmp/a"; cp "$A/adapter_config.json" "$tmp/a/"
expect 1 "inspect adapter without weights" -- "$BIN" inspect "$tmp/a"
contains "$tmp/err" "adapter_model.safetensors" "missing adapter weights named"

finish "inspect"
