/*
 * router: routing policies over engines (the seed's ModelRouter), on the engine contract
 * only (contracts.h): capability, cascade, ensemble, canary and shadow (issue 21).
 */
#ifndef ECOLOGY_ROUTER_H
#define ECOLOGY_ROUTER_H

#include "ecology/contracts.h"
#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The canary split: whether the request named request_id goes to the canary when the
 * canary's share of traffic is share (in [0, 1]). Deterministic: the first 8 bytes of
 * SHA-256(request_id), big-endian, divided by 2^64, compared with share (u < share); so a
 * request keeps its arm while the share grows, and the arms' shares converge to share. */
bool eco_route_canary_pick(const char *request_id, double share);

#ifdef __cplusplus
}
#endif
#endif
