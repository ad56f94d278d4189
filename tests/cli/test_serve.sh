#!/usr/bin/env bash
# `ecology serve` on loopback over a registry of the shipped base (data/models/eco-tiny), its
# reverse and sort adapters and an alias: the official OpenAI client (openai@6.49.0, from
# .cache/test-material, tests/serve_openai.mjs) lists the models, completes and chats, streams,
# selects adapters by id and by alias, per request with llama-server's lora and LoRAX's
# merged_adapters (against a registered `ecology merge`), routes a cascade, chats with a
# ChatML-template model, reads log-probabilities and gets OpenAI error objects (400, 401,
# 403, 404), asks for JSON-schema and JSON-object output (chat.completions.parse,
# streamed) and parses it, and gets a 400 naming a schema keyword the decoder cannot enforce;
# its greedy completions equal `ecology generate`'s text bit for bit;
# the big list of naughty strings goes in as prompts, chat contents and model names.
# curl sends what a client would not: malformed, truncated, deeply nested and oversized
# bodies, no key, wrong methods and paths; /health, /ready and /metrics; then SIGTERM during a
# long stream: the stream finishes with [DONE], a new request gets 503, the server exits 0.
# The admin scope moves a champion alias through the promotion gate (409 without a report),
# lists, unloads and loads the pool's models, reads canary status, pauses and resumes the loop;
# /metrics passes promtool, with resident adapters and the queue per base; GET / is the report.
# A second server from a --config file: 429 past max_concurrent, 504 past the timeout.
# Skips (saying so) only when node is absent.
source "$(dirname "$0")/lib/harness.sh"
use_registry
if ! command -v node >/dev/null 2>&1; then
  echo "test_serve: SKIP: node is not installed (the OpenAI client runs on it)"
  exit 0
fi
OPENAI_PKG="$SRC/.cache/test-material/openai/package"
if [ ! -f "$OPENAI_PKG/index.mjs" ]; then
  echo "FAIL: $OPENAI_PKG/index.mjs missing (run scripts/fetch-test-material.sh)"
  exit 1
fi
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add reverse" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id reverse --capability text.reverse@1
expect 0 "add sort" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id sort --capability text.sort@1
expect 0 "alias" -- "$BIN" alias set text.reverse@1.champion reverse
# `ecology merge` linear of reverse and sort at rank 64 (exact: their ranks' sum), registered:
# what a lora request with scales 0.5, 0.5 must answer
expect 0 "merge linear" -- "$BIN" merge --method linear --parents "$SRC/data/adapters/text.reverse@1,$SRC/data/adapters/text.sort@1" \
  --weights 1,1 --rank 64 --out "$tmp/merged"
expect 0 "add merged" -- "$BIN" add "$tmp/merged" --id merged --base eco-tiny
# copies of the base with a tokenizer_config.json: a ChatML chat_template, and one no family has
for m in chatml weird; do
  mkdir -p "$tmp/tiny-$m"
  cp "$SRC/data/models/eco-tiny/"{config.json,model.safetensors,tokenizer.json} "$tmp/tiny-$m/"
done
python3 - "$tmp" <<'PY'
import json, sys
chatml = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
for name, tmpl in (("chatml", chatml), ("weird", "{{ messages | tojson }}")):
    with open(sys.argv[1] + "/tiny-" + name + "/tokenizer_config.json", "w") as f:
        json.dump({"chat_template": tmpl, "bos_token": "<s>", "eos_token": "<|im_end|>"}, f)
PY
expect 0 "add tiny-chatml" -- "$BIN" add "$tmp/tiny-chatml" --id tiny-chatml
expect 0 "add tiny-weird" -- "$BIN" add "$tmp/tiny-weird" --id tiny-weird
REV=$'Reverse: kosjeco\nReversed:'
BASE_PROMPT='The quick brown fox'
field() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
expect 0 "generate reverse" -- "$BIN" generate --model eco-tiny --adapter reverse --prompt "$REV" -n 16 \
  --stop $'\n' --threads 1 --json
cp "$tmp/out" "$tmp/gen_rev.json"
expect 0 "generate base" -- "$BIN" generate --model eco-tiny --prompt "$BASE_PROMPT" -n 16 --threads 1 --json
cp "$tmp/out" "$tmp/gen_base.json"

cat >"$tmp/keys.json" <<'KEYS'
{"keys": [{"key": "sk-inference-0123456789", "scope": "inference", "name": "test"},
          {"key": "sk-admin-0123456789", "scope": "admin"}]}
KEYS
serve_start "$tmp/serve.out" "$tmp/serve.err" --port 0 --threads 1 --api-keys "$tmp/keys.json" --grace 60
check "$([ -n "$URL" ]; echo $?)" "the server printed its address"
[ -n "$URL" ] || { cat "$tmp/serve.err"; kill "$PID"; finish test_serve; }
KI='Authorization: Bearer sk-inference-0123456789'

# the OpenAI client
OPENAI_PKG="$OPENAI_PKG" BASE_URL="$URL/v1" BASE_ROOT="$URL" KEY_INF=sk-inference-0123456789 KEY_ADMIN=sk-admin-0123456789 \
  PROMPT_REV="$REV" WANT_REV="$(field "$tmp/gen_rev.json" 'j["text"]')" \
  WANT_REV_LP="$(field "$tmp/gen_rev.json" 'json.dumps(j["logprobs"])')" \
  BLNS="$SRC/.cache/test-material/blns/package/resources/blns.json" PROMPT_BASE="$BASE_PROMPT" WANT_BASE="$(field "$tmp/gen_base.json" 'j["text"]')" \
  node "$SRC/tests/serve_openai.mjs" >"$tmp/node.out" 2>&1
rc=$?
cat "$tmp/node.out"
check "$rc" "the OpenAI client's checks"
check "$(python3 - "$tmp/gen_rev.json" "$tmp/gen_base.json" <<'PY'
import json, sys
# generate's greedy answers are non-trivial text (so the client's equalities test something)
r, b = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(0 if r["text"].strip() and len(b["text"]) > 0 else 1)
PY
echo $?)" "generate produced text to compare"

# curl: status and error object
# req METHOD PATH BODY-FILE|"" [HEADER]: status into $code, body in $tmp/body
req() {
  local data=()
  [ -n "$3" ] && data=(--data-binary "@$3")
  code=$(curl -s -o "$tmp/body" -w '%{http_code}' -X "$1" "${data[@]}" -H "${4:-$KI}" \
    -H 'Content-Type: application/json' "$URL$2")
}
# error_is STATUS DESCRIPTION: the last answer had STATUS and an OpenAI error object
error_is() {
  if [ "$code" = "$1" ] && python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))["error"]
assert set(e) == {"message", "type", "param", "code"} and e["message"] and e["type"] and e["code"]
' "$tmp/body" 2>/dev/null; then pass; else
    fail "$2: status $code, want $1 with an error object"; head -c 300 "$tmp/body"; echo; fi
}
printf '{"model":"reverse","prompt":"x"' >"$tmp/b1"; req POST /v1/completions "$tmp/b1"; error_is 400 "truncated body"
printf 'not json' >"$tmp/b2"; req POST /v1/completions "$tmp/b2"; error_is 400 "not JSON"
python3 -c "import sys; sys.stdout.write('{\"model\":\"reverse\",\"prompt\":' + '['*50000 + ']'*50000 + '}')" >"$tmp/b3"
req POST /v1/completions "$tmp/b3"; error_is 400 "nesting 50000 deep"
python3 -c "import sys; sys.stdout.write('{\"model\":\"reverse\",\"prompt\":\"' + 'a'*(2<<20) + '\"}')" >"$tmp/b4"
req POST /v1/completions "$tmp/b4"; error_is 413 "a 2 MiB body"
printf '{"model":"reverse","messages":[{"role":"user","content":"\\u0000"}]}' >"$tmp/b5"
req POST /v1/chat/completions "$tmp/b5"; error_is 400 "a NUL in content"
printf '{"model":"reverse","prompt":"x","n":9}' >"$tmp/b6"; req POST /v1/completions "$tmp/b6"; error_is 400 "n past max_n"
contains "$tmp/body" '"param":"n"' "the param named"
printf '{"model":"reverse","prompt":"x","max_tokens":100000}' >"$tmp/b7"; req POST /v1/completions "$tmp/b7"
error_is 400 "max_tokens past the cap"
printf '{}' >"$tmp/b8"; req POST /v1/completions "$tmp/b8" "X-None: 1"; error_is 401 "no key"
req GET /v1/models "" "Authorization: Bearer sk-inference-012345678"; error_is 401 "a key one byte short"
req GET /admin/aliases "" ; error_is 403 "inference key on /admin"
req GET /v1/completions ""; error_is 405 "GET on a POST endpoint"
req GET /v1/nothing ""; error_is 404 "unknown path"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' "$URL/health"); check "$([ "$code" = 200 ]; echo $?)" "/health 200 without a key"
code=$(curl -s -o "$tmp/body" -w '%{http_code}' "$URL/ready"); check "$([ "$code" = 200 ]; echo $?)" "/ready 200"
req GET /metrics ""
check "$([ "$code" = 200 ]; echo $?)" "/metrics 200"
contains "$tmp/body" 'ecology_server_prompt_tokens_total{model="reverse"}' "prompt tokens per model"
contains "$tmp/body" 'ecology_requests_total{engine="reverse",capability="text.reverse@1"}' "telemetry per model"
contains "$tmp/body" 'ecology_request_latency_seconds_bucket{engine="sort"' "latency histogram"
contains "$tmp/body" 'ecology_server_http_responses_total{path="/v1/completions",status="400"}' "errors counted"
contains "$tmp/body" 'ecology_server_time_to_first_token_seconds_bucket{model="reverse",le="+Inf"}' "TTFT histogram"
contains "$tmp/body" 'ecology_server_inter_token_latency_seconds_count{model="sort"}' "inter-token histogram"
check "$(python3 - "$tmp/body" <<'PY'
import re, sys
# at most one first token per request (n = 2 counts one), none for a failed request or an
# answer that was EOS at once (some naughty strings): 0 < TTFT count <= successful requests
t = open(sys.argv[1]).read()
get = lambda name: int(re.search(re.escape(name) + r' (\d+)', t).group(1))
n = get('ecology_server_requests_total{model="reverse"}') - get('ecology_server_errors_total{model="reverse"}')
t1 = get('ecology_server_time_to_first_token_seconds_count{model="reverse"}')
sys.exit(0 if 5 < t1 <= n else 1)
PY
echo $?)" "at most one TTFT per successful request"
# reverse, sort and the client's merged adapters (lora, merged_adapters) are resident on the base
NRES=$(sed -n 's/^ecology_pool_base_resident_adapters{base="eco-tiny"} \([0-9]*\)$/\1/p' "$tmp/body")
check "$([ "${NRES:-0}" -ge 2 ]; echo $?)" "resident adapters per base (got '${NRES:-}')"
contains "$tmp/body" 'ecology_pool_base_queue_depth{base="eco-tiny"} 0' "the queue per base"
contains "$tmp/body" 'ecology_server_queue_depth 0' "the queue"
if command -v promtool >/dev/null 2>&1; then
  promtool check metrics <"$tmp/body" >"$tmp/promtool.out" 2>&1; check $? "promtool check metrics"
  cat "$tmp/promtool.out"
else
  echo "test_serve: SKIP promtool check metrics: promtool is not installed (scripts/deps.sh installs prometheus)"
fi

# the admin operations (admin scope): residents, unload, load, canary status, the loop's pause
KA='Authorization: Bearer sk-admin-0123456789'
req GET /admin/models "" "$KA"
check "$([ "$code" = 200 ]; echo $?)" "GET /admin/models 200"
check "$(field "$tmp/body" '[m["adapters_resident"] for m in j["models"] if m["id"] == "eco-tiny"] == ['"${NRES:-0}"']' | grep -q True; echo $?)" "the adapters resident on eco-tiny, as /metrics counted them"
printf '{"model":"sort"}' >"$tmp/m1"
req POST /admin/models/unload "$tmp/m1" "$KA"; check "$([ "$code" = 200 ]; echo $?)" "unload sort"
req POST /admin/models/unload "$tmp/m1" "$KA"; error_is 404 "unload a model not resident"
req POST /admin/models/load "$tmp/m1" "$KA"; check "$([ "$code" = 200 ]; echo $?)" "load sort"
req POST /admin/models/load "$tmp/m1"; error_is 403 "an inference key loads nothing"
req GET /admin/canary "" "$KA"; check "$([ "$code" = 200 ]; echo $?)" "canary status"
req POST /admin/loop/pause "" "$KA"; check "$([ "$code" = 200 ]; echo $?)" "pause the loop"
exists "$ECOLOGY_DATA/loop.pause"
expect 0 "events" -- "$BIN" events
contains "$tmp/out" "loop-pause" "the pause is an event"
req POST /admin/loop/resume "" "$KA"; check "$([ "$(field "$tmp/body" 'j["paused"]')" = False ]; echo $?)" "resume the loop"
check "$([ ! -e "$ECOLOGY_DATA/loop.pause" ]; echo $?)" "the pause file is gone"
# the live report page: a key of either scope
req GET / "" "X-None: 1"; error_is 401 "the report page without a key"
req GET / ""; check "$([ "$code" = 200 ]; echo $?)" "GET / with a key"
contains "$tmp/body" 'data-capability="text.reverse@1" data-id="reverse"' "the page shows the champion"

# graceful stop: a long stream in flight when SIGTERM comes (8 choices of 400 tokens, a few
# seconds; the base runs "The quick brown fox" to the length limit, no EOS)
printf '{"model":"eco-tiny","prompt":"The quick brown fox","max_tokens":400,"n":8,"temperature":0,"stream":true}' >"$tmp/long"
curl -sN -H "$KI" --data-binary "@$tmp/long" "$URL/v1/completions" >"$tmp/stream.out" &
CURL=$!
for _ in $(seq 1 100); do grep -q '^data: {' "$tmp/stream.out" 2>/dev/null && break; sleep 0.05; done
kill -TERM "$PID"
sleep 0.2
code=$(curl -s -o "$tmp/body" -w '%{http_code}' "$URL/health")
check "$([ "$code" = 503 ]; echo $?)" "/health 503 while stopping (got $code)"
req POST /v1/completions "$tmp/b6"; error_is 503 "a new request while stopping"
wait "$CURL"
check "$([ "$(tail -n 2 "$tmp/stream.out" | head -n 1)" = "data: [DONE]" ]; echo $?)" "the stream in flight finished"
check "$([ "$(grep -c '"finish_reason":"length"' "$tmp/stream.out")" = 8 ]; echo $?)" "all 8 choices to 400 tokens"
wait "$PID"
check $? "the server exits 0 after SIGTERM"
contains "$tmp/serve.err" "stopped" "says it stopped"

# limits from a config file: one request generating at a time (a second gets 429), a 2 s
# timeout (a stream ends with an error event, a plain request with 504); one HTTP thread, which
# never waits on a generation (it runs on a thread of its own, the connection suspended), so
# the 429 and /health come back while a generation runs
printf '{"port": 0, "threads": 1, "limits": {"max_concurrent": 1, "request_timeout_s": 2, "max_n": 32}}' >"$tmp/serve.json"
serve_start "$tmp/serve2.out" "$tmp/serve2.err" --config "$tmp/serve.json" --threads 1
check "$([ -n "$URL" ]; echo $?)" "the second server printed its address"
# 32 choices of 400 tokens: several seconds even on a fast quiet machine (8 took under 2 s)
printf '{"model":"eco-tiny","prompt":"The quick brown fox","max_tokens":400,"n":32,"temperature":0,"stream":true}' >"$tmp/long32"
curl -sN --data-binary "@$tmp/long32" "$URL/v1/completions" >"$tmp/stream2.out" &
CURL=$!
for _ in $(seq 1 200); do grep -q '^data: {' "$tmp/stream2.out" 2>/dev/null && break; sleep 0.02; done
printf '{"model":"eco-tiny","prompt":"x"}' >"$tmp/small"
req POST /v1/completions "$tmp/small" "X-None: 1"; error_is 429 "a second request while one generates"
wait "$CURL"
contains "$tmp/stream2.out" '"code":"timeout"' "the stream past its timeout ends with an error event"
check "$([ "$(tail -n 2 "$tmp/stream2.out" | head -n 1)" = "data: [DONE]" ]; echo $?)" "then [DONE]"
printf '{"model":"eco-tiny","prompt":"The quick brown fox","max_tokens":400,"n":32,"temperature":0}' >"$tmp/long_plain"
curl -s -o "$tmp/plain.out" -w '%{http_code}' --data-binary "@$tmp/long_plain" "$URL/v1/completions" >"$tmp/plain.code" &
CURL=$!
sleep 0.3
code=$(curl -s -m 1 -o "$tmp/body" -w '%{http_code}' "$URL/health")
check "$([ "$code" = 200 ]; echo $?)" "/health answers at once while a plain generation runs (got $code)"
wait "$CURL"
code=$(cat "$tmp/plain.code"); cp "$tmp/plain.out" "$tmp/body"; error_is 504 "a plain request past its timeout"
req POST /v1/completions "$tmp/small" "X-None: 1"
check "$([ "$code" = 200 ]; echo $?)" "then a request is served again (no key needed without --api-keys)"
kill -INT "$PID"
wait "$PID"
check $? "SIGINT stops it, exit 0"
finish test_serve
