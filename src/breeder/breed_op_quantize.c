/*
 * The quantize operator over quantize.h's eco_quantize_dir: params {"type": "q8_0"} (the
 * default and only type).
 */
#include "breeder/breed_internal.h"
#include "ecology/quantize.h"

#include <jansson.h>

eco_status eco_breed_op_quantize(const eco_breeder_op *op, const eco_breed_parent *parents,
                                 size_t n, const char *const *corpora, size_t n_corpora,
                                 const json_t *params, const char *out) {
    (void)corpora;
    static const char *const keys[] = {"type", "seed", NULL};
    static const char *const types[] = {"q8_0", NULL};
    const char *type = "q8_0";
    uint64_t seed = 0;
    eco_status st;
    if (n_corpora) return eco_error(ECO_STATUS_EINVAL, "%s: takes no corpus", op->name);
    if (n != 1) return eco_error(ECO_STATUS_EINVAL, "%s: one parent", op->name);
    if ((st = eco_breed_params_only(op->name, params, keys)) ||
        (st = eco_breed_param_str(op->name, params, "type", types, &type)) ||
        (st = eco_breed_param_seed(op->name, params, &seed)))
        return st;
    eco_quantize_options o = {.model = parents[0].dir, .type = type, .out = out};
    return eco_quantize_dir(&o, NULL);
}
