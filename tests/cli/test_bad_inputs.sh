#!/usr/bin/env bash
# Bad inputs, one row each: the exit status (2 usage error, 1 runtime failure, 0 for help)
# and a piece of the message (stdout and stderr together). Every row also checks that the
# message has no doubled prefix ("ecology: add: add:") and that a usage error is one line
# starting "ecology: ".
#
# To add a case, append a row:
#   row STATUS "MESSAGE PIECE" [VAR=VALUE ...] -- ARGUMENTS...
# ARGUMENTS follow `ecology`; VAR=VALUE sets the environment for that run only. Fixtures:
# $M a tiny model folder, $B a copy of data/models/eco-tiny registered as eco-tiny in $D, $A a LoRA adapter folder, $J a JSONL file, $D an initialised data
# folder, $E a folder that looks exported (genome.json), $T a scratch folder (nothing in it
# is expected to exist unless a setup line below makes it).
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
T="$tmp/t"; M="$tmp/model"; A="$SRC/data/adapters/json.record@1"; J="$tmp/add.jsonl"; D="$tmp/data"; E="$tmp/exported"
mkdir -p "$T" "$E" && touch "$E/genome.json" "$T/empty.txt"
unset ECOLOGY_DATA ECOLOGY_LOG
"$BIN" model create --preset tiny --seed 1 --out "$M" >/dev/null || { echo "setup: model create failed"; exit 1; }
"$BIN" tasks generate --capability arith.add@1 --split train --n 8 >"$J" || { echo "setup: tasks failed"; exit 1; }
"$BIN" registry init --data-dir "$D" >/dev/null || { echo "setup: registry init failed"; exit 1; }
B="$tmp/base"; cp -r "$SRC/data/models/eco-tiny" "$B"
"$BIN" add "$B" --id eco-tiny --data-dir "$D" >/dev/null || { echo "setup: add failed"; exit 1; }
TRAIN=(--steps 1 --batch 1 --seq 32 --lr 1e-3 --seed 1)

row() {
  local want=$1 piece=$2 envs=()
  shift 2
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  local what="ecology $*"
  [ ${#envs[@]} -gt 0 ] && what="${envs[*]} $what"
  env "${envs[@]}" "$BIN" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
  local got=$?
  cat "$tmp/out" "$tmp/err" >"$tmp/all"
  if [ "$got" = "$want" ]; then pass; else
    fail "$what: exit $got, want $want"; sed 's/^/  stderr: /' "$tmp/err" | head -3; fi
  if grep -qF -- "$piece" "$tmp/all"; then pass; else
    fail "$what: '$piece' not in the output"; head -c 400 "$tmp/all" | sed 's/^/  | /'; fi
  if grep -qE 'ecology: ([a-z]+ )*([a-z]+): \2:|ecology: usage: ecology' "$tmp/err"; then
    fail "$what: doubled prefix: $(head -1 "$tmp/err")"; else pass; fi
  if [ "$want" = 2 ]; then
    if [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^ecology: ' "$tmp/err"; then pass; else
      fail "$what: a usage error is one line starting 'ecology: '"; sed 's/^/  | /' "$tmp/err" | head -4; fi
  fi
}

# ---- commands and options ----------------------------------------------------------------
row 2 "unknown command 'frobnicate'"                -- frobnicate
row 2 "unknown option '--bogus'"                    -- generate --model "$M" --prompt y --bogus 1
row 2 "unknown option '-x'"                         -- inspect -x "$M"
row 2 "option '--model' needs a value"              -- generate --model
row 2 "option '--json' takes no value"              -- inspect --json=yes "$M"
row 2 "option '--prompt' given twice"               -- generate --model "$M" --prompt a --prompt b
row 2 "unexpected argument 'extra'"                 -- generate --model "$M" --prompt a extra
row 2 "generate: --model"                           -- generate --prompt y
row 2 "'abc' is not an integer"                     -- generate --model "$M" --prompt y -n abc
row 2 "option '--temperature': '-1'"                -- generate --model "$M" --prompt y --temperature -1
row 2 "option '--top-p': '2'"                       -- generate --model "$M" --prompt y --top-p 2
row 2 "option '--seed': '-3' is not a non-negative" -- generate --model "$M" --prompt y --seed -3
row 2 "option '--kv-cache': 'bf16' is not f32 or f16" -- generate --model "$M" --prompt y --kv-cache bf16
row 2 "option '--threads'"                          -- logits --model "$M" --tokens 1 --out "$T/l.safetensors" --threads 0
row 2 "option '--tokens': 'x' is not a token id"    -- logits --model "$M" --tokens 1,x --out "$T/l.safetensors"
row 2 "option '--preset': "                         -- model create --preset nope --out "$T/m"
row 2 "bpb: --file TEXT is required"                -- bpb --model "$M"
row 2 "bpb: --model MODEL is required"              -- bpb --file "$J"
row 2 "option '--ctx'"                              -- bpb --model "$M" --file "$J" --ctx 1
row 1 "window 4096 outside [2,"                     -- bpb --model "$M" --file "$J" --ctx 4096
row 1 "$T/none.txt"                                 -- bpb --model "$M" --file "$T/none.txt"
row 1 "empty text"                                  -- bpb --model "$M" --file "$T/empty.txt"
row 2 "option '--dtype': 'f64'"                     -- model create --preset tiny --dtype f64 --out "$T/m"
row 2 "model: expected a subcommand"                -- model
row 2 "model: unknown subcommand 'frob'"            -- model frob
row 2 "tasks: unknown subcommand 'frob'"            -- tasks frob
row 2 "keys: unknown subcommand 'frob'"             -- keys frob
row 2 "registry: expected a subcommand"             -- registry
row 2 "registry: unknown subcommand 'frob'"         -- registry frob
row 2 "alias: unknown subcommand 'frob'"            -- alias frob x
row 2 "alias: expected a subcommand"                -- alias
row 2 "alias set: expected NAME ID"                 -- alias set champion --data-dir "$D"
row 2 "unknown option '--json'"                     -- alias get champion --json --data-dir "$D"
row 2 "option '--type': 'rsa'"                      -- keys generate --out "$T/k" --type rsa
row 2 "tokenize: give exactly one of --text and --file" -- tokenize --tokenizer "$M" --text a --file b
row 2 "inspect: expected PATH"                      -- inspect
row 2 "export: --out DIR is required"               -- export some-id --data-dir "$D"
row 2 "export: give a model id"                     -- export --out "$T/x" --data-dir "$D"
row 2 "train: give exactly one of --lora SPEC and --full" -- train --model "$M" --data "$J" "${TRAIN[@]}"
row 2 "option '--lora': unknown key 'beta'"         -- train --model "$M" --data "$J" --lora beta=1,targets=q --adapter-out "$T/a" "${TRAIN[@]}"
row 2 "train: --steps is required"                  -- train --model "$M" --data "$J" --full --out "$T/f" --batch 1 --seq 8 --lr 1 --seed 1
row 2 "list: --kind 'weird'"                        -- list --kind weird --data-dir "$D"
row 2 "version: unexpected argument"                -- version now

# ---- capabilities: unknown is a usage error everywhere -------------------------------------
row 2 "unknown capability 'nope@1'"                 -- tasks generate --capability nope@1 --split train --n 3
row 2 "unknown capability 'nope@1'"                 -- tasks eval --model "$M" --capability nope@1
row 2 "unknown capability 'nope@1'"                 -- add "$M" --id m --capability nope@1 --data-dir "$D"
row 2 "unknown capability 'nope'"                   -- add "$M" --id m --capability arith.add@1,nope --data-dir "$D"
row 2 "unknown capability 'nope@1'"                 -- list --capability nope@1 --data-dir "$D"
row 2 "option '--split'"                            -- tasks generate --capability arith.add@1 --split dev --n 3

# ---- tasks table: families (malformed: usage; missing folders: failures, named) -------------
row 2 "'nomodel' is not NAME=MODEL_DIR[:ADAPTER_DIR]" -- tasks table --family nomodel
row 2 "'=$M' is not NAME=MODEL_DIR[:ADAPTER_DIR]"  -- tasks table --family "=$M"
row 2 "name 'a b': printable ASCII without spaces" -- tasks table --family "a b=$M"
row 2 "the name 'a' is given twice"                 -- tasks table --family "a=$M" --family "a=$M"
row 2 "give --family or --data-root, not both"      -- tasks table --family "a=$M" --data-root "$T"
row 2 "unknown capability 'nope@1'"                 -- tasks table --family "a=$M" --capability nope@1
row 1 "family 'a': $T/none: no such folder"         -- tasks table --family "a=$T/none"
row 1 "family 'a': $M/config.json: is a file"       -- tasks table --family "a=$M/config.json"
row 1 "family 'a': $T/none: no such folder"         -- tasks table --family "a=$M:$T/none"
row 1 "$T/models: no such folder"                   -- tasks table --data-root "$T"

# ---- empty values and the environment -------------------------------------------------------
row 2 "option '--data-dir': empty value"            -- list --data-dir ""
row 2 "option '--data-dir': empty value"            -- events --data-dir=
row 2 "option '--data-dir': empty value"            -- registry init --data-dir ""
row 2 "option '--model': empty value"               -- generate --model "" --prompt hi
row 2 "option '--out': empty value"                 -- model create --preset tiny --out ""
row 2 "ECOLOGY_LOG: 'loud' is not a log level"      ECOLOGY_LOG=loud -- version
row 2 "ECOLOGY_LOG: 'verbose' is not a log level"   ECOLOGY_LOG=verbose -- inspect "$M"
row 0 "ecology "                                    ECOLOGY_LOG=warn -- version
row 0 "ecology "                                    ECOLOGY_LOG= -- version

# ---- missing files and the wrong kind of path -----------------------------------------------
row 1 "$T/none: no such folder; expected a model folder" -- generate --model "$T/none" --prompt hi
row 1 "$M/config.json: is a file, expected a model folder" -- generate --model "$M/config.json" --prompt hi
row 1 "$M/model.safetensors: is a file, expected a model folder" -- logits --model "$M/model.safetensors" --tokens 1 --out "$T/l.safetensors"
row 1 "$M/config.json: is a file, expected a model folder" -- train --model "$M/config.json" --data "$J" --lora targets=q --adapter-out "$T/a" "${TRAIN[@]}"
row 1 "$M/config.json: is a file, expected a model folder" -- grads --model "$M/config.json" --data "$J" --out "$T/g.safetensors"
row 1 "$M/config.json: is a file, expected a model folder" -- model merge --model "$M/config.json" --adapter "$A" --out "$T/merged"
row 1 "$M/config.json: is a file, expected a model folder" -- tasks eval --model "$M/config.json" --capability arith.add@1 --n 1
row 1 "$M/config.json: is a file, expected an adapter folder" -- generate --model "$M" --adapter "$M/config.json" --prompt hi
row 1 "$M: no adapter_config.json"                  -- generate --model "$M" --adapter "$M" --prompt hi
row 1 "this is a model folder"                      -- logits --model "$M" --adapter "$M" --tokens 1 --out "$T/l.safetensors"
row 1 "$T/none: no such folder; expected an adapter folder" -- generate --model "$M" --adapter "$T/none" --prompt hi
row 1 "$T: is a folder, expected a file"            -- train --model "$M" --data "$T" --lora targets=q --adapter-out "$T/a" "${TRAIN[@]}"
row 1 "$T/none.jsonl"                               -- train --model "$M" --data "$T/none.jsonl" --lora targets=q --adapter-out "$T/a" "${TRAIN[@]}"
row 1 "$T: is a folder, expected a file"            -- pretrain --recipe "$T"
row 1 "$T/none.json"                                -- pretrain --recipe "$T/none.json"
row 1 "$T: a folder without tokenizer.json"         -- tokenize --tokenizer "$T" --text a
row 1 "$T/none.txt"                                 -- tokenize --tokenizer "$M" --file "$T/none.txt"
row 1 "$T: is a folder, expected a file"            -- tokenize --tokenizer "$M" --file "$T"
row 1 "$T/none.safetensors"                         -- inspect "$T/none.safetensors"
row 1 "$T/none: no such folder; expected a folder of trusted public keys" -- verify "$E" --trusted "$T/none"
row 1 "$M/config.json: is a file, expected a folder of trusted public keys" -- verify "$E" --trusted "$M/config.json"
row 1 "$M: a folder without genome.json"            -- verify "$M" --data-dir "$D"
row 1 "$T/none"                                     -- add "$T/none" --id m --data-dir "$D"

# ---- the library's message already names the command: no doubled prefix -------------------
row 1 "$M is not empty"                             -- export eco-tiny --out "$M" --data-dir "$D"
row 1 "$B"                                          -- model merge --model "$B" --adapter "$A" --out "$B"
row 1 "is not a valid model id"                     -- add "$M" --id "bad id" --data-dir "$D"

# ---- extract (a LoRA from a full fine-tune) ------------------------------------------------
row 2 "extract: --base"                             -- extract --model "$M" --rank 2 --out "$T/x"
row 2 "extract: give --rank R, --sv-epsilon E"      -- extract --model "$M" --base "$M" --out "$T/x"
row 2 "option '--rank'"                             -- extract --model "$M" --base "$M" --rank 0 --out "$T/x"
row 2 "option '--sv-epsilon'"                       -- extract --model "$M" --base "$M" --sv-epsilon -1 --out "$T/x"
row 1 "nothing to extract"                          -- extract --model "$M" --base "$M" --rank 2 --out "$T/x"
row 1 "$T/none"                                     -- extract --model "$T/none" --base "$M" --rank 2 --out "$T/x"
row 0 "ecology extract --model MODEL"               -- extract --help

# ---- quantize ---------------------------------------------------------------------------------
row 2 "quantize: --model MODEL is required"         -- quantize --type q8_0 --out "$T/q"
row 2 "quantize: --type q8_0 is required"           -- quantize --model "$M" --out "$T/q"
row 2 "option '--type': 'q4_0' is not one of q8_0"  -- quantize --model "$M" --type q4_0 --out "$T/q"
row 2 "quantize: --out DIR is required"             -- quantize --model "$M" --type q8_0
row 1 "$T/none: no such folder"                     -- quantize --model "$T/none" --type q8_0 --out "$T/q"
row 1 "config.json"                                 -- quantize --model "$A" --type q8_0 --out "$T/q"
row 1 "is the input"                                -- quantize --model "$M" --type q8_0 --out "$M" --force
row 1 "$M is not empty"                             -- quantize --model "$B" --type q8_0 --out "$M"
row 0 "ecology quantize --model MODEL"              -- quantize --help

# ---- help: exit 0 with the usage (but "-h" as an option's value is that value) ----------------
row 0 "ecology generate --model MODEL"              -- generate --help
row 0 "ecology generate --model MODEL"              -- generate --model "$M" -h
row 0 "ecology model create --preset P"             -- model create --help
row 0 "ecology registry init"                       -- registry init --help
row 0 "ecology alias set NAME ID"                   -- alias set --help
row 0 "ecology tasks eval --model MODEL"            -- tasks eval --help
row 0 "ecology keys generate --out DIR"             -- keys generate -h
row 0 "ecology inspect PATH|ID [--json]"   -- help inspect
row 0 "commands:"                                   -- help
row 0 "256,45,104"                                  -- tokenize --tokenizer "$M" --text -h
row 0 "256,45,45,104,101,108,112"                   -- tokenize --tokenizer "$M" --text --help
row 0 "ecology tokenize --tokenizer"                -- tokenize --tokenizer "$M" --text a -h
row 2 "unknown command 'frobnicate'"                -- help frobnicate
row 2 "model: unknown subcommand 'frob'"            -- help model frob

# ---- merge --------------------------------------------------------------------------------
"$BIN" model create --preset tiny --seed 2 --out "$T/m2" >/dev/null || { echo "setup: model create failed"; exit 1; }
row 2 "option '--method': merge method 'soup' unknown" -- merge --method soup --parents "$M,$T/m2" --weights 1,1 --out "$T/mx"
row 2 "option '--weights': 3 weights for 2 parents"     -- merge --method linear --parents "$M,$T/m2" --weights 1,1,1 --out "$T/mx"
row 2 "merge: --weights w,w,... is required"            -- merge --method linear --parents "$M,$T/m2" --out "$T/mx"
row 2 "merge: --base DIR is required for ties"          -- merge --method ties --parents "$M,$T/m2" --weights 1,1 --out "$T/mx"
row 3 "architecture_hash differs"                       -- merge --method linear --parents "$M,$B" --weights 1,1 --out "$T/mx"
row 2 "option '--density': '1.5' is not a number in [0, 1]" -- merge --method ties --base "$M" --parents "$M,$T/m2" --weights 1,1 --density 1.5 --out "$T/mx"
row 1 "is the input"                                    -- merge --method linear --parents "$M,$T/m2" --weights 1,1 --out "$T/m2" --force
row 2 "merge: slerp merges exactly 2 parents"           -- merge --method slerp --parents "$M" --t 0.5 --out "$T/mx"
row 1 "no such folder"                                  -- merge --method linear --parents "$M,$T/absent" --weights 1,1 --out "$T/mx"
row 2 "option '--election': 'most' is not sum or count" -- merge --method ties --base "$M" --parents "$M,$T/m2" --weights 1,1 --election most --out "$T/mx"
# train --init-adapter (continue a saved adapter, e.g. a bred child)
row 2 "(or --init-adapter ADAPTER in place of --lora)" -- train --model "$M" --data "$J" --lora targets=q --init-adapter "$A" --adapter-out "$T/a" "${TRAIN[@]}"
row 2 "(or --init-adapter ADAPTER in place of --lora)" -- train --model "$M" --data "$J" --full --init-adapter "$A" --out "$T/f" "${TRAIN[@]}"
row 2 "train: --init-adapter needs --adapter-out DIR"  -- train --model "$M" --data "$J" --init-adapter "$A" "${TRAIN[@]}"
row 1 "$T/none"                                        -- train --model "$M" --data "$J" --init-adapter "$T/none" --adapter-out "$T/a" "${TRAIN[@]}"
# rl (GRPO on a LoRA adapter)
RL=(--group 2 --steps 1 --batch 1 --adapter-out "$T/rl")
row 2 "option '--capability': unknown capability 'nope@1'" -- rl --model "$B" --lora r=4,targets=q --capability nope@1 "${RL[@]}"
row 2 "option '--capability': arith.add@1 is named twice" -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1,arith.add@1 "${RL[@]}"
row 2 "option '--lora': unknown key 'beta'"          -- rl --model "$B" --lora r=4,beta=1 --capability arith.add@1 "${RL[@]}"
row 2 "option '--max-tokens': '0'"                   -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1 "${RL[@]}" --max-tokens 0
row 2 "option '--temperature': '0'"                  -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1 "${RL[@]}" --temperature 0
row 2 "rl: --reference: rl reference \"x\""          -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1 "${RL[@]}" --reference x
row 2 "rl: --loss-type: grpo loss type \"x\""        -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1 "${RL[@]}" --loss-type x
row 1 "rl: --max-tokens 600 leaves no room"          -- rl --model "$B" --lora r=4,targets=q --capability arith.add@1 "${RL[@]}" --max-tokens 600

# ---- model export --format gguf, and a .gguf where a model goes -------------------------------
row 2 "model export: --format is required"          -- model export --model "$M" --out "$T/m.gguf"
row 2 "option '--format': 'onnx'"                   -- model export --format onnx --model "$M" --out "$T/m.gguf"
row 2 "option '--type': 'q4_0'"                     -- model export --format gguf --type q4_0 --model "$M" --out "$T/m.gguf"
row 1 "$T: is a folder"                             -- model export --format gguf --model "$M" --out "$T"
row 1 "$T/none.gguf: open"                          -- logits --model "$T/none.gguf" --tokens 1 --out "$T/l.safetensors"
row 0 "ecology model export --format gguf"          -- model export --help
row 1 "$M: expected a .gguf file"                   -- model import --model "$M" --out "$T/imp"
row 2 "model import: --out DIR is required"         -- model import --model "$T/x.gguf"
# extract: config.json's sizes that the tensors do not have (both models' configs say an
# intermediate size of 86, the tensors hold 172): refused naming the tensor, no overflow
cp -r "$M" "$T/xbase" && "$BIN" model create --preset tiny --seed 5 --out "$T/xft" >/dev/null || { echo "setup: extract models failed"; exit 1; }
sed -i 's/"intermediate_size": 172/"intermediate_size": 86/' "$T/xbase/config.json" "$T/xft/config.json"
row 1 "_proj.weight' has shape ["                      -- extract --model "$T/xft" --base "$T/xbase" --rank 4 --out "$T/xout"

# ---- breed ---------------------------------------------------------------------------------
row 2 "breed: --op NAME is required"                -- breed --parents eco-tiny --data-dir "$D"
row 2 "operator 'blend' unknown"                    -- breed --op blend --parents eco-tiny --data-dir "$D"
row 2 "option '--param': 'w' is not K=V"            -- breed --op linear --parents eco-tiny --param w --data-dir "$D"
row 1 "no model or alias 'nobody'"                  -- breed --op linear --parents eco-tiny,nobody --data-dir "$D"
row 1 "$T/none.jsonl"                               -- breed --op finetune --parents eco-tiny --corpus "$T/none.jsonl" --data-dir "$D"
row 1 "'eco-tiny' is named twice"                   -- breed --op linear --parents eco-tiny,eco-tiny --data-dir "$D"
row 1 "not made by a breeding operator"             -- breed --rerun eco-tiny --data-dir "$D"
row 3 "'eco-tiny' is not an adapter"               -- breed --op rl --parents eco-tiny --param steps=1 --data-dir "$D"

# ---- corpus build ---------------------------------------------------------------------------
row 2 "corpus: expected a subcommand (build, add, list, deny)" -- corpus
row 2 "corpus: unknown subcommand 'frob'"           -- corpus frob
row 2 "corpus build: --capability C[,C...] or --safety is required" -- corpus build --n 3 --seed 0 --out "$T/c.jsonl"
row 2 "corpus build: --n N is required"             -- corpus build --capability arith.add@1 --seed 0 --out "$T/c.jsonl"
row 2 "corpus build: --seed S is required"          -- corpus build --capability arith.add@1 --n 3 --out "$T/c.jsonl"
row 2 "corpus build: --out FILE is required"        -- corpus build --capability arith.add@1 --n 3 --seed 0
row 2 "unknown capability 'nope@1'"                 -- corpus build --capability arith.add@1,nope@1 --n 3 --seed 0 --out "$T/c.jsonl"
row 2 "'arith.add@1,' is not a list"                -- corpus build --capability arith.add@1, --n 3 --seed 0 --out "$T/c.jsonl"
row 2 "arith.add@1 is named twice"                  -- corpus build --capability arith.add@1,arith.add@1 --n 3 --seed 0 --out "$T/c.jsonl"
row 2 "option '--n'"                                -- corpus build --capability arith.add@1 --n 0 --seed 0 --out "$T/c.jsonl"
row 2 "option '--n'"                                -- corpus build --capability arith.add@1 --n 100001 --seed 0 --out "$T/c.jsonl"
row 2 "option '--seed': '-1'"                       -- corpus build --capability arith.add@1 --n 3 --seed -1 --out "$T/c.jsonl"
row 2 "option '--out': empty value"                 -- corpus build --capability arith.add@1 --n 3 --seed 0 --out ""
row 1 "sentiment.imdb@1 has no out-of-distribution kind" -- corpus build --capability sentiment.imdb@1 --n 3 --seed 0 --shift --out "$T/c.jsonl"
row 1 "the safety pairs: --safety"                  -- corpus build --capability safety.refuse@1 --n 3 --seed 0 --shift --out "$T/c.jsonl"
row 1 "is a folder"                                 -- corpus build --capability arith.add@1 --n 3 --seed 0 --out "$T"
row 1 "$T/none/c.jsonl"                             -- corpus build --capability arith.add@1 --n 3 --seed 0 --out "$T/none/c.jsonl"
row 0 "ecology corpus build [--capability"          -- corpus build --help
# ---- eval (issue 19) -------------------------------------------------------------------------
printf '{"capability":"x@1","prompt":"Q: a\\nA:","check":"exact","expected":"b"}\n' >"$T/evals.jsonl"
printf '{"bogus": 1}\n' >"$T/bad-gates.json"
row 2 "eval: --model MODEL is required"             -- eval --corpus "$T/evals.jsonl"
row 2 "eval: --corpus FILE is required"             -- eval --model "$M"
row 2 "option '--max-tokens': '0'"                  -- eval --model "$M" --corpus "$T/evals.jsonl" --max-tokens 0
row 2 "option '--threads': '0'"                     -- eval --model "$M" --corpus "$T/evals.jsonl" --threads 0
row 2 "option '--seed': '-1'"                       -- eval --model "$M" --corpus "$T/evals.jsonl" --seed -1
row 2 "option '--no-robustness' takes no value"     -- eval --model "$M" --corpus "$T/evals.jsonl" --no-robustness=1
row 1 "$T/none.jsonl"                               -- eval --model "$M" --corpus "$T/none.jsonl"
row 1 "add.jsonl:1: check: missing"                 -- eval --model "$M" --corpus "$J"
row 1 "$M/config.json: is a file"                   -- eval --model "$M/config.json" --corpus "$T/evals.jsonl"
row 1 "no model or alias 'nobody'"                  -- eval --model nobody --corpus "$T/evals.jsonl" --data-dir "$D"
row 1 "$T/none.json"                                -- eval --model "$M" --corpus "$T/evals.jsonl" --gates "$T/none.json"
row 1 "bad-gates.json: unknown field 'bogus'"      -- eval --model "$M" --corpus "$T/evals.jsonl" --gates "$T/bad-gates.json"
printf '# terms\nok\n\n\xe2\x80\x8b\n' >"$T/deny.txt" # term 1, on line 4
row 1 "deny.txt:4: deny term: empty after normalisation" -- eval --model "$M" --corpus "$T/evals.jsonl" --deny "$T/deny.txt"
row 1 "$T/none.txt"                                 -- eval --model "$M" --corpus "$T/evals.jsonl" --deny "$T/none.txt"
row 2 "option '--case-timeout-ms': '-1'"            -- eval --model "$M" --corpus "$T/evals.jsonl" --case-timeout-ms -1
row 0 "ecology eval --model MODEL"                  -- eval --help

# ---- corpus add/list/deny; eval and the registry (issue 19, w-evreg) ------------------------
row 2 "corpus add: give one corpus FILE"            -- corpus add --data-dir "$D"
row 2 "corpus add: --kind 'x': expected eval or train" -- corpus add "$J" --kind x --data-dir "$D"
row 2 "corpus add: --hidden is for evaluation corpora" -- corpus add "$J" --kind train --hidden --data-dir "$D"
row 2 "corpus add: --name: 1..128 bytes"           -- corpus add "$J" --name "" --data-dir "$D"
row 1 "$T/none.jsonl"                               -- corpus add "$T/none.jsonl" --data-dir "$D"
row 1 "neither an evaluation corpus"                -- corpus add "$M/config.json" --data-dir "$D"
row 1 "add.jsonl:1: check: missing"                 -- corpus add "$J" --kind eval --data-dir "$D"
row 1 "a training corpus cannot be hidden"          -- corpus add "$J" --hidden --data-dir "$D"
row 1 "not an initialised registry"                 -- corpus add "$T/evals.jsonl" --data-dir "$T/nodata"
row 2 "corpus deny: 'abc' is not a SHA-256"         -- corpus deny abc --data-dir "$D"
row 2 "corpus deny: --reason: 1..1024 bytes"      -- corpus deny 0000000000000000000000000000000000000000000000000000000000000000 --reason "" --data-dir "$D"
row 2 "unknown option '--bogus'"                    -- corpus list --bogus
row 1 "not an initialised registry"                 -- corpus list --data-dir "$T/nodata"
row 1 "corpus 0000000000000000000000000000000000000000000000000000000000000000 is not recorded"                   -- eval --model "$M" --corpus 0000000000000000000000000000000000000000000000000000000000000000 --data-dir "$D"
row 0 "ecology corpus add FILE"                     -- corpus add --help
row 0 "ecology corpus list"                         -- corpus list --help
row 0 "ecology corpus deny SHA256"                  -- corpus deny --help

# ---- tokenizer train ------------------------------------------------------------------------
printf 'one line\nabc\xc3(\n' >"$T/bad-utf8.txt"; : >"$T/empty.txt"; printf 'ab ab\n' >"$T/ok.txt"
row 2 "tokenizer: expected a subcommand (train)"    -- tokenizer
row 2 "tokenizer: unknown subcommand 'frob'"        -- tokenizer frob
row 2 "tokenizer train: --corpus FILE[,FILE...] is required" -- tokenizer train --vocab 300 --out "$T/tok.json"
row 2 "tokenizer train: --vocab N is required"      -- tokenizer train --corpus "$T/ok.txt" --out "$T/tok.json"
row 2 "tokenizer train: --out FILE is required"     -- tokenizer train --corpus "$T/ok.txt" --vocab 300
row 2 "option '--vocab': 255 is below 256"          -- tokenizer train --corpus "$T/ok.txt" --vocab 255 --out "$T/tok.json"
row 2 "option '--vocab': 257 is below 258 (2 special token(s)" -- tokenizer train --corpus "$T/ok.txt" --vocab 257 --special a --bos b --out "$T/tok.json"
row 2 "option '--vocab': 'x'"                       -- tokenizer train --corpus "$T/ok.txt" --vocab x --out "$T/tok.json"
row 2 "option '--min-frequency': '-1'"              -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --min-frequency -1 --out "$T/tok.json"
row 2 "option '--corpus': 'a,,b' has an empty file name" -- tokenizer train --corpus a,,b --vocab 300 --out "$T/tok.json"
row 2 "option '--special': an empty token"          -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --special "" --out "$T/tok.json"
row 1 "special token '<s>' is given twice"          -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --special "<s>" --special "<s>" --out "$T/tok.json"
row 1 "special token 1 'x' is the character of a byte token" -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --special x --out "$T/tok.json"
row 1 "$T/none.txt: cannot open"                    -- tokenizer train --corpus "$T/none.txt" --vocab 300 --out "$T/tok.json"
row 1 "$T/empty.txt: empty file"                    -- tokenizer train --corpus "$T/ok.txt,$T/empty.txt" --vocab 300 --out "$T/tok.json"
row 1 "$T/bad-utf8.txt: line 2: invalid UTF-8 at byte 4 of the line" -- tokenizer train --corpus "$T/bad-utf8.txt" --vocab 300 --out "$T/tok.json"
row 1 "$T: is a folder, expected a text file"       -- tokenizer train --corpus "$T" --vocab 300 --out "$T/tok.json"
row 1 "$T: is a folder; --out names the .json file" -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --out "$T"
row 1 "$T/ok.txt exists (use --force to replace it)" -- tokenizer train --corpus "$T/ok.txt" --vocab 300 --out "$T/ok.txt"
row 0 "ecology tokenizer train --corpus"            -- tokenizer train --help

# ---- the loop (issue 21, w-loop): run, demo, archive show, promote, rollback -------------
sed "s#\"\.\./#\"$SRC/data/#" "$SRC/data/loop/quick.json" >"$T/loop.json"
sed 's/"n": 8, "shift_n": 8/"n": 0, "shift_n": 8/' "$T/loop.json" >"$T/loop-n0.json"
sed 's/"op": "finetune"/"op": "frobnicate"/' "$T/loop.json" >"$T/loop-op.json"
sed 's/"stepWeight": 50/"stepWeight": 60/' "$T/loop.json" >"$T/loop-canary.json"
sed 's/"min": {"text.reverse@1": 0.5/"min": {"text.reverse@1": 1.5/' "$T/loop.json" >"$T/loop-gates.json"
sed 's/"capabilities": \["text.reverse@1", "text.sort@1"\],/"capabilities": ["text.reverse@1", "text.nope@1"],/' "$T/loop.json" >"$T/loop-cap.json"
sed 's/"archive": {"capacity": 8}/"archive": {"capacity": 8, "objectives": ["speed"]}/' "$T/loop.json" >"$T/loop-obj.json"
sed 's/"hard_examples": {"max": 50}/"hard_examples": {"max": 50}, "bogus": 1/' "$T/loop.json" >"$T/loop-unknown.json"
printf '{"name": "a", "name": "b"}' >"$T/loop-dup.json"
printf '{"name": "Bad Name"}' >"$T/loop-name.json"
row 2 "run: --config FILE is required"              -- run
row 2 "option '--generations': '0' is not an integer"        -- run --config "$T/loop.json" --generations 0
row 2 "option '--minutes'"                          -- run --config "$T/loop.json" --minutes -1
row 1 "$T/none.json"                                -- run --config "$T/none.json" --data-dir "$T/d1"
row 1 "loop-n0.json: evaluation.n: 0 outside [1, 100000]" -- run --config "$T/loop-n0.json" --data-dir "$T/d1"
row 1 "loop-op.json: operators[1].op:"              -- run --config "$T/loop-op.json" --data-dir "$T/d1"
row 1 "loop-canary.json: canary: maxWeight"         -- run --config "$T/loop-canary.json" --data-dir "$T/d1"
row 1 "loop-gates.json: gates: quality.min"         -- run --config "$T/loop-gates.json" --data-dir "$T/d1"
row 1 "loop-cap.json: capabilities[1]: 'text.nope@1'" -- run --config "$T/loop-cap.json" --data-dir "$T/d1"
row 1 "loop-obj.json: archive.objectives[0]: unknown objective" -- run --config "$T/loop-obj.json" --data-dir "$T/d1"
row 1 "loop-unknown.json: unknown field 'bogus'"    -- run --config "$T/loop-unknown.json" --data-dir "$T/d1"
row 1 "loop-dup.json: invalid JSON"                 -- run --config "$T/loop-dup.json" --data-dir "$T/d1"
row 1 "loop-name.json: name: expected 1 to 64 bytes of [a-z0-9_-]" -- run --config "$T/loop-name.json" --data-dir "$T/d1"
row 2 "option '--minutes': '11'"                    -- demo --minutes 11
row 1 "$T/none.json"                                -- demo --config "$T/none.json" --data-dir "$T/d1"
row 2 "unexpected argument 'x'"                     -- demo x
row 2 "archive: expected the subcommand show"       -- archive
row 2 "archive: expected the subcommand show"       -- archive list
row 1 "no archive yet"                              -- archive show --data-dir "$D"
row 2 "promote: expected ID"                        -- promote --capability text.sort@1 --data-dir "$D"
row 2 "promote: --capability C is required"         -- promote eco-tiny --data-dir "$D"
row 3 "promote: refused:"                           -- promote eco-tiny --capability text.sort@1 --data-dir "$D"
row 1 "promote"                                     -- promote nosuch --capability text.sort@1 --data-dir "$D"
row 2 "rollback: expected CAPABILITY"               -- rollback --data-dir "$D"
row 1 "rollback"                                    -- rollback text.sort@1 --data-dir "$D"
row 0 "ecology run --config FILE"                   -- run --help
row 0 "ecology demo"                                -- demo --help
row 0 "ecology archive show"                        -- archive show --help
row 0 "ecology promote ID --capability C"           -- promote --help
row 0 "ecology rollback CAPABILITY"                 -- rollback --help

# ---- canary (issue 21, w-canary) -------------------------------------------------------------
CS='{"stepWeight": 20, "maxWeight": 60, "interval": 50, "threshold": 1}'
printf '{"capability": "text.reverse@1", "prompt": "Reverse: ab", "check": "exact", "expected": "ba"}\n' >"$T/traffic.jsonl"
row 2 "canary: expected a subcommand (status, run)" -- canary
row 2 "canary: unknown subcommand 'frob'"           -- canary frob
row 2 "canary run: --capability C is required"      -- canary run --challenger x --traffic "$T/traffic.jsonl"
row 2 "canary run: --challenger ID is required"     -- canary run --capability text.reverse@1 --traffic "$T/traffic.jsonl"
row 2 "canary run: --traffic FILE is required"      -- canary run --capability text.reverse@1 --challenger x
row 2 "maxWeight: 10 below stepWeight 20"         -- canary run --capability c@1 --challenger x --traffic "$T/traffic.jsonl" --settings '{"stepWeight": 20, "maxWeight": 10, "interval": 5, "threshold": 1}'
row 2 "bogus"                                       -- canary run --capability c@1 --challenger x --traffic "$T/traffic.jsonl" --settings '{"bogus": 1}'
row 1 "$T/none.json"                                -- canary run --capability c@1 --challenger x --traffic "$T/traffic.jsonl" --settings "$T/none.json"
row 2 "option '--threads': '0'"                     -- canary run --capability c@1 --challenger x --traffic "$T/traffic.jsonl" --threads 0
row 2 "canary run: --capability"                    -- canary run --capability 'bad cap' --challenger x --traffic "$T/traffic.jsonl"
row 2 "unexpected argument 'extra'"                 -- canary status extra
row 1 "not an initialised registry"                 -- canary status --data-dir "$T/nodata"
row 1 "'nobody'"                                    -- canary run --capability text.reverse@1 --champion eco-tiny --challenger nobody --traffic "$T/traffic.jsonl" --settings "$CS" --data-dir "$D"
row 1 "canary: traffic"                             -- canary run --capability text.reverse@1 --champion eco-tiny --challenger eco-tiny --traffic "$J" --settings "$CS" --data-dir "$D"
row 1 "no cases"                                    -- canary run --capability text.reverse@1 --champion eco-tiny --challenger eco-tiny --traffic "$T/empty.txt" --settings "$CS" --data-dir "$D"
row 1 "is the champion"                             -- canary run --capability text.reverse@1 --champion eco-tiny --challenger eco-tiny --traffic "$T/traffic.jsonl" --settings "$CS" --data-dir "$D"
row 1 "text.reverse@1.champion"                     -- canary run --capability text.reverse@1 --challenger eco-tiny --traffic "$T/traffic.jsonl" --settings "$CS" --data-dir "$D"
row 0 "ecology canary run --capability C"           -- canary run --help
row 0 "ecology canary status"                       -- canary status --help

# ---- report ---------------------------------------------------------------------------------
row 2 "report: --out DIR is required"               -- report --data-dir "$D"
row 2 "option '--out': empty value"                 -- report --out "" --data-dir "$D"
row 2 "option '--max-lineage': '0' is not an integer in [1, 100000]" -- report --out "$T/rep" --max-lineage 0 --data-dir "$D"
row 2 "unexpected argument 'extra'"                 -- report extra --out "$T/rep" --data-dir "$D"
row 1 "$T/none: not an initialised registry"        -- report --out "$T/rep" --data-dir "$T/none"
row 1 "$T/empty.txt: is a file, expected a folder"  -- report --out "$T/empty.txt" --data-dir "$D"
row 0 "ecology report --out DIR"                    -- report --help

# route (issue 21)
printf 'a\0b' >"$T/route-nul.txt"
row 1 "$T/route-nul.txt: the prompt holds a NUL byte" -- route --policy '"a"' --model "a=$M" --prompt-file "$T/route-nul.txt"
row 2 "route: --policy FILE|JSON is required"      -- route --model "$M" --prompt y
row 2 "route: --model is required"                 -- route --policy '"a"' --prompt y
row 2 "route: give one of --prompt TEXT and --prompt-file F" -- route --policy '"a"' --model "$M"
row 2 "route: give one of --prompt TEXT and --prompt-file F" -- route --policy '"a"' --model "$M" --prompt y --prompt-file "$J"
row 2 "'x' is not an integer"                      -- route --policy '"a"' --model "$M" --prompt y -n x
row 2 "--capability"                               -- route --policy '"a"' --model "$M" --prompt y --capability nope@1
row 2 "option '--model': '=': expected [NAME=]MODEL[+ADAPTER]" -- route --policy '"a"' --model = --prompt y
row 2 "option '--model': 'a=m+': expected"        -- route --policy '"a"' --model a=m+ --prompt y
row 1 "--policy: invalid JSON"                     -- route --policy '{"policy":' --model "a=$M" --prompt y
row 1 "--policy: policy: 'x': expected capability, cascade" -- route --policy '{"policy":"x"}' --model "a=$M" --prompt y
row 1 "--policy: stages: 1 entries, expected 2"    -- route --policy '{"policy":"cascade","threshold":0.5,"stages":["a"]}' --model "a=$M" --prompt y
row 1 "--policy: champion: unknown field 'x'"      -- route --policy '{"policy":"shadow","champion":{"policy":"capability","x":1},"canary":"a"}' --model "a=$M" --prompt y
row 1 "route: policy: unknown target 'b'"          -- route --policy '"b"' --model "a=$M" --prompt y
row 1 "route: target id 'a' given twice"           -- route --policy '"a"' --model "a=$M" --model "a=$M" --prompt y
row 1 "$T/none.json"                               -- route --policy "$T/none.json" --model "a=$M" --prompt y
row 1 "--model 'nobody'"                           -- route --policy '"a"' --model a=nobody --prompt y --data-dir "$D"
row 0 "ecology route --policy"                     -- route --help

# chat-template (issue 22): $M is a tiny-ecology model (the project's own template)
printf '[{"role":"user","content":"Reverse: ab\\nReversed:"}]' >"$T/chat.json"
printf '[{"role":"user","content":"u"},{"role":"system","content":"s"}]' >"$T/chat_sys.json"
printf '[{"role":"tool","content":"x"}]' >"$T/chat_tool.json"
printf '[]' >"$T/chat_empty.json"
printf '[{"role":"user","content":"u","name":"n"}]' >"$T/chat_name.json"
printf '{"model_max_length": 512}' >"$T/cfg_none.json"
printf '{"chat_template": "{{ messages[0].content }}"}' >"$T/cfg_odd.json"
row 2 "chat-template: give exactly one of --model and --config" -- chat-template --messages "$T/chat.json"
row 2 "chat-template: give exactly one of --model and --config" -- chat-template --model "$M" --config "$T/cfg_none.json" --messages "$T/chat.json"
row 2 "chat-template: --messages FILE is required"  -- chat-template --model "$M"
row 2 "unknown option"                              -- chat-template --model "$M" --messages "$T/chat.json" --tools x
row 1 "$T/none.json"                                -- chat-template --model "$M" --messages "$T/none.json"
row 1 "$T/empty.txt: invalid JSON"                  -- chat-template --model "$M" --messages "$T/empty.txt"
row 1 "$T/chat_empty.json: no messages"             -- chat-template --model "$M" --messages "$T/chat_empty.json"
row 1 "[0].role: 'tool' is not one of system, user, assistant" -- chat-template --model "$M" --messages "$T/chat_tool.json"
row 1 "[0]: unknown field 'name'"                   -- chat-template --model "$M" --messages "$T/chat_name.json"
row 1 "message 1 (system): tiny-ecology models take system messages before the first user turn only" -- chat-template --model "$M" --messages "$T/chat_sys.json"
row 1 "$T/empty.txt: is a file, expected a model folder" -- chat-template --model "$T/empty.txt" --messages "$T/chat.json"
row 1 "$T/cfg_none.json: no chat_template"          -- chat-template --config "$T/cfg_none.json" --messages "$T/chat.json"
row 1 "$T/cfg_odd.json: chat_template is not one the project renders" -- chat-template --config "$T/cfg_odd.json" --messages "$T/chat.json"
row 0 "Reverse: ab"                                 -- chat-template --model "$M" --messages "$T/chat.json"
row 0 "ecology chat-template (--model DIR|FILE.gguf"          -- chat-template --help

# serve (issue 22): every row fails before or while starting (--port 0: any free port)
printf '{"keys": []}' >"$T/keys-empty.json"
printf '{"port": "x"}' >"$T/serve-bad.json"
row 2 "'x' is not an integer"                      -- serve --port x
row 2 "--port"                                     -- serve --port 70000
row 2 "unknown option '--bogus'"                   -- serve --bogus
row 1 "host 'nope' is not an IPv4 address"         -- serve --host nope --port 0 --data-dir "$D"
row 1 "$T/none.json"                               -- serve --port 0 --data-dir "$D" --api-keys "$T/none.json"
row 1 "keys: 0 keys, expected 1 to 1024"           -- serve --port 0 --data-dir "$D" --api-keys "$T/keys-empty.json"
row 1 "$T/serve-bad.json: port: expected an integer" -- serve --config "$T/serve-bad.json"
row 1 "not an initialised registry"                -- serve --port 0 --data-dir "$T"
row 1 "preload 'nope'"                             -- serve --port 0 --data-dir "$D" --preload nope

# add-remote (issue 22): a model another server holds
row 2 "--id, --endpoint and --model are required"  -- add-remote --id far --model m --data-dir "$D"
row 2 "not an http:// or https:// URL"             -- add-remote --id far --endpoint ftp://x --model m --data-dir "$D"
row 2 "NAME of an environment variable"            -- add-remote --id far --endpoint http://x --model m --key-env sk-secret-1 --data-dir "$D"
row 2 "unknown capability 'nope@1'"                -- add-remote --id far --endpoint http://x --model m --capability nope@1 --data-dir "$D"
row 1 "EEXIST"                                     -- add-remote --id eco-tiny --endpoint http://x --model m --data-dir "$D"
"$BIN" add-remote --id far --endpoint http://127.0.0.1:9/v1 --model m --data-dir "$D" >/dev/null || { echo "setup: add-remote failed"; exit 1; }
row 1 "model 'far' is a remote model"              -- generate --model far --prompt hi --data-dir "$D"
row 1 "'far' is a remote model: it takes no adapter"   -- route --policy '"far"' --model far+reverse --prompt hi --data-dir "$D"
row 1 "http://127.0.0.1:9/v1"                     -- route --policy '"far"' --model far --prompt hi --data-dir "$D"

finish "bad_inputs"
