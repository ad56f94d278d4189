/* The archive's layout, shared by pareto_archive.c, pareto_query.c and pareto_json.c. */
#ifndef ECO_PROMOTION_PARETO_INTERNAL_H
#define ECO_PROMOTION_PARETO_INTERNAL_H

#include "ecology/pareto.h"

struct eco_pareto {
    size_t n_obj;
    char names[ECO_PARETO_MAX_OBJECTIVES][ECO_PARETO_NAME_MAX + 1]; /* [n_obj] */
    eco_pareto_dir dirs[ECO_PARETO_MAX_OBJECTIVES];                 /* [n_obj] */
    eco_pareto_objective obj[ECO_PARETO_MAX_OBJECTIVES]; /* [n_obj], names pointing into names */
    size_t capacity, n;
    /* Members in id order (byte order), room for capacity + 1 (an insert over capacity). */
    char **ids;   /* [capacity + 1], malloc'd strings */
    double *vals; /* [capacity + 1, n_obj] row-major: member i at vals[i*n_obj ..) */
};

/* Whether name is [a-z0-9_]{1,ECO_PARETO_NAME_MAX}. */
bool eco_pareto_name_ok(const char *name, size_t len);
/* OK when id (len bytes) is 1..ECO_PARETO_ID_MAX bytes of UTF-8 without a control byte; else EINVAL
 * "<what>: ..." (id shown escaped). */
eco_status eco_pareto_check_id(const char *id, size_t len, const char *what);

#endif
