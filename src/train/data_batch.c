/*
 * data_batch: shuffling, packing and batching of tokenised examples, with a position that
 * can be saved and restored. See include/ecology/data.h for the packing rules.
 *
 * One epoch's layout is a pure function of (tokens, options, epoch): the order is a
 * Fisher-Yates shuffle on eco_rng seeded from seed and epoch; WHOLE packing records where
 * each row starts in that order, STREAM packing the cumulative lengths. Rows are built on
 * demand into a [T+1] scratch row, so memory stays O(examples), not O(tokens).
 */
#include <stdlib.h>
#include <string.h>

#include "ecology/data.h"

struct eco_data_loader {
    const eco_data_tokens *tok;
    eco_data_loader_options opt; /* pack resolved */
    eco_data_pos pos;
    int64_t built_epoch; /* epoch the arrays below describe; -1 none */
    size_t *perm;        /* [n_examples]: example order this epoch */
    size_t *row_start;   /* WHOLE: [n_rows + 1] indices into perm */
    size_t *cum;         /* STREAM: [n_examples + 1] token offsets in perm order */
    int64_t n_rows;
    int64_t n_truncated;
    int32_t *row_ids;  /* [T + 1] */
    uint8_t *row_loss; /* [T + 1] */
    int32_t *row_pos;  /* [T + 1]: position within its document (its part in this row) */
};

static size_t ex_len(const eco_data_tokens *t, size_t i) {
    return t->offsets[i + 1] - t->offsets[i];
}

/* Uniform in [0, n) without modulo bias. */
static uint64_t rng_below(eco_rng *r, uint64_t n) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = eco_rng_next(r);
    while (x >= limit);
    return x % n;
}

static void build_epoch(eco_data_loader *l, int64_t epoch) {
    const eco_data_tokens *t = l->tok;
    size_t n = t->n_examples;
    size_t T1 = (size_t)l->opt.seq + 1;
    for (size_t i = 0; i < n; i++) l->perm[i] = i;
    if (l->opt.shuffle && n > 1) {
        eco_rng rng;
        /* Distinct, well-mixed streams per epoch (eco_rng_seed runs splitmix64). */
        eco_rng_seed(&rng, l->opt.seed ^ (0x9E3779B97F4A7C15ull * (uint64_t)(epoch + 1)));
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)rng_below(&rng, (uint64_t)i + 1);
            size_t tmp = l->perm[i];
            l->perm[i] = l->perm[j];
            l->perm[j] = tmp;
        }
    }
    l->n_truncated = 0;
    if (l->opt.pack == ECO_DATA_PACK_WHOLE) {
        int64_t rows = 0;
        size_t fill = 0;
        for (size_t k = 0; k < n; k++) {
            size_t len = ex_len(t, l->perm[k]);
            if (len > T1) {
                len = T1;
                l->n_truncated++;
            }
            if (k == 0 || fill + len > T1) {
                l->row_start[rows++] = k;
                fill = 0;
            }
            fill += len;
        }
        l->row_start[rows] = n;
        l->n_rows = rows;
    } else {
        l->cum[0] = 0;
        for (size_t k = 0; k < n; k++) l->cum[k + 1] = l->cum[k] + ex_len(t, l->perm[k]);
        size_t total = l->cum[n], T = (size_t)l->opt.seq;
        /* Windows [r*T, r*T + T] while a target remains: ceil((total - 1) / T), at least 1. */
        l->n_rows = total > 1 ? (int64_t)((total - 1 + T - 1) / T) : 1;
    }
    l->built_epoch = epoch;
}

static void count_positions(int32_t *pos, size_t n) {
    for (size_t j = 0; j < n; j++) pos[j] = (int32_t)j;
}

/* Fills row_ids/row_loss/row_pos [T+1] for row r of the built epoch. */
static void fill_row(eco_data_loader *l, int64_t r) {
    const eco_data_tokens *t = l->tok;
    size_t T1 = (size_t)l->opt.seq + 1;
    size_t at = 0;
    if (l->opt.pack == ECO_DATA_PACK_WHOLE) {
        for (size_t k = l->row_start[r]; k < l->row_start[r + 1]; k++) {
            size_t e = l->perm[k], len = ex_len(t, e);
            if (len > T1 - at) len = T1 - at; /* only an example alone in its row is cut */
            memcpy(l->row_ids + at, t->ids + t->offsets[e], len * sizeof *l->row_ids);
            memcpy(l->row_loss + at, t->loss + t->offsets[e], len);
            count_positions(l->row_pos + at, len);
            at += len;
        }
    } else {
        size_t p = (size_t)r * (size_t)l->opt.seq, total = l->cum[t->n_examples];
        /* First example holding stream position p: the last k with cum[k] <= p. */
        size_t lo = 0, hi = t->n_examples;
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (l->cum[mid] <= p)
                lo = mid;
            else
                hi = mid;
        }
        for (size_t k = lo; k < t->n_examples && at < T1 && p < total; k++) {
            size_t e = l->perm[k];
            size_t off = p - l->cum[k], len = ex_len(t, e) - off;
            if (len > T1 - at) len = T1 - at;
            memcpy(l->row_ids + at, t->ids + t->offsets[e] + off, len * sizeof *l->row_ids);
            memcpy(l->row_loss + at, t->loss + t->offsets[e] + off, len);
            count_positions(l->row_pos + at, len);
            at += len;
            p += len;
        }
    }
    count_positions(l->row_pos + at, T1 - at); /* the padding counts as one more document */
    for (; at < T1; at++) {
        l->row_ids[at] = l->opt.pad_id;
        l->row_loss[at] = 0;
    }
}

eco_status eco_data_loader_create(const eco_data_tokens *tokens, const eco_data_loader_options *opt,
                                  eco_data_loader **out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "eco_data_loader_create: NULL argument");
    *out = NULL;
    if (!tokens || !opt)
        return eco_error(ECO_STATUS_EINVAL, "eco_data_loader_create: NULL argument");
    if (tokens->n_examples == 0) return eco_error(ECO_STATUS_EINVAL, "data loader: no examples");
    size_t bt;
    if (opt->batch < 1 || opt->seq < 1 || opt->batch > INT32_MAX || opt->seq > INT32_MAX ||
        !eco_mul_ok((size_t)opt->batch, (size_t)opt->seq, &bt) || bt > INT32_MAX)
        return eco_error(ECO_STATUS_EINVAL,
                         "data loader: batch %lld x seq %lld must be positive and below 2^31",
                         (long long)opt->batch, (long long)opt->seq);
    if (opt->pad_id < 0)
        return eco_error(ECO_STATUS_EINVAL, "data loader: pad id %d is negative", (int)opt->pad_id);
    if (opt->pack != ECO_DATA_PACK_AUTO && opt->pack != ECO_DATA_PACK_WHOLE &&
        opt->pack != ECO_DATA_PACK_STREAM)
        return eco_error(ECO_STATUS_EINVAL, "data loader: unknown pack mode %d", (int)opt->pack);
    eco_data_loader *l = calloc(1, sizeof *l);
    if (!l) return eco_error(ECO_STATUS_ENOMEM, "data loader: out of memory");
    l->tok = tokens;
    l->opt = *opt;
    if (l->opt.pack == ECO_DATA_PACK_AUTO)
        l->opt.pack =
            tokens->kind == ECO_DATA_KIND_TEXT ? ECO_DATA_PACK_STREAM : ECO_DATA_PACK_WHOLE;
    size_t n = tokens->n_examples;
    l->perm = eco_malloc_array(n, sizeof *l->perm);
    if (l->opt.pack == ECO_DATA_PACK_WHOLE)
        l->row_start = eco_malloc_array(n + 1, sizeof *l->row_start);
    else
        l->cum = eco_malloc_array(n + 1, sizeof *l->cum);
    l->row_ids = eco_malloc_array((size_t)opt->seq + 1, sizeof *l->row_ids);
    l->row_loss = malloc((size_t)opt->seq + 1);
    l->row_pos = eco_malloc_array((size_t)opt->seq + 1, sizeof *l->row_pos);
    if (!l->perm || (!l->row_start && !l->cum) || !l->row_ids || !l->row_loss || !l->row_pos) {
        eco_data_loader_free(l);
        return eco_error(ECO_STATUS_ENOMEM, "data loader: out of memory");
    }
    build_epoch(l, 0);
    *out = l;
    return ECO_STATUS_OK;
}

void eco_data_loader_free(eco_data_loader *l) {
    if (!l) return;
    free(l->perm);
    free(l->row_start);
    free(l->cum);
    free(l->row_ids);
    free(l->row_loss);
    free(l->row_pos);
    free(l);
}

eco_status eco_data_loader_next(eco_data_loader *l, int32_t *inputs, int32_t *targets,
                                uint8_t *mask, int64_t *n_targets) {
    return eco_data_loader_next_pos(l, inputs, targets, mask, NULL, n_targets);
}

eco_status eco_data_loader_next_pos(eco_data_loader *l, int32_t *inputs, int32_t *targets,
                                    uint8_t *mask, int32_t *positions, int64_t *n_targets) {
    if (!l || !inputs || !targets || !mask)
        return eco_error(ECO_STATUS_EINVAL, "eco_data_loader_next: NULL argument");
    size_t T = (size_t)l->opt.seq;
    int64_t count = 0;
    for (int64_t b = 0; b < l->opt.batch; b++) {
        if (l->pos.epoch != l->built_epoch) build_epoch(l, l->pos.epoch);
        fill_row(l, l->pos.row);
        memcpy(inputs + (size_t)b * T, l->row_ids, T * sizeof *inputs);
        memcpy(targets + (size_t)b * T, l->row_ids + 1, T * sizeof *targets);
        memcpy(mask + (size_t)b * T, l->row_loss + 1, T);
        if (positions) memcpy(positions + (size_t)b * T, l->row_pos, T * sizeof *positions);
        for (size_t j = 1; j <= T; j++) count += l->row_loss[j];
        if (++l->pos.row >= l->n_rows) {
            l->pos.epoch++;
            l->pos.row = 0;
        }
    }
    if (n_targets) *n_targets = count;
    return ECO_STATUS_OK;
}

eco_data_pos eco_data_loader_tell(const eco_data_loader *l) { return l->pos; }

eco_status eco_data_loader_seek(eco_data_loader *l, eco_data_pos pos) {
    if (!l) return eco_error(ECO_STATUS_EINVAL, "eco_data_loader_seek: NULL argument");
    if (pos.epoch < 0 || pos.row < 0)
        return eco_error(ECO_STATUS_ERANGE,
                         "data loader: position (epoch %lld, row %lld) is negative",
                         (long long)pos.epoch, (long long)pos.row);
    if (pos.epoch != l->built_epoch) build_epoch(l, pos.epoch);
    if (pos.row >= l->n_rows)
        return eco_error(ECO_STATUS_ERANGE,
                         "data loader: row %lld is past the end of epoch %lld (%lld rows)",
                         (long long)pos.row, (long long)pos.epoch, (long long)l->n_rows);
    l->pos = pos;
    return ECO_STATUS_OK;
}

int64_t eco_data_loader_epoch_rows(const eco_data_loader *l) {
    eco_data_loader *m = (eco_data_loader *)l;
    if (m->pos.epoch != m->built_epoch) build_epoch(m, m->pos.epoch);
    return m->n_rows;
}

int64_t eco_data_loader_truncated(const eco_data_loader *l) {
    eco_data_loader *m = (eco_data_loader *)l;
    if (m->pos.epoch != m->built_epoch) build_epoch(m, m->pos.epoch);
    return m->n_truncated;
}

eco_data_pack eco_data_loader_pack(const eco_data_loader *l) { return l->opt.pack; }

void eco_data_loader_fit(const eco_data_loader *l, eco_data_fit *out) {
    const eco_data_tokens *t = l->tok;
    const int64_t T = l->opt.seq;
    const bool whole = l->opt.pack == ECO_DATA_PACK_WHOLE;
    memset(out, 0, sizeof *out);
    out->seq_keep = out->seq_whole = 1;
    for (size_t i = 0; i < t->n_examples; i++) {
        const size_t start = t->offsets[i], len = ex_len(t, i);
        size_t first = 0; /* index of the first target within the example; 0: none */
        for (size_t j = 1; j < len && !first; j++)
            if (t->loss[start + j]) first = j;
        if (!first) continue;
        out->n_examples++;
        if (!whole) continue;
        /* A row keeps tokens 0..T of an example alone in it: target j survives when j <= T. */
        if ((int64_t)len > T + 1) out->n_cut++;
        if ((int64_t)first > T) out->n_lost++;
        if ((int64_t)first > out->seq_keep) out->seq_keep = (int64_t)first;
        if ((int64_t)len - 1 > out->seq_whole) out->seq_whole = (int64_t)len - 1;
    }
}

eco_status eco_data_loader_find_empty(eco_data_loader *l, int64_t n_batches, int64_t *first_empty) {
    if (!l || !first_empty)
        return eco_error(ECO_STATUS_EINVAL, "eco_data_loader_find_empty: NULL argument");
    *first_empty = -1;
    eco_data_pos p = l->pos;
    const size_t T = (size_t)l->opt.seq;
    for (int64_t k = 0; k < n_batches && *first_empty < 0; k++) {
        int64_t count = 0;
        for (int64_t b = 0; b < l->opt.batch; b++) {
            if (p.epoch != l->built_epoch) build_epoch(l, p.epoch);
            fill_row(l, p.row);
            for (size_t j = 1; j <= T; j++) count += l->row_loss[j];
            if (++p.row >= l->n_rows) {
                p.epoch++;
                p.row = 0;
            }
        }
        if (count == 0) *first_empty = k;
    }
    return ECO_STATUS_OK;
}
