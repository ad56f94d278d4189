/*
 * Distillation (see the distillation section of include/ecology/train.h for the formulas).
 *
 * Token level: eco_train_forward_distill runs the ordinary training forward (which also
 * yields the cross-entropy), then turns the teachers' logits into the averaged softened
 * distribution p [N, V], kept in the model (distill_soft) for the backward, and the
 * per-position KL(p ‖ softmax(z/τ)). The backward's loss stage (train_forward.c) calls
 * eco_train_distill_dlogits instead of the cross-entropy backward while distill_on is set;
 * every eco_train_forward clears it.
 *
 * Bit-exactness by construction: softened probabilities of teacher and student go through
 * the same expression (softmax_stats + soft_prob), so identical logits give identical p
 * and q and a KL gradient of exactly zero; the cross-entropy part of the gradient is
 * computed with crossentropy_backward's arithmetic, so w = 0 reproduces it bit for bit.
 *
 * Sequence level: eco_distill_generate_jsonl (greedy teacher completions → JSONL).
 */
#include "train/train_internal.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/data.h"

#define TOKENIZER_MAX_BYTES ((size_t)512 * 1024 * 1024)

/* ---- softened probabilities ---------------------------------------------------------- */

/* For row z[V] at inverse temperature inv_t: *mx = max(z)·inv_t and *s = Σ exp(z·inv_t − mx),
 * in double. */
static void softmax_stats(const float *z, int64_t V, double inv_t, double *mx, double *s) {
    float m = z[0];
    for (int64_t j = 1; j < V; j++) m = z[j] > m ? z[j] : m;
    const double mxd = (double)m * inv_t;
    double sum = 0.0;
    for (int64_t j = 0; j < V; j++) sum += exp((double)z[j] * inv_t - mxd);
    *mx = mxd;
    *s = sum;
}

/* softmax(z·inv_t)_j given softmax_stats' mx and 1/s, rounded to f32. */
static inline float soft_prob(float zj, double inv_t, double mx, double inv_s) {
    return (float)(exp((double)zj * inv_t - mx) * inv_s);
}

/* Lazily allocates the [Nmax, V] soft-target and [Nmax] KL buffers. */
static eco_status ensure_buffers(eco_train_model *m) {
    if (m->distill_soft) return ECO_STATUS_OK;
    size_t nmax, n;
    if (!eco_mul_ok((size_t)m->opt.max_batch, (size_t)m->opt.max_seq, &nmax) ||
        !eco_mul_ok(nmax, (size_t)m->cfg.vocab_size, &n))
        return eco_error(
            ECO_STATUS_EOVERFLOW, "distill: soft-target buffer %lld × %lld × %lld overflows",
            (long long)m->opt.max_batch, (long long)m->opt.max_seq, (long long)m->cfg.vocab_size);
    float *soft = eco_malloc_array(n, sizeof(float));
    double *kl = eco_malloc_array(nmax, sizeof(double));
    if (!soft || !kl) {
        free(soft);
        free(kl);
        return eco_error(ECO_STATUS_ENOMEM, "distill: out of memory for %zu soft targets", n);
    }
    m->distill_soft = soft;
    m->distill_kl = kl;
    return ECO_STATUS_OK;
}

/* ---- token-level distillation ---------------------------------------------------------- */

eco_status eco_train_forward_distill(eco_train_model *m, const int32_t *tokens,
                                     const int32_t *targets, const float *const *teacher_logits,
                                     size_t n_teachers, int64_t teacher_vocab, int64_t B, int64_t T,
                                     float weight, float temperature, bool training,
                                     eco_distill_losses *out) {
    return eco_train_forward_distill_pos(m, tokens, targets, NULL, teacher_logits, n_teachers,
                                         teacher_vocab, B, T, weight, temperature, training, out);
}

eco_status eco_train_forward_distill_pos(eco_train_model *m, const int32_t *tokens,
                                         const int32_t *targets, const int32_t *positions,
                                         const float *const *teacher_logits, size_t n_teachers,
                                         int64_t teacher_vocab, int64_t B, int64_t T, float weight,
                                         float temperature, bool training,
                                         eco_distill_losses *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!m || !tokens || !targets || !teacher_logits)
        return eco_error(ECO_STATUS_EINVAL,
                         "distill forward: NULL argument (model, tokens, targets and teacher "
                         "logits are required)");
    m->have_fwd = false; /* whatever happens below, no backward through an earlier forward */
    m->distill_on = false;
    if (n_teachers == 0) return eco_error(ECO_STATUS_EINVAL, "distill forward: no teacher logits");
    for (size_t k = 0; k < n_teachers; k++)
        if (!teacher_logits[k])
            return eco_error(ECO_STATUS_EINVAL, "distill forward: teacher %zu logits are NULL", k);
    const int64_t V = m->cfg.vocab_size;
    if (teacher_vocab != V)
        return eco_error(
            ECO_STATUS_EINVAL,
            "distill forward: teacher vocabulary %lld != student vocabulary %lld (token-level "
            "distillation needs one tokenizer; use sequence-level distillation)",
            (long long)teacher_vocab, (long long)V);
    if (!(weight >= 0.0f && weight <= 1.0f))
        return eco_error(ECO_STATUS_EINVAL, "distill forward: weight %g outside [0, 1]",
                         (double)weight);
    if (!(temperature > 0.0f) || !isfinite(temperature))
        return eco_error(ECO_STATUS_EINVAL,
                         "distill forward: temperature %g must be finite and > 0",
                         (double)temperature);
    eco_status st = ensure_buffers(m);
    if (st != ECO_STATUS_OK) return st;

    float ce = 0.0f;
    st = eco_train_forward_pos(m, tokens, targets, positions, B, T, training,
                               &ce); /* clears distill_on */
    if (st != ECO_STATUS_OK) return st;

    const int64_t N = B * T;
    const double inv_t = 1.0 / (double)temperature;
    const float inv_k = 1.0f / (float)n_teachers;
    const float *logits = m->a.logits;
    float *soft = m->distill_soft;
    double *klr = m->distill_kl;
    const int32_t *tg = m->targets;
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        float *p = soft + i * V;
        if (tg[i] < 0) {
            klr[i] = 0.0;
            continue;
        }
        /* p = mean over teachers of softmax(t/τ) */
        bool finite = true;
        for (size_t k = 0; k < n_teachers && finite; k++) {
            const float *t = teacher_logits[k] + i * V;
            for (int64_t j = 0; j < V; j++)
                if (!isfinite(t[j])) {
                    finite = false;
                    break;
                }
            if (!finite) break;
            double mx, s;
            softmax_stats(t, V, inv_t, &mx, &s);
            const double inv_s = 1.0 / s;
            if (k == 0)
                for (int64_t j = 0; j < V; j++) p[j] = soft_prob(t[j], inv_t, mx, inv_s);
            else
                for (int64_t j = 0; j < V; j++) p[j] += soft_prob(t[j], inv_t, mx, inv_s);
        }
        if (!finite) {
            klr[i] = NAN;
            continue;
        }
        if (n_teachers > 1)
            for (int64_t j = 0; j < V; j++) p[j] *= inv_k;
        /* KL(p ‖ q) with log q = z/τ − mx − log s */
        const float *z = logits + i * V;
        double mx, s;
        softmax_stats(z, V, inv_t, &mx, &s);
        const double lse = mx + log(s);
        double kl = 0.0;
        for (int64_t j = 0; j < V; j++)
            if (p[j] > 0.0f)
                kl += (double)p[j] * (log((double)p[j]) - ((double)z[j] * inv_t - lse));
        klr[i] = kl;
    }
    double kl_sum = 0.0;
    for (int64_t i = 0; i < N; i++) { /* in order: independent of the thread count */
        if (isnan(klr[i])) {
            m->have_fwd = false;
            for (size_t k = 0; k < n_teachers; k++)
                for (int64_t j = 0; j < V; j++)
                    if (!isfinite(teacher_logits[k][i * V + j]))
                        return eco_error(ECO_STATUS_ERANGE,
                                         "distill forward: teacher %zu logit [%lld, %lld, %lld] is "
                                         "not finite (%g)",
                                         k, (long long)(i / T), (long long)(i % T), (long long)j,
                                         (double)teacher_logits[k][i * V + j]);
            return eco_error(ECO_STATUS_EINTERNAL, "distill forward: KL at position %lld is NaN",
                             (long long)i);
        }
        kl_sum += klr[i];
    }
    const double kl = m->n_valid ? kl_sum / (double)m->n_valid : 0.0;
    const double w = (double)weight, tau = (double)temperature;
    m->distill_weight = weight;
    m->distill_temp = temperature;
    m->distill_on = true;
    if (out) {
        out->ce = ce;
        out->kl = (float)kl;
        out->loss = m->n_valid ? (float)((1.0 - w) * (double)ce + w * tau * tau * kl) : 0.0f;
    }
    return ECO_STATUS_OK;
}

void eco_train_distill_dlogits(eco_train_model *m, float *logits, float scale) {
    const int64_t N = m->B * m->T, V = m->cfg.vocab_size;
    const float w = m->distill_weight, tau = m->distill_temp;
    const float ce_w = 1.0f - w;         /* exactly 1 when w = 0 */
    const float ce_scale = ce_w * scale; /* exactly scale when w = 0 */
    const float kd_scale = w * tau * scale;
    const double inv_t = 1.0 / (double)tau;
    const float *soft = m->distill_soft;
    const int32_t *tg = m->targets;
#pragma omp parallel for schedule(static) if (N * V >= (1 << 15))
    for (int64_t i = 0; i < N; i++) {
        float *row = logits + i * V;
        if (tg[i] < 0) {
            memset(row, 0, (size_t)V * sizeof(float));
            continue;
        }
        const float *p = soft + i * V;
        /* the cross-entropy part exactly as crossentropy_backward computes it */
        float mx1 = row[0];
        for (int64_t j = 1; j < V; j++) mx1 = row[j] > mx1 ? row[j] : mx1;
        double s1 = 0.0;
        for (int64_t j = 0; j < V; j++) s1 += exp((double)(row[j] - mx1));
        const double inv1 = 1.0 / s1;
        double mxt, st;
        softmax_stats(row, V, inv_t, &mxt, &st);
        const double inv_st = 1.0 / st;
        for (int64_t j = 0; j < V; j++) {
            const float z = row[j];
            const float ce = (float)(exp((double)(z - mx1)) * inv1) * scale;
            const float q = soft_prob(z, inv_t, mxt, inv_st);
            row[j] = ce_w * ce + kd_scale * (q - p[j]);
        }
        row[tg[i]] -= ce_scale;
    }
}

/* ---- teacher logits -------------------------------------------------------------------- */

eco_status eco_distill_teacher_logits_model(eco_model *teacher, const int32_t *tokens,
                                            const int32_t *positions, int64_t B, int64_t T,
                                            float *out) {
    if (!teacher || !tokens || !out)
        return eco_error(ECO_STATUS_EINVAL, "teacher logits: NULL argument");
    if (B <= 0 || T <= 0)
        return eco_error(ECO_STATUS_EINVAL, "teacher logits: batch %lld × %lld", (long long)B,
                         (long long)T);
    eco_status st =
        positions ? eco_train_check_positions("teacher logits", positions, B, T) : ECO_STATUS_OK;
    if (st != ECO_STATUS_OK) return st;
    const int64_t V = eco_model_get_config(teacher)->vocab_size;
    eco_kv_cache *kv = NULL;
    if ((st = eco_kv_cache_create(teacher, T, &kv)) != ECO_STATUS_OK) return st;
    /* each document [s, e) of each row from a fresh cache: the whole row without positions */
    for (int64_t i = 0, s = 0; i < B * T && st == ECO_STATUS_OK; s = i) {
        do i++;
        while (i % T != 0 && (!positions || positions[i] != 0));
        eco_kv_cache_reset(kv);
        st = eco_model_forward(teacher, kv, tokens + s, i - s, out + (size_t)s * (size_t)V, true);
        if (st != ECO_STATUS_OK)
            st = eco_error_wrap(st, "teacher logits: row %lld, columns %lld..%lld",
                                (long long)(s / T), (long long)(s % T), (long long)((i - 1) % T));
    }
    eco_kv_cache_free(kv);
    return st;
}

eco_status eco_distill_teacher_logits_train(eco_train_model *teacher, const int32_t *tokens,
                                            const int32_t *positions, int64_t B, int64_t T,
                                            float *out) {
    if (!teacher || !tokens || !out)
        return eco_error(ECO_STATUS_EINVAL, "teacher logits: NULL argument");
    eco_status st = eco_train_forward_pos(teacher, tokens, NULL, positions, B, T, false, NULL);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "teacher logits");
    memcpy(out, eco_train_logits(teacher),
           (size_t)(B * T) * (size_t)teacher->cfg.vocab_size * sizeof(float));
    return ECO_STATUS_OK;
}

/* ---- tokenizer identity ---------------------------------------------------------------- */

eco_status eco_distill_tokenizer_hash(const char *dir, uint8_t out[ECO_SHA256_LEN]) {
    if (!dir || !out) return eco_error(ECO_STATUS_EINVAL, "tokenizer hash: NULL argument");
    char *path = eco_path_join(dir, "tokenizer.json");
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "tokenizer hash: out of memory");
    char *text = NULL, *canon = NULL;
    size_t len = 0, clen = 0;
    eco_status st = eco_read_file(path, TOKENIZER_MAX_BYTES, &text, &len);
    if (st == ECO_STATUS_OK) st = eco_json_canonicalize(text, len, path, &canon, &clen);
    if (st == ECO_STATUS_OK) st = eco_sha256(canon, clen, out);
    free(canon);
    free(text);
    free(path);
    return st;
}

eco_status eco_distill_same_tokenizer(const char *dir_a, const char *dir_b, bool *same) {
    if (!same) return eco_error(ECO_STATUS_EINVAL, "same tokenizer: NULL argument");
    *same = false;
    uint8_t ha[ECO_SHA256_LEN], hb[ECO_SHA256_LEN];
    eco_status st = eco_distill_tokenizer_hash(dir_a, ha);
    if (st == ECO_STATUS_OK) st = eco_distill_tokenizer_hash(dir_b, hb);
    if (st == ECO_STATUS_OK) *same = memcmp(ha, hb, ECO_SHA256_LEN) == 0;
    return st;
}

/* ---- sequence-level distillation --------------------------------------------------------- */

typedef struct prompt_line {
    json_t *prompt; /* a JSON string (owned reference) */
    int64_t line;
} prompt_line;

/* Parses every line before any generation, so a bad line fails fast. */
static eco_status read_prompts(const char *path, prompt_line **out, size_t *n_out) {
    *out = NULL;
    *n_out = 0;
    char *text = NULL;
    size_t len = 0;
    eco_status st = eco_read_file(path, ECO_DATA_MAX_FILE, &text, &len);
    if (st != ECO_STATUS_OK) return st;
    size_t cap = 0, n = 0;
    prompt_line *v = NULL;
    eco_lines it;
    eco_lines_init(&it, text, len, false);
    const char *s;
    size_t ln;
    while (st == ECO_STATUS_OK && eco_lines_next(&it, &s, &ln)) {
        int64_t line = it.line;
        if (ln > ECO_DATA_MAX_LINE) {
            st = eco_error(ECO_STATUS_ERANGE, "%s:%lld: line of %zu bytes over the limit of %u",
                           path, (long long)line, ln, ECO_DATA_MAX_LINE);
            break;
        }
        if (eco_text_is_blank(s, ln)) continue;
        json_error_t err;
        json_t *o = json_loadb(s, ln, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
        if (!o) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s:%lld: %s", path, (long long)line, err.text);
            break;
        }
        json_t *p = json_is_object(o) ? json_object_get(o, "prompt") : NULL;
        if (!p || !json_is_string(p)) {
            st = eco_error(ECO_STATUS_EFORMAT,
                           "%s:%lld: expected an object with a string \"prompt\"", path,
                           (long long)line);
        } else if (strlen(json_string_value(p)) != json_string_length(p)) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s:%lld: the prompt holds a NUL byte", path,
                           (long long)line);
        } else if (n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            prompt_line *nv = eco_malloc_array(nc, sizeof *nv);
            if (!nv) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
            } else {
                if (n) memcpy(nv, v, n * sizeof *v);
                free(v);
                v = nv;
                cap = nc;
            }
        }
        if (st == ECO_STATUS_OK) {
            v[n].prompt = json_incref(p);
            v[n].line = line;
            n++;
        }
        json_decref(o);
    }
    free(text);
    if (st == ECO_STATUS_OK && n == 0) st = eco_error(ECO_STATUS_EFORMAT, "%s: no prompts", path);
    if (st != ECO_STATUS_OK) {
        for (size_t i = 0; i < n; i++) json_decref(v[i].prompt);
        free(v);
        return st;
    }
    *out = v;
    *n_out = n;
    return ECO_STATUS_OK;
}

/* Mean log-probability per generated token; −∞ for an empty completion. */
static double mean_logprob(const eco_infer_response *r) {
    if (r->n_tokens == 0) return -INFINITY;
    double s = 0.0;
    for (size_t i = 0; i < r->n_tokens; i++) s += (double)r->logprobs[i];
    return s / (double)r->n_tokens;
}

/* One output line for prompt p: the best teacher's completion. */
static eco_status complete_one(eco_engine *const *teachers, size_t n_teachers,
                               const prompt_line *pl, int max_tokens, const char *path,
                               char **line_out, size_t *line_len) {
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.prompt = json_string_value(pl->prompt);
    req.max_tokens = max_tokens;
    req.temperature = 0.0f;
    req.add_special = true;
    req.stop_at_eos = true;
    eco_infer_response best, cur;
    memset(&best, 0, sizeof best);
    double best_score = 0.0;
    eco_status st = ECO_STATUS_OK;
    for (size_t k = 0; k < n_teachers; k++) {
        st = teachers[k]->infer(teachers[k], &req, &cur);
        if (st != ECO_STATUS_OK) {
            st = eco_error_wrap(st, "%s:%lld: teacher %zu", path, (long long)pl->line, k);
            break;
        }
        const double score = mean_logprob(&cur);
        if (k == 0 || score > best_score) {
            eco_infer_response_free(&best);
            best = cur;
            best_score = score;
        } else {
            eco_infer_response_free(&cur);
        }
    }
    char *fixed = NULL;
    json_t *o = NULL;
    if (st == ECO_STATUS_OK) {
        size_t flen = 0;
        fixed = eco_utf8_lossy(best.text ? best.text : "", best.text ? best.text_len : 0, &flen);
        o = json_object();
        json_t *c = fixed ? json_stringn(fixed, flen) : NULL;
        if (!o || !c || json_object_set_new(o, "completion", c) != 0 ||
            json_object_set(o, "prompt", pl->prompt) != 0)
            st = eco_error(ECO_STATUS_ENOMEM, "%s:%lld: out of memory", path, (long long)pl->line);
    }
    if (st == ECO_STATUS_OK) st = eco_json_canonical(o, line_out, line_len);
    json_decref(o);
    free(fixed);
    eco_infer_response_free(&best);
    return st;
}

eco_status eco_distill_generate_jsonl(eco_engine *const *teachers, size_t n_teachers,
                                      const char *prompts_jsonl_in, const char *jsonl_out,
                                      int max_tokens, size_t *n_written) {
    if (n_written) *n_written = 0;
    if (!teachers || n_teachers == 0 || !prompts_jsonl_in || !jsonl_out)
        return eco_error(ECO_STATUS_EINVAL, "distill generate: NULL argument or no teacher");
    for (size_t k = 0; k < n_teachers; k++)
        if (!teachers[k])
            return eco_error(ECO_STATUS_EINVAL, "distill generate: teacher %zu is NULL", k);
    if (max_tokens <= 0)
        return eco_error(ECO_STATUS_EINVAL, "distill generate: max_tokens %d must be > 0",
                         max_tokens);
    prompt_line *prompts = NULL;
    size_t n = 0;
    eco_status st = read_prompts(prompts_jsonl_in, &prompts, &n);
    if (st != ECO_STATUS_OK) return st;
    eco_atomic_file af;
    st = eco_atomic_file_open(&af, jsonl_out);
    if (st == ECO_STATUS_OK) {
        for (size_t i = 0; i < n && st == ECO_STATUS_OK; i++) {
            char *line = NULL;
            size_t len = 0;
            st = complete_one(teachers, n_teachers, &prompts[i], max_tokens, prompts_jsonl_in,
                              &line, &len);
            if (st == ECO_STATUS_OK) st = eco_atomic_file_write(&af, line, len);
            if (st == ECO_STATUS_OK) st = eco_atomic_file_write(&af, "\n", 1);
            free(line);
        }
        if (st == ECO_STATUS_OK)
            st = eco_atomic_file_commit(&af);
        else
            eco_atomic_file_abort(&af);
    }
    for (size_t i = 0; i < n; i++) json_decref(prompts[i].prompt);
    free(prompts);
    if (st == ECO_STATUS_OK && n_written) *n_written = n;
    return st;
}
