/* report: the page itself (report.h, eco_report_html / eco_report_write): the registry read
 * once (report_data.c), the pictures drawn (report_lineage.c, report_pareto.c), the tables
 * (report_tables.c), all inside one HTML document with an inline style sheet. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/report_internal.h"

static const char page_style[] =
    "body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:28px 0 8px;border-bottom:1px "
    "solid #ddd}h3{font-size:15px;margin:18px 0 6px}.meta,.muted{color:#666}"
    "table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}th,td{border:1px solid "
    "#ddd;padding:3px 7px;text-align:left;vertical-align:top}th{background:#f3f5f8}"
    "td.num{text-align:right;font-variant-numeric:tabular-nums}tr.none td{color:#888;"
    "font-style:italic}ul.reasons{margin:0;padding-left:16px}.decision-abort td.decision,"
    "tr.rollback td:nth-child(2){color:#b22}.decision-promote td.decision{color:#171}"
    ".scroll{overflow:auto;max-width:100%;border:1px solid #eee}.empty{padding:10px 14px;"
    "background:#fff8e0;border:1px solid #eed78a}.error{color:#b22}nav a{margin-right:12px}"
    "code{font-size:12px}.legend span{margin-right:14px}#canary,#rejections{display:block;"
    "overflow-x:auto;max-width:100%}";

typedef struct report_parts {
    eco_buf page, lineage_svg, lineage_dot, pareto_svg;
} report_parts;

static void parts_free(report_parts *p) {
    eco_buf_free(&p->page);
    eco_buf_free(&p->lineage_svg);
    eco_buf_free(&p->lineage_dot);
    eco_buf_free(&p->pareto_svg);
}

static void header(const report_ctx *c, const eco_report_options *o, rout *out) {
    char now[32];
    const char *at = o ? o->generated_at : NULL;
    if (!at) {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
        at = now;
    }
    const char *title = o && o->title ? o->title : "tiny-ecology report";
    ro_puts(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>");
    ro_esc(out, title);
    ro_puts(out, "</title>\n<meta name=\"generator\" content=\"tiny-ecology " ECO_VERSION_STRING
                 "\">\n<style>");
    ro_puts(out, page_style);
    ro_puts(out, "</style></head>\n<body>\n<header><h1>");
    ro_esc(out, title);
    ro_puts(out, "</h1><p class=\"meta\">Generated ");
    ro_esc(out, at);
    ro_puts(out, " from the data folder <code>");
    ro_esc(out, eco_registry_data_dir(c->r));
    ro_printf(out, "</code>: %zu models, %zu events", c->n_models, c->n_ev);
    if (c->archive)
        ro_printf(out, ", archive of generation %lld with %zu members",
                  (long long)c->archive_generation, eco_pareto_count(c->archive));
    ro_puts(out, ".</p></header>\n");
    if (!c->loop_ran)
        ro_printf(out,
                  "<p id=\"nothing-yet\" class=\"empty\">Nothing has run yet: the registry "
                  "holds %zu models and no event of the loop (no generation, gate, canary or "
                  "archive). Run <code>ecology run --config FILE</code> or <code>make "
                  "demo</code>, then write this report again.</p>\n",
                  c->n_models);
    ro_puts(out,
            "<nav><a href=\"#sec-champions\">champions</a><a href=\"#sec-front\">Pareto "
            "front</a><a href=\"#sec-lineage\">lineage</a><a href=\"#sec-generations\">"
            "generations</a><a href=\"#sec-rejections\">rejections</a><a "
            "href=\"#sec-canary\">canary</a><a href=\"#sec-promotions\">promotions</a></nav>\n");
}

static eco_status build(eco_registry *r, const eco_report_options *o, report_parts *p) {
    memset(p, 0, sizeof *p);
    report_ctx c;
    eco_report_lineage g = {0};
    eco_status st = report_ctx_load(r, &c);
    if (!st) st = report_lineage_from_ctx(&c, o ? o->max_lineage : 0, &g);
    if (!st) st = eco_report_lineage_svg(&g, &p->lineage_svg);
    if (!st) st = eco_report_lineage_dot(&g, &p->lineage_dot);
    if (!st)
        st = eco_report_pareto_svg(c.archive, o ? o->x_objective : NULL, o ? o->y_objective : NULL,
                                   &p->pareto_svg);
    if (st) goto done;
    rout out = {&p->page, true};
    header(&c, o, &out);
    ro_puts(&out, "<section id=\"sec-champions\"><h2>Champions</h2>\n<p class=\"muted\">The "
                  "champion of each capability (its alias <code>C.champion</code>), the base "
                  "model of its family, and its latest stored scores.</p>\n");
    report_section_champions(&c, &out);
    ro_puts(&out, "</section>\n<section id=\"sec-front\"><h2>Pareto front</h2>\n");
    ro_puts(&out, "<p class=\"muted\">The archive's members on two of its objectives: blue "
                  "points are not beaten on both by another member and are joined; grey ones "
                  "are.</p>\n<div class=\"scroll\">");
    ro_puts(&out, p->pareto_svg.data);
    ro_puts(&out, "</div>\n<h3>Archive members</h3>\n");
    report_section_archive_table(&c, &out);
    ro_printf(&out,
              "</section>\n<section id=\"sec-lineage\"><h2>Lineage</h2>\n<p class=\"muted\">"
              "%zu of %zu models drawn, parents above children (dashed: an adapter's base). "
              "Also as <a href=\"" ECO_REPORT_DOT_FILE "\">" ECO_REPORT_DOT_FILE "</a> and "
              "<a href=\"" ECO_REPORT_SVG_FILE "\">" ECO_REPORT_SVG_FILE "</a>.</p>\n"
              "<p class=\"legend\"><span>gold border: champion</span><span>green border: in "
              "the archive</span><span>red: rejected by a gate</span></p>\n<div "
              "class=\"scroll\">",
              g.n_nodes, g.n_models);
    ro_puts(&out, p->lineage_svg.data);
    ro_puts(&out, "</div>\n</section>\n<section id=\"sec-generations\"><h2>Generations</h2>\n");
    report_section_generations(&c, &out);
    ro_puts(&out, "</section>\n<section id=\"sec-rejections\"><h2>Gate rejections</h2>\n");
    report_section_rejections(&c, &out);
    ro_puts(&out, "</section>\n<section id=\"sec-canary\"><h2>Canary decisions</h2>\n");
    report_section_canary(&c, &out);
    ro_puts(&out, "</section>\n<section id=\"sec-promotions\"><h2>Promotions and rollbacks</h2>\n");
    report_section_promotions(&c, &out);
    ro_puts(&out, "</section>\n</body></html>\n");
    if (!out.ok) st = eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
done:
    eco_report_lineage_free(&g);
    report_ctx_free(&c);
    if (st) parts_free(p);
    return st;
}

eco_status eco_report_html(eco_registry *r, const eco_report_options *o, eco_buf *out) {
    if (!r || !out) return eco_error(ECO_STATUS_EINVAL, "report: NULL argument");
    report_parts p;
    eco_status st = build(r, o, &p);
    if (st) return st;
    if (!eco_buf_append(out, p.page.data, p.page.len))
        st = eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    parts_free(&p);
    return st;
}

/* Writes dir/name atomically. */
static eco_status write_one(const char *dir, const char *name, const char *data, size_t len) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    if (!path) return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    snprintf(path, n, "%s/%s", dir, name);
    eco_status st = eco_write_file_atomic(path, data, len);
    free(path);
    return st;
}

/* A standalone SVG file: the XML declaration and the namespace the inline copy does without. */
static eco_status write_svg(const char *dir, const char *name, const eco_buf *svg) {
    static const char prefix[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                 "<svg xmlns=\"http://www.w3.org/2000/svg\" ";
    if (svg->len < 5 || strncmp(svg->data, "<svg ", 5) != 0)
        return eco_error(ECO_STATUS_EINVAL, "report: %s: not an SVG element", name);
    eco_buf b = {0};
    if (!eco_buf_puts(&b, prefix) || !eco_buf_append(&b, svg->data + 5, svg->len - 5)) {
        eco_buf_free(&b);
        return eco_error(ECO_STATUS_ENOMEM, "report: out of memory");
    }
    eco_status st = write_one(dir, name, b.data, b.len);
    eco_buf_free(&b);
    return st;
}

eco_status eco_report_write(eco_registry *r, const char *out_dir, const eco_report_options *o) {
    if (!r || !out_dir || !*out_dir)
        return eco_error(ECO_STATUS_EINVAL, "report: no output folder");
    eco_status st = eco_mkdir_p(out_dir);
    if (st) return st;
    report_parts p;
    if ((st = build(r, o, &p))) return st;
    if (!(st = write_svg(out_dir, ECO_REPORT_SVG_FILE, &p.lineage_svg)) &&
        !(st = write_svg(out_dir, ECO_REPORT_PARETO_FILE, &p.pareto_svg)) &&
        !(st = write_one(out_dir, ECO_REPORT_DOT_FILE, p.lineage_dot.data, p.lineage_dot.len)))
        st = write_one(out_dir, ECO_REPORT_INDEX_FILE, p.page.data, p.page.len);
    parts_free(&p);
    return st;
}
