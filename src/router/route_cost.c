/* A cost for the targets whose cost this machine does not know (router.h). */
#include "ecology/router.h"

void eco_route_cost_unknown_last(eco_route_target *t, size_t n, const bool *unknown) {
    double top = 0;
    for (size_t i = 0; i < n; i++)
        if (!unknown[i] && t[i].cost > top) top = t[i].cost;
    for (size_t i = 0; i < n; i++)
        if (unknown[i]) t[i].cost = top + 1;
}
