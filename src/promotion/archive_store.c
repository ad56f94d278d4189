/* The Pareto archive kept in the registry's event log (promotion.h): each change appends the
 * whole archive as an "archive" event; the last one is the archive's state after a restart. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ecology/promotion.h"

eco_status eco_archive_save(eco_registry *r, const eco_pareto *a, int64_t generation) {
    char *text = NULL, *detail = NULL;
    size_t len = 0;
    eco_status st = eco_pareto_to_json(a, &text, &len);
    if (st) return st;
    json_t *arch = NULL;
    if ((st = eco_json_parse(text, len, 0, "archive", &arch))) goto done;
    json_t *d = json_pack("{s:I, s:o}", "generation", (json_int_t)generation, "archive", arch);
    if (!d) {
        st = eco_error(ECO_STATUS_ENOMEM, "archive: out of memory");
        goto done;
    }
    st = eco_json_canonical(d, &detail, NULL);
    json_decref(d);
    if (!st) st = eco_registry_event_append(r, "archive", NULL, detail, NULL);
done:
    free(text);
    free(detail);
    return st;
}

eco_status eco_archive_load(eco_registry *r, eco_pareto **out, int64_t *generation) {
    *out = NULL;
    *generation = -1;
    bool found = false;
    eco_registry_event ev;
    eco_status st = eco_registry_event_last(r, "archive", &found, &ev);
    if (st || !found) return st;
    char label[64];
    snprintf(label, sizeof label, "archive event %lld", (long long)ev.seq);
    json_t *d = NULL;
    char *arch = NULL;
    size_t len = 0;
    if ((st = eco_json_parse(ev.detail, strlen(ev.detail), 0, label, &d))) goto done;
    json_t *g = json_object_get(d, "generation"), *a = json_object_get(d, "archive");
    if (!json_is_integer(g) || !json_is_object(a)) {
        st = eco_error(ECO_STATUS_EFORMAT, "%s: expected {\"generation\": N, \"archive\": {...}}",
                       label);
        goto done;
    }
    if ((st = eco_json_canonical(a, &arch, &len))) goto done;
    if ((st = eco_pareto_from_json(arch, len, label, out))) goto done;
    *generation = (int64_t)json_integer_value(g);
done:
    json_decref(d);
    free(arch);
    eco_registry_event_clear(&ev);
    return st;
}
