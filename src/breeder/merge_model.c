/*
 * Full-model merges (merge_dir.h): eco_merge_models_dir, and eco_merge_dir, which sends
 * adapter folders to eco_merge_adapters_dir.
 *
 * Each tensor of the first parent, in the output's data order: every parent's tensor (and
 * the base's) as f32 (the mapped file itself when it is aligned f32, else widened), merged
 * by eco_merge_tensor (merge.h) with slerp's t for its layer ("model.layers.N."), converted
 * to the first parent's dtype and written; the inputs' pages are then dropped. linear and
 * task_arithmetic are elementwise, so they go in chunks of rows (CHUNK_ELEMS) and hold a
 * few MB whatever the tensor, as do dare_* with inverse rescaling (eco_merge__tensor_rows,
 * drawing by element index). ties and breadcrumbs go in chunks of rows too: before a tensor's first chunk,
 * each sparsified parent's magnitude selection (the k-th largest |θ_m − θ₀| and which of
 * the entries equal to it are in, eco_merge__cuts) is found in a pass over the mapped
 * tensor, whose pages are then dropped; the chunks recompute the deltas and apply it
 * (eco_merge__tensor_rows). della ranks within rows: chunks of rows. l1 rescaling (dare_*,
 * della) scales by norms over the whole tensor: a pass finds each parent's scale first
 * (eco_merge__l1_scale). slerp (norms and a dot product of the whole parents) holds the
 * parents' copies of one tensor and the output.
 */
#include "ecology/merge_dir.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "breeder/merge_internal.h"
#include "breeder/model_stream.h"

/* 64 KB of f32 per input: the chunk stays in L2, and is below ECO_MERGE_PAR_MIN, so
 * eco_merge_tensor runs it on this thread: one OpenMP team per 64 KB costs more than the
 * merge (a loaded 2-core machine: linear of three SmolLM2-135M 12.9 s of CPU with 256 KB
 * chunks over two threads, 1.3 s on one), and the lineage hashing has the other core. */
#define CHUNK_ELEMS ((size_t)ECO_MERGE_PAR_MIN / 2)

void eco_merge_dir_report_free(eco_merge_dir_report *rep) {
    if (!rep) return;
    json_decref(rep->result);
    rep->result = NULL;
}

eco_status eco_merge_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    if (!o || !o->parents || o->n_parents == 0 || !o->parents[0])
        return eco_error(ECO_STATUS_EINVAL, "merge: no parents");
    if (rep) memset(rep, 0, sizeof *rep);
    if (eco_path_has_file(o->parents[0], "adapter_config.json"))
        return eco_merge_adapters_dir(o, rep);
    return eco_merge_models_dir(o, rep);
}

/* Whether each output element depends on the same element of the inputs only, so that a
 * tensor may be merged in chunks of rows with the same bytes as a whole: linear and
 * task_arithmetic, and dare_linear and dare_ties with inverse rescaling, whose draws are
 * made per element index as eco_merge_tensor would (merge.h: parent m keeps element i when
 * eco_merge_uniform(seed, eco_merge_substream(stream, m), i) < density). */
static bool elementwise(const eco_merge_params *p) {
    switch (p->method) {
        case ECO_MERGE_METHOD_LINEAR:
        case ECO_MERGE_METHOD_TASK_ARITHMETIC:
            return true;
        case ECO_MERGE_METHOD_DARE_LINEAR:
        case ECO_MERGE_METHOD_DARE_TIES:
            return p->rescale == ECO_MERGE_RESCALE_INVERSE;
        default:
            return false;
    }
}

static bool draws_masks(const eco_merge_params *p) {
    return p->method == ECO_MERGE_METHOD_DARE_LINEAR || p->method == ECO_MERGE_METHOD_DARE_TIES;
}

static bool sparsifies(const eco_merge_params *p) {
    for (int m = 0; m < p->n_parents; m++)
        if (p->density[m] < 1.0) return true;
    return p->method == ECO_MERGE_METHOD_BREADCRUMBS;
}

/* Whether a parent of method p has a magnitude selection over the whole tensor. */
static bool selects(const eco_merge_params *p, int m) {
    return (p->method == ECO_MERGE_METHOD_TIES || p->method == ECO_MERGE_METHOD_BREADCRUMBS) &&
           p->density[m] < 1;
}

/* Blocks of θ_m and θ₀ for eco_merge__cuts and eco_merge__l1_scale (the f32 delta). */
typedef struct sel_ctx {
    breed_stream *s;
    size_t parent, base; /* input indices; base == SIZE_MAX: none */
    float *a, *b, *d;    /* widening buffers of a block, a delta's block (l1) */
    size_t cap;          /* elements of each */
    int64_t off, len;    /* the block handed out last (len 0: none) */
    /* the magnitude selections of several parents at once (sel_blocks) */
    size_t n_sel, sel_input[ECO_MERGE_MAX_PARENTS]; /* their input indices */
    float *wide;                                    /* [n_sel · cap] their widening buffers */
    size_t wide_cap;                                /* elements of wide */
} sel_ctx;

/* Grows c's buffers to n elements (wide: n_sel times that); false when out of memory. */
static bool sel_reserve(sel_ctx *c, size_t n) {
    if (n > c->cap) {
        free(c->a);
        free(c->b);
        free(c->d);
        c->a = eco_malloc_array(n, sizeof *c->a);
        c->b = eco_malloc_array(n, sizeof *c->b);
        c->d = eco_malloc_array(n, sizeof *c->d);
        c->cap = c->a && c->b && c->d ? n : 0;
        if (!c->cap) return false;
    }
    size_t want = n * c->n_sel;
    if (want > c->wide_cap) {
        free(c->wide);
        c->wide = eco_malloc_array(want, sizeof *c->wide);
        c->wide_cap = c->wide ? want : 0;
    }
    return c->wide_cap >= want;
}

/* The block [off, off + len) of θ_m and θ₀; the pages of the block before it are dropped
 * (the pass is done with it), so a pass holds a few MB of the tensor, not the tensor. */
static bool sel_block(void *ctx, int64_t off, int64_t len, const float **a, const float **b) {
    sel_ctx *c = ctx;
    if (c->len > 0) {
        breed_stream_release_block(c->s, c->parent, c->off, c->len);
        if (c->base != SIZE_MAX) breed_stream_release_block(c->s, c->base, c->off, c->len);
    }
    c->off = off;
    c->len = len;
    *a = breed_stream_tensor_block(c->s, c->parent, off, len, c->a);
    *b = c->base == SIZE_MAX ? NULL : breed_stream_tensor_block(c->s, c->base, off, len, c->b);
    return *a && (c->base == SIZE_MAX || *b);
}

/* The block [off, off + len) of every selecting parent's θ (a[s]) and of θ₀, the pages of
 * the block before it dropped, as sel_block. */
static bool sel_blocks(void *ctx, int64_t off, int64_t len, const float **a, const float **b) {
    sel_ctx *c = ctx;
    bool ok = true;
    for (size_t k = 0; k < c->n_sel; k++) {
        if (c->len > 0) breed_stream_release_block(c->s, c->sel_input[k], c->off, c->len);
        a[k] = breed_stream_tensor_block(c->s, c->sel_input[k], off, len, c->wide + k * c->cap);
        ok &= a[k] != NULL;
    }
    if (c->len > 0 && c->base != SIZE_MAX)
        breed_stream_release_block(c->s, c->base, c->off, c->len);
    c->off = off;
    c->len = len;
    *b = c->base == SIZE_MAX ? NULL : breed_stream_tensor_block(c->s, c->base, off, len, c->b);
    return ok && (c->base == SIZE_MAX || *b);
}

/* What the tensor t's chunks need of the whole tensor, for every parent that needs it
 * (sel[m]: a magnitude selection, an l1 scale), in blocks of whole rows (c's buffers): the
 * magnitude selections of all parents in the same walks (θ₀ read once a walk), then each
 * l1 scale in its own pass; the pages of every block dropped once read, each parent's
 * tensor after its pass, the base's after all of them. */
static eco_status select_tensor(breed_stream *s, const eco_merge_params *p, const breed_tensor *t,
                                size_t first, sel_ctx *c, eco_merge_select *sel) {
    int64_t block_rows = t->cols > 0 ? (int64_t)CHUNK_ELEMS / t->cols : 1;
    if (block_rows < 1) block_rows = 1;
    bool any = false;
    int ms[ECO_MERGE_MAX_PARENTS];
    c->n_sel = 0;
    for (int m = 0; m < p->n_parents; m++)
        if (selects(p, m) && !eco_merge__l1(p, m)) {
            ms[c->n_sel] = m;
            c->sel_input[c->n_sel++] = first + (size_t)m;
        }
    if (c->n_sel > 0) {
        if (!sel_reserve(c, (size_t)(block_rows * t->cols)))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory for a block of rows");
        int64_t k[ECO_MERGE_MAX_PARENTS][2];
        eco_merge_cut cut[ECO_MERGE_MAX_PARENTS][2];
        for (size_t j = 0; j < c->n_sel; j++) eco_merge__select_k(p, ms[j], t->n, k[j]);
        c->len = 0;
        int rc = eco_merge__cuts_multi(sel_blocks, c, t->n, block_rows * t->cols, (int)c->n_sel,
                                       (const int64_t(*)[2])k, 2, cut);
        if (rc == -1) return eco_error(ECO_STATUS_ENOMEM, "out of memory for a selection");
        if (rc) return eco_error(ECO_STATUS_EINTERNAL, "cannot read the tensor's blocks");
        for (size_t j = 0; j < c->n_sel; j++) {
            sel[ms[j]].big = cut[j][0];
            sel[ms[j]].top = cut[j][1];
            breed_stream_release_tensor(s, c->sel_input[j]);
        }
        any = true;
    }
    for (int m = 0; m < p->n_parents; m++) {
        bool l1 = eco_merge__l1(p, m);
        if (!l1) continue;
        if (!sel_reserve(c, (size_t)(block_rows * t->cols)))
            return eco_error(ECO_STATUS_ENOMEM, "out of memory for a block of rows");
        c->parent = first + (size_t)m;
        c->len = 0;
        int rc = eco_merge__l1_scale(sel_block, c, t->rows, t->cols, block_rows, p, m,
                                     eco_merge_stream(t->decl->name), c->d, &sel[m].scale);
        if (rc == -1) return eco_error(ECO_STATUS_ENOMEM, "out of memory for a selection");
        if (rc) return eco_error(ECO_STATUS_EINTERNAL, "cannot read the tensor's blocks");
        breed_stream_release_tensor(s, c->parent);
        any = true;
    }
    if (any && c->base != SIZE_MAX) breed_stream_release_tensor(s, c->base);
    return ECO_STATUS_OK;
}

eco_status eco_merge_models_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    return breed_merge_models_chunked(o, rep, CHUNK_ELEMS);
}

eco_status breed_merge_models_chunked(const eco_merge_dir_options *o, eco_merge_dir_report *rep,
                                      size_t chunk_elems) {
    if (rep) memset(rep, 0, sizeof *rep);
    if (!o || !o->parents || !o->out) return eco_error(ECO_STATUS_EINVAL, "merge: NULL argument");
    const eco_merge_params *p = &o->params;
    if (o->n_parents < 1 || o->n_parents > ECO_MERGE_MAX_PARENTS)
        return eco_error(ECO_STATUS_EINVAL, "merge: parents: %zu given, 1 to %d allowed",
                         o->n_parents, ECO_MERGE_MAX_PARENTS);
    if ((size_t)p->n_parents != o->n_parents)
        return eco_error(ECO_STATUS_EINVAL, "merge: weights: %d given for %zu parents",
                         p->n_parents, o->n_parents);
    eco_status st = eco_merge_params_check(p);
    if (st) return eco_error_wrap(st, "merge");
    if (eco_merge_method_needs_base(p->method) && !o->base)
        return eco_error(ECO_STATUS_EINVAL,
                         "merge: base: method %s needs the base model θ₀ the parents were "
                         "fine-tuned from (--base)",
                         eco_merge_method_name(p->method));

    breed_inputs in = {.op = "merge"};
    if (o->base) st = breed_inputs_add_known(&in, o->base, "base", o->base_files);
    for (size_t i = 0; !st && i < o->n_parents; i++)
        st = breed_inputs_add_known(&in, o->parents[i], "parent",
                                    o->parent_files ? o->parent_files[i] : NULL);
    if (!st) st = breed_inputs_open(&in);
    if (st) return st;
    const size_t first = o->base ? 1 : 0;
    json_t *params = NULL, *result = NULL, *kept = NULL;
    breed_stream *s = NULL;
    /* dare_* go by rows too when elementwise: eco_merge__tensor_rows draws at the tensor's
     * indices, as eco_merge_tensor's masks would */
    const bool by_rows = eco_merge__rows_ok(p) && (!elementwise(p) || draws_masks(p));
    const bool chunked = elementwise(p) || by_rows;
    float *scratch = NULL; /* by rows: the chunk's deltas */
    size_t scratch_cap = 0;
    eco_merge_select sel[ECO_MERGE_MAX_PARENTS];
    memset(sel, 0, sizeof sel);
    sel_ctx sc = {.base = o->base ? 0 : SIZE_MAX};
    if ((st = eco_merge_params_to_json(p, &params))) goto done;
    st = breed_stream_begin(&s, &in, first, o->out, o->force, o->progress,
                            chunked ? chunk_elems : 0, o->shard_bytes);
    sc.s = s;
    if (st) goto done;

    int64_t kept_total[ECO_MERGE_MAX_PARENTS] = {0}, n_total = 0, n_empty = 0;
    int64_t kept_tensor[ECO_MERGE_MAX_PARENTS] = {0};
    breed_tensor t;
    while (breed_stream_next(s, &t)) {
        const float *par[ECO_MERGE_MAX_PARENTS];
        float *out = breed_stream_out(s);
        const float *base = NULL;
        if (o->base && p->method != ECO_MERGE_METHOD_SLERP) { /* slerp has no use for θ₀ */
            if (chunked)
                base = breed_stream_input(s, 0);
            else if (!breed_stream_input_into(s, 0, out))
                base = out; /* whole tensors: out aliases θ₀ (merge.h), whose pages go first */
        }
        bool ok = !o->base || p->method == ECO_MERGE_METHOD_SLERP || base;
        for (int m = 0; ok && m < p->n_parents; m++)
            ok = (par[m] = breed_stream_input(s, first + m));
        if (!ok) break;
        double tt =
            p->method == ECO_MERGE_METHOD_SLERP ? eco_merge_slerp_t(p, t.layer, in.n_layers) : 0.0;
        const uint64_t stream = eco_merge_stream(t.decl->name);
        eco_merge_stats stats;
        memset(&stats, 0, sizeof stats);
        if (by_rows) { /* the selections at a tensor's first chunk, then these rows */
            size_t need = (size_t)p->n_parents * (size_t)t.len;
            if (need > scratch_cap) {
                free(scratch);
                if (!(scratch = eco_malloc_array(need, sizeof *scratch))) goto oom;
                scratch_cap = need;
            }
            if (t.row0 == 0) st = select_tensor(s, p, &t, first, &sc, sel);
            if (!st)
                st = eco_merge__tensor_rows(out, base, par, t.cols, t.row0, t.nrows, p, stream, sel,
                                            scratch, stats.kept);
        } else {
            st = eco_merge_tensor(out, base, par, t.nrows, t.cols, p, tt, stream, NULL, &stats);
        }
        if (st) {
            st = eco_error_wrap(st, "merge: tensor '%s'", t.decl->name);
            goto done;
        }
        n_total += t.len;
        if (t.row0 == 0) memset(kept_tensor, 0, sizeof kept_tensor);
        bool empty = false;
        for (int m = 0; m < p->n_parents; m++) {
            kept_total[m] += stats.kept[m];
            kept_tensor[m] += stats.kept[m];
            /* a sparsified parent that kept nothing of the whole tensor */
            if (t.row0 + t.nrows == t.rows && p->density[m] < 1 && kept_tensor[m] == 0 && t.n > 0)
                empty = true;
        }
        if (!chunked) empty = stats.empty;
        if (empty && t.row0 + t.nrows == t.rows) {
            n_empty++;
            eco_log(ECO_LOG_WARN, "merge: tensor '%s': a sparsifier kept nothing (zeros)",
                    t.decl->name);
        }
        if ((st = breed_stream_put(s))) goto done;
    }
    if ((st = breed_stream_status(s))) goto done;

    result = json_object();
    if (!result) goto oom;
    if (sparsifies(p)) {
        kept = json_array();
        for (int m = 0; kept && m < p->n_parents; m++)
            if (json_array_append_new(
                    kept, json_real(n_total ? (double)kept_total[m] / (double)n_total : 0.0)))
                goto oom;
        if (!kept || json_object_set_new(result, "kept_fraction", kept)) goto oom;
        kept = NULL;
        if (json_object_set_new(result, "empty_tensors", json_integer(n_empty))) goto oom;
    }
    st = breed_stream_finish(s, "merge", params, p->seed, result, rep);
    s = NULL;
    if (!st && rep) {
        rep->result = result;
        result = NULL;
    }
    goto done;
oom:
    st = eco_error(ECO_STATUS_ENOMEM, "merge: out of memory");
done:
    free(scratch);
    free(sc.a);
    free(sc.b);
    free(sc.d);
    free(sc.wide);
    breed_stream_abort(s);
    json_decref(kept);
    json_decref(result);
    json_decref(params);
    breed_inputs_close(&in);
    return st;
}
