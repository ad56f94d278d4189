#!/usr/bin/env node
// bench_llamacpp: the project beside llama.cpp on the same weights, in the same run.
//
// usage: node bench/bench_llamacpp.mjs --ecology BIN [--bench-prompt BIN] [--baseline BIN]
//            [--cold] [--node-llama-cpp DIR] [--threads N] [--preset P] [--runs R] [--decode N]
//
// Builds a random `--preset` model (default smollm2-135m, f32), exports it with
// `ecology model export --format gguf` as f32 and as q8_0, and for each file times, with N
// threads (default 1: llama.cpp's spinning thread barrier collapses on a loaded 2-core
// machine) on both sides, warm and in-process on both sides, on the same token ids
// (`ecology tokenize --json` of a byte-tokenizer text: BOS + n-1 bytes):
//   prompt 127:  a 127-token prompt in one pass on an empty cache (ecology: bench_prompt,
//                one eco_model_forward, logits of the last position only; llama.cpp:
//                evaluateWithoutGeneratingNewTokens on a fresh sequence, one batch and one
//                ubatch of up to 1024 tokens, no logits);
//   prompt 1000: the same for 1000 tokens;
//   decode:      N new tokens (default 64) after the 127-token prompt, greedy, one token a
//                step (ecology: bench_prompt's argmax loop; llama.cpp: the evaluate generator
//                at temperature 0, which first re-feeds the prompt's last token).
// Warm on both sides: llama.cpp loads each file once, reuses one context and discards a
// first run; ecology runs bench/bench_prompt.c (`--bench-prompt`, default: bench_prompt
// beside BIN), which loads the file once, discards a warm-up pass, then times passes on a
// reset (not reallocated) KV cache. Runs alternate between the two: each of the R rounds
// (default 3) starts one bench_prompt process (load, warm-up, one timed pass of each case)
// then times llama.cpp once. Medians are printed in tokens/s with the ratio
// ecology / llama.cpp, and the load average at the start and end.
// --baseline BIN: a second bench_prompt (another build, e.g. before a change) run in every
// round beside the first (alternating which goes first), its figures and ratios printed beside (before/after in the
// same run, against the same llama.cpp timings).
// --cold: the older ecology timing instead: a fresh `ecology generate --json` process per
// case (prompt_ms and decode_ms of its first pass: OpenMP threads started, caches cold,
// the weights just copied in), against the same warm llama.cpp; ecology then looks slower
// than it is.
// The q8_0 file runs as Q8_0 on both sides (the project maps its blocks as its q8_0 weight
// dtype). KV caches: llama.cpp f16 for both files; ecology f32 for the f32 file, f16 for
// q8_0.
// A benchmark: prints figures, exits 0 unless it cannot run at all.
import {execFileSync} from "node:child_process";
import {existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from "node:fs";
import {createRequire} from "node:module";
import {tmpdir} from "node:os";
import {dirname, join, resolve} from "node:path";

const o = {threads: 1, preset: "smollm2-135m", runs: 3, decode: 64, cold: false};
for (let i = 2; i < process.argv.length; i += 2) {
    const [a, v] = [process.argv[i], process.argv[i + 1]];
    if (a === "--cold") {
        o.cold = true;
        i--;
        continue;
    }
    if (a === "--ecology") o.ecology = resolve(v);
    else if (a === "--bench-prompt") o.benchPrompt = resolve(v);
    else if (a === "--baseline") o.baseline = resolve(v);
    else if (a === "--node-llama-cpp") o.nlc = resolve(v);
    else if (a === "--threads") o.threads = Number(v);
    else if (a === "--preset") o.preset = v;
    else if (a === "--runs") o.runs = Number(v);
    else if (a === "--decode") o.decode = Number(v);
    else throw new Error(`unknown argument ${a}`);
}
if (!o.ecology) throw new Error("--ecology BIN is required");
o.benchPrompt ??= join(dirname(o.ecology), "bench_prompt");
if (!o.cold && !existsSync(o.benchPrompt))
    throw new Error(`${o.benchPrompt} not found (build the bench_prompt target, or --bench-prompt BIN, or --cold)`);
const require = createRequire(join(o.nlc ?? process.cwd(), "noop.js"));
let entry;
try {
    entry = require.resolve("node-llama-cpp");
} catch {
    console.log("bench_llamacpp: node-llama-cpp is not installed (scripts/fetch-test-material.sh; --node-llama-cpp DIR)");
    process.exit(0);
}
const {getLlama} = await import(entry);

const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const work = mkdtempSync(join(tmpdir(), "bench-llamacpp-"));
const loadavg = () => readFileSync("/proc/loadavg", "utf8").split(" ")[0];
const eco = (...args) => execFileSync(o.ecology, args, {maxBuffer: 1 << 26}).toString();
// Byte-tokenizer prompts: BOS + n-1 bytes = n tokens.
const text = (n) => {
    const words = "the quick brown fox jumps over the lazy dog while seven wizards quietly hum ";
    let s = "";
    while (s.length < n - 1) s += words;
    return s.slice(0, n - 1);
};

try {
    const model = join(work, "m");
    eco("model", "create", "--preset", o.preset, "--seed", "1", "--out", model);
    const files = {f32: join(work, "f32.gguf"), q8_0: join(work, "q8_0.gguf")};
    for (const [ty, f] of Object.entries(files)) eco("model", "export", "--format", "gguf", "--type", ty, "--model", model, "--out", f);
    const llama = await getLlama({gpu: false, build: "never", logLevel: "error"});
    console.log(`bench_llamacpp: preset ${o.preset}, ${o.threads} threads, ${o.runs} runs each (medians), ` +
                `llama.cpp as built in node-llama-cpp@3.21.1 (CPU) beside ecology ` +
                `(${o.cold ? "cold: a fresh ecology generate process per case" : "warm, in-process: bench_prompt"}); ` +
                `load average ${loadavg()}`);
    const ids = {}, idsFile = {};
    for (const n of [127, 1000]) {
        ids[n] = JSON.parse(eco("tokenize", "--tokenizer", files.f32, "--text", text(n), "--json"));
        if (ids[n].length !== n) throw new Error(`prompt of ${n} tokens tokenizes to ${ids[n].length}`);
        idsFile[n] = join(work, `ids${n}.json`);
        writeFileSync(idsFile[n], JSON.stringify(ids[n]));
    }
    for (const [ty, file] of Object.entries(files)) {
        const lm = await llama.loadModel({modelPath: file});
        const ctx = await lm.createContext({contextSize: 1100, batchSize: 1024, threads: o.threads});
        const r = {eco: {p127: [], p1000: [], dec: []}, lc: {p127: [], p1000: [], dec: []},
                   base: {p127: [], p1000: [], dec: []}};
        for (let run = -1; run < o.runs; run++) { /* run -1: warm-up, not counted */
            // ecology
            if (o.cold) {
                const g127 = JSON.parse(eco("generate", "--model", file, "--prompt", text(127), "-n", String(o.decode),
                                            "--temperature", "0", "--json", "--threads", String(o.threads)));
                const g1000 = JSON.parse(eco("generate", "--model", file, "--prompt", text(1000), "-n", "1",
                                             "--temperature", "0", "--json", "--threads", String(o.threads)));
                if (g127.prompt_tokens !== 127 || g1000.prompt_tokens !== 1000)
                    throw new Error(`prompt lengths ${g127.prompt_tokens}, ${g1000.prompt_tokens}`);
                if (run >= 0) {
                    r.eco.p127.push(g127.prompt_tokens_per_s);
                    r.eco.p1000.push(g1000.prompt_tokens_per_s);
                    r.eco.dec.push(g127.completion_tokens * 1e3 / g127.decode_ms);
                }
            } else if (run >= 0) { /* bench_prompt discards its own warm-up pass */
                const pair = [[o.benchPrompt, r.eco], [o.baseline, r.base]];
                for (const [bin, into] of run % 2 ? pair.reverse() : pair) { /* alternate which goes first */
                    if (!bin) continue;
                    const b = JSON.parse(execFileSync(bin, [
                        "--model", file, "--ids", idsFile[127], "--ids", idsFile[1000], "--decode", String(o.decode),
                        "--runs", "1", "--threads", String(o.threads)], {maxBuffer: 1 << 26}).toString());
                    if (b.prompts[0].tokens !== 127 || b.prompts[1].tokens !== 1000)
                        throw new Error(`bench_prompt prompt lengths ${b.prompts[0].tokens}, ${b.prompts[1].tokens}`);
                    into.p127.push(b.prompts[0].median_tok_per_s);
                    into.p1000.push(b.prompts[1].median_tok_per_s);
                    into.dec.push(b.decode.median_tok_per_s);
                }
            }
            // llama.cpp, on the same token ids
            for (const [n, key] of [[127, "p127"], [1000, "p1000"]]) {
                const seq = ctx.getSequence();
                const t0 = performance.now();
                await seq.evaluateWithoutGeneratingNewTokens(ids[n]);
                const t1 = performance.now();
                if (run >= 0) r.lc[key].push(n * 1e3 / (t1 - t0));
                if (n === 127) {
                    let k = 0;
                    const t2 = performance.now();
                    for await (const tok of seq.evaluate([ids[n][n - 1]], {temperature: 0})) {
                        void tok;
                        if (++k >= o.decode) break;
                    }
                    if (run >= 0) r.lc.dec.push(k * 1e3 / (performance.now() - t2));
                }
                seq.dispose();
            }
        }
        for (const [key, what] of [["p127", "prompt 127 tokens"], ["p1000", "prompt 1000 tokens"], ["dec", `decode ${o.decode} tokens`]]) {
            const e = median(r.eco[key]), l = median(r.lc[key]);
            console.log(`  ${ty.padEnd(5)} ${what.padEnd(20)} ecology ${e.toFixed(1).padStart(8)} tok/s   ` +
                        `llama.cpp ${l.toFixed(1).padStart(8)} tok/s   ratio ${(e / l).toFixed(2)}x` +
                        (r.base[key].length ? `   (baseline ${median(r.base[key]).toFixed(1)} tok/s, ` +
                                              `${(median(r.base[key]) / l).toFixed(2)}x)` : ""));
        }
        await ctx.dispose();
        await lm.dispose();
    }
    console.log(`  load average ${loadavg()} at end`);
    await llama.dispose();
} finally {
    rmSync(work, {recursive: true, force: true});
}
