/* Status names and the per-thread error message. */
#include "ecology/core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_names[ECO_STATUS__COUNT] = {
    [ECO_STATUS_OK] = "OK",
    [ECO_STATUS_EINVAL] = "EINVAL",
    [ECO_STATUS_ENOMEM] = "ENOMEM",
    [ECO_STATUS_EIO] = "EIO",
    [ECO_STATUS_EFORMAT] = "EFORMAT",
    [ECO_STATUS_EUNSUPPORTED] = "EUNSUPPORTED",
    [ECO_STATUS_ENOTFOUND] = "ENOTFOUND",
    [ECO_STATUS_EOVERFLOW] = "EOVERFLOW",
    [ECO_STATUS_ERANGE] = "ERANGE",
    [ECO_STATUS_EEXIST] = "EEXIST",
    [ECO_STATUS_ECONFLICT] = "ECONFLICT",
    [ECO_STATUS_EINTEGRITY] = "EINTEGRITY",
    [ECO_STATUS_ESIGNATURE] = "ESIGNATURE",
    [ECO_STATUS_EINTERNAL] = "EINTERNAL",
    [ECO_STATUS_EINCOMPAT] = "EINCOMPAT",
    [ECO_STATUS_EGATE] = "EGATE",
};

const char *eco_status_str(eco_status st) {
    if ((unsigned)st < ECO_STATUS__COUNT && status_names[st]) return status_names[st];
    return "EUNKNOWN";
}

#define ERRBUF_SIZE 2048
static _Thread_local char errbuf[ERRBUF_SIZE];

eco_status eco_verror(eco_status st, const char *fmt, va_list ap) {
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    return st;
}

eco_status eco_error(eco_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    eco_verror(st, fmt, ap);
    va_end(ap);
    return st;
}

eco_status eco_error_wrap(eco_status st, const char *fmt, ...) {
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    /* Shift the old message right and put "prefix: " in front (truncating at the end). */
    size_t plen = strlen(prefix), olen = strlen(errbuf);
    if (plen + 2 >= ERRBUF_SIZE) plen = ERRBUF_SIZE - 3;
    if (plen + 2 + olen >= ERRBUF_SIZE) olen = ERRBUF_SIZE - 3 - plen;
    memmove(errbuf + plen + 2, errbuf, olen);
    memcpy(errbuf, prefix, plen);
    errbuf[plen] = ':';
    errbuf[plen + 1] = ' ';
    errbuf[plen + 2 + olen] = '\0';
    return st;
}

const char *eco_last_error(void) { return errbuf; }

void eco_clear_error(void) { errbuf[0] = '\0'; }

#ifdef ECO_DEBUG_ASSERT
/* The one place in the library that aborts, compiled only into the debug-assert builds: an
 * invariant (ECO_ASSERT, core.h) did not hold, which is a bug, not a bad input. */
_Noreturn void eco_assert_fail(const char *cond, const char *file, int line, const char *func) {
    fprintf(stderr, "ECO_ASSERT(%s) failed at %s:%d (%s)\n", cond, file, line, func);
    fflush(stderr);
    abort();
}
#endif
