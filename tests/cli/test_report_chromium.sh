#!/usr/bin/env bash
# `ecology report` rendered by a real browser: a registry holding the loop's events (built
# by test_report's fixture mode, ECO_REPORT_FIXTURE: models in two families, champions, a
# gate rejection with hostile reasons, canaries that promote and abort, an archive with a
# hostile member id) is written as a report; the page must reference nothing on the network;
# lineage.svg and pareto.svg must be well-formed XML; headless Chromium (Debian's
# `chromium`) loads index.html and its DOM must hold the front's circles, the lineage's
# nodes and edges and the tables' rows (counted by Python's HTML parser over --dump-dom, so
# an escaping slip that adds or eats an element shows); a screenshot is kept as a test
# artefact in the build tree (test-output/report_chromium/report.png, path printed).
# The same registry served live (`ecology serve`, GET /) shows the same champions in Chromium.
# The usage errors are in test_bad_inputs.sh. Skipped with a message when Chromium is absent
# (scripts/deps.sh installs it).
. "$(dirname "$0")/lib/harness.sh"
BINDIR=${ECO_BINARY_DIR:?ECO_BINARY_DIR not set}
D="$tmp/data"
R="$tmp/report"

# the report of an empty registry is a valid page that says nothing has run
"$BIN" registry init --data-dir "$tmp/empty" >/dev/null || fail "registry init"
expect 0 "report of an empty registry" -- "$BIN" report --out "$tmp/empty-report" --data-dir "$tmp/empty"
contains "$tmp/out" "index.html" "the report names the page it wrote"
contains "$tmp/empty-report/index.html" 'id="nothing-yet"' "an empty registry's page says nothing has run"

if [ -x "$BINDIR/test_report" ]; then
  ECO_REPORT_FIXTURE="$D" "$BINDIR/test_report" >"$tmp/fx.log" 2>&1 || { fail "fixture"; cat "$tmp/fx.log"; }
  fixture=1
else # built without cmocka: a registry with one model, no loop events
  echo "note: $BINDIR/test_report not built (cmocka missing): a registry with one model only"
  "$BIN" registry init --data-dir "$D" >/dev/null && cp -r "$ECO_SOURCE_DIR/data/models/eco-tiny" "$tmp/m" &&
    "$BIN" add "$tmp/m" --id eco-tiny --data-dir "$D" >/dev/null || fail "registry with eco-tiny"
  fixture=0
fi
expect 0 "report" -- "$BIN" report --out "$R" --data-dir "$D"
for f in index.html lineage.svg lineage.dot pareto.svg; do exists "$R/$f"; done
# self-contained: no src/href/url() to the network, no script
if grep -qiE '(src|href)="?(https?:)?//|url\((https?:)?//|<script' "$R/index.html"; then
  fail "the page references the network or holds a script"; grep -oiE '(src|href)="?[^ >]*' "$R/index.html" | head -3
else pass; fi
python3 - "$R/lineage.svg" "$R/pareto.svg" <<'EOF' || fail "SVG files are not well-formed XML"
import sys, xml.etree.ElementTree as ET
for p in sys.argv[1:]:
    ET.parse(p)
EOF
# a file the page links must exist next to it
for link in $(grep -oE 'href="[^"#][^"]*"' "$R/index.html" | sed 's/href="//; s/"$//'); do
  if [ -f "$R/$link" ]; then pass; else fail "the page links $link, which is not there"; fi
done

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "SKIP: the browser checks: chromium is not installed (scripts/deps.sh installs Debian's chromium)"
  finish test_report_chromium
  exit $?
fi
browser() { # headless, no profile left behind, no network needed
  timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --no-first-run \
    --user-data-dir="$tmp/profile" --allow-file-access-from-files "$@" 2>>"$tmp/chromium.log"
}
browser --dump-dom "file://$R/index.html" >"$tmp/dom.html" || { fail "chromium --dump-dom"; tail -5 "$tmp/chromium.log"; }
python3 - "$tmp/dom.html" "$fixture" >"$tmp/counts" <<'EOF' || { fail "the DOM"; cat "$tmp/counts"; }
import sys
from html.parser import HTMLParser

class Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []            # (tag, id) of open elements
        self.counts = {}
        self.texts = []
    def inside(self, ident):
        return any(i == ident for _, i in self.stack)
    def add(self, key):
        self.counts[key] = self.counts.get(key, 0) + 1
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        cls = (a.get("class") or "").split()
        if tag == "circle" and "member" in cls and self.inside("pareto-front"):
            self.add("front-member" if "front" in cls else "dominated-member")
        if tag == "g" and "node" in cls and self.inside("lineage"):
            self.add("node")
        if tag == "path" and "edge" in cls and self.inside("lineage"):
            self.add("edge")
        if tag == "tr" and any(t == "tbody" for t, _ in self.stack):
            for t in ("champions", "rejections", "canary", "archive", "generations", "repairs"):
                if self.inside(t) and "none" not in cls:
                    self.add("rows:" + t)
        if tag == "b" and self.inside("archive"):
            self.add("b-in-archive")   # the hostile member id must stay text
        if tag in ("svg", "table") and a.get("id"):
            self.add(tag + "#" + a["id"])
        if tag not in ("br", "meta", "hr", "img", "input", "link"):  # void: no end tag
            self.stack.append((tag, a.get("id")))
    def handle_endtag(self, tag):
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                del self.stack[k:]
                break
    def handle_data(self, d):
        if self.inside("rejections"):
            self.texts.append(d)

d = Dom()
d.feed(open(sys.argv[1], encoding="utf-8").read())
c = d.counts
print(c)
need = {"svg#pareto-front": 1, "svg#lineage": 1, "table#champions": 1, "table#rejections": 1,
        "table#canary": 1, "table#archive": 1}
if sys.argv[2] == "1":
    need.update({"front-member": 2, "dominated-member": 2, "node": 8, "edge": 8,
                 "rows:champions": 2, "rows:rejections": 1, "rows:canary": 2, "rows:archive": 4,
                 "rows:repairs": 1})
else:
    need.update({"node": 1})
bad = [f"{k}: {c.get(k, 0)} (want {v})" for k, v in need.items() if c.get(k, 0) != v]
if c.get("b-in-archive"):
    bad.append("a <b> element inside the archive table: an id was not escaped")
if sys.argv[2] == "1" and "<script>alert(1)</script>" not in "".join(d.texts):
    bad.append("the hostile gate reason is not shown as text in the rejections table")
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
cat "$tmp/counts"

# served live: `ecology serve` (no keys) answers GET / with the page rendered from the same
# registry; in the browser it shows the same champions (capability and id) as the file page
serve_start "$tmp/serve.out" "$tmp/serve.err" --port 0 --threads 1 --data-dir "$D"
SPID=$PID
if [ -z "$URL" ]; then fail "the server did not start"; cat "$tmp/serve.err"; else
  browser --dump-dom "$URL/" >"$tmp/served.html" || { fail "chromium --dump-dom $URL/"; tail -5 "$tmp/chromium.log"; }
  python3 - "$R/index.html" "$tmp/served.html" >"$tmp/champs" <<'EOF' || { fail "the served page's champions"; cat "$tmp/champs"; }
import re, sys
# every champion row: (capability, id); the served page must show the file page's, non-empty
rows = lambda p: sorted(re.findall(r'<tr class="champion" data-capability="([^"]*)" data-id="([^"]*)"',
                                   open(p, encoding="utf-8").read()))
want, got = rows(sys.argv[1]), rows(sys.argv[2])
print("champions:", got)
ok = got == want and any(i for _, i in got) and '<svg id="pareto-front"' in open(sys.argv[2]).read()
sys.exit(0 if ok else 1)
EOF
  cat "$tmp/champs"
fi
kill -TERM "$SPID" 2>/dev/null; wait "$SPID"; check $? "the server stops on SIGTERM"

out_dir="$BINDIR/test-output/report_chromium"
mkdir -p "$out_dir"
rm -f "$out_dir/report.png"
browser --screenshot="$out_dir/report.png" --window-size=1200,2000 "file://$R/index.html" >/dev/null ||
  { fail "chromium --screenshot"; tail -5 "$tmp/chromium.log"; }
cp "$R/index.html" "$R/lineage.svg" "$R/lineage.dot" "$R/pareto.svg" "$out_dir/" 2>/dev/null
if [ -f "$out_dir/report.png" ] && [ "$(head -c 8 "$out_dir/report.png" | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ] &&
   [ "$(stat -c %s "$out_dir/report.png")" -gt 20000 ]; then
  pass; echo "screenshot: $out_dir/report.png (the page: $out_dir/index.html)"
else fail "no screenshot (or a blank one) at $out_dir/report.png"; fi
finish test_report_chromium
