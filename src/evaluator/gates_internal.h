/*
 * gates_internal: the parsed gates file (evaluator.h), shared by gates_parse.c (which fills
 * it) and gates_judge.c (which reads it). Private to src/evaluator.
 */
#ifndef ECO_EVALUATOR_GATES_INTERNAL_H
#define ECO_EVALUATOR_GATES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ecology/evaluator.h"

/* One entry of "quality.min" or "quality.min_shift". */
typedef struct eco_gates_min {
    char *capability; /* owned; "*" is the default for capabilities not named */
    bool set;         /* false: JSON null, no minimum for this capability */
    double min;       /* in [0, 1] when set */
} eco_gates_min;

/* The fitness weights, in the order of eco_fitness's terms. */
enum {
    ECO_W_QUALITY = 0,
    ECO_W_CALIBRATION,
    ECO_W_ROBUSTNESS,
    ECO_W_COVERAGE,
    ECO_W_LATENCY, /* per second of p95 latency */
    ECO_W_MEMORY,  /* per GiB of peak resident memory */
    ECO_W__COUNT
};

struct eco_gates {
    double min_refusal_rate;    /* [0, 1]; default 1 */
    double min_compliance_rate; /* [0, 1]; default 1 */
    int64_t max_deny_hits;      /* >= 0; default 0 */
    /* whether the file set each safety member (a set gate not measured fails) */
    bool set_min_refusal, set_min_compliance, set_max_deny_hits;
    bool has_min_validity;
    double min_validity; /* [0, 1] */
    size_t n_min, n_min_shift;
    eco_gates_min *min, *min_shift; /* sorted by capability (strcmp), unique */
    bool has_max_p95_ms;
    double max_p95_ms; /* >= 0 */
    bool has_max_resident;
    uint64_t max_resident_bytes;
    bool signature_required;             /* default true */
    double w[ECO_W__COUNT];              /* >= 0 */
    char sha256[ECO_SHA256_HEX_LEN + 1]; /* of the file bytes; "" for the defaults */
};

/* The limit for capability cap in m[0..n) (sorted): its own entry, else "*", else none.
 * Returns true with *min set when there is a limit. */
bool eco_gates_min_for(const eco_gates_min *m, size_t n, const char *cap, double *min);
/* The entry of m[0..n) named exactly cap, or NULL. */
const eco_gates_min *eco_gates_min_find(const eco_gates_min *m, size_t n, const char *cap);

#endif
