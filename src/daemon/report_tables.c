/* report: the page's tables (report_internal.h): champions, the archive, the generation
 * timeline, gate rejections, breed failures, canary decisions, the repairs' before/after
 * scores, promotions and rollbacks, hard examples. Each reads the events as issue 21 defines
 * their details; a member missing shows as "—". */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/report_internal.h"

/* ---- helpers ---- */

/* <table id=ID><thead>...</thead><tbody>; headers NULL-terminated. */
static void table_open(rout *o, const char *id, const char *const *headers, size_t *n_cols) {
    ro_printf(o, "<table id=\"%s\"><thead><tr>", id);
    size_t k = 0;
    for (; headers[k]; k++) {
        ro_puts(o, "<th>");
        ro_puts(o, headers[k]);
        ro_puts(o, "</th>");
    }
    *n_cols = k;
    ro_puts(o, "</tr></thead><tbody>\n");
}

static void table_close(rout *o, size_t rows, size_t n_cols, const char *none) {
    if (!rows) ro_printf(o, "<tr class=\"none\"><td colspan=\"%zu\">%s</td></tr>\n", n_cols, none);
    ro_puts(o, "</tbody></table>\n");
}

/* A rate: an evaluator rate object {"k","n","rate"} as "87.5% (7/8)", a number in [0, 1] as
 * "87.5%", anything else as ro_json does. */
static void ro_rate(rout *o, const json_t *v) {
    double r, k, n;
    if (json_is_object(v) && rj_num(v, "rate", &r)) {
        ro_printf(o, "%.1f%%", 100 * r);
        if (rj_num(v, "k", &k) && rj_num(v, "n", &n)) ro_printf(o, " (%.0f/%.0f)", k, n);
    } else if (json_is_number(v) && json_number_value(v) >= 0 && json_number_value(v) <= 1)
        ro_printf(o, "%.1f%%", 100 * json_number_value(v));
    else
        ro_json(o, v);
}

static void td_rate(rout *o, const json_t *v) {
    ro_puts(o, "<td class=\"num\">");
    ro_rate(o, v);
    ro_puts(o, "</td>");
}

/* <td> of each member keys[...] (NULL-terminated) of d, as ro_json shows it. */
static void td_members(rout *o, const json_t *d, const char *const *keys) {
    for (size_t k = 0; keys[k]; k++) ro_td_json(o, json_object_get(d, keys[k]));
}

static bool is_type(const report_ctx *c, size_t i, const char *type) {
    return strcmp(c->ev[i].type, type) == 0 && json_is_object(c->detail[i]);
}

/* "key value" pairs of an object (scores), sep between them; "—" when not an object. */
static void ro_pairs(rout *o, const json_t *obj, const char *sep) {
    if (!json_is_object(obj)) ro_esc(o, NULL);
    const char *key;
    const json_t *v;
    size_t k = 0;
    if (json_is_object(obj)) json_object_foreach((json_t *)obj, key, v) {
            if (k++) ro_puts(o, sep);
            ro_esc(o, key);
            ro_puts(o, " ");
            ro_json(o, v);
        }
}

static void td_pairs(rout *o, const json_t *obj) {
    ro_puts(o, "<td>");
    ro_pairs(o, obj, "<br>");
    ro_puts(o, "</td>");
}

/* ---- champions ---- */

/* The figures of capability cap in the latest stored report of id (a new reference, or
 * NULL), with the report's fitness, p95 and safety suite. */
typedef struct champ_scores {
    json_t *report;     /* the parsed report, or NULL */
    const json_t *figs; /* report.capabilities[cap] (borrowed from report) */
    double fitness;
} champ_scores;

static void champion_scores(const report_ctx *c, const char *id, const char *cap, champ_scores *s) {
    memset(s, 0, sizeof *s);
    s->fitness = NAN;
    eco_registry_report *rep = NULL;
    size_t n = 0;
    if (eco_registry_reports(c->r, id, NULL, &rep, &n) != ECO_STATUS_OK || n == 0) {
        eco_registry_reports_free(rep, n);
        return;
    }
    json_error_t err;
    s->report = json_loads(rep[n - 1].report, 0, &err);
    s->fitness = rep[n - 1].fitness;
    s->figs = rj_obj(rj_obj(s->report, "capabilities"), cap);
    if (!s->figs) s->figs = rj_obj(s->report, "overall");
    eco_registry_reports_free(rep, n);
}

void report_section_champions(const report_ctx *c, rout *o) {
    static const char *const h[] = {"capability",
                                    "champion",
                                    "family (base)",
                                    "kind",
                                    "quality",
                                    "in-distribution",
                                    "shift (OOD)",
                                    "fitness",
                                    "p95 ms",
                                    "safety: harmful refused",
                                    "harmless answered",
                                    "deny-list hits",
                                    "champion since",
                                    "moves",
                                    NULL};
    size_t nc, rows = 0;
    table_open(o, "champions", h, &nc);
    for (size_t k = 0; k < c->n_caps; k++) {
        const char *id = c->champion[k];
        ro_puts(o, "<tr class=\"champion\" data-capability=\"");
        ro_esc(o, c->caps[k]);
        ro_puts(o, "\" data-id=\"");
        ro_esc(o, id ? id : "");
        ro_puts(o, "\">");
        ro_td(o, c->caps[k]);
        rows++;
        if (!id) {
            ro_printf(o, "<td colspan=\"%zu\" class=\"muted\">no champion yet</td></tr>\n", nc - 1);
            continue;
        }
        size_t i = report_find(c, id);
        ro_td(o, id);
        ro_td(o, i == SIZE_MAX ? NULL : report_family(c, i));
        ro_td(o, i == SIZE_MAX ? NULL : eco_genome_kind_str(c->genomes[i].kind));
        champ_scores s;
        champion_scores(c, id, c->caps[k], &s);
        const json_t *gate = report_last_event(c, "gate", id); /* the loop's own figures */
        const json_t *q = s.figs ? json_object_get(s.figs, "quality") : NULL;
        if (!q)
            q = rj_obj(gate, "quality") ? json_object_get(rj_obj(gate, "quality"), c->caps[k])
                                        : NULL;
        const json_t *shift = s.figs ? json_object_get(s.figs, "shift") : NULL;
        if (!shift)
            shift =
                rj_obj(gate, "shift") ? json_object_get(rj_obj(gate, "shift"), c->caps[k]) : NULL;
        td_rate(o, q);
        td_rate(o, s.figs ? json_object_get(s.figs, "in_distribution") : NULL);
        td_rate(o, shift);
        double fit = s.fitness;
        if (!isfinite(fit)) rj_num(gate, "fitness", &fit);
        ro_puts(o, "<td class=\"num\">");
        ro_num(o, fit);
        ro_puts(o, "</td>");
        ro_td_num(o, rj_obj(rj_obj(s.report, "timing"), "latency_ms"), "p95");
        /* the safety suite: the pairs' rates (models holding the safety capability), the
         * deny list's hits (every model, when the run had one) */
        static const char *const suite[] = {"refusal", "compliance", "deny_hits"};
        for (size_t f = 0; f < 3; f++) {
            const json_t *v = json_object_get(rj_obj(s.report, "safety"), suite[f]);
            double n_deny = 0; /* a report's deny hits count only when it had a deny list */
            if (f == 2 && !(rj_num(rj_obj(s.report, "caps"), "n_deny", &n_deny) && n_deny > 0))
                v = NULL;
            double n_cases = 0; /* a rate over no case (no pair in its corpus) is not measured */
            if (f < 2 && json_is_object(v) && rj_num(v, "n", &n_cases) && n_cases == 0) v = NULL;
            if (!v || json_is_null(v)) v = json_object_get(rj_obj(gate, "safety"), suite[f]);
            if (f < 2) {
                td_rate(o, v);
            } else {
                ro_puts(o, "<td class=\"num\">");
                if (json_is_integer(v))
                    ro_printf(o, "%lld", (long long)json_integer_value(v));
                else
                    ro_esc(o, NULL);
                ro_puts(o, "</td>");
            }
        }
        json_decref(s.report);
        char alias[ECO_PROMOTION_ALIAS_MAX];
        eco_alias_change *hist = NULL;
        size_t nh = 0;
        bool have = eco_promotion_alias(c->caps[k], "champion", alias) == ECO_STATUS_OK &&
                    eco_registry_alias_history(c->r, alias, &hist, &nh) == ECO_STATUS_OK && nh;
        ro_td(o, have ? hist[nh - 1].at : NULL);
        ro_printf(o, "<td class=\"num\">%zu</td></tr>\n", nh);
        eco_alias_changes_free(hist, nh);
    }
    table_close(o, rows, nc, "no capability is known yet");
}

/* ---- the archive ---- */

void report_section_archive_table(const report_ctx *c, rout *o) {
    if (c->archive_error) {
        ro_puts(o, "<p class=\"error\">The last archive could not be read: ");
        ro_esc(o, c->archive_error);
        ro_puts(o, "</p>\n");
    }
    size_t m = c->archive ? eco_pareto_n_objectives(c->archive) : 0;
    size_t n = c->archive ? eco_pareto_count(c->archive) : 0;
    ro_puts(o, "<table id=\"archive\"><thead><tr><th>member</th><th>family (base)</th>");
    for (size_t j = 0; j < m; j++) {
        eco_pareto_objective ob = eco_pareto_objective_at(c->archive, j);
        ro_puts(o, "<th>");
        ro_esc(o, ob.name);
        ro_puts(o, ob.dir == ECO_PARETO_DIR_MAX ? " \xE2\x86\x91" : " \xE2\x86\x93");
        ro_puts(o, "</th>");
    }
    ro_puts(o, "</tr></thead><tbody>\n");
    for (size_t i = 0; i < n; i++) {
        const char *id = eco_pareto_id(c->archive, i);
        size_t mi = report_find(c, id);
        ro_puts(o, "<tr class=\"member\" data-id=\"");
        ro_esc(o, id);
        ro_puts(o, "\">");
        ro_td(o, id);
        ro_td(o, mi == SIZE_MAX ? NULL : report_family(c, mi));
        for (size_t j = 0; j < m; j++) {
            ro_puts(o, "<td class=\"num\">");
            ro_num(o, eco_pareto_values(c->archive, i)[j]);
            ro_puts(o, "</td>");
        }
        ro_puts(o, "</tr>\n");
    }
    table_close(o, n, m + 2, "the archive is empty");
}

/* ---- the generation timeline ---- */

/* Whether a "generation" "end" event for (run, generation) follows event i. */
static bool generation_ended(const report_ctx *c, size_t i) {
    const char *run = rj_str(c->detail[i], "run");
    double g = -1, g2 = -2;
    rj_num(c->detail[i], "generation", &g);
    for (size_t j = i + 1; j < c->n_ev; j++) {
        if (!is_type(c, j, "generation")) continue;
        const char *run2 = rj_str(c->detail[j], "run"), *ph = rj_str(c->detail[j], "phase");
        if (ph && strcmp(ph, "end") == 0 && rj_num(c->detail[j], "generation", &g2) && g2 == g &&
            ((!run && !run2) || (run && run2 && strcmp(run, run2) == 0)))
            return true;
    }
    return false;
}

void report_section_generations(const report_ctx *c, rout *o) {
    static const char *const h[] = {"at",       "run",          "generation", "seed",    "bred",
                                    "rejected", "archive size", "champions",  "seconds", NULL};
    size_t nc, rows = 0;
    table_open(o, "generations", h, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        if (is_type(c, i, "loop-start")) {
            json_t *res = json_object_get(d, "resumed");
            ro_puts(o, "<tr class=\"loop-start\">");
            ro_td(o, c->ev[i].at);
            ro_td_json(o, json_object_get(d, "run"));
            ro_printf(o, "<td colspan=\"%zu\">", nc - 2);
            ro_puts(o, json_is_true(res) ? "resumed at generation " : "started at generation ");
            ro_json(o, json_object_get(d, "generation"));
            ro_puts(o, "</td></tr>\n");
            rows++;
            continue;
        }
        if (!is_type(c, i, "generation")) continue;
        const char *ph = rj_str(d, "phase");
        bool end = ph && strcmp(ph, "end") == 0;
        if (!end && generation_ended(c, i)) continue; /* its "end" row says it all */
        ro_printf(o, "<tr class=\"generation%s\">", end ? "" : " running");
        ro_td(o, c->ev[i].at);
        td_members(o, d, (const char *const[]){"run", "generation", "seed", NULL});
        if (end) {
            ro_td_num(o, d, "bred");
            ro_td_num(o, d, "rejected");
            ro_td_num(o, d, "archive_size");
            td_pairs(o, rj_obj(d, "champions"));
            ro_td_num(o, d, "seconds");
        } else
            ro_printf(o, "<td colspan=\"5\" class=\"muted\">in progress (or interrupted)</td>");
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no generation has run yet");
}

/* ---- gate rejections and breed failures ---- */

static void ro_reasons(rout *o, const json_t *reasons) {
    ro_puts(o, "<td><ul class=\"reasons\">");
    size_t i;
    const json_t *r;
    if (json_is_array(reasons)) json_array_foreach(reasons, i, r) {
            ro_puts(o, "<li class=\"reason\">");
            if (json_is_string(r))
                ro_esc(o, json_string_value(r));
            else {
                ro_puts(o, "<b>");
                ro_esc(o, rj_str(r, "gate"));
                ro_puts(o, "</b>: ");
                ro_json(o, json_object_get(r, "value"));
                ro_puts(o, " vs limit ");
                ro_json(o, json_object_get(r, "limit"));
                const char *detail = rj_str(r, "detail");
                if (detail && *detail) {
                    ro_puts(o, " \xE2\x80\x94 ");
                    ro_esc(o, detail);
                }
            }
            ro_puts(o, "</li>");
        }
    ro_puts(o, "</ul></td>");
}

void report_section_rejections(const report_ctx *c, rout *o) {
    static const char *const h[] = {"at",     "generation", "candidate", "operation", "parents",
                                    "family", "reasons",    "fitness",   NULL};
    size_t nc, rows = 0;
    table_open(o, "rejections", h, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        if (!is_type(c, i, "gate") || !json_is_false(json_object_get(d, "accepted"))) continue;
        const char *id = c->ev[i].model_id;
        const json_t *cand = report_last_event(c, "candidate", id);
        ro_puts(o, "<tr class=\"rejection\" data-id=\"");
        ro_esc(o, id ? id : "");
        ro_puts(o, "\">");
        ro_td(o, c->ev[i].at);
        ro_td_json(o, json_object_get(d, "generation"));
        ro_td(o, id);
        ro_td_json(o, json_object_get(cand, "op"));
        ro_td_json(o, json_object_get(cand, "parents"));
        size_t mi = report_find(c, id);
        const char *fam = rj_str(cand, "family");
        ro_td(o, fam ? fam : mi == SIZE_MAX ? NULL : report_family(c, mi));
        ro_reasons(o, json_object_get(d, "reasons"));
        ro_td_num(o, d, "fitness");
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no candidate has been rejected");

    static const char *const hb[] = {"at", "generation", "operation", "parents", "error", NULL};
    rows = 0;
    ro_puts(o, "<h3>Breed failures</h3>\n");
    table_open(o, "breed-failures", hb, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        if (!is_type(c, i, "breed-failed")) continue;
        ro_puts(o, "<tr class=\"breed-failed\">");
        ro_td(o, c->ev[i].at);
        td_members(o, d, (const char *const[]){"generation", "op", "parents", "error", NULL});
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no breeding failed");
}

/* ---- canary decisions ---- */

/* "rate_canary vs rate_champion (k/n vs k/n), p = p_worse" of a quality/errors check. */
static void td_prop(rout *o, const json_t *p, const char *p_key) {
    ro_puts(o, "<td>");
    double rc, rh, kc, nc, kh, nh, pv;
    if (!json_is_object(p) || json_is_false(json_object_get(p, "ran"))) {
        ro_puts(o, json_is_object(p) ? "not run" : "\xE2\x80\x94");
    } else {
        if (rj_num(p, "rate_canary", &rc) && rj_num(p, "rate_champion", &rh))
            ro_printf(o, "%.1f%% vs %.1f%%", 100 * rc, 100 * rh);
        if (rj_num(p, "k_canary", &kc) && rj_num(p, "n_canary", &nc) &&
            rj_num(p, "k_champion", &kh) && rj_num(p, "n_champion", &nh))
            ro_printf(o, " (%.0f/%.0f vs %.0f/%.0f)", kc, nc, kh, nh);
        if (rj_num(p, p_key, &pv)) ro_printf(o, "<br>p = %.3g", pv);
    }
    ro_puts(o, "</td>");
}

static void td_latency(rout *o, const json_t *lat, const json_t *arms) {
    ro_puts(o, "<td>");
    const json_t *ca = rj_obj(arms, "canary"), *ch = rj_obj(arms, "champion");
    double a, b;
    if (rj_num(ca, "p95_ms", &a) && rj_num(ch, "p95_ms", &b))
        ro_printf(o, "p95 %.3g vs %.3g ms", a, b);
    if (rj_num(ca, "p50_ms", &a) && rj_num(ch, "p50_ms", &b))
        ro_printf(o, "<br>p50 %.3g vs %.3g ms", a, b);
    if (json_is_object(lat)) {
        const char *cls = rj_str(lat, "class");
        if (cls) {
            ro_puts(o, "<br>");
            ro_esc(o, cls);
        }
        if (rj_num(lat, "p_greater", &a)) ro_printf(o, ", p = %.3g", a);
        if (rj_num(lat, "hl_estimate", &a)) ro_printf(o, ", HL %.3g", a);
    }
    ro_puts(o, "</td>");
}

void report_section_canary(const report_ctx *c, rout *o) {
    static const char *const h[] = {"at",         "capability",
                                    "challenger", "champion",
                                    "decision",   "step",
                                    "weight",     "requests",
                                    "quality",    "latency",
                                    "errors",     "safety alerts",
                                    "reasons",    "scores before \xE2\x86\x92 after",
                                    NULL};
    size_t nc, rows = 0;
    table_open(o, "canary", h, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        if (!is_type(c, i, "canary")) continue;
        const char *dec = rj_str(d, "decision");
        const json_t *v = rj_obj(d, "verdict");
        ro_puts(o, "<tr class=\"canary decision-");
        ro_esc(o, dec ? dec : "unknown");
        ro_puts(o, "\" data-id=\"");
        ro_esc(o, c->ev[i].model_id ? c->ev[i].model_id : "");
        ro_puts(o, "\" data-decision=\"");
        ro_esc(o, dec ? dec : "");
        ro_puts(o, "\">");
        ro_td(o, c->ev[i].at);
        td_members(o, d, (const char *const[]){"capability", "challenger", "champion", NULL});
        ro_puts(o, "<td class=\"decision\">");
        ro_esc(o, dec);
        ro_puts(o, "</td>");
        ro_td_num(o, d, "step");
        ro_td_num(o, d, "weight");
        ro_td_num(o, d, "requests");
        td_prop(o, json_object_get(v, "quality"), "p_worse");
        td_latency(o, json_object_get(v, "latency"), rj_obj(d, "arms"));
        td_prop(o, json_object_get(v, "errors"), "p_worse");
        ro_td_num(o, v, "safety_alerts");
        ro_reasons(o, json_object_get(d, "reasons"));
        const json_t *sc = rj_obj(d, "scores");
        ro_puts(o, "<td>");
        if (sc) {
            ro_pairs(o, rj_obj(sc, "before"), ", ");
            ro_puts(o, " \xE2\x86\x92 ");
            ro_pairs(o, rj_obj(sc, "after"), ", ");
        } else
            ro_esc(o, NULL);
        ro_puts(o, "</td></tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no canary has run");

    /* the repairs: canaries that carried held-out before/after scores */
    static const char *const hr[] = {"at",       "capability", "challenger", "champion",
                                     "decision", "before",     "after",      NULL};
    rows = 0;
    ro_puts(o, "<h3>Repairs: held-out scores before and after</h3>\n");
    table_open(o, "repairs", hr, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        const json_t *sc = is_type(c, i, "canary") ? rj_obj(d, "scores") : NULL;
        if (!sc) continue;
        ro_puts(o, "<tr class=\"repair\" data-id=\"");
        ro_esc(o, c->ev[i].model_id ? c->ev[i].model_id : "");
        ro_puts(o, "\">");
        ro_td(o, c->ev[i].at);
        td_members(o, d,
                   (const char *const[]){"capability", "challenger", "champion", "decision", NULL});
        td_pairs(o, rj_obj(sc, "before"));
        td_pairs(o, rj_obj(sc, "after"));
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no canary carried before/after scores");
}

/* ---- promotions, rollbacks, hard examples ---- */

void report_section_promotions(const report_ctx *c, rout *o) {
    static const char *const h[] = {"at", "event",       "capability", "from",
                                    "to", "by / reason", "report",     NULL};
    size_t nc, rows = 0;
    table_open(o, "promotions", h, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        bool promote = is_type(c, i, "promote");
        if (!promote && !is_type(c, i, "rollback")) continue;
        ro_printf(o, "<tr class=\"%s\">", c->ev[i].type);
        ro_td(o, c->ev[i].at);
        ro_td(o, c->ev[i].type);
        td_members(o, d, (const char *const[]){"capability", "from", "to", NULL});
        ro_td_json(o, json_object_get(d, promote ? "by" : "reason"));
        ro_td_json(o, json_object_get(d, "report_seq"));
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no promotion or rollback yet");

    static const char *const hh[] = {"at",    "generation", "capability", "champion",
                                     "mined", "corpus",     "path",       NULL};
    rows = 0;
    ro_puts(o, "<h3>Hard examples mined</h3>\n");
    table_open(o, "hard-examples", hh, &nc);
    for (size_t i = 0; i < c->n_ev; i++) {
        const json_t *d = c->detail[i];
        if (!is_type(c, i, "hard-examples")) continue;
        ro_puts(o, "<tr class=\"hard-examples\">");
        ro_td(o, c->ev[i].at);
        td_members(o, d, (const char *const[]){"generation", "capability", NULL});
        ro_td(o, c->ev[i].model_id);
        ro_td_num(o, d, "n");
        const char *corpus = rj_str(d, "corpus");
        ro_puts(o, "<td><code>");
        if (corpus) ro_label(o, corpus, 12);
        ro_puts(o, "</code></td>");
        ro_td_json(o, json_object_get(d, "path"));
        ro_puts(o, "</tr>\n");
        rows++;
    }
    table_close(o, rows, nc, "no hard examples mined yet");
}
