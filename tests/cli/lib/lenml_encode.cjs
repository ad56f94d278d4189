// Encodes text with @lenml/tokenizers (an independent JavaScript implementation of Hugging
// Face tokenizers, dependency-free), for tests/cli/test_tokenizer_train.sh.
// Usage: node lenml_encode.cjs LENML_DIR TOKENIZER_JSON INPUT MODE SPECIAL
//   LENML_DIR  the unpacked @lenml/tokenizers package (holding package/dist/main.js)
//   MODE       "whole": INPUT encoded as one text, its ids on one line;
//              "lines": every line of INPUT (without its '\n') encoded alone, one line each
//   SPECIAL    1: add_special_tokens true (the post-processor's BOS), 0: false
// Ids are printed comma-separated, as `ecology tokenize` prints them.
"use strict";
const fs = require("fs");
const path = require("path");
const [dir, tokPath, input, mode, special] = process.argv.slice(2);
if (!special) {
  console.error("usage: node lenml_encode.cjs LENML_DIR TOKENIZER_JSON INPUT whole|lines 0|1");
  process.exit(2);
}
const { TokenizerLoader } = require(path.resolve(dir, "package/dist/main.js"));
const tok = TokenizerLoader.fromPreTrained({
  tokenizerJSON: JSON.parse(fs.readFileSync(tokPath, "utf8")),
  tokenizerConfig: { tokenizer_class: "PreTrainedTokenizerFast", clean_up_tokenization_spaces: false },
});
const text = new TextDecoder("utf-8", { fatal: true }).decode(fs.readFileSync(input));
const enc = (s) => Array.from(tok.encode(s, { add_special_tokens: special === "1" })).join(",");
if (mode === "whole") {
  process.stdout.write(enc(text) + "\n");
} else {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  process.stdout.write(lines.map(enc).join("\n") + "\n");
}
