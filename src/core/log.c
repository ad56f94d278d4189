/* Levelled logging to stderr. The initial level comes from ECOLOGY_LOG. */
#include "ecology/core.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_int log_level = -1; /* -1: not read from the environment yet */

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

eco_status eco_log_level_parse(const char *s, eco_log_level *out) {
    for (int i = 0; i <= ECO_LOG_OFF; i++) {
        if (s && strcmp(s, level_names[i]) == 0) {
            *out = (eco_log_level)i;
            return ECO_STATUS_OK;
        }
    }
    return eco_error(ECO_STATUS_EINVAL, "log level '%s': expected debug, info, warn, error or off",
                     s ? s : "(null)");
}

eco_status eco_log_init_from_env(void) {
    const char *env = getenv("ECOLOGY_LOG");
    eco_log_level lv = ECO_LOG_INFO;
    eco_status st = ECO_STATUS_OK;
    if (env && env[0] && eco_log_level_parse(env, &lv) != ECO_STATUS_OK)
        st = eco_error(ECO_STATUS_EINVAL,
                       "ECOLOGY_LOG: '%s' is not a log level (debug, info, warn, error or off)",
                       env);
    atomic_store(&log_level, (int)lv);
    return st;
}

eco_log_level eco_log_get_level(void) {
    int lv = atomic_load(&log_level);
    if (lv < 0) {
        eco_log_level parsed = ECO_LOG_INFO;
        const char *env = getenv("ECOLOGY_LOG");
        if (env && eco_log_level_parse(env, &parsed) != ECO_STATUS_OK) parsed = ECO_LOG_INFO;
        lv = (int)parsed;
        atomic_store(&log_level, lv);
    }
    return (eco_log_level)lv;
}

void eco_log_set_level(eco_log_level level) { atomic_store(&log_level, (int)level); }

void eco_log(eco_log_level level, const char *fmt, ...) {
    if (level < eco_log_get_level() || level >= ECO_LOG_OFF) return;
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so concurrent lines do not interleave mid-line. */
    fprintf(stderr, "ecology: %s: %s\n", level_names[level], line);
}
