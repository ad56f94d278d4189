/*
 * report: what the report page's pieces share (internal to the daemon module).
 *
 * report_ctx is the registry read once: every event with its detail parsed, every model's
 * genome, the capabilities and their champions, the last archive. The page's sections
 * (report_tables.c, report_lineage.c, report_pareto.c) read it; nothing writes to the
 * registry. Event details are read leniently (a missing or mistyped member shows as "—"):
 * the page describes what was recorded, it does not judge it.
 *
 * rout is an output buffer that remembers running out of memory, so a section writes
 * without checking each append and the page checks once.
 */
#ifndef ECO_DAEMON_REPORT_INTERNAL_H
#define ECO_DAEMON_REPORT_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "ecology/promotion.h"
#include "ecology/report.h"

typedef struct report_ctx {
    eco_registry *r;
    eco_registry_event *ev; /* [n_ev] every event, in order */
    json_t **detail;        /* [n_ev] parsed detail objects (NULL when one did not parse) */
    size_t n_ev;
    char **ids;          /* [n_models] registration order */
    eco_genome *genomes; /* [n_models] */
    size_t n_models;
    size_t *by_id;   /* [n_models] indices sorted by id (report_find) */
    char **caps;     /* [n_caps] capabilities known to models and events, sorted */
    char **champion; /* [n_caps] the "C.champion" target or NULL */
    size_t n_caps;
    eco_pareto *archive; /* the last "archive" event's, or NULL */
    int64_t archive_generation;
    char *archive_error; /* why the last archive could not be read, or NULL */
    bool loop_ran;       /* any loop event at all */
} report_ctx;

eco_status report_ctx_load(eco_registry *r, report_ctx *c);
void report_ctx_free(report_ctx *c);
/* Index of model id in c->ids, or SIZE_MAX. */
size_t report_find(const report_ctx *c, const char *id);
/* The base model id of model i's family: its base, itself when it is a base, else the
 * first base found up its first parents ("" when none). Borrowed. */
const char *report_family(const report_ctx *c, size_t i);
/* The detail of the last event of type about model id (NULL when none). Borrowed. */
const json_t *report_last_event(const report_ctx *c, const char *type, const char *id);
/* Whether id is the champion of some capability / a member of the archive. */
bool report_is_champion(const report_ctx *c, const char *id);
bool report_in_archive(const report_ctx *c, const char *id);

/* ---- lenient JSON reads ---- */
const char *rj_str(const json_t *o, const char *key);       /* NULL unless a string */
bool rj_num(const json_t *o, const char *key, double *out); /* a number (int or real) */
const json_t *rj_obj(const json_t *o, const char *key);     /* NULL unless an object */
const json_t *rj_arr(const json_t *o, const char *key);     /* NULL unless an array */

/* ---- output ---- */
typedef struct rout {
    eco_buf *b;
    bool ok;
} rout;

void ro_puts(rout *o, const char *s);
void ro_printf(rout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ro_esc(rout *o, const char *s); /* HTML-escaped; NULL writes "—" */
/* A JSON value as text, escaped: strings as they are, numbers %.4g, true/false, arrays
 * joined by ", "; NULL or null as "—". */
void ro_json(rout *o, const json_t *v);
void ro_td(rout *o, const char *s);                          /* <td>escaped</td> */
void ro_td_json(rout *o, const json_t *v);                   /* <td>ro_json</td> */
void ro_td_num(rout *o, const json_t *obj, const char *key); /* <td class="num">... */
/* The first max_cps code points of s, escaped, "…" after when cut. */
void ro_label(rout *o, const char *s, size_t max_cps);
/* A number, %.4g, or "—" for a NaN. */
void ro_num(rout *o, double v);

/* Sections of the page. */
void report_section_champions(const report_ctx *c, rout *o);
void report_section_generations(const report_ctx *c, rout *o);
void report_section_rejections(const report_ctx *c, rout *o);
void report_section_canary(const report_ctx *c, rout *o);
void report_section_promotions(const report_ctx *c, rout *o);
void report_section_archive_table(const report_ctx *c, rout *o);

eco_status report_lineage_from_ctx(const report_ctx *c, size_t max_nodes, eco_report_lineage *out);

#endif
