/*
 * The breeding operators (breeder.h's table): each one an eco_breeder_op whose supports()
 * checks the parents' count, kinds and (for parameter operators) identical compatibility,
 * and whose breed() hands the checked-out folders to a folder-level function:
 *
 *   linear ... slerp   eco_merge_dir (merge_dir.h), params: eco_merge_params_from_json
 *   fold               eco_model_merge_adapter (model.h): an adapter folded into its base
 *   mutate, crossover, prune, extract
 *                      eco_mutate_model_dir, eco_crossover_models_dir, eco_prune_model_dir,
 *                      eco_extract_lora_dir (merge_dir.h)
 *   quantize           eco_quantize_dir (quantize.h)
 *   finetune, distill  eco_breed_finetune, eco_breed_distill (breed_train.h)
 *   rl                 eco_breed_rl (breed_train.h): GRPO on an adapter and its base
 * (breed_op_*.c). Each breed() accepts both the parameters a caller writes (--param, a
 * recipe step) and the ones its folder function recorded, so a lineage re-runs.
 */
#include "breeder/breed_internal.h"
#include "ecology/breeder.h"
#include "ecology/merge.h"
#include "ecology/model.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

typedef enum parents_kind {
    KIND_SAME,     /* all full models or all adapters */
    KIND_MODELS,   /* full models only */
    KIND_FOLD,     /* a full model, then an adapter */
    KIND_ADAPTERS, /* adapters only (their base model as the base) */
} parents_kind;

typedef struct op_def {
    eco_breeder_op op;  /* first: the table hands out &def->op */
    bool parametric;    /* identical compatibility required */
    size_t min_parents; /* base not counted */
    size_t max_parents;
    bool takes_base;         /* a base may be given: θ₀, extract's base, finetune's and rl's
                              * base model (LoRA), distill's student */
    bool requires_base;      /* ... and must be */
    bool base_with_adapters; /* a base beside adapter parents (finetune's base model) */
    parents_kind kinds;
} op_def;

static const op_def *def_of(const eco_breeder_op *op) { return (const op_def *)op; }

/* A reason into reason[reason_len] (when there is room for one). */
#define REASON(...)                                                                                \
    do {                                                                                           \
        if (reason && reason_len) snprintf(reason, reason_len, __VA_ARGS__);                       \
    } while (0)

bool eco_breed_compatible(const eco_genome *const *genomes, size_t n, char *reason,
                          size_t reason_len) {
    for (size_t i = 1; i < n; i++) {
        const char *fields[ECO_COMPAT_FIELDS];
        size_t nf =
            eco_compat_diff_all(&genomes[0]->compatibility, &genomes[i]->compatibility, fields);
        if (!nf) continue;
        if (reason && reason_len) {
            /* the first field, then the others (another base family differs in its
             * tokenizer and architecture too: say so, not base_family alone) */
            char also[160] = "";
            for (size_t k = 1; k < nf; k++)
                snprintf(also + strlen(also), sizeof also - strlen(also), "%s%s",
                         k == 1 ? "; they also differ in " : ", ", fields[k]);
            snprintf(reason, reason_len,
                     "parents '%s' and '%s' differ in %s: parameter operators need identical "
                     "compatibility (base_family, architecture_hash, tokenizer_hash, "
                     "tensor_schema_hash)%s; use distill",
                     genomes[0]->id ? genomes[0]->id : "?", genomes[i]->id ? genomes[i]->id : "?",
                     fields[0], also);
        }
        return false;
    }
    if (reason && reason_len) reason[0] = '\0';
    return true;
}

static bool supports_generic(const eco_breeder_op *op, const eco_genome *const *genomes, size_t n,
                             bool has_base, char *reason, size_t reason_len) {
    const op_def *d = def_of(op);
    if (reason && reason_len) reason[0] = '\0';
    if (has_base && !d->takes_base) {
        REASON("%s takes no base", op->name);
        return false;
    }
    for (size_t i = has_base ? 1 : 0; d->kinds == KIND_ADAPTERS && i < n; i++)
        if (genomes[i]->kind != ECO_GENOME_KIND_ADAPTER) {
            REASON("%s: '%s' is not an adapter: %s trains a LoRA adapter on its base model",
                   op->name, genomes[i]->id ? genomes[i]->id : "?", op->name);
            return false;
        }
    if (!has_base && d->requires_base) {
        REASON("%s needs a base (--base: %s)", op->name,
               strcmp(op->name, "distill") == 0 ? "the student" : "the model the parent came from");
        return false;
    }
    if (has_base && n == 0) {
        REASON("%s: no parents", op->name);
        return false;
    }
    const size_t np = n - (has_base ? 1 : 0);
    if (np < d->min_parents || np > d->max_parents) {
        if (d->min_parents == d->max_parents)
            REASON("%s needs exactly %zu parent(s), not %zu", op->name, d->min_parents, np);
        else
            REASON("%s needs %zu to %zu parents, not %zu", op->name, d->min_parents, d->max_parents,
                   np);
        return false;
    }
    const eco_genome *const *ps = genomes + (has_base ? 1 : 0);
    if (has_base && genomes[0]->kind == ECO_GENOME_KIND_ADAPTER) {
        REASON("%s: the base must be a full model, not an adapter", op->name);
        return false;
    }
    for (size_t i = 0; i < np; i++) {
        const bool ad = ps[i]->kind == ECO_GENOME_KIND_ADAPTER;
        const bool first_ad = ps[0]->kind == ECO_GENOME_KIND_ADAPTER;
        bool ok = true;
        switch (d->kinds) {
            case KIND_SAME:
                ok = ad == first_ad;
                break;
            case KIND_MODELS:
                ok = !ad;
                break;
            case KIND_FOLD:
                ok = i == 0 ? !ad : ad;
                break;
            case KIND_ADAPTERS:
                ok = ad;
                break;
        }
        if (!ok) {
            const char *what = d->kinds == KIND_SAME       ? "all full models or all adapters"
                               : d->kinds == KIND_MODELS   ? "full models, not adapters"
                               : d->kinds == KIND_ADAPTERS ? "a LoRA adapter, not a full model"
                                                           : "a full model, then an adapter";
            REASON("%s: parent %zu ('%s') does not fit: it takes %s", op->name, i + 1,
                   ps[i]->id ? ps[i]->id : "?", what);
            return false;
        }
    }
    if (has_base && ps[0]->kind == ECO_GENOME_KIND_ADAPTER && !d->base_with_adapters) {
        REASON("%s: adapters are merged as deltas; a base applies to full models only", op->name);
        return false;
    }
    if (d->parametric) return eco_breed_compatible(genomes, n, reason, reason_len);
    return true;
}


/* fold: W' = W + s·B·A, the parents a full model and an adapter of it. params: none (a
 * recorded fold's {"lora": ...} is what the adapter said, accepted on a re-run; a chain's
 * "seed" is accepted and unused). */
static eco_status breed_fold(const eco_breeder_op *op, const eco_breed_parent *parents, size_t n,
                             const char *const *corpora, size_t n_corpora,
                             const struct json_t *params, const char *out) {
    (void)op;
    (void)corpora;
    if (n != 2) return eco_error(ECO_STATUS_EINVAL, "fold: needs a model and an adapter");
    if (n_corpora) return eco_error(ECO_STATUS_EINVAL, "fold: takes no corpus");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)params, key, v) {
        if (strcmp(key, "lora") != 0 && strcmp(key, "seed") != 0)
            return eco_error(ECO_STATUS_EINVAL, "fold: params: unknown parameter '%s' (none taken)",
                             key);
    }
    return eco_model_merge_adapter(parents[0].dir, parents[1].dir, out);
}

/* clang-format off */
#define MERGE_OP(nm, lo, hi)                                                                       \
    {.op = {.name = nm, .supports = supports_generic, .breed = eco_breed_op_merge},                \
     .parametric = true, .min_parents = lo, .max_parents = hi, .takes_base = true,                 \
     .kinds = KIND_SAME}
#define OTHER_OP(nm, fn, param, lo, hi, base, need_base, k)                                        \
    {.op = {.name = nm, .supports = supports_generic, .breed = fn}, .parametric = param,           \
     .min_parents = lo, .max_parents = hi, .takes_base = base, .requires_base = need_base,         \
     .base_with_adapters = base && !need_base, .kinds = k}
static const op_def OPS[] = {
    MERGE_OP("linear", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("task_arithmetic", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("ties", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("dare_linear", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("dare_ties", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("breadcrumbs", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("della", 1, ECO_MERGE_MAX_PARENTS),
    MERGE_OP("slerp", 2, 2),
    OTHER_OP("mutate", eco_breed_op_mutate, true, 1, 1, false, false, KIND_MODELS),
    OTHER_OP("crossover", eco_breed_op_crossover, true, 2, ECO_MERGE_MAX_PARENTS, false, false,
             KIND_MODELS),
    OTHER_OP("prune", eco_breed_op_prune, true, 1, 1, true, false, KIND_MODELS),
    OTHER_OP("extract", eco_breed_op_extract, true, 1, 1, true, true, KIND_MODELS),
    OTHER_OP("quantize", eco_breed_op_quantize, true, 1, 1, false, false, KIND_MODELS),
    OTHER_OP("finetune", eco_breed_op_finetune, true, 1, 1, true, false, KIND_SAME),
    OTHER_OP("distill", eco_breed_op_distill, false, 1, ECO_BREEDER_MAX_INPUTS - 1, true, true,
             KIND_MODELS),
    {.op = {.name = "fold", .supports = supports_generic, .breed = breed_fold},
     .parametric = true, .min_parents = 2, .max_parents = 2, .takes_base = false,
     .kinds = KIND_FOLD},
    {.op = {.name = "rl", .supports = supports_generic, .breed = eco_breed_op_rl},
     .parametric = true, .min_parents = 1, .max_parents = 1, .takes_base = true,
     .requires_base = true, .base_with_adapters = true, .kinds = KIND_ADAPTERS},
};
/* clang-format on */
enum { N_OPS = sizeof OPS / sizeof *OPS };

size_t eco_breeder_op_count(void) { return N_OPS; }

const eco_breeder_op *eco_breeder_op_get(size_t i) { return i < N_OPS ? &OPS[i].op : NULL; }

eco_status eco_breeder_op_find(const char *name, const eco_breeder_op **out) {
    *out = NULL;
    for (size_t i = 0; name && i < N_OPS; i++)
        if (strcmp(OPS[i].op.name, name) == 0) {
            *out = &OPS[i].op;
            return ECO_STATUS_OK;
        }
    char list[512] = "";
    for (size_t i = 0; i < N_OPS; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", i ? ", " : "", OPS[i].op.name);
    }
    char shown[64];
    snprintf(shown, sizeof shown, "%s", name ? name : "(null)");
    return eco_error(ECO_STATUS_EINVAL, "breed: operator '%s' unknown (%s)", shown, list);
}

bool eco_breeder_op_takes_corpora(const eco_breeder_op *op) {
    return op && (strcmp(op->name, "finetune") == 0 || strcmp(op->name, "distill") == 0);
}

bool eco_breeder_op_is_parametric(const eco_breeder_op *op) {
    for (size_t i = 0; i < N_OPS; i++)
        if (op == &OPS[i].op) return OPS[i].parametric;
    return false;
}

eco_status eco_breeder_op_for_record(const char *op_name, const struct json_t *op_params,
                                     const eco_breeder_op **out) {
    *out = NULL;
    if (!op_name) return eco_error(ECO_STATUS_EINVAL, "breed: no recorded operation");
    const char *name = op_name;
    if (strcmp(op_name, "merge") == 0) {
        const char *method = json_string_value(json_object_get(op_params, "method"));
        if (method)
            name = method;
        else if (json_object_get(op_params, "lora"))
            name = "fold";
    }
    for (size_t i = 0; i < N_OPS; i++)
        if (strcmp(OPS[i].op.name, name) == 0) {
            *out = &OPS[i].op;
            return ECO_STATUS_OK;
        }
    return eco_error(ECO_STATUS_EINVAL,
                     "breed: the recorded operation '%s' is not a breeding operator's", op_name);
}
