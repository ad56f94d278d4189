/* The canary split (router.h): a request's arm from the hash of its id. */
#include <string.h>

#include "ecology/router.h"

bool eco_route_canary_pick(const char *request_id, double share) {
    if (!(share > 0)) return false;
    if (share >= 1) return true;
    uint8_t h[ECO_SHA256_LEN];
    const char *id = request_id ? request_id : "";
    if (eco_sha256(id, strlen(id), h)) return false;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | h[i];
    return (double)v / 18446744073709551616.0 < share;
}
