/*
 * bench_json_constraint: the structured-output token mask (eco_json_constraint) per token,
 * against a decode step of the SmolLM2-135M preset (random weights, f32) measured in the
 * same run.
 *
 *   vocabulary: Qwen3's byte-level BPE tokenizer.json from the test material
 *               (scripts/fetch-test-material.sh), cut to its first 49,152 ids (SmolLM2's
 *               vocabulary size; SmolLM2's own tokenizer.json is not in the test material),
 *               and the whole of it; built once as eco_tokenizer_token_vocab (timed).
 *   outputs:    a fixed JSON text per schema (an object with required keys, strings, an
 *               enum array, numbers; and json_object), tokenized by the same tokenizer; each
 *               token masked then accepted, as the engine does.
 *   figures:    mask time per token as used (states met again hit the mask cache), and the
 *               trie walk alone (a fresh constraint at each step: never a cache hit); median
 *               and mean per token; and the ratio to the decode step (median of 32 steps).
 *
 * Usage: bench_json_constraint [threads for the decode step (default 1)]
 * A benchmark, not a test: prints figures, never fails.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/json_schema.h"
#include "ecology/model.h"
#include "ecology/tokenizer.h"

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    return remove(p);
}

static const char *const SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\",\"maxLength\":40},"
    "\"age\":{\"type\":\"integer\"},\"email\":{\"type\":\"string\"},\"tags\":{\"type\":"
    "\"array\",\"items\":{\"enum\":[\"admin\",\"user\",\"guest\"]},\"maxItems\":3},"
    "\"address\":{\"type\":\"object\",\"properties\":{\"street\":{\"type\":\"string\"},"
    "\"city\":{\"type\":\"string\"},\"zip\":{\"type\":\"string\"}},\"required\":[\"city\"],"
    "\"additionalProperties\":false},\"score\":{\"type\":\"number\"}},\"required\":[\"name\","
    "\"age\",\"address\"],\"additionalProperties\":false}";
static const char *const TEXT =
    "{\"name\": \"Ada Lovelace, Countess of Lovelace\", \"age\": 36, \"email\": "
    "\"ada@analytical-engine.org\", \"tags\": [\"admin\", \"user\"], \"address\": {\"street\": "
    "\"12 St James's Square\", \"city\": \"London\", \"zip\": \"SW1Y 4JH\"}, \"score\": 97.25}";

/* Mask + accept along TEXT's tokens: seconds per token (median and mean) into med/mean;
 * fresh: a new constraint (replayed to the step) for each mask, so no cache hit. */
static int run(const eco_json_schema *s, const eco_token_vocab *v, const int32_t *ids, size_t n,
               bool fresh, double *med, double *mean) {
    float *logits = malloc((size_t)v->n * sizeof *logits);
    double *t = malloc(n * sizeof *t);
    eco_json_constraint *c = NULL;
    if (!logits || !t || eco_json_constraint_create(s, "bench", &c, NULL, 0)) return -1;
    double sum = 0;
    size_t steps = 0;
    for (size_t i = 0; i < n; i++) {
        eco_json_constraint *m = c;
        if (fresh) {
            if (eco_json_constraint_create(s, "bench", &m, NULL, 0)) return -1;
            for (size_t k = 0; k < i; k++)
                if (!eco_json_constraint_feed(m, v->bytes[ids[k]], v->len[ids[k]])) return -1;
        }
        memset(logits, 0, (size_t)v->n * sizeof *logits);
        size_t na;
        bool complete;
        eco_decode_constraint *d = eco_json_constraint_decoder(m);
        double t0 = eco_now();
        if (d->mask(d, v, logits, &na, &complete)) return -1;
        t[steps] = eco_now() - t0;
        sum += t[steps++];
        if (logits[ids[i]] != 0) {
            printf("  token %zu (id %d) masked: the text is not one the recogniser takes\n", i,
                   ids[i]);
            return -1;
        }
        if (fresh) eco_json_constraint_free(m);
        eco_decode_constraint *dc = eco_json_constraint_decoder(c);
        if (dc->accept(dc, v, ids[i])) return -1;
    }
    *mean = sum / (double)steps;
    *med = bench_median(t, (int)steps);
    eco_json_constraint_free(c);
    free(t);
    free(logits);
    return 0;
}

/* Median seconds of a decode step of the preset (random f32 weights), or -1. */
static double decode_step(const char *preset) {
    eco_model_config cfg;
    if (eco_model_preset_config(preset, &cfg)) return -1;
    char tmpl[] = "/tmp/eco-bench-XXXXXX";
    char *root = mkdtemp(tmpl);
    if (!root) return -1;
    char *dir = eco_path_join(root, "m");
    eco_model *m = NULL;
    eco_kv_cache *kv = NULL;
    double med = -1;
    float *logits = malloc((size_t)cfg.vocab_size * sizeof *logits);
    if (logits && eco_model_create_random(&cfg, 7, ECO_DTYPE_F32, dir) == ECO_STATUS_OK &&
        eco_model_load(dir, &m) == ECO_STATUS_OK &&
        eco_kv_cache_create(m, 64, &kv) == ECO_STATUS_OK) {
        int32_t prompt[16];
        for (int i = 0; i < 16; i++) prompt[i] = 100 + i;
        if (eco_model_forward(m, kv, prompt, 16, logits, false) == ECO_STATUS_OK) {
            double t[32];
            int32_t tok = 200;
            for (int i = 0; i < 32; i++) {
                double t0 = eco_now();
                eco_model_forward(m, kv, &tok, 1, logits, false);
                t[i] = eco_now() - t0;
                tok = (tok * 31 + 7) % 1000;
            }
            med = bench_median(t, 32);
        }
    }
    if (med < 0) printf("decode step: %s\n", eco_last_error());
    eco_kv_cache_free(kv);
    eco_model_free(m);
    free(logits);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
    return med;
}

int main(int argc, char **argv) {
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    omp_set_num_threads(threads > 0 ? threads : 1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("bench_json_constraint: load average %.2f at start\n", bench_loadavg());
    char *path = bench_source_path(".cache/test-material/qwen3/package/models/tokenizer.json");
    eco_tokenizer *tok = NULL;
    if (!path || eco_tokenizer_load(path, &tok)) {
        printf("no tokenizer (%s): run scripts/fetch-test-material.sh\n", eco_last_error());
        return 0;
    }
    free(path);
    int32_t *ids = NULL;
    size_t n_ids = 0;
    eco_json_schema *schema = NULL;
    if (eco_tokenizer_encode(tok, TEXT, strlen(TEXT), false, &ids, &n_ids) ||
        eco_json_schema_compile(SCHEMA, strlen(SCHEMA), "bench", &schema)) {
        printf("setup: %s\n", eco_last_error());
        return 0;
    }
    int32_t eos = eco_tokenizer_token_id(tok, "<|endoftext|>");
    double t0 = eco_now();
    eco_token_vocab *full = NULL;
    if (eco_tokenizer_token_vocab(tok, &eos, 1, &full)) {
        printf("vocab: %s\n", eco_last_error());
        return 0;
    }
    double t_vocab = eco_now() - t0;
    /* the first 49,152 ids: SmolLM2's size */
    const int64_t N49 = 49152;
    eco_token_vocab *v49 = NULL;
    {
        size_t *lens = malloc((size_t)N49 * sizeof *lens);
        for (int64_t i = 0; i < N49; i++) lens[i] = full->len[i];
        eco_token_vocab_create(full->bytes, lens, N49, &eos, 1, &v49);
        free(lens);
    }
    /* TEXT over the first 49,152 ids: greedy longest match (the mask's cost depends on the
     * states met, not on which split of the text a tokenizer would choose) */
    int32_t *ids49 = malloc(strlen(TEXT) * sizeof *ids49);
    size_t n49 = 0;
    for (size_t at = 0, n = strlen(TEXT); ids49 && at < n;) {
        int32_t best = -1;
        uint32_t best_len = 0;
        for (int64_t id = 0; id < N49; id++) {
            uint32_t l = v49->len[id];
            if (l > best_len && l <= n - at && !memcmp(v49->bytes[id], TEXT + at, l)) {
                best = (int32_t)id;
                best_len = l;
            }
        }
        if (best < 0) break;
        ids49[n49++] = best;
        at += best_len;
    }
    printf("vocabulary: Qwen3 byte-level BPE, %lld ids (%lld with bytes, longest %u bytes); "
           "token bytes built in %.0f ms\n",
           (long long)full->n, (long long)full->n_sorted, full->max_len, 1e3 * t_vocab);
    printf("output: %zu bytes: %zu tokens of the full vocabulary (its encoding), %zu of the "
           "first 49,152 ids (greedy longest match)\n",
           strlen(TEXT), n_ids, n49);

    double step = decode_step("smollm2-135m");
    printf("decode step, smollm2-135m f32 random weights, %d thread(s): %.2f ms (median of 32)\n",
           threads, 1e3 * step);
    const struct {
        const char *name;
        const eco_token_vocab *v;
        const int32_t *ids;
        size_t n;
    } vs[] = {{"49,152 ids", v49, ids49, n49}, {"full", full, ids, n_ids}};
    for (int k = 0; k < 2; k++) {
        for (int schema_on = 1; schema_on >= 0; schema_on--) {
            for (int fresh = 0; fresh <= 1; fresh++) {
                double med, mean;
                const eco_json_schema *s = schema_on ? schema : NULL;
                if (run(s, vs[k].v, vs[k].ids, vs[k].n, fresh, &med, &mean)) {
                    printf("  run failed: %s\n", eco_last_error());
                    continue;
                }
                printf("mask, %-10s %-11s %-22s median %7.3f ms  mean %7.3f ms  mean/decode "
                       "step %.3f\n",
                       vs[k].name, schema_on ? "schema" : "json_object",
                       fresh ? "(walk, no cache hit)" : "(as used, cached)", 1e3 * med, 1e3 * mean,
                       step > 0 ? mean / step : 0.0);
            }
        }
    }
    printf("load average %.2f at end\n", bench_loadavg());
    eco_token_vocab_free(v49);
    eco_token_vocab_free(full);
    eco_json_schema_free(schema);
    free(ids);
    free(ids49);
    eco_tokenizer_free(tok);
    return 0;
}
