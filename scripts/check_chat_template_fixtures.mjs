// A second, independent check of tests/reference/chat_template_renders.json (which Jinja2
// wrote, scripts/gen_chat_template_fixtures.py): every case rendered again by transformers.js's
// own Jinja implementation (@huggingface/jinja inside @lenml/tokenizers@3.7.2, its
// tokenizer.apply_chat_template with the case's template, bos_token and eos_token), and
// compared byte for byte. Needs Node 20 and scripts/fetch-test-material.sh's material.
// Usage: node scripts/check_chat_template_fixtures.mjs [.cache/test-material]
// Prints the number of cases that agree and each disagreement; exits 1 on any disagreement
// other than the two known ones of transformers.js, where Jinja2 (what transformers runs) is
// the reference: its parser cannot read Qwen3's `messages[::-1]`, and it takes an empty
// system message as false (JavaScript's '' == false) where Python's '' != False holds.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const root = path.dirname(path.dirname(new URL(import.meta.url).pathname));
const cache = process.argv[2] || path.join(root, ".cache/test-material");
const require = createRequire(import.meta.url);
const { TokenizerLoader } = require(path.join(cache, "lenml-tokenizers/package/dist/main.js"));
const readJSON = (p) => JSON.parse(fs.readFileSync(p, "utf8"));
// Any tokenizer hosts apply_chat_template; the template and tokens come with each call.
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: readJSON(path.join(cache, "llama2/package/models/tokenizer.json")),
  tokenizerConfig: readJSON(path.join(cache, "llama2/package/models/tokenizer_config.json")),
});
const doc = readJSON(path.join(root, "tests/reference/chat_template_renders.json"));
const cfgs = {};
for (const t of doc.templates) cfgs[t.name] = readJSON(path.join(root, "tests/reference", t.file));
const token = (v) => (v && typeof v === "object" ? v.content : v);
const known = (c) =>
  c.template === "qwen3" || (c.template === "llama2" && c.conversation === "empty_contents");
let agree = 0, differ = 0, skipped = 0, knownDiffer = 0;
for (const c of doc.cases) {
  if (c.error && c.error.startsWith("project refuses")) { skipped++; continue; }
  const cfg = cfgs[c.template];
  let got, err = null;
  try {
    const kw = { chat_template: cfg.chat_template, add_generation_prompt: c.add_generation_prompt, tokenize: false };
    if (cfg.bos_token != null) kw.bos_token = token(cfg.bos_token);
    if (cfg.eos_token != null) kw.eos_token = token(cfg.eos_token);
    got = tok.apply_chat_template(doc.conversations[c.conversation], kw);
  } catch (e) { err = String(e.message || e); }
  const ok = c.error ? err !== null : err === null && got === c.output;
  if (ok) agree++;
  else if (known(c)) knownDiffer++;
  else {
    differ++;
    console.log(`${c.template} / ${c.conversation} / agp=${c.add_generation_prompt}:`,
      c.error ? `Jinja2 raised (${c.error}), transformers.js gave ${JSON.stringify(got)}` :
      err ? `transformers.js raised ${err}` : `\n  jinja2: ${JSON.stringify(c.output)}\n  js:     ${JSON.stringify(got)}`);
  }
}
console.log(`chat-template fixtures: ${agree} cases agree with transformers.js, ${knownDiffer} differ ` +
  `as known (Qwen3's [::-1], Llama 2's empty system message), ${differ} other differences, ` +
  `${skipped} project refusals not compared`);
process.exit(differ ? 1 : 0);
