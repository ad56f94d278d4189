#!/usr/bin/env bash
# Load on loopback with wrk (Debian), bounded in time (-d) and connections (-c): `ecology serve`
# over the shipped base and its reverse and sort adapters takes completions and chats whose
# prompts, chat contents, stop sequences, user fields and model names are the big list of
# naughty strings (blns@2.0.4), cycled through by every connection for a few seconds. Every
# answer must be the status its body calls for (200 for a well-formed request on a registered
# model, 404 for a naughty model name, 400 for an empty stop sequence), with 0 socket errors
# and 0 timeouts; wrk's latency p50 and p99 are printed. Then the server still answers, its
# /metrics counted every request, and SIGTERM stops it with exit 0.
# Skips (saying so) only when wrk is absent.
source "$(dirname "$0")/lib/harness.sh"
use_registry
if ! command -v wrk >/dev/null 2>&1; then
  echo "test_serve_load: SKIP: wrk is not installed (scripts/deps.sh installs it)"
  exit 0
fi
BLNS="$SRC/.cache/test-material/blns/package/resources/blns.json"
if [ ! -f "$BLNS" ]; then
  echo "FAIL: $BLNS missing (run scripts/fetch-test-material.sh)"
  exit 1
fi
expect 0 "add base" -- "$BIN" add "$SRC/data/models/eco-tiny" --id eco-tiny
expect 0 "add reverse" -- "$BIN" add "$SRC/data/adapters/text.reverse@1" --id reverse --capability text.reverse@1
expect 0 "add sort" -- "$BIN" add "$SRC/data/adapters/text.sort@1" --id sort --capability text.sort@1

# The requests, as a Lua table of {path, body}: each naughty string as a prompt
# (completions), a system and a user message (chat), a user field, a stop sequence and a
# model name.
python3 - "$BLNS" >"$tmp/load.lua" <<'PY'
import json, sys
blns = json.load(open(sys.argv[1]))
models = ["eco-tiny", "reverse", "sort"]
rows = []
for i, s in enumerate(blns):
    m = models[i % 3]
    rows.append(("/v1/completions", {"model": m, "prompt": s or "x", "max_tokens": 4, "temperature": 0}))
    rows.append(("/v1/chat/completions",
                 {"model": m, "messages": [{"role": "system", "content": s}, {"role": "user", "content": s or "x"}],
                  "max_tokens": 4, "seed": i, "temperature": 0.7, "user": s}))
    rows.append(("/v1/completions", {"model": m, "prompt": "Sort: d c b a\nSorted:", "max_tokens": 4,
                                     "stop": [s]}))
    # a naughty model name: unknown (404), or not even a valid reference (400 or 404)
    rows.append(("/v1/completions", {"model": s, "prompt": "x", "max_tokens": 2}))
def lua(s):
    return '"' + ''.join('\\%d' % b for b in s.encode()) + '"'
print("rows = {")
for path, body in rows:
    print("  {%s, %s}," % (lua(path), lua(json.dumps(body))))
print("}")
print(r'''
local threads = {}
function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end
function init(args)
  i = id * 97 % #rows
  unexpected = 0
  answered = 0
  first_bad = ""
end
function request()
  i = i % #rows + 1
  local r = rows[i]
  return wrk.format("POST", r[1], {["Content-Type"] = "application/json",
                                   ["Authorization"] = "Bearer sk-inference-0123456789"}, r[2])
end
-- wrk does not say which request an answer is for: each answer is judged by what it says.
-- Only the naughty model names are unregistered, only the empty stop is invalid and only
-- the longest strings (blns 162 and 164, twice in a chat: 700+ bytes) overrun eco-tiny's
-- 512-token context, so an answer is right when it is a completion, an error naming `model`
-- (400 or 404), the empty-stop error or the context error (reached or not, depending on
-- how fast the requests go); anything else (a 500, another refusal) is not.
function response(status, headers, body)
  answered = answered + 1
  local ok = (status == 200 and body:find('"choices":', 1, true) ~= nil)
    or ((status == 404 or status == 400) and body:find('"param":"model"', 1, true) ~= nil)
    or (status == 400 and body:find('"param":"stop[0]"', 1, true) ~= nil
        and body:find('is empty', 1, true) ~= nil)
    or (status == 400 and body:find('"code":"context_length_exceeded"', 1, true) ~= nil)
  if status == 200 then ok200 = (ok200 or 0) + 1 end
  if not ok then
    unexpected = unexpected + 1
    if first_bad == "" then first_bad = status .. ": " .. body end
  end
end
function done(summary, latency, requests)
  local unexp, ans, bad = 0, 0, ""
  for _, t in ipairs(threads) do
    unexp = unexp + t:get("unexpected")
    ans = ans + t:get("answered")
    ok200 = (ok200 or 0) + (t:get("ok200") or 0)
    if bad == "" then bad = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format("load: requests %d answered %d ok200 %d unexpected %d connect %d read %d write %d timeout %d\n",
    summary.requests, ans, ok200 or 0, unexp, e.connect, e.read, e.write, e.timeout))
  io.write(string.format("load: latency p50 %.1f ms p99 %.1f ms, %.1f requests/s\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    summary.requests / (summary.duration / 1e6)))
  if bad ~= "" then io.write("load: first unexpected: " .. bad:sub(1, 400) .. "\n") end
end
''')
PY

cat >"$tmp/keys.json" <<'KEYS'
{"keys": [{"key": "sk-inference-0123456789", "scope": "inference"}]}
KEYS
printf '{"port": 0, "threads": 4, "limits": {"max_concurrent": 8, "request_timeout_s": 60}}' >"$tmp/serve.json"
serve_start "$tmp/serve.out" "$tmp/serve.err" --config "$tmp/serve.json" --api-keys "$tmp/keys.json" --threads 1
check "$([ -n "$URL" ]; echo $?)" "the server printed its address"
[ -n "$URL" ] || { cat "$tmp/serve.err"; kill "$PID"; finish test_serve_load; }

# 4 connections (under max_concurrent: no 429 is expected), one per wrk thread (so each
# thread's answers come in the order it sent), 6 seconds; a
# request that takes over 20 s counts as a timeout
wrk -t 4 -c 4 -d 6s --timeout 20s -s "$tmp/load.lua" "$URL" >"$tmp/wrk.out" 2>&1
check $? "wrk ran"
grep '^load:' "$tmp/wrk.out"
check "$(python3 - "$tmp/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'load: requests (\d+) answered (\d+) ok200 (\d+) unexpected (\d+) connect (\d+) read (\d+) write (\d+) timeout (\d+)', t)
if not m:
    print(t); sys.exit(1)
req, ans, ok, unexp, *errs = map(int, m.groups())
# hundreds of requests, every one answered as it calls for (three in four are well-formed
# requests on registered models: most answers are completions), no socket errors
sys.exit(0 if req >= 100 and ans >= req and ok >= ans // 2 and unexp == 0 and not any(errs) else 1)
PY
echo $?)" "every request answered as expected, no socket errors or timeouts"

# the server still answers and counted the load
code=$(curl -s -o "$tmp/body" -w '%{http_code}' -H 'Authorization: Bearer sk-inference-0123456789' \
  -H 'Content-Type: application/json' --data-binary '{"model":"reverse","prompt":"Reverse: abc\nReversed:","max_tokens":4}' \
  "$URL/v1/completions")
check "$([ "$code" = 200 ]; echo $?)" "a request after the load is served (got $code)"
curl -s -H 'Authorization: Bearer sk-inference-0123456789' "$URL/metrics" >"$tmp/metrics"
check "$(python3 - "$tmp/metrics" "$tmp/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
req = int(re.search(r'load: requests (\d+)', open(sys.argv[2]).read()).group(1))
# every answer of the load is counted by status (the metrics request itself aside)
n = sum(int(v) for p, v in re.findall(r'ecology_server_http_responses_total\{path="(/v1/[a-z/]+)",status="[^"]+"\} (\d+)', t))
sys.exit(0 if n >= req else 1)
PY
echo $?)" "/metrics counted every answer"
kill -TERM "$PID"
wait "$PID"
check $? "the server exits 0 after SIGTERM"
finish test_serve_load
