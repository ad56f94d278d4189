/*
 * canary_settings: Flagger's stepWeight / maxWeight / interval / threshold, parsed from JSON
 * with the core field reader, checked, and the timing that follows from them.
 */
#include <jansson.h>

#include "core/json_read.h"
#include "ecology/canary.h"

#define SETTINGS_MAX_BYTES 4096

eco_status eco_canary_settings_check(const eco_canary_settings *s) {
    if (!s) return eco_error(ECO_STATUS_EINVAL, "canary settings: NULL");
    if (s->step_weight < 1 || s->step_weight > 100)
        return eco_error(ECO_STATUS_EINVAL, "canary settings: stepWeight: %d outside [1, 100]",
                         s->step_weight);
    if (s->max_weight < s->step_weight || s->max_weight > 100)
        return eco_error(ECO_STATUS_EINVAL,
                         "canary settings: maxWeight: %d outside [stepWeight = %d, 100]",
                         s->max_weight, s->step_weight);
    if (s->interval < 1 || s->interval > ECO_CANARY_MAX_INTERVAL)
        return eco_error(ECO_STATUS_EINVAL, "canary settings: interval: %lld outside [1, %d]",
                         (long long)s->interval, ECO_CANARY_MAX_INTERVAL);
    if (s->threshold < 1 || s->threshold > ECO_CANARY_MAX_THRESHOLD)
        return eco_error(ECO_STATUS_EINVAL, "canary settings: threshold: %d outside [1, %d]",
                         s->threshold, ECO_CANARY_MAX_THRESHOLD);
    return ECO_STATUS_OK;
}

eco_status eco_canary_settings_parse(const char *text, size_t len, const char *label,
                                     eco_canary_settings *out) {
    if (!text || !out) return eco_error(ECO_STATUS_EINVAL, "canary settings: NULL argument");
    if (!label) label = "canary settings";
    if (len > SETTINGS_MAX_BYTES)
        return eco_error(ECO_STATUS_EFORMAT, "%s: %zu bytes, more than %d", label, len,
                         SETTINGS_MAX_BYTES);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) return eco_error(ECO_STATUS_EFORMAT, "%s: line %d: %s", label, err.line, err.text);
    eco_jr r = eco_jr_root(label, root);
    static const char *const keys[] = {"stepWeight", "maxWeight", "interval", "threshold", NULL};
    int64_t step = 0, max = 0, interval = 0, threshold = 0;
    eco_status st;
    if (!json_is_object(root))
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected an object", label);
    else if (!(st = eco_jr_exact(&r, keys)) &&
             !(st = eco_jr_int(&r, "stepWeight", true, 1, 100, &step)) &&
             !(st = eco_jr_int(&r, "maxWeight", true, 1, 100, &max)) &&
             !(st = eco_jr_int(&r, "interval", true, 1, ECO_CANARY_MAX_INTERVAL, &interval)) &&
             !(st = eco_jr_int(&r, "threshold", true, 1, ECO_CANARY_MAX_THRESHOLD, &threshold)) &&
             max < step)
        st = eco_jr_fail(&r, "maxWeight", ECO_STATUS_EFORMAT, "%lld below stepWeight %lld",
                         (long long)max, (long long)step);
    json_decref(root);
    if (st) return st;
    *out = (eco_canary_settings){.step_weight = (int)step,
                                 .max_weight = (int)max,
                                 .interval = interval,
                                 .threshold = (int)threshold};
    return ECO_STATUS_OK;
}

eco_status eco_canary_settings_timing(const eco_canary_settings *s, eco_canary_timing *out) {
    eco_status st = eco_canary_settings_check(s);
    if (st) return st;
    if (!out) return eco_error(ECO_STATUS_EINVAL, "canary timing: NULL argument");
    out->steps = (s->max_weight + s->step_weight - 1) / s->step_weight;
    out->promote_requests = s->interval * out->steps;
    out->rollback_requests = s->interval * s->threshold;
    return ECO_STATUS_OK;
}

eco_status eco_canary_settings_describe(const eco_canary_settings *s, eco_buf *out) {
    eco_canary_timing t;
    eco_status st = eco_canary_settings_timing(s, &t);
    if (st) return st;
    if (!out) return eco_error(ECO_STATUS_EINVAL, "canary timing: NULL buffer");
    bool ok = eco_buf_printf(
        out, "minimum time to promote: %d steps x %lld requests = %lld requests (weights", t.steps,
        (long long)s->interval, (long long)t.promote_requests);
    for (int w = s->step_weight, i = 0; ok && i < t.steps; i++) {
        const int shown = w < s->max_weight ? w : s->max_weight;
        ok = eco_buf_printf(out, "%s %d%%", i ? "," : "", shown);
        w += s->step_weight;
    }
    ok = ok && eco_buf_printf(out,
                              ")\ntime to roll back: %d failed steps x %lld requests = %lld "
                              "requests (a safety alert: at once)\n",
                              s->threshold, (long long)s->interval, (long long)t.rollback_requests);
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "canary timing: out of memory");
}
