/*
 * dtype: sizes and safetensors names of the element types (the dtype part of tensor.h).
 * One table indexed by eco_dtype holds both, so the two can never disagree.
 */
#include <string.h>

#include "ecology/tensor.h"

static const struct {
    const char *name;
    size_t size;
} dtype_table[ECO_DTYPE__COUNT] = {
    [ECO_DTYPE_F32] = {"F32", 4},         [ECO_DTYPE_F16] = {"F16", 2},
    [ECO_DTYPE_BF16] = {"BF16", 2},       [ECO_DTYPE_F64] = {"F64", 8},
    [ECO_DTYPE_I8] = {"I8", 1},           [ECO_DTYPE_U8] = {"U8", 1},
    [ECO_DTYPE_I16] = {"I16", 2},         [ECO_DTYPE_U16] = {"U16", 2},
    [ECO_DTYPE_I32] = {"I32", 4},         [ECO_DTYPE_U32] = {"U32", 4},
    [ECO_DTYPE_I64] = {"I64", 8},         [ECO_DTYPE_U64] = {"U64", 8},
    [ECO_DTYPE_BOOL] = {"BOOL", 1},       [ECO_DTYPE_F8_E4M3] = {"F8_E4M3", 1},
    [ECO_DTYPE_F8_E5M2] = {"F8_E5M2", 1},
};

/* 0 for a value outside the enum (a caller bug; callers that take dtypes from input
 * parse them with eco_dtype_parse first). */
size_t eco_dtype_size(eco_dtype t) {
    if ((unsigned)t >= ECO_DTYPE__COUNT) return 0;
    return dtype_table[t].size;
}

size_t eco_dtype_row_bytes(eco_dtype t, int64_t n) {
    if (n <= 0) return 0;
    if (t == ECO_DTYPE_Q8_0) return (size_t)(n / ECO_Q8_0_BLOCK) * ECO_Q8_0_BLOCK_BYTES;
    return (size_t)n * eco_dtype_size(t);
}

/* "?" for a value outside the enum; never NULL. */
const char *eco_dtype_name(eco_dtype t) {
    if (t == ECO_DTYPE_Q8_0) return "Q8_0";
    if ((unsigned)t >= ECO_DTYPE__COUNT) return "?";
    return dtype_table[t].name;
}

eco_status eco_dtype_parse(const char *name, eco_dtype *out) {
    if (!name) return ECO_STATUS_ENOTFOUND;
    for (int i = 0; i < ECO_DTYPE__COUNT; i++) {
        if (strcmp(name, dtype_table[i].name) == 0) {
            *out = (eco_dtype)i;
            return ECO_STATUS_OK;
        }
    }
    return ECO_STATUS_ENOTFOUND;
}

/* Product of the dimensions; 0 when a dimension is negative or the product overflows
 * (views built by the library are validated, so this only shows up on a caller bug). */
size_t eco_tensor_numel(const eco_tensor *t) {
    if (!t || t->ndim < 0 || t->ndim > ECO_MAX_DIMS) return 0;
    size_t n = 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0) return 0;
        if (__builtin_mul_overflow(n, (size_t)t->shape[i], &n)) return 0;
    }
    return n;
}
