/* report: the registry read once for the page (report_internal.h): events with their
 * details, genomes, capabilities and champions, the last archive; and the output buffer. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/report_internal.h"

static const char *const loop_types[] = {"loop-start", "generation",    "candidate", "breed-failed",
                                         "gate",       "hard-examples", "archive",   "canary",
                                         "promote",    "rollback"};

/* ---- lenient JSON reads ---- */

const char *rj_str(const json_t *o, const char *key) {
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

bool rj_num(const json_t *o, const char *key, double *out) {
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (!json_is_number(v)) return false;
    *out = json_number_value(v);
    return true;
}

const json_t *rj_obj(const json_t *o, const char *key) {
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_object(v) ? v : NULL;
}

const json_t *rj_arr(const json_t *o, const char *key) {
    const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    return json_is_array(v) ? v : NULL;
}

/* ---- output ---- */

void ro_puts(rout *o, const char *s) {
    if (o->ok && !eco_buf_puts(o->b, s)) o->ok = false;
}

void ro_printf(rout *o, const char *fmt, ...) {
    if (!o->ok) return;
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        o->ok = false; /* formats here are short: numbers and fixed words */
        return;
    }
    ro_puts(o, tmp);
}

void ro_esc(rout *o, const char *s) {
    if (!s) {
        ro_puts(o, "\xE2\x80\x94");
        return;
    }
    if (o->ok && !eco_report_html_escape(o->b, s)) o->ok = false;
}

void ro_label(rout *o, const char *s, size_t max_cps) {
    size_t n = strlen(s), i = 0, cps = 0;
    while (i < n && cps < max_cps) {
        uint32_t cp;
        size_t l = eco_utf8_decode(s + i, n - i, &cp);
        i += l ? l : 1;
        cps++;
    }
    char *cut = eco_bytes_dup(s, i);
    if (!cut) {
        o->ok = false;
        return;
    }
    ro_esc(o, cut);
    if (i < n) ro_puts(o, "\xE2\x80\xA6");
    free(cut);
}

void ro_num(rout *o, double v) {
    if (!isfinite(v))
        ro_puts(o, "\xE2\x80\x94");
    else
        ro_printf(o, "%.4g", v);
}

void ro_json(rout *o, const json_t *v) {
    if (!v || json_is_null(v))
        ro_esc(o, NULL);
    else if (json_is_string(v))
        ro_esc(o, json_string_value(v));
    else if (json_is_number(v))
        ro_num(o, json_number_value(v));
    else if (json_is_boolean(v))
        ro_puts(o, json_is_true(v) ? "true" : "false");
    else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            if (i) ro_puts(o, ", ");
            ro_json(o, x);
        }
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
        if (!text) o->ok = false;
        ro_esc(o, text ? text : "");
        free(text);
    }
}

void ro_td(rout *o, const char *s) {
    ro_puts(o, "<td>");
    ro_esc(o, s);
    ro_puts(o, "</td>");
}

void ro_td_json(rout *o, const json_t *v) {
    ro_puts(o, "<td>");
    ro_json(o, v);
    ro_puts(o, "</td>");
}

void ro_td_num(rout *o, const json_t *obj, const char *key) {
    double v = NAN;
    rj_num(obj, key, &v);
    ro_puts(o, "<td class=\"num\">");
    ro_num(o, v);
    ro_puts(o, "</td>");
}

/* ---- the context ---- */

typedef struct id_index {
    const char *id;
    size_t i;
} id_index;

static int cmp_id_index(const void *a, const void *b) {
    return strcmp(((const id_index *)a)->id, ((const id_index *)b)->id);
}

size_t report_find(const report_ctx *c, const char *id) {
    if (!id) return SIZE_MAX;
    size_t lo = 0, hi = c->n_models;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int k = strcmp(c->ids[c->by_id[mid]], id);
        if (k == 0) return c->by_id[mid];
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return SIZE_MAX;
}

const char *report_family(const report_ctx *c, size_t i) {
    for (size_t steps = 0; i < c->n_models && steps <= c->n_models; steps++) {
        const eco_genome *g = &c->genomes[i];
        if (g->base) return g->base;
        if (g->kind == ECO_GENOME_KIND_BASE) return g->id;
        if (!g->n_parents) break;
        i = report_find(c, g->parents[0]);
    }
    return "";
}

const json_t *report_last_event(const report_ctx *c, const char *type, const char *id) {
    for (size_t i = c->n_ev; i-- > 0;)
        if (strcmp(c->ev[i].type, type) == 0 && c->ev[i].model_id && id &&
            strcmp(c->ev[i].model_id, id) == 0)
            return c->detail[i];
    return NULL;
}

bool report_is_champion(const report_ctx *c, const char *id) {
    for (size_t k = 0; k < c->n_caps; k++)
        if (c->champion[k] && strcmp(c->champion[k], id) == 0) return true;
    return false;
}

bool report_in_archive(const report_ctx *c, const char *id) {
    size_t at;
    return c->archive && eco_pareto_find(c->archive, id, &at) == ECO_STATUS_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends s to the list (duplicates removed later). */
static bool push_cap(char ***caps, size_t *n, size_t *cap, const char *s) {
    if (!s || !*s) return true;
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 16;
        char **t = realloc(*caps, nc * sizeof *t);
        if (!t) return false;
        *caps = t;
        *cap = nc;
    }
    if (!((*caps)[*n] = eco_strdup(s))) return false;
    (*n)++;
    return true;
}

static eco_status collect_caps(report_ctx *c) {
    size_t cap = 0;
    bool ok = true;
    for (size_t i = 0; i < c->n_models && ok; i++)
        for (size_t k = 0; k < c->genomes[i].n_capabilities && ok; k++)
            ok = push_cap(&c->caps, &c->n_caps, &cap, c->genomes[i].capabilities[k]);
    for (size_t i = 0; i < c->n_ev && ok; i++) {
        ok = push_cap(&c->caps, &c->n_caps, &cap, rj_str(c->detail[i], "capability"));
        const json_t *champs = rj_obj(c->detail[i], "champions");
        const char *key;
        const json_t *v;
        if (champs) json_object_foreach((json_t *)champs, key, v) {
                if (ok) ok = push_cap(&c->caps, &c->n_caps, &cap, key);
            }
    }
    if (!ok) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    if (c->n_caps) qsort(c->caps, c->n_caps, sizeof *c->caps, cmp_str);
    size_t w = 0;
    for (size_t i = 0; i < c->n_caps; i++) {
        if (w && strcmp(c->caps[w - 1], c->caps[i]) == 0)
            free(c->caps[i]);
        else
            c->caps[w++] = c->caps[i];
    }
    c->n_caps = w;
    c->champion = eco_calloc_array(w + 1, sizeof *c->champion);
    if (!c->champion) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    for (size_t k = 0; k < w; k++) {
        char alias[ECO_PROMOTION_ALIAS_MAX];
        if (eco_promotion_alias(c->caps[k], "champion", alias) != ECO_STATUS_OK) continue;
        char *id = NULL;
        eco_status st = eco_registry_alias_get(c->r, alias, &id);
        if (st == ECO_STATUS_OK)
            c->champion[k] = id;
        else if (st != ECO_STATUS_ENOTFOUND)
            return st;
    }
    return ECO_STATUS_OK;
}

static void load_archive(report_ctx *c) {
    if (eco_archive_load(c->r, &c->archive, &c->archive_generation) != ECO_STATUS_OK) {
        c->archive = NULL;
        c->archive_error = eco_strdup(eco_last_error()); /* shown on the page */
    }
}

eco_status report_ctx_load(eco_registry *r, report_ctx *c) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->archive_generation = -1;
    eco_status st = eco_registry_events(r, 0, &c->ev, &c->n_ev);
    if (st) return st;
    c->detail = eco_calloc_array(c->n_ev + 1, sizeof *c->detail);
    if (!c->detail) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    for (size_t i = 0; i < c->n_ev; i++) {
        json_error_t err;
        c->detail[i] = c->ev[i].detail ? json_loads(c->ev[i].detail, 0, &err) : NULL;
        for (size_t t = 0; t < sizeof loop_types / sizeof *loop_types; t++)
            if (strcmp(c->ev[i].type, loop_types[t]) == 0) c->loop_ran = true;
    }
    if ((st = eco_registry_list(r, NULL, &c->ids, &c->n_models))) return st;
    c->genomes = eco_calloc_array(c->n_models + 1, sizeof *c->genomes);
    c->by_id = eco_malloc_array(c->n_models + 1, sizeof *c->by_id);
    if (!c->genomes || !c->by_id) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    id_index *tmp = eco_malloc_array(c->n_models + 1, sizeof *tmp);
    if (!tmp) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    for (size_t i = 0; i < c->n_models; i++) {
        if ((st = eco_registry_get(r, c->ids[i], &c->genomes[i], NULL))) {
            free(tmp);
            return st;
        }
        tmp[i] = (id_index){c->ids[i], i};
    }
    if (c->n_models) qsort(tmp, c->n_models, sizeof *tmp, cmp_id_index);
    for (size_t i = 0; i < c->n_models; i++) c->by_id[i] = tmp[i].i;
    free(tmp);
    if ((st = collect_caps(c))) return st;
    load_archive(c);
    return ECO_STATUS_OK;
}

void report_ctx_free(report_ctx *c) {
    if (!c) return;
    for (size_t i = 0; c->detail && i < c->n_ev; i++) json_decref(c->detail[i]);
    free(c->detail);
    eco_registry_events_free(c->ev, c->n_ev);
    for (size_t i = 0; c->genomes && i < c->n_models; i++) eco_genome_free(&c->genomes[i]);
    free(c->genomes);
    eco_registry_ids_free(c->ids, c->n_models);
    free(c->by_id);
    for (size_t k = 0; k < c->n_caps; k++) {
        free(c->caps[k]);
        if (c->champion) free(c->champion[k]);
    }
    free(c->caps);
    free(c->champion);
    eco_pareto_free(c->archive);
    free(c->archive_error);
    memset(c, 0, sizeof *c);
}
