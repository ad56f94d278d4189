#!/usr/bin/env bash
# Corpora in the registry and the checks before `ecology eval` (issue 19): corpus add (eval and
# training corpora, idempotent, immutable), list, deny; eval by corpus id; reports stored and
# listed by show; the hidden-corpus rule refusing a lineage trained on the hidden corpus itself,
# on one of its prompts, on text overlapping it by 8-word n-grams, or on a corpus whose content
# the registry lacks, while a clean adapter runs; the artifact checks naming a tampered file, an
# unsigned model (fed to the signature gate) and an adapter on the wrong base; the deny list;
# (w-fixreg) short prompts and a BOM in training files, an edited hidden corpus, folders
# beside registered models (refused on hidden corpora, no report), a report that cannot be
# stored (exit 1), a schema that cannot compile.
# Lineages are built from copies of the shipped eco-tiny and text.reverse@1 whose training.json
# names small training corpora made here. Run by ctest with ECOLOGY_BIN set.
source "$(dirname "$0")/lib/harness.sh"
SRC=${ECO_SOURCE_DIR:?ECO_SOURCE_DIR not set}
D="$tmp/data"
export ECOLOGY_DATA="$D" OMP_NUM_THREADS=1
cd "$tmp" || exit 1
EV=(--no-robustness --max-tokens 12)

# adapter_with NAME CORPUS_SHA256: a copy of text.reverse@1 whose training.json names CORPUS
adapter_with() {
  cp -r "$SRC/data/adapters/text.reverse@1" "$tmp/dir-$1" && chmod -R u+w "$tmp/dir-$1"
  python3 - "$tmp/dir-$1/training.json" "$2" <<'EOF'
import json, sys
p, h = sys.argv[1], sys.argv[2]
d = json.load(open(p))
d["run"]["data"]["sha256"] = h
json.dump(d, open(p, "w"))
EOF
}
hash_of() { sha256sum "$1" | cut -c1-64; }

expect 0 "registry init" -- "$BIN" registry init
expect 0 "keys generate" -- "$BIN" keys generate --out "$D/keys" --name lab
mkdir -p "$D/keys/trusted" && cp "$D/keys/lab.pub" "$D/keys/trusted/"
KEY="$D/keys/lab.key"
echo '{}' >gates.json
# runs whose point is not the signature: folders are unsigned, and without --gates the default
# gates (signature.required true) would reject them
echo '{"signature": {"required": false}}' >nosig.json
# a base without a training record (its pretraining corpus is not part of these tests)
mkdir "$tmp/dir-base" && cp "$SRC"/data/models/eco-tiny/{config.json,tokenizer.json,*.safetensors} "$tmp/dir-base/"
expect 0 "add base" -- "$BIN" add "$tmp/dir-base" --id base --sign-key "$KEY"

# ---- corpora: add, idempotence, immutability, list ----
"$BIN" tasks generate --capability text.reverse@1 --split train --n 30 --seed 2 >train.jsonl
expect 0 "corpus build (hidden)" -- "$BIN" corpus build --capability text.reverse@1 --n 6 --seed 3 --out hidden.jsonl
expect 0 "corpus build (public)" -- "$BIN" corpus build --capability text.reverse@1 --n 4 --seed 9 --out public.jsonl
expect 0 "add a training corpus" -- "$BIN" corpus add train.jsonl --name clean-train
contains "$tmp/out" "added train corpus" "training corpus recorded"
TRAIN=$(awk '{print $4}' "$tmp/out")
expect 0 "add a hidden corpus" -- "$BIN" corpus add hidden.jsonl --hidden --name rev-hidden
HID=$(hash_of hidden.jsonl)
contains "$tmp/out" "added eval corpus $HID (6 cases, hidden)" "hidden corpus recorded"
expect 0 "add it again" -- "$BIN" corpus add hidden.jsonl --hidden
contains "$tmp/out" "already recorded" "adding the same bytes again is a no-op"
expect 1 "add it again, not hidden" -- "$BIN" corpus add hidden.jsonl
contains "$tmp/err" "immutable" "a corpus cannot change its hidden flag"
expect 0 "add a public corpus" -- "$BIN" corpus add public.jsonl
expect 2 "hidden training corpus" -- "$BIN" corpus add train.jsonl --kind train --hidden
expect 0 "corpus list" -- "$BIN" corpus list
contains "$tmp/out" "$HID eval  yes" "list: hash, kind, hidden"
contains "$tmp/out" "rev-hidden" "list: name"
contains "$tmp/out" "$TRAIN train no           30" "list: training corpus and its record count"
expect 0 "corpus list --json" -- "$BIN" corpus list --json
contains "$tmp/out" "\"hidden\":true" "list --json"

# ---- a clean adapter runs on the hidden corpus; its report is stored and shown ----
adapter_with clean "$TRAIN"
expect 0 "add clean adapter" -- "$BIN" add "$tmp/dir-clean" --id clean --base base --sign-key "$KEY"
expect 0 "clean adapter on the hidden corpus" -- "$BIN" eval --model base --adapter clean --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "report stored in the registry for 'clean'" "report stored"
expect 0 "eval by corpus id" -- "$BIN" eval --model base --adapter clean --corpus "$HID" "${EV[@]}" --gates gates.json
expect 0 "show lists the reports" -- "$BIN" show clean
contains "$tmp/out" "reports (2)" "two reports"
contains "$tmp/out" "${HID:0:16}" "the report's corpus"
expect 0 "show --json" -- "$BIN" show clean --json
contains "$tmp/out" "\"evaluator_version\":\"1\"" "the evaluator version"

# ---- contamination (the no-train rule) ----
adapter_with on-hidden "$HID"
expect 0 "add adapter trained on the hidden corpus" -- "$BIN" add "$tmp/dir-on-hidden" --id on-hidden --base base --sign-key "$KEY"
expect 3 "(a) trained on the hidden corpus itself" -- "$BIN" eval --model base --adapter on-hidden --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.hidden: training corpus $HID (lineage of 'on-hidden') is the hidden corpus" "(a) named"
expect 3 "(a) with the hidden corpus named by its id" -- "$BIN" eval --model base --adapter on-hidden --corpus "$HID" "${EV[@]}"
contains "$tmp/err" "no-train.hidden" "(a) by id"

python3 - hidden.jsonl >leak.jsonl <<'EOF'
import json, sys
first = json.loads(open(sys.argv[1]).readline())
print(json.dumps({"prompt": "Reverse: padding", "completion": "gniddap"}))
print(json.dumps({"prompt": first["prompt"], "completion": first["expected"]}))
EOF
expect 0 "add leaking training corpus" -- "$BIN" corpus add leak.jsonl
LEAK=$(awk '{print $4}' "$tmp/out")
adapter_with leak "$LEAK"
expect 0 "add leaking adapter" -- "$BIN" add "$tmp/dir-leak" --id leak --base base --sign-key "$KEY"
expect 3 "(b) a hidden prompt in the training corpus" -- "$BIN" eval --model base --adapter leak --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.prompt: hidden corpus $HID (rev-hidden): case line 1 (id text.reverse@1/eval/0) has the prompt of training corpus $LEAK line 2" "(b) exact prompt named"
expect 0 "the leaking adapter on a public corpus" -- "$BIN" eval --model base --adapter leak --corpus public.jsonl "${EV[@]}"

cat >long.jsonl <<'EOF'
{"capability": "qa@1", "prompt": "Question: which whale did the captain of the Pequod hunt across the seas?", "check": "contains", "expected": "white", "id": "whale"}
EOF
cat >ngram.jsonl <<'EOF'
{"text": "Ishmael asked which whale did the captain of the Pequod hunt across the seas, and why."}
EOF
expect 0 "add hidden long-prompt corpus" -- "$BIN" corpus add long.jsonl --hidden
expect 0 "add overlapping training corpus" -- "$BIN" corpus add ngram.jsonl
NG=$(awk '{print $4}' "$tmp/out")
adapter_with ngram "$NG"
expect 0 "add overlapping adapter" -- "$BIN" add "$tmp/dir-ngram" --id ngram --base base --sign-key "$KEY"
expect 3 "(b) n-gram overlap" -- "$BIN" eval --model base --adapter ngram --corpus long.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.ngram: hidden corpus $(hash_of long.jsonl): case line 1 (id whale) overlaps training corpus $NG" "(b) n-gram overlap named"
expect 0 "clean adapter on the long-prompt corpus" -- "$BIN" eval --model base --adapter clean --corpus long.jsonl "${EV[@]}"

UNREC=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
adapter_with unknown "$UNREC"
expect 0 "add adapter with an unrecorded corpus" -- "$BIN" add "$tmp/dir-unknown" --id unknown --base base --sign-key "$KEY"
expect 3 "(c) training content not recorded" -- "$BIN" eval --model base --adapter unknown --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.unknown: training corpus $UNREC (lineage of 'unknown') is not recorded" "(c) named"
expect 0 "(c) does not matter on a public corpus" -- "$BIN" eval --model base --adapter unknown --corpus public.jsonl "${EV[@]}"
expect 3 "a folder model on a hidden corpus" -- "$BIN" eval --model "$tmp/dir-base" --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no recorded lineage" "a folder's lineage is unknown"

# ---- w-fixreg: short prompts, a BOM, an edited hidden corpus, folders beside registered models ----
# (2) a training file starting with a UTF-8 BOM: its first line is checked all the same
python3 - hidden.jsonl >bomleak.jsonl <<'EOF'
import json, sys
first = json.loads(open(sys.argv[1]).readline())
sys.stdout.write("\ufeff" + json.dumps({"prompt": first["prompt"], "completion": first["expected"]}) + "\n")
EOF
expect 0 "add a BOM training corpus" -- "$BIN" corpus add bomleak.jsonl --kind train
BOMC=$(awk '{print $4}' "$tmp/out")
adapter_with bomleak "$BOMC"
expect 0 "add the BOM adapter" -- "$BIN" add "$tmp/dir-bomleak" --id bomleak --base base --sign-key "$KEY"
expect 3 "(2) the first line after a BOM" -- "$BIN" eval --model base --adapter bomleak --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.prompt: hidden corpus $HID (rev-hidden): case line 1 (id text.reverse@1/eval/0) has the prompt of training corpus $BOMC line 1" "(2) BOM line named"
# (3) a short prompt (3 words) inside a longer training text: prompt + " " + answer
python3 - hidden.jsonl >shortleak.jsonl <<'EOF'
import json, sys
for line in open(sys.argv[1]):
    c = json.loads(line)
    print(json.dumps({"text": c["prompt"] + " " + c["expected"]}))
EOF
expect 0 "add a short-prompt leak" -- "$BIN" corpus add shortleak.jsonl --kind train
SHORTC=$(awk '{print $4}' "$tmp/out")
adapter_with shortleak "$SHORTC"
expect 0 "add the short-prompt adapter" -- "$BIN" add "$tmp/dir-shortleak" --id shortleak --base base --sign-key "$KEY"
expect 3 "(3) short prompts inside training texts" -- "$BIN" eval --model base --adapter shortleak --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.ngram: hidden corpus $HID (rev-hidden): case line 1 (id text.reverse@1/eval/0): its prompt's" "(3) short prompt named"
expect 0 "(3) the clean adapter stays clean" -- "$BIN" eval --model base --adapter clean --corpus hidden.jsonl "${EV[@]}"
# (4) the hidden corpus with one blank line more is still hidden, checked against the hidden one
cp hidden.jsonl hidden-edited.jsonl && echo >>hidden-edited.jsonl
expect 3 "(4) an edited hidden corpus" -- "$BIN" eval --model base --adapter leak --corpus hidden-edited.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.prompt: hidden corpus $HID (rev-hidden): case line 1 (id text.reverse@1/eval/0) has the prompt of training corpus $LEAK line 2" "(4) checked against the recorded hidden corpus"
expect 3 "(4) a folder model on the edited hidden corpus" -- "$BIN" eval --model "$tmp/dir-base" --corpus hidden-edited.jsonl "${EV[@]}"
contains "$tmp/err" "no recorded lineage" "(4) folder refused"
# (1) a registered base with a folder adapter: lineage unknown on a hidden corpus; no report
adapter_with folder-leak "$HID"
expect 3 "(1) a folder adapter on a hidden corpus" -- "$BIN" eval --model base --adapter "$tmp/dir-folder-leak" --corpus hidden.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.unknown: the adapter is a folder: its lineage is not recorded" "(1) folder adapter named"
expect 0 "(1) a folder adapter on a public corpus" -- "$BIN" eval --model base --adapter "$tmp/dir-folder-leak" --corpus public.jsonl "${EV[@]}" --gates nosig.json
contains "$tmp/err" "the report is not stored: the adapter is a folder" "(1) no report filed under the base"
expect 0 "(1) a folder model with a registered adapter" -- "$BIN" eval --model "$tmp/dir-base" --adapter clean --corpus public.jsonl "${EV[@]}" --gates nosig.json
contains "$tmp/err" "the report is not stored: the model is a folder" "(1) no report filed under the adapter"
# (5) a report that cannot be stored fails the run
sql() { python3 -c "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(sys.argv[2]); c.commit()" "$D/registry.db" "$1"; }
sql "CREATE TRIGGER t_no_reports BEFORE INSERT ON reports BEGIN SELECT RAISE(ABORT, 'reports refused by the test'); END"
expect 1 "(5) the report not stored" -- "$BIN" eval --model base --adapter clean --corpus public.jsonl "${EV[@]}"
contains "$tmp/err" "the report could not be stored" "(5) the failure named"
sql "DROP TRIGGER t_no_reports"
# (6) a schema that can never compile is refused by corpus add
printf '%s\n' '{"capability": "json@1", "prompt": "A record", "check": "json_schema", "schema": {"type": "strnig"}}' >badschema.jsonl
expect 1 "(6) an uncompilable schema" -- "$BIN" corpus add badschema.jsonl --kind eval
contains "$tmp/err" "badschema.jsonl:1: schema: #/type" "(6) the schema's problem named"

# ---- add records the training corpus a trained folder names (when its file is there) ----
"$BIN" tasks generate --capability text.reverse@1 --split train --n 8 --seed 11 >trained.jsonl
expect 0 "train a small adapter" -- "$BIN" train --model "$tmp/dir-base" --data trained.jsonl \
  --lora r=2,alpha=4,targets=q --adapter-out "$tmp/dir-trained" --steps 1 --batch 1 --seq 32 --lr 1e-3 --seed 1
expect 0 "add the trained adapter" -- "$BIN" add "$tmp/dir-trained" --id trained --base base --sign-key "$KEY"
TRAINED=$(python3 -c "import json,sys; print(json.load(sys.stdin)['genome']['corpora'][0])" < <("$BIN" show trained --json))
expect 0 "corpus list after add" -- "$BIN" corpus list
contains "$tmp/out" "$TRAINED train no            8" "add recorded the training corpus"
expect 0 "the trained adapter on the hidden corpus" -- "$BIN" eval --model base --adapter trained --corpus hidden.jsonl "${EV[@]}"
"$BIN" tasks generate --capability text.reverse@1 --split train --n 6 --seed 12 >ft.jsonl
expect 0 "breed finetune" -- "$BIN" breed --op finetune --parents base --corpus ft.jsonl --id ft1 \
  --param steps=1 --param lr=0.001 --param batch=2 --param seq=32 --sign-key "$KEY"
FT=$(python3 -c "import json,sys; print(json.load(sys.stdin)['genome']['corpora'][0])" < <("$BIN" show ft1 --json))
expect 0 "corpus list after breed" -- "$BIN" corpus list
contains "$tmp/out" "$FT train no            6" "breed recorded its training corpus"
expect 0 "the finetuned child on the hidden corpus" -- "$BIN" eval --model ft1 --corpus hidden.jsonl "${EV[@]}"

# ---- artifact checks ----
expect 0 "add unsigned adapter" -- "$BIN" add "$tmp/dir-clean" --id unsigned --base base
expect 3 "unsigned without gates: the default signature gate rejects" -- "$BIN" eval --model base --adapter unsigned --corpus public.jsonl "${EV[@]}"
contains "$tmp/err" "signature: model 'unsigned': signature: not signed" "unsigned named"
contains "$tmp/out" "failed signature.required" "the default gates apply"
python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT report FROM reports WHERE model_id = 'unsigned'\").fetchone()[0])" "$D/registry.db" >report.json
contains report.json '"artifact_checks":[{"check":"signature","detail":"model' "the stored report keeps the checks' failures"
expect 3 "unsigned: the signature gate rejects" -- "$BIN" eval --model base --adapter unsigned --corpus public.jsonl "${EV[@]}" --gates gates.json
contains "$tmp/out" "failed signature.required" "signature gate"

mkdir "$tmp/dir-base2" && cp "$tmp"/dir-base/* "$tmp/dir-base2/"
W=$(ls "$tmp"/dir-base2/*.safetensors | head -1)
flip_byte "$W" $(($(stat -c %s "$W") - 3))
expect 0 "add another base" -- "$BIN" add "$tmp/dir-base2" --id base2 --sign-key "$KEY"
expect 3 "adapter on the wrong base" -- "$BIN" eval --model base2 --adapter clean --corpus public.jsonl "${EV[@]}"
contains "$tmp/err" "base: adapter 'clean' (base 'base') records base_family" "wrong base named"

# ---- the deny list ----
expect 0 "deny the clean corpus" -- "$BIN" corpus deny "$TRAIN" --reason "licence withdrawn"
expect 0 "deny it again" -- "$BIN" corpus deny "$TRAIN"
contains "$tmp/out" "already on the deny list" "deny is idempotent"
expect 3 "a denied training corpus" -- "$BIN" eval --model base --adapter clean --corpus public.jsonl "${EV[@]}"
contains "$tmp/err" "no-train.deny: training corpus $TRAIN (lineage of 'clean') is on the corpus deny list: licence withdrawn" "deny named"
expect 0 "events record corpora" -- "$BIN" events
contains "$tmp/out" "corpus-deny" "deny event"

OBJ=$(python3 -c "import json,sys; g=json.load(sys.stdin)['genome']; print([f['sha256'] for f in g['files'] if f['name']=='adapter_config.json'][0])" < <("$BIN" show unsigned --json))
P="$D/objects/sha256/${OBJ:0:2}/${OBJ:2}"
flip_byte "$P" 5
expect 3 "tampered file" -- "$BIN" eval --model base --adapter unsigned --corpus public.jsonl "${EV[@]}"
contains "$tmp/err" "files: model 'unsigned': file adapter_config.json" "tampered file named"

# the corpus file is read once (w-eval): the hidden-corpus checks, its hash and the run all see
# the bytes of one read (counted with strace where it can trace)
if command -v strace >/dev/null && strace -f -o /dev/null true 2>/dev/null; then
  strace -f -e trace=open,openat -o "$tmp/trace.txt" "$BIN" eval --model "$tmp/dir-base" \
    --corpus public.jsonl "${EV[@]}" --gates nosig.json >/dev/null 2>&1
  opens=$(grep -c '"public.jsonl"' "$tmp/trace.txt")
  [ "$opens" = 1 ]
  check $? "the corpus file opened once (opened $opens times)"
else
  echo "note: strace cannot trace here; the read-once check is skipped"
fi

finish test_corpus_registry
