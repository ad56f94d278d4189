#define _XOPEN_SOURCE 700
#include "test_util.h"

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <jansson.h>
#include <pcre2.h>

#include "ecology/config.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/signing.h"
#include "ecology/tokenizer_train.h"

char *eco_test_source_path(const char *rel) {
    const char *root = getenv("ECO_SOURCE_DIR");
    if (!root) root = ".";
    char *p = eco_path_join(root, rel);
    assert_non_null(p);
    return p;
}

json_t *eco_test_load_json(const char *rel) {
    char *path = eco_test_source_path(rel);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) print_error("%s: %s\n", path, err.text);
    free(path);
    assert_non_null(j);
    return j;
}

double *eco_test_json_doubles(const json_t *a, size_t *n) {
    *n = json_array_size(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    assert_non_null(v);
    for (size_t i = 0; i < *n; i++) v[i] = json_number_value(json_array_get(a, i));
    return v;
}

char *eco_test_tmpdir(void) {
    const char *base = getenv("TMPDIR");
    if (!base || !*base) base = "/tmp";
    size_t n = strlen(base) + 32;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/eco-test-XXXXXX", base);
    assert_non_null(mkdtemp(p));
    return p;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void eco_test_rmtree(const char *path) {
    if (path) nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void eco_test_write_file(const char *path, const void *data, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len) assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

char *eco_test_registry_with_key(const char *data, struct eco_registry **r) {
    ECO_ASSERT_OK(eco_registry_init(data));
    char *keys = eco_path_join(data, "keys"), *trusted = eco_path_join(keys, "trusted");
    ECO_ASSERT_OK(eco_keys_generate(keys, "lab", ECO_KEY_TYPE_ECDSA_P256, NULL));
    ECO_ASSERT_OK(eco_mkdir_p(trusted));
    char *pub = eco_path_join(keys, "lab.pub"), *tpub = eco_path_join(trusted, "lab.pub");
    char *text = NULL;
    size_t len = 0;
    ECO_ASSERT_OK(eco_read_file(pub, 1 << 20, &text, &len));
    eco_test_write_file(tpub, text, len);
    char *key = eco_path_join(keys, "lab.key");
    eco_registry_options o = {.data_dir = data};
    ECO_ASSERT_OK(eco_registry_open(&o, r));
    free(text);
    free(pub);
    free(tpub);
    free(trusted);
    free(keys);
    return key;
}

bool eco_test_regex_match(const char *pattern, const char *s) {
    int err;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
    assert_non_null(re);
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    return rc >= 0;
}

void eco_test_bpe_model(const char *dir, const char *corpus, eco_model_config *cfg, int vocab,
                        const char *text) {
    char *tok_path = eco_path_join(dir, "tokenizer.json"),
         *cfg_path = eco_path_join(dir, "config.json");
    static const char *const specials[] = {"<|bos|>", "<|eos|>"};
    eco_test_write_file(corpus, text, strlen(text));
    cfg->vocab_size = vocab;
    ECO_ASSERT_OK(eco_model_create_random(cfg, 5, ECO_DTYPE_F32, dir));
    eco_bpe_train_options o = {
        .vocab_size = vocab, .specials = specials, .n_specials = 2, .bos = "<|bos|>", .threads = 1};
    const char *files[1] = {corpus};
    ECO_ASSERT_OK(eco_bpe_train_files(&o, files, 1, tok_path, NULL));
    cfg->bos_token_id = 0;
    cfg->eos_token_ids[0] = 1;
    cfg->n_eos = 1;
    ECO_ASSERT_OK(eco_config_write(cfg_path, cfg));
    free(tok_path);
    free(cfg_path);
}

double eco_test_max_abs_diff(const float *a, const float *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

/* ---- training fixtures ------------------------------------------------------------------- */

const eco_tensor *eco_test_must_find(eco_safetensors *st, const char *name) {
    const eco_tensor *t = eco_safetensors_find(st, name);
    if (!t) {
        print_error("fixture tensor '%s' missing\n", name);
        fail();
    }
    return t;
}

float eco_test_scalar(eco_safetensors *st, const char *name) {
    return ((const float *)eco_test_must_find(st, name)->data)[0];
}

void eco_test_train_fixture_open(eco_test_train_fixture *fx, const char *name, int n_teachers) {
    memset(fx, 0, sizeof *fx);
    assert_true(n_teachers >= 0 && n_teachers <= (int)(sizeof fx->teacher / sizeof fx->teacher[0]));
    char rel[256];
    snprintf(rel, sizeof rel, "tests/fixtures/train/%s", name);
    fx->dir = eco_test_source_path(rel);
    char *p = eco_path_join(fx->dir, "expected.safetensors");
    ECO_ASSERT_OK(eco_safetensors_open(p, &fx->exp));
    free(p);
    const eco_tensor *tok = eco_test_must_find(fx->exp, "tokens");
    fx->tokens = tok->data;
    fx->targets = eco_test_must_find(fx->exp, "targets")->data;
    fx->B = tok->shape[0];
    fx->T = tok->shape[1];
    if (n_teachers == 0) return;
    fx->weight = eco_test_scalar(fx->exp, "weight");
    fx->temperature = eco_test_scalar(fx->exp, "temperature");
    for (int k = 0; k < n_teachers; k++) {
        char tname[64];
        snprintf(tname, sizeof tname, "teacher.%d.logits", k);
        fx->teacher[k] = eco_test_must_find(fx->exp, tname)->data;
    }
}

void eco_test_train_fixture_close(eco_test_train_fixture *fx) {
    eco_safetensors_close(fx->exp);
    free(fx->dir);
}

/* The tensor "<prefix><p's name>" of exp, which must hold as many elements as p. */
static const eco_tensor *expected_for(eco_safetensors *exp, const char *prefix,
                                      const eco_train_param *p) {
    char name[200];
    snprintf(name, sizeof name, "%s%s", prefix, p->name);
    const eco_tensor *t = eco_test_must_find(exp, name);
    assert_int_equal(eco_tensor_numel(t), p->numel);
    return t;
}

void eco_test_load_lora_params(eco_train_model *m, eco_safetensors *exp) {
    if (eco_train_model_mode(m) != ECO_TRAIN_MODE_LORA) return;
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *p = eco_train_param_at(m, i);
        const eco_tensor *t = expected_for(exp, "param.", p);
        memcpy(eco_train_params(m) + p->offset, t->data, p->numel * sizeof(float));
    }
}

void eco_test_check_grads(eco_train_model *m, eco_safetensors *exp, const char *label, double tol,
                          bool print_each) {
    double worst = 0;
    size_t n_grads = 0;
    for (size_t i = 0; i < eco_safetensors_count(exp); i++)
        if (strncmp(eco_safetensors_get(exp, i)->name, "grad.", 5) == 0) n_grads++;
    assert_int_equal(n_grads, eco_train_num_params(m));
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *p = eco_train_param_at(m, i);
        const eco_tensor *t = expected_for(exp, "grad.", p);
        double d = eco_test_max_abs_diff(eco_train_grads(m) + p->offset, t->data, p->numel);
        if (print_each)
            printf("    %-62s max diff %.2e\n", p->name, d);
        else if (d > tol)
            print_error("%s: %s max diff %.2e\n", label, p->name, d);
        worst = fmax(worst, d);
        assert_true(d <= tol);
    }
    printf("    largest gradient difference %.2e over %zu tensors\n", worst,
           eco_train_num_params(m));
}

double eco_test_finite_differences(eco_train_model *m,
                                   double (*loss)(eco_train_model *m, void *ctx), void *ctx,
                                   uint64_t seed, const char *prefix, int *checked) {
    float *P = eco_train_params(m);
    const float *G = eco_train_grads(m);
    eco_rng rng;
    eco_rng_seed(&rng, seed);
    const float h = 1e-2f;
    double worst = 0;
    *checked = 0;
    for (size_t i = 0; i < eco_train_num_params(m); i++) {
        const eco_train_param *p = eco_train_param_at(m, i);
        for (int s = 0; s < 3; s++) { /* three elements of every tensor */
            size_t j = p->offset + (size_t)(eco_rng_next(&rng) % p->numel);
            const float keep = P[j];
            P[j] = keep + h;
            double lp = loss(m, ctx);
            P[j] = keep - h;
            double lm = loss(m, ctx);
            P[j] = keep;
            double fd = (lp - lm) / (2.0 * h), g = G[j];
            double err = fabs(fd - g);
            if (err > 3e-3 + 0.03 * fabs(g)) {
                print_error("%s%s[%zu]: finite difference %.6f, backward %.6f\n", prefix, p->name,
                            j - p->offset, fd, g);
                fail();
            }
            worst = fmax(worst, err);
            (*checked)++;
        }
    }
    return worst;
}

/* ---- genomes for registry tests ---------------------------------------------------------- */

void eco_test_hex_fill(char out[ECO_SHA256_HEX_LEN + 1], char c) {
    memset(out, c, ECO_SHA256_HEX_LEN);
    out[ECO_SHA256_HEX_LEN] = '\0';
}

static char **strv(const char *const *src, size_t *n) {
    size_t k = 0;
    while (src && src[k]) k++;
    *n = 0;
    if (!k) return NULL;
    char **v = calloc(k, sizeof *v);
    if (!v) return NULL;
    for (size_t i = 0; i < k; i++)
        if (!(v[i] = strdup(src[i]))) {
            for (size_t j = 0; j < i; j++) free(v[j]);
            free(v);
            return NULL;
        }
    *n = k;
    return v;
}

/* A genome for id whose two files ("config.json", "model.safetensors", content derived from
 * id and salt) are put into the store. parents and caps are NULL-terminated (caps sorted);
 * compat_c fills the compatibility hashes (a hex digit). No cmocka calls: forked children
 * use it too. On failure g holds what was built so far (free it). */
eco_status eco_test_build_genome(eco_store *s, eco_genome *g, const char *id, eco_genome_kind kind,
                                 const char *base, const char *const *parents,
                                 const char *const *caps, char compat_c, const char *salt) {
    memset(g, 0, sizeof *g);
    g->kind = kind;
    eco_test_hex_fill(g->compatibility.base_family, compat_c);
    eco_test_hex_fill(g->compatibility.architecture_hash, compat_c);
    eco_test_hex_fill(g->compatibility.tokenizer_hash, compat_c);
    eco_test_hex_fill(g->compatibility.tensor_schema_hash, compat_c);
    g->id = strdup(id);
    g->interface_version = strdup("text-generation@1");
    g->capabilities = strv(caps, &g->n_capabilities);
    g->parents = strv(parents, &g->n_parents);
    g->op_name = strdup(parents && parents[0] ? "merge" : "import");
    g->op_params = json_object();
    g->op_seed = 7;
    g->files.files = calloc(2, sizeof *g->files.files);
    g->base = base ? strdup(base) : NULL;
    g->n_params = 1000;
    g->bytes = 4000;
    g->resident_bytes = 8000;
    g->created_at = strdup("2026-11-28T01:02:03Z");
    g->tool_version = strdup("tiny-ecology 0.1.0");
    if (!g->id || !g->interface_version || (caps && caps[0] && !g->capabilities) ||
        (parents && parents[0] && !g->parents) || !g->op_name || !g->op_params || !g->files.files ||
        (base && !g->base) || !g->created_at || !g->tool_version)
        return eco_error(ECO_STATUS_ENOMEM, "build genome %s: out of memory", id);
    const char *names[2] = {"config.json", "model.safetensors"};
    for (int i = 0; i < 2; i++) {
        char content[256];
        int len =
            snprintf(content, sizeof content, "%s of %s (%s)", names[i], id, salt ? salt : "");
        if (!(g->files.files[i].name = strdup(names[i])))
            return eco_error(ECO_STATUS_ENOMEM, "build genome %s: out of memory", id);
        g->files.n = (size_t)i + 1;
        g->files.files[i].size = (uint64_t)len;
        eco_status st = eco_store_put_bytes(s, content, (size_t)len, g->files.files[i].sha256);
        if (st) return st;
    }
    return ECO_STATUS_OK;
}
