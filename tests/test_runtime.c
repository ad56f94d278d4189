/*
 * The engine pool (include/ecology/runtime.h, src/runtime/) over a registry built here in a
 * temporary folder: a random-initialised base of the tiny preset ("base"), four random
 * adapters of it (a1..a3 rank 8 on every target, the same bytes each; a4 rank 16 on q and
 * v), and a second base ("base2") with one adapter ("b2a"). Checked:
 *   - an adapter engine's greedy tokens, log-probabilities and text are exactly those of
 *     eco_llama_engine_open_adapter over the same folders, with adapters and the base
 *     interleaved on the one shared model, and differ from the base's (so the adapter is
 *     applied); the genome is the registered one;
 *   - adapters of one base share it (stats.bases 1), the byte counts are the weights' and
 *     the adapter files';
 *   - the adapter budget evicts the least recently used and reloads it on next use (hits,
 *     loads, evictions), an adapter in use is never evicted (the budget is exceeded, then
 *     restored on release); max_bases evicts a base with its adapters;
 *   - an alias moved through another registry handle is served from the next acquire,
 *     while an engine acquired before keeps its model;
 *   - a damaged store object is refused with EINTEGRITY before anything is loaded, and the
 *     trust cache is honoured when the registry was opened with it;
 *   - bad refs and arguments give EINVAL / ENOTFOUND naming the ref;
 *   - two threads inferring on two adapters of one base get their own adapter's outputs.
 */
#include "test_util.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecology/engine.h"
#include "ecology/model.h"
#include "ecology/registry.h"
#include "ecology/runtime.h"

#define CREATED    "2026-11-28T00:00:00Z"
#define N_ADAPTERS 4

static const char *const ADAPTER_IDS[N_ADAPTERS] = {"a1", "a2", "a3", "a4"};

typedef struct fixture {
    char *tmp, *data, *key;
    char *base_dir, *base2_dir, *b2a_dir;
    char *adapter_dir[N_ADAPTERS];
    eco_registry *r;
} fixture;

/* A random adapter of rank r on `targets` (NULL: all seven), saved to dir with
 * base_model_name_or_path = base. */
static void make_adapter(const char *dir, const eco_model_config *cfg, int64_t r,
                         const bool *targets, uint64_t seed, const char *base) {
    eco_peft_config pc;
    eco_peft_config_init(&pc);
    pc.r = r;
    pc.lora_alpha = (double)(2 * r);
    snprintf(pc.base_model_name_or_path, sizeof pc.base_model_name_or_path, "%s", base);
    for (int t = 0; t < ECO_LORA__COUNT; t++) pc.targets[t] = targets ? targets[t] : true;
    ECO_ASSERT_OK(eco_lora_adapter_create_random(dir, cfg, &pc, seed, 0.05f));
}

static void add_dir(fixture *f, const char *dir, const char *id, const char *base,
                    const char *capability) {
    const char *caps[] = {capability};
    eco_add_options o = {.id = id,
                         .base = base,
                         .capabilities = caps,
                         .n_capabilities = capability ? 1 : 0,
                         .sign_key = f->key,
                         .created_at = CREATED};
    ECO_ASSERT_OK(eco_registry_add_dir(f->r, dir, &o, NULL));
}

static int setup(void **state) {
    fixture *f = calloc(1, sizeof *f);
    f->tmp = eco_test_tmpdir();
    f->data = eco_path_join(f->tmp, "data");
    f->key = eco_test_registry_with_key(f->data, &f->r);
    f->base_dir = eco_path_join(f->tmp, "base");
    f->base2_dir = eco_path_join(f->tmp, "base2");
    f->b2a_dir = eco_path_join(f->tmp, "b2a");
    ECO_ASSERT_OK(eco_model_create_preset("tiny", 11, ECO_DTYPE_F32, f->base_dir));
    ECO_ASSERT_OK(eco_model_create_preset("tiny", 12, ECO_DTYPE_F32, f->base2_dir));
    eco_model_config cfg;
    ECO_ASSERT_OK(eco_model_preset_config("tiny", &cfg));
    add_dir(f, f->base_dir, "base", NULL, NULL);
    add_dir(f, f->base2_dir, "base2", NULL, NULL);
    bool qv[ECO_LORA__COUNT] = {false};
    qv[ECO_LORA_Q] = qv[ECO_LORA_V] = true;
    for (int i = 0; i < N_ADAPTERS; i++) {
        f->adapter_dir[i] = eco_path_join(f->tmp, ADAPTER_IDS[i]);
        make_adapter(f->adapter_dir[i], &cfg, i == 3 ? 16 : 8, i == 3 ? qv : NULL,
                     100 + (uint64_t)i, "base");
        add_dir(f, f->adapter_dir[i], ADAPTER_IDS[i], "base", "arith.add@1");
    }
    make_adapter(f->b2a_dir, &cfg, 8, NULL, 200, "base2");
    add_dir(f, f->b2a_dir, "b2a", "base2", NULL);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    fixture *f = *state;
    eco_registry_close(f->r);
    eco_test_rmtree(f->tmp);
    free(f->tmp);
    free(f->data);
    free(f->key);
    free(f->base_dir);
    free(f->base2_dir);
    free(f->b2a_dir);
    for (int i = 0; i < N_ADAPTERS; i++) free(f->adapter_dir[i]);
    free(f);
    return 0;
}

/* ---- helpers ---------------------------------------------------------------------------- */

static eco_infer_request request(void) {
    eco_infer_request q;
    eco_infer_request_init(&q);
    q.prompt = "the pool shares one base";
    q.max_tokens = 12;
    q.stop_at_eos = false; /* always 12 tokens: more to compare */
    return q;
}

/* Greedy response of eco_llama_engine_open_adapter(base_dir, adapter_dir) (adapter NULL: the
 * base alone). Caller frees. */
static eco_infer_response reference(const char *base_dir, const char *adapter_dir) {
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open_adapter(base_dir, adapter_dir, NULL, &e));
    eco_infer_request q = request();
    eco_infer_response resp;
    ECO_ASSERT_OK(e->infer(e, &q, &resp));
    eco_engine_destroy(e);
    return resp;
}

/* Whether two responses are the same bit for bit (tokens, log-probabilities, text). */
static bool same_response(const eco_infer_response *a, const eco_infer_response *b) {
    return a->n_tokens == b->n_tokens && a->text_len == b->text_len &&
           memcmp(a->tokens, b->tokens, a->n_tokens * sizeof *a->tokens) == 0 &&
           memcmp(a->logprobs, b->logprobs, a->n_tokens * sizeof *a->logprobs) == 0 &&
           memcmp(a->text, b->text, a->text_len) == 0;
}

/* Runs the request on e and checks the response against want exactly. */
static void check_infer(eco_engine *e, const eco_infer_response *want, const char *what) {
    eco_infer_request q = request();
    eco_infer_response got;
    ECO_ASSERT_OK(e->infer(e, &q, &got));
    if (!same_response(&got, want)) {
        float worst = 0;
        for (size_t i = 0; i < got.n_tokens && i < want->n_tokens; i++) {
            float d = got.logprobs[i] - want->logprobs[i];
            if (d < 0) d = -d;
            if (d > worst) worst = d;
        }
        print_error("%s: pool engine differs from eco_llama_engine_open_adapter (%zu vs %zu "
                    "tokens, largest log-probability difference %g)\n",
                    what, got.n_tokens, want->n_tokens, (double)worst);
        fail();
    }
    eco_infer_response_free(&got);
}

/* Acquires ref from p, checks its response against eco_llama_engine_open_adapter over
 * base_dir and adapter_dir, releases it. */
static void check_infer_ref(eco_pool *p, const char *ref, const char *base_dir,
                            const char *adapter_dir) {
    eco_infer_response want = reference(base_dir, adapter_dir);
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, ref, &e));
    check_infer(e, &want, ref);
    eco_pool_release(p, e);
    eco_infer_response_free(&want);
}

static eco_pool *new_pool(eco_registry *r, uint64_t budget, size_t max_bases) {
    eco_pool_options o = {.adapter_budget_bytes = budget, .max_bases = max_bases};
    eco_pool *p = NULL;
    ECO_ASSERT_OK(eco_pool_create(r, &o, &p));
    return p;
}

/* Acquires ref and releases it at once (a use that only touches residency). */
static void touch(eco_pool *p, const char *ref) {
    eco_engine *e = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, ref, &e));
    eco_pool_release(p, e);
}

static eco_pool_stats stats(eco_pool *p) {
    eco_pool_stats s;
    eco_pool_get_stats(p, &s);
    return s;
}

/* The tensor bytes of <dir>/adapter_model.safetensors (the data after its header). */
static uint64_t tensor_bytes(const char *dir) {
    char *path = eco_path_join(dir, "adapter_model.safetensors");
    eco_safetensors *st = NULL;
    ECO_ASSERT_OK(eco_safetensors_open(path, &st));
    uint64_t n = 0;
    for (size_t i = 0; i < eco_safetensors_count(st); i++) n += eco_safetensors_get(st, i)->nbytes;
    eco_safetensors_close(st);
    free(path);
    return n;
}

/* ---- tests ------------------------------------------------------------------------------ */

static void test_outputs_match_engine(void **state) {
    fixture *f = *state;
    eco_infer_response want_base = reference(f->base_dir, NULL);
    eco_infer_response want[N_ADAPTERS];
    for (int i = 0; i < N_ADAPTERS; i++) {
        want[i] = reference(f->base_dir, f->adapter_dir[i]);
        /* the adapter changes the model: a pool that forgot to attach it would fail below */
        assert_false(same_response(&want[i], &want_base));
    }
    eco_pool *p = new_pool(f->r, 0, 0);
    eco_engine *e[N_ADAPTERS], *b = NULL;
    for (int i = 0; i < N_ADAPTERS; i++) ECO_ASSERT_OK(eco_pool_acquire(p, ADAPTER_IDS[i], &e[i]));
    ECO_ASSERT_OK(eco_pool_acquire(p, "base", &b));
    /* interleaved on the one shared model: every switch attaches, the base detaches */
    const int order[] = {0, 1, 0, 0, 3, 2, -1, 1, -1, -1, 2, 3};
    for (size_t k = 0; k < sizeof order / sizeof *order; k++) {
        char what[32];
        snprintf(what, sizeof what, "step %zu", k);
        if (order[k] < 0)
            check_infer(b, &want_base, what);
        else
            check_infer(e[order[k]], &want[order[k]], what);
    }
    /* the registered genome */
    const eco_genome *g = e[1]->genome(e[1]);
    assert_string_equal(g->id, "a2");
    assert_int_equal(g->kind, ECO_GENOME_KIND_ADAPTER);
    assert_string_equal(g->base, "base");
    assert_int_equal(g->n_capabilities, 1);
    assert_string_equal(g->capabilities[0], "arith.add@1");
    assert_int_not_equal(g->files.n, 0);
    g = b->genome(b);
    assert_string_equal(g->id, "base");
    assert_int_equal(g->kind, ECO_GENOME_KIND_BASE);
    assert_int_not_equal(g->bytes, 0);
    for (int i = 0; i < N_ADAPTERS; i++) eco_engine_destroy(e[i]); /* the same as release */
    eco_pool_release(p, b);
    eco_pool_stats s = stats(p);
    assert_int_equal(s.loads, 1 + N_ADAPTERS);
    assert_int_equal(s.hits, 1); /* "base", loaded with a1 */
    eco_pool_destroy(p);
    eco_infer_response_free(&want_base);
    for (int i = 0; i < N_ADAPTERS; i++) eco_infer_response_free(&want[i]);
}

static void test_adapters_share_base(void **state) {
    fixture *f = *state;
    eco_pool *p = new_pool(f->r, 0, 0);
    eco_engine *a = NULL, *c = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "a1", &a));
    ECO_ASSERT_OK(eco_pool_acquire(p, "a4", &c));
    eco_pool_stats s = stats(p);
    assert_int_equal(s.bases, 1);
    assert_int_equal(s.adapters_resident, 2);
    assert_int_equal(s.loads, 3);
    assert_int_equal(s.hits, 0);
    assert_int_equal(s.evictions, 0);
    /* byte counts: the base's weights (the f32 tensors of model.safetensors) and the
     * adapters' tensors, mapped */
    eco_engine *ref = NULL;
    ECO_ASSERT_OK(eco_llama_engine_open(f->base_dir, NULL, &ref));
    assert_int_equal(s.base_bytes, ref->genome(ref)->bytes);
    eco_engine_destroy(ref);
    assert_int_equal(s.adapter_bytes,
                     tensor_bytes(f->adapter_dir[0]) + tensor_bytes(f->adapter_dir[3]));
    /* a second engine on the same adapter is a hit, nothing loaded */
    eco_engine *a2 = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "a1", &a2));
    assert_int_equal(stats(p).hits, 1);
    assert_int_equal(stats(p).loads, 3);
    eco_pool_release(p, a);
    eco_pool_release(p, a2);
    eco_pool_release(p, c);
    /* another base's adapter brings its own base */
    touch(p, "b2a");
    assert_int_equal(stats(p).bases, 2);
    assert_int_equal(stats(p).adapters_resident, 3);
    eco_pool_destroy(p);
}

static void test_lru_budget(void **state) {
    fixture *f = *state;
    const uint64_t one = tensor_bytes(f->adapter_dir[0]);
    assert_int_equal(one, tensor_bytes(f->adapter_dir[1]));
    assert_int_equal(one, tensor_bytes(f->adapter_dir[2]));
    eco_pool *p = new_pool(f->r, 2 * one, 0); /* room for two of a1..a3 */
    touch(p, "a1");
    touch(p, "a2");
    assert_int_equal(stats(p).adapters_resident, 2);
    assert_int_equal(stats(p).evictions, 0);
    touch(p, "a3"); /* a1 out */
    eco_pool_stats s = stats(p);
    assert_int_equal(s.adapters_resident, 2);
    assert_int_equal(s.adapter_bytes, 2 * one);
    assert_int_equal(s.evictions, 1);
    assert_int_equal(s.loads, 4); /* base, a1, a2, a3 */
    touch(p, "a2");               /* resident: a hit, and now more recent than a3 */
    assert_int_equal(stats(p).hits, 1);
    assert_int_equal(stats(p).loads, 4);
    touch(p, "a1"); /* loaded again; a3 (least recently used) out */
    assert_int_equal(stats(p).loads, 5);
    assert_int_equal(stats(p).evictions, 2);
    touch(p, "a2"); /* still resident */
    assert_int_equal(stats(p).hits, 2);
    touch(p, "a3"); /* was evicted: loaded again, a1 out */
    assert_int_equal(stats(p).loads, 6);
    assert_int_equal(stats(p).evictions, 3);
    assert_int_equal(stats(p).bases, 1); /* the base stays through all of it */

    /* in use, never evicted: three held exceed the budget, released it is restored */
    eco_infer_response want = reference(f->base_dir, f->adapter_dir[0]);
    eco_engine *e[3];
    for (int i = 0; i < 3; i++) ECO_ASSERT_OK(eco_pool_acquire(p, ADAPTER_IDS[i], &e[i]));
    s = stats(p);
    assert_int_equal(s.adapters_resident, 3);
    assert_int_equal(s.adapter_bytes, 3 * one);
    check_infer(e[0], &want, "a1 held over budget"); /* reloaded adapters attach anew */
    for (int i = 0; i < 3; i++) eco_pool_release(p, e[i]);
    s = stats(p);
    assert_int_equal(s.adapters_resident, 2);
    assert_true(s.adapter_bytes <= 2 * one);
    /* an adapter larger than the whole budget is served, then evicted on release */
    eco_pool_destroy(p);
    p = new_pool(f->r, one / 2, 0);
    eco_engine *big = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "a1", &big));
    check_infer(big, &want, "a1 over a budget smaller than itself");
    assert_int_equal(stats(p).adapters_resident, 1);
    eco_pool_release(p, big);
    assert_int_equal(stats(p).adapters_resident, 0);
    assert_int_equal(stats(p).bases, 1);
    eco_pool_destroy(p);
    eco_infer_response_free(&want);
}

static void test_max_bases(void **state) {
    fixture *f = *state;
    eco_pool *p = new_pool(f->r, 0, 1);
    touch(p, "a1");
    touch(p, "a2");
    assert_int_equal(stats(p).bases, 1);
    touch(p, "b2a"); /* base2 in: base goes, with a1 and a2 */
    eco_pool_stats s = stats(p);
    assert_int_equal(s.bases, 1);
    assert_int_equal(s.adapters_resident, 1);
    assert_int_equal(s.evictions, 3);
    /* held: a second base loads beside it (max_bases exceeded while in use) */
    eco_engine *held = NULL, *b = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "b2a", &held));
    ECO_ASSERT_OK(eco_pool_acquire(p, "base", &b));
    assert_int_equal(stats(p).bases, 2);
    eco_infer_response want = reference(f->base2_dir, f->b2a_dir);
    check_infer(held, &want, "b2a beside a second base");
    eco_infer_response_free(&want);
    eco_pool_release(p, held); /* base2 no longer held: out at once, base is still held */
    s = stats(p);
    assert_int_equal(s.bases, 1);
    assert_int_equal(s.adapters_resident, 0);
    assert_int_equal(s.evictions, 5);
    eco_pool_release(p, b);
    assert_int_equal(stats(p).bases, 1); /* within the limit: base stays */
    check_infer_ref(p, "base", f->base_dir, NULL);
    eco_pool_destroy(p);
}

static void test_alias_move(void **state) {
    fixture *f = *state;
    ECO_ASSERT_OK(eco_registry_alias_set(f->r, "champion", "a1", NULL));
    eco_infer_response w1 = reference(f->base_dir, f->adapter_dir[0]);
    eco_infer_response w2 = reference(f->base_dir, f->adapter_dir[1]);
    eco_pool *p = new_pool(f->r, 0, 0);
    eco_engine *before = NULL, *after = NULL;
    ECO_ASSERT_OK(eco_pool_acquire(p, "champion", &before));
    assert_string_equal(before->genome(before)->id, "a1");
    check_infer(before, &w1, "champion before the move");
    /* another process (its own handle) promotes a2 */
    eco_registry *other = NULL;
    eco_registry_options o = {.data_dir = f->data};
    ECO_ASSERT_OK(eco_registry_open(&o, &other));
    ECO_ASSERT_OK(eco_registry_alias_set(other, "champion", "a2", "a1"));
    eco_registry_close(other);
    ECO_ASSERT_OK(eco_pool_acquire(p, "champion", &after));
    assert_string_equal(after->genome(after)->id, "a2");
    check_infer(after, &w2, "champion after the move");
    check_infer(before, &w1, "engine acquired before the move"); /* keeps its model */
    eco_pool_release(p, before);
    eco_pool_release(p, after);
    assert_int_equal(stats(p).bases, 1);
    eco_pool_destroy(p);
    eco_infer_response_free(&w1);
    eco_infer_response_free(&w2);
}

/* The store object of file `name` of model id. Caller frees. */
static char *object_path(eco_registry *r, const char *id, const char *name) {
    eco_genome g = {0};
    ECO_ASSERT_OK(eco_registry_get(r, id, &g, NULL));
    char *path = NULL;
    for (size_t i = 0; i < g.files.n; i++)
        if (strcmp(g.files.files[i].name, name) == 0)
            path = eco_store_object_path(eco_registry_store(r), g.files.files[i].sha256);
    eco_genome_free(&g);
    assert_non_null(path);
    return path;
}

/* Flips one byte in the middle of path, keeping its size and its modification time (what
 * the trust cache looks at). */
static void damage_keeping_mtime(const char *path) {
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    chmod(path, 0644);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    unsigned char c;
    const off_t at = sb.st_size / 2;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    const struct timespec times[2] = {sb.st_atim, sb.st_mtim};
    assert_int_equal(futimens(fd, times), 0);
    close(fd);
    chmod(path, sb.st_mode & 07777);
}

static void test_integrity(void **state) {
    fixture *f = *state;
    /* a pool on a trust-cache handle loads a3 once (verified and vouched for from then on) */
    eco_registry *trusting = NULL;
    eco_registry_options o = {.data_dir = f->data, .trust_cache = true};
    ECO_ASSERT_OK(eco_registry_open(&o, &trusting));
    eco_pool *tp = new_pool(trusting, 1, 0); /* 1 byte: every adapter leaves on release */
    touch(tp, "a3");
    assert_int_equal(stats(tp).adapters_resident, 0);

    char *obj = object_path(f->r, "a3", "adapter_model.safetensors");
    damage_keeping_mtime(obj);
    /* the verifying pool refuses it before loading anything: no base either */
    eco_pool *p = new_pool(f->r, 0, 0);
    eco_engine *e = NULL;
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "a3", &e), ECO_STATUS_EINTEGRITY);
    assert_null(e);
    assert_non_null(strstr(eco_last_error(), "'a3'"));
    assert_non_null(strstr(eco_last_error(), "adapter_model.safetensors"));
    eco_pool_stats s = stats(p);
    assert_int_equal(s.loads, 0);
    assert_int_equal(s.bases, 0);
    assert_int_equal(s.adapters_resident, 0);
    /* the same through an alias names both */
    ECO_ASSERT_OK(eco_registry_alias_set(f->r, "canary", "a3", NULL));
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "canary", &e), ECO_STATUS_EINTEGRITY);
    assert_non_null(strstr(eco_last_error(), "'canary' (model 'a3')"));
    /* the others still load */
    touch(p, "a1");
    assert_int_equal(stats(p).loads, 2);
    eco_pool_destroy(p);

    /* the trust cache vouches for the object (same size and mtime): the trusting pool loads
     * it without re-hashing, as registry.h says a trust_cache handle does */
    ECO_ASSERT_OK(eco_pool_acquire(tp, "a3", &e));
    assert_int_equal(stats(tp).loads, 3); /* base, a3, a3 again */
    eco_pool_release(tp, e);
    eco_pool_destroy(tp);
    eco_registry_close(trusting);
    free(obj);
}

static void test_bad_refs(void **state) {
    fixture *f = *state;
    eco_pool *p = new_pool(f->r, 0, 0);
    eco_engine *e = (eco_engine *)1;
    ECO_ASSERT_STATUS(eco_pool_acquire(p, NULL, &e), ECO_STATUS_EINVAL);
    assert_null(e);
    ECO_ASSERT_STATUS(eco_pool_acquire(NULL, "a1", &e), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "a1", NULL), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "not an id", &e), ECO_STATUS_EINVAL);
    assert_non_null(strstr(eco_last_error(), "'not an id' is not a model id or alias name"));
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "", &e), ECO_STATUS_EINVAL);
    ECO_ASSERT_STATUS(eco_pool_acquire(p, "nosuch", &e), ECO_STATUS_ENOTFOUND);
    assert_non_null(strstr(eco_last_error(), "pool acquire 'nosuch'"));
    assert_non_null(strstr(eco_last_error(), "no model or alias 'nosuch'"));
    assert_null(e);
    eco_pool_stats s = stats(p);
    assert_int_equal(s.loads + s.hits + s.bases, 0);
    eco_pool *q = (eco_pool *)1;
    ECO_ASSERT_STATUS(eco_pool_create(NULL, NULL, &q), ECO_STATUS_EINVAL);
    assert_null(q);
    eco_pool_release(p, NULL);
    eco_pool_get_stats(NULL, &s);
    assert_int_equal(s.loads, 0);
    eco_pool_destroy(p);
    eco_pool_destroy(NULL);
}

/* ---- threads ---------------------------------------------------------------------------- */

typedef struct worker {
    eco_engine *e;
    const eco_infer_response *want;
    int mismatches, errors;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    eco_infer_request q = request();
    for (int k = 0; k < 8; k++) {
        eco_infer_response got;
        if (w->e->infer(w->e, &q, &got) != ECO_STATUS_OK) {
            w->errors++;
            continue;
        }
        if (!same_response(&got, w->want)) w->mismatches++;
        eco_infer_response_free(&got);
    }
    return NULL;
}

static void test_threads(void **state) {
    fixture *f = *state;
    eco_infer_response want[2] = {reference(f->base_dir, f->adapter_dir[0]),
                                  reference(f->base_dir, f->adapter_dir[3])};
    eco_pool *p = new_pool(f->r, 0, 0);
    worker w[2] = {{0}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++) {
        ECO_ASSERT_OK(eco_pool_acquire(p, i == 0 ? "a1" : "a4", &w[i].e));
        w[i].want = &want[i];
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        if (w[i].errors || w[i].mismatches) {
            print_error("thread %d: %d errors, %d responses not its adapter's\n", i, w[i].errors,
                        w[i].mismatches);
            fail();
        }
        eco_pool_release(p, w[i].e);
    }
    assert_int_equal(stats(p).bases, 1);
    eco_pool_destroy(p);
    for (int i = 0; i < 2; i++) eco_infer_response_free(&want[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_outputs_match_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(test_adapters_share_base, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lru_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_bases, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alias_move, setup, teardown),
        cmocka_unit_test_setup_teardown(test_integrity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_refs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
