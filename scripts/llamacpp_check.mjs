#!/usr/bin/env node
// llama.cpp's own reading of a GGUF that `ecology model export` wrote, against the project's.
//
// usage: NODE_PATH=DIR/node_modules node scripts/llamacpp_check.mjs --ecology BIN --model MODEL
//            --gguf FILE.gguf [--prob-tol P] [--steps N] [--prompt TEXT]...
//
// Loads FILE.gguf in llama.cpp (the npm package node-llama-cpp@3.21.1, prebuilt CPU build:
// getLlama({gpu: false, build: "never"})) and, for each prompt:
//   - tokenizes it with llama.cpp and with `ecology tokenize --tokenizer MODEL`: ids equal;
//   - the next-token distribution after the prompt: llama.cpp's probabilities against the
//     softmax of `ecology logits --model MODEL` at the last position; the largest absolute
//     difference must be at most --prob-tol (default 1e-3), that of the log-probabilities
//     of llama.cpp's 10 most likely tokens at most --logp-tol (default 1e-2), and the top
//     token the same;
//   - N greedy steps (default 8): at each, the project's most likely next token after the
//     prefix llama.cpp generated is the one llama.cpp chose (one `ecology logits` pass).
// Exit 0 when every check holds, 1 when one fails, 3 when node-llama-cpp is not installed
// (the CLI test then skips). The last line is "N passed, N failed".
import {execFileSync} from "node:child_process";
import {mkdtempSync, readFileSync, rmSync} from "node:fs";
import {createRequire} from "node:module";
import {tmpdir} from "node:os";
import {join} from "node:path";

function parseArgs(argv) {
    const o = {prompts: [], probTol: 1e-3, logpTol: 1e-2, steps: 8};
    for (let i = 2; i < argv.length; i++) {
        const a = argv[i], v = argv[i + 1];
        if (a === "--ecology") o.ecology = v, i++;
        else if (a === "--model") o.model = v, i++;
        else if (a === "--gguf") o.gguf = v, i++;
        else if (a === "--prob-tol") o.probTol = Number(v), i++;
        else if (a === "--logp-tol") o.logpTol = Number(v), i++;
        else if (a === "--steps") o.steps = Number(v), i++;
        else if (a === "--prompt") o.prompts.push(v), i++;
        else throw new Error(`unknown argument ${a}`);
    }
    if (!o.ecology || !o.model || !o.gguf) throw new Error("--ecology, --model and --gguf are required");
    if (o.prompts.length === 0)
        o.prompts = ["The cat sat on the", "Once upon a time", "1 + 1 = ", "hello\nworld"];
    return o;
}

async function loadNodeLlama() {
    // NODE_PATH is not consulted by ESM imports: resolve through require's paths instead.
    const require = createRequire(join(process.cwd(), "noop.js"));
    let entry;
    try {
        entry = require.resolve("node-llama-cpp");
    } catch {
        return null;
    }
    return import(entry);
}

// [T, V] f32 logits from a safetensors file.
function readLogits(file) {
    const buf = readFileSync(file);
    const n = Number(buf.readBigUInt64LE(0));
    const header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
    const name = Object.keys(header).find((k) => k !== "__metadata__");
    const t = header[name];
    if (t.dtype !== "F32") throw new Error(`${file}: ${name} is ${t.dtype}`);
    const [b, e] = t.data_offsets;
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + 8 + n + b, buf.byteOffset + 8 + n + e));
    return {shape: t.shape, data};
}

function softmaxLast({shape, data}) {
    const [T, V] = shape;
    const row = data.subarray((T - 1) * V, T * V);
    let m = -Infinity;
    for (const x of row) m = Math.max(m, x);
    let s = 0;
    const p = new Float64Array(V);
    for (let i = 0; i < V; i++) s += p[i] = Math.exp(row[i] - m);
    for (let i = 0; i < V; i++) p[i] /= s;
    return p;
}

function argmax(p) {
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i] > p[best]) best = i;
    return best;
}

const opts = parseArgs(process.argv);
const mod = await loadNodeLlama();
if (!mod) {
    console.log("SKIP: node-llama-cpp is not installed (npm i -E node-llama-cpp@3.21.1; NODE_PATH)");
    process.exit(3);
}
const work = mkdtempSync(join(tmpdir(), "llamacpp-check-"));
let passed = 0, failed = 0;
function check(ok, what) {
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
}
// The project's next-token distributions after each prefix of ids: softmax of every row of
// one `ecology logits` pass ([T, V]).
const ecoProbs = (ids) => {
    const out = join(work, "l.safetensors");
    execFileSync(opts.ecology, ["logits", "--model", opts.model, "--tokens", ids.join(","), "--out", out,
                                "--threads", "1"], {stdio: ["ignore", "ignore", "inherit"]});
    const {shape, data} = readLogits(out);
    const rows = [];
    for (let t = 0; t < shape[0]; t++)
        rows.push(softmaxLast({shape: [1, shape[1]], data: data.subarray(t * shape[1], (t + 1) * shape[1])}));
    return rows;
};

try {
    const llama = await mod.getLlama({gpu: false, build: "never", logLevel: "error"});
    const model = await llama.loadModel({modelPath: opts.gguf});
    const context = await model.createContext({contextSize: 256, threads: 1});
    for (const prompt of opts.prompts) {
        const label = JSON.stringify(prompt);
        const ecoIds = JSON.parse(execFileSync(opts.ecology, ["tokenize", "--tokenizer", opts.model, "--text",
                                                              prompt, "--json"]).toString());
        const lcIds = [...model.tokenize(prompt, false)];
        if (ecoIds.length === lcIds.length + 1 && model.tokens.bos === ecoIds[0] && model.tokens.shouldPrependBosToken)
            lcIds.unshift(model.tokens.bos);
        check(JSON.stringify(ecoIds) === JSON.stringify(lcIds),
              `${label}: token ids equal (ecology ${ecoIds.length}, llama.cpp ${lcIds.length})`);

        // llama.cpp: greedy steps with the full distribution at each
        const seq = context.getSequence();
        const lcGreedy = [], lcProbs = [];
        const gen = seq.evaluateWithMetadata(ecoIds, {probabilities: true}, {temperature: 0});
        for (let step = 0; step < opts.steps; step++) {
            const {value} = await gen.next();
            if (!value) break;
            lcGreedy.push(value.token);
            lcProbs.push(value.probabilities);
        }
        await gen.return();
        seq.dispose();
        // the project on the same tokens: its greedy choice after each prefix llama.cpp took
        const rows = ecoProbs(ecoIds.concat(lcGreedy));
        const ecoGreedy = lcGreedy.map((_, step) => argmax(rows[ecoIds.length - 1 + step]));
        const p = rows[ecoIds.length - 1];
        let maxDiff = 0, covered = 0;
        for (const [tok, prob] of lcProbs[0]) {
            maxDiff = Math.max(maxDiff, Math.abs(prob - p[tok]));
            covered += prob;
        }
        if (Math.abs(1 - covered) > 1e-3) maxDiff = 1; // llama.cpp left tokens out
        const firstTopSame = lcGreedy[0] === argmax(p);
        // log-probabilities of llama.cpp's 10 most likely tokens (meaningful where every
        // probability is small, as in a random model)
        let maxLogp = 0, k = 0;
        for (const [tok, prob] of lcProbs[0]) { /* sorted, most likely first */
            if (k++ >= 10) break;
            maxLogp = Math.max(maxLogp, Math.abs(Math.log(prob) - Math.log(p[tok])));
        }
        check(maxDiff <= opts.probTol && maxLogp <= opts.logpTol && firstTopSame,
              `${label}: next-token probabilities, largest |difference| ${maxDiff.toExponential(2)} (tolerance ${opts.probTol}), ` +
              `of the top 10's log-probabilities ${maxLogp.toExponential(2)} (tolerance ${opts.logpTol}), top token same: ${firstTopSame}`);
        check(JSON.stringify(lcGreedy) === JSON.stringify(ecoGreedy),
              `${label}: ${lcGreedy.length} greedy tokens equal (llama.cpp ${lcGreedy.join(",")}; ecology ${ecoGreedy.join(",")})`);
    }
    await context.dispose();
    await model.dispose();
    await llama.dispose();
} finally {
    rmSync(work, {recursive: true, force: true});
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
