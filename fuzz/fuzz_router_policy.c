/*
 * libFuzzer target: eco_route_policy_parse over arbitrary bytes. A refused input leaves a
 * message that names the label; an accepted policy writes back as canonical JSON that parses
 * to the same canonical JSON (the writer and the reader agree), and a router over a table
 * holding every target it names is created (the compiled tree holds together).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/router.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const eco_genome *no_genome(const eco_engine *e) {
    (void)e;
    return NULL;
}
static eco_status no_infer(eco_engine *e, const eco_infer_request *q, eco_infer_response *r) {
    (void)e;
    (void)q;
    (void)r;
    return ECO_STATUS_EINTERNAL;
}
static void no_destroy(eco_engine *e) { (void)e; }

/* Every target id in the tree into ids[*n] (at most max, duplicates skipped). */
static void collect(const eco_route_node *p, const char **ids, size_t max, size_t *n) {
    if (p->kind == ECO_ROUTE_KIND_TARGET) {
        for (size_t i = 0; i < *n; i++)
            if (!strcmp(ids[i], p->target)) return;
        if (*n < max) ids[(*n)++] = p->target;
        return;
    }
    for (size_t i = 0; i < p->n_children; i++) collect(p->children[i], ids, max, n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    eco_route_node *p = NULL;
    if (eco_route_policy_parse((const char *)data, size, "fuzz.json", &p) != ECO_STATUS_OK) {
        if (p || strncmp(eco_last_error(), "fuzz.json", 9) != 0) __builtin_trap();
        return 0;
    }
    char *a = NULL, *b = NULL;
    eco_route_node *q = NULL;
    if (eco_route_policy_json(p, &a) || eco_route_policy_parse(a, strlen(a), "again", &q) ||
        eco_route_policy_json(q, &b) || strcmp(a, b) != 0)
        __builtin_trap();
    const char *ids[ECO_ROUTE_MAX_NODES];
    size_t n = 0;
    collect(p, ids, ECO_ROUTE_MAX_NODES, &n);
    eco_engine e = {.genome = no_genome, .infer = no_infer, .destroy = no_destroy};
    eco_route_target t[ECO_ROUTE_MAX_NODES];
    for (size_t i = 0; i < n; i++) t[i] = (eco_route_target){.id = ids[i], .engine = &e};
    if (n == 0) t[n++] = (eco_route_target){.id = "x", .engine = &e};
    eco_policy_router *r = NULL;
    /* only a capability route over every target of a table past the child limit is refused */
    if (eco_router_create(t, n, p, &r) != ECO_STATUS_OK && n <= ECO_ROUTE_MAX_CHILDREN)
        __builtin_trap();
    eco_router_free(r);
    eco_route_policy_free(q);
    eco_route_policy_free(p);
    free(a);
    free(b);
    return 0;
}
