/*
 * The names of the merge methods (merge.h), and which need a base.
 */
#include "ecology/merge.h"

#include <string.h>

static const char *const METHOD_NAMES[ECO_MERGE_METHOD__COUNT] = {
    [ECO_MERGE_METHOD_LINEAR] = "linear",
    [ECO_MERGE_METHOD_TASK_ARITHMETIC] = "task_arithmetic",
    [ECO_MERGE_METHOD_TIES] = "ties",
    [ECO_MERGE_METHOD_DARE_LINEAR] = "dare_linear",
    [ECO_MERGE_METHOD_DARE_TIES] = "dare_ties",
    [ECO_MERGE_METHOD_BREADCRUMBS] = "breadcrumbs",
    [ECO_MERGE_METHOD_DELLA] = "della",
    [ECO_MERGE_METHOD_SLERP] = "slerp",
};

const char *eco_merge_method_name(eco_merge_method m) {
    return (unsigned)m < ECO_MERGE_METHOD__COUNT ? METHOD_NAMES[m] : NULL;
}

eco_status eco_merge_method_parse(const char *name, eco_merge_method *out) {
    for (int m = 0; name && m < ECO_MERGE_METHOD__COUNT; m++)
        if (strcmp(name, METHOD_NAMES[m]) == 0) {
            *out = (eco_merge_method)m;
            return ECO_STATUS_OK;
        }
    return eco_error(ECO_STATUS_EINVAL,
                     "merge method '%s' unknown (linear, task_arithmetic, ties, dare_linear, "
                     "dare_ties, breadcrumbs, della, slerp)",
                     name ? name : "(null)");
}

bool eco_merge_method_needs_base(eco_merge_method m) {
    return m != ECO_MERGE_METHOD_LINEAR && m != ECO_MERGE_METHOD_SLERP &&
           (unsigned)m < ECO_MERGE_METHOD__COUNT;
}
