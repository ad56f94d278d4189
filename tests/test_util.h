/*
 * Shared helpers for the cmocka unit tests.
 *
 * Tests find the source tree through ECO_SOURCE_DIR (set by ctest) and write into a fresh
 * temporary folder. ECO_ASSERT_OK prints the library's error message on failure. The
 * training helpers at the end serve test_train.c and test_distill.c: they open the fixtures
 * scripts/make_train_fixtures.py writes and compare a model's gradients against them.
 */
#ifndef ECO_TEST_UTIL_H
#define ECO_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "ecology/core.h"
#include "ecology/registry.h"
#include "ecology/safetensors.h"
#include "ecology/train.h"

#define ECO_ASSERT_OK(expr)                                                                        \
    do {                                                                                           \
        eco_status st_ = (expr);                                                                   \
        if (st_ != ECO_STATUS_OK) {                                                                \
            print_error("%s failed: %s: %s\n", #expr, eco_status_str(st_), eco_last_error());      \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

#define ECO_ASSERT_STATUS(expr, want)                                                              \
    do {                                                                                           \
        eco_status st_ = (expr);                                                                   \
        if (st_ != (want)) {                                                                       \
            print_error("%s: got %s (%s), want %s\n", #expr, eco_status_str(st_),                  \
                        eco_last_error(), eco_status_str(want));                                   \
            fail();                                                                                \
        }                                                                                          \
    } while (0)

/* "<ECO_SOURCE_DIR>/<rel>" (static buffer per call site is not needed: malloc'd, caller
 * frees). Falls back to the compile-time source directory when the variable is unset. */
char *eco_test_source_path(const char *rel);
/* The JSON fixture at "<ECO_SOURCE_DIR>/<rel>" (a numerical reference a script in scripts/
 * wrote), parsed; fails the test, printing the parser's message, when it cannot be read.
 * Caller json_decref()s it. */
struct json_t;
struct json_t *eco_test_load_json(const char *rel);
/* The numbers of the JSON array a as doubles (*n of them; malloc'd, at least one slot,
 * caller frees). */
double *eco_test_json_doubles(const struct json_t *a, size_t *n);
/* A fresh folder under $TMPDIR (or /tmp); malloc'd path, caller frees. Removed by
 * eco_test_rmtree. */
char *eco_test_tmpdir(void);
void eco_test_rmtree(const char *path);
/* Writes bytes to path (not atomic; tests only). */
void eco_test_write_file(const char *path, const void *data, size_t len);
/* A random f32 model of cfg (its vocab_size set to vocab; seed 5) in dir with a byte-level
 * BPE tokenizer of vocab ids trained on text (specials <|bos|> = 0, <|eos|> = 1, the
 * config's bos and eos), the training text written to corpus. Asserts on failure. */
void eco_test_bpe_model(const char *dir, const char *corpus, eco_model_config *cfg, int vocab,
                        const char *text);
/* Largest |a[i] - b[i]|. */
double eco_test_max_abs_diff(const float *a, const float *b, size_t n);
/* A fresh registry in `data` (eco_registry_init) opened into *r, with a signing key "lab"
 * (ECDSA P-256) generated into <data>/keys and trusted (lab.pub copied into
 * <data>/keys/trusted). Returns the private key's path (malloc'd, caller frees); fails the
 * test on any error. */
struct eco_registry;
/* Whether PCRE2 pattern (compiled with no options; the test fails if it does not compile)
 * matches somewhere in the NUL-terminated s. */
bool eco_test_regex_match(const char *pattern, const char *s);
char *eco_test_registry_with_key(const char *data, struct eco_registry **r);

/* A genome for id (created_at 2026-11-28T01:02:03Z) whose two files ("config.json",
 * "model.safetensors", content derived from id and salt) are put into the store s. parents
 * and caps are NULL-terminated (caps sorted); compat_c fills the compatibility hashes (a hex
 * digit). No cmocka calls: forked children use it too. On failure g holds what was built so
 * far (free it with eco_genome_free). */
/* out = 64 times c, NUL-terminated (a stand-in digest). */
void eco_test_hex_fill(char out[ECO_SHA256_HEX_LEN + 1], char c);
eco_status eco_test_build_genome(eco_store *s, eco_genome *g, const char *id, eco_genome_kind kind,
                                 const char *base, const char *const *parents,
                                 const char *const *caps, char compat_c, const char *salt);

/* ---- training fixtures (tests/fixtures/train/<name>/) ----------------------------------- */

/* A training fixture: the model folder and its expected.safetensors, holding the batch
 * ("tokens", "targets": i32 [B, T]) and what PyTorch computed on it. */
typedef struct eco_test_train_fixture {
    char *dir;                       /* the fixture folder; malloc'd */
    eco_safetensors *exp;            /* expected.safetensors */
    const int32_t *tokens, *targets; /* [B, T], inside exp */
    int64_t B, T;
    /* Distillation fixtures only (opened with n_teachers > 0): */
    float weight, temperature;
    const float *teacher[4]; /* [B, T, V] torch logits of each teacher, inside exp */
} eco_test_train_fixture;

/* The tensor `name` of st; fails the test when it is missing. */
const eco_tensor *eco_test_must_find(eco_safetensors *st, const char *name);
/* The first float of tensor `name` (a scalar); fails the test when it is missing. */
float eco_test_scalar(eco_safetensors *st, const char *name);
/* Opens tests/fixtures/train/<name>. With n_teachers > 0 (at most 4) also reads "weight",
 * "temperature" and "teacher.<k>.logits" for k < n_teachers, each required. */
void eco_test_train_fixture_open(eco_test_train_fixture *fx, const char *name, int n_teachers);
void eco_test_train_fixture_close(eco_test_train_fixture *fx);
/* LoRA models: copies "param.<name>" of exp into every trainable tensor (the fixture's B is
 * not zero). Nothing for a full model. */
void eco_test_load_lora_params(eco_train_model *m, eco_safetensors *exp);
/* Compares the model's gradient of every trainable tensor with "grad.<name>" of exp: exp
 * must hold exactly one per tensor, of the same size, each within tol (absolute). Prints
 * each tensor's largest difference when print_each (else only the ones over tol, after
 * `label`), then the largest over all. */
void eco_test_check_grads(eco_train_model *m, eco_safetensors *exp, const char *label, double tol,
                          bool print_each);
/* Central finite differences (h = 1e-2) of loss(m, ctx) at three elements of every
 * trainable tensor, chosen by an RNG seeded with seed, against the gradient the model holds
 * now; fails when one differs by more than 3e-3 + 3% (printing "<prefix><tensor>[<i>]: ...").
 * *checked: elements compared. Returns the largest |fd - grad|. */
double eco_test_finite_differences(eco_train_model *m,
                                   double (*loss)(eco_train_model *m, void *ctx), void *ctx,
                                   uint64_t seed, const char *prefix, int *checked);

#endif
