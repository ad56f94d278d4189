#!/usr/bin/env bash
# `make demo`: creates a small random model and generates from it.
# (The trained default model arrives with the training issue; until then the demo shows the
# inference path end to end on random weights, so the text is noise by design.)
set -euo pipefail
ECOLOGY=${1:-build/ecology}
out=demo-out
rm -rf "$out/tiny"
mkdir -p "$out"
echo "== ecology model create --preset tiny --seed 1 --out $out/tiny"
"$ECOLOGY" model create --preset tiny --seed 1 --out "$out/tiny"
echo "== ecology inspect $out/tiny"
"$ECOLOGY" inspect "$out/tiny"
echo "== ecology generate --model $out/tiny --prompt 'Once upon a time' -n 32 --temperature 0.8 --seed 7"
"$ECOLOGY" generate --model "$out/tiny" --prompt "Once upon a time" -n 32 --temperature 0.8 --seed 7
echo "== ecology generate ... --json"
"$ECOLOGY" generate --model "$out/tiny" --prompt "Once upon a time" -n 8 --json
