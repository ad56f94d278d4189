/* report: the lineage graph (report.h): which models it draws, as SVG (laid out by
 * report_layout.c) and as DOT. */
#include <stdlib.h>
#include <string.h>

#include "daemon/report_internal.h"

/* Geometry of the SVG, in pixels: a node box, the spacing of slots and layers. */
#define NODE_W    180
#define NODE_H    40
#define COL_W     200
#define ROW_H     96
#define MARGIN    20
#define LABEL_CPS 24 /* code points of an id shown in a box (the whole id is in its title) */

static const char *const kind_fill[][2] = {
    {"base", "#dbe7f6"},      {"adapter", "#e3f2de"},   {"merged", "#f6ecd6"},
    {"distilled", "#eadff5"}, {"quantized", "#e8e8e8"},
};

static const char *fill_of(const char *kind) {
    for (size_t i = 0; i < sizeof kind_fill / sizeof *kind_fill; i++)
        if (strcmp(kind, kind_fill[i][0]) == 0) return kind_fill[i][1];
    return "#f4f4f4";
}

void eco_report_lineage_free(eco_report_lineage *g) {
    if (!g) return;
    for (size_t i = 0; g->nodes && i < g->n_nodes; i++) {
        free(g->nodes[i].id);
        free(g->nodes[i].kind);
        free(g->nodes[i].op);
        free(g->nodes[i].family);
        free(g->nodes[i].caps);
        free(g->nodes[i].classes);
    }
    free(g->nodes);
    free(g->edges);
    free(g->edge_base);
    memset(g, 0, sizeof *g);
}

/* Marks model i and its ancestors (parents and base, within the registry) in keep. */
static void keep_with_ancestors(const report_ctx *c, size_t i, bool *keep, size_t *stack) {
    size_t top = 0;
    if (i >= c->n_models || keep[i]) return;
    keep[i] = true;
    stack[top++] = i;
    while (top) {
        const eco_genome *g = &c->genomes[stack[--top]];
        for (size_t k = 0; k <= g->n_parents; k++) {
            const char *p = k < g->n_parents ? g->parents[k] : g->base;
            size_t j = report_find(c, p);
            if (j != SIZE_MAX && !keep[j]) {
                keep[j] = true;
                stack[top++] = j; /* each model is pushed at most once: top <= n_models */
            }
        }
    }
}

static eco_status fill_node(const report_ctx *c, size_t i, eco_report_node *nd) {
    const eco_genome *g = &c->genomes[i];
    eco_buf caps = {0}, cls = {0};
    bool ok = true;
    for (size_t k = 0; k < g->n_capabilities; k++)
        ok = ok && (k == 0 || eco_buf_puts(&caps, ", ")) && eco_buf_puts(&caps, g->capabilities[k]);
    const json_t *gate = report_last_event(c, "gate", g->id);
    const json_t *acc = json_is_object(gate) ? json_object_get(gate, "accepted") : NULL;
    ok = ok && eco_buf_printf(&cls, "kind-%s", eco_genome_kind_str(g->kind));
    if (report_is_champion(c, g->id)) ok = ok && eco_buf_puts(&cls, " champion");
    if (report_in_archive(c, g->id)) ok = ok && eco_buf_puts(&cls, " archive");
    if (json_is_false(acc)) ok = ok && eco_buf_puts(&cls, " rejected");
    if (json_is_true(acc)) ok = ok && eco_buf_puts(&cls, " accepted");
    nd->id = eco_strdup(g->id);
    nd->kind = eco_strdup(eco_genome_kind_str(g->kind));
    nd->op = eco_strdup(g->op_name ? g->op_name : "");
    nd->family = eco_strdup(report_family(c, i));
    nd->caps = caps.data ? caps.data : eco_strdup("");
    nd->classes = cls.data;
    if (!ok || !nd->id || !nd->kind || !nd->op || !nd->family || !nd->caps || !nd->classes) {
        if (!nd->caps) eco_buf_free(&caps);
        if (!nd->classes) eco_buf_free(&cls);
        return eco_error(ECO_STATUS_ENOMEM, "report: lineage: out of memory");
    }
    return ECO_STATUS_OK;
}

static eco_status add_edges(const report_ctx *c, const size_t *node_of, eco_report_lineage *out) {
    size_t cap = 0;
    for (size_t n = 0; n < out->n_nodes; n++) {
        const eco_genome *g = &c->genomes[report_find(c, out->nodes[n].id)];
        size_t first = out->n_edges; /* this node's edges are out->edges[first..] */
        for (size_t k = 0; k <= g->n_parents; k++) {
            const char *p = k < g->n_parents ? g->parents[k] : g->base;
            size_t j = report_find(c, p);
            if (j == SIZE_MAX || node_of[j] == SIZE_MAX) continue;
            /* a bred child's base is reached through its parents: its own edge only when no
             * parent is drawn (an imported adapter), so the base does not fan out to all */
            if (k == g->n_parents && out->n_edges > first) continue;
            bool dup = false; /* a base that is also a parent: one edge */
            for (size_t e = first; e < out->n_edges; e++)
                if (out->edges[2 * e] == node_of[j] && out->edges[2 * e + 1] == n) dup = true;
            if (dup) continue;
            if (out->n_edges == cap) {
                size_t nc = cap ? 2 * cap : 64;
                size_t *e2 = eco_malloc_array(nc, 2 * sizeof *e2);
                bool *b2 = eco_malloc_array(nc, sizeof *b2);
                if (!e2 || !b2) {
                    free(e2);
                    free(b2);
                    return eco_error(ECO_STATUS_ENOMEM, "report: lineage: out of memory");
                }
                if (out->n_edges) {
                    memcpy(e2, out->edges, out->n_edges * 2 * sizeof *e2);
                    memcpy(b2, out->edge_base, out->n_edges * sizeof *b2);
                }
                free(out->edges);
                free(out->edge_base);
                out->edges = e2;
                out->edge_base = b2;
                cap = nc;
            }
            out->edges[2 * out->n_edges] = node_of[j];
            out->edges[2 * out->n_edges + 1] = n;
            out->edge_base[out->n_edges] = k == g->n_parents;
            out->n_edges++;
        }
    }
    return ECO_STATUS_OK;
}

eco_status report_lineage_from_ctx(const report_ctx *c, size_t max_nodes, eco_report_lineage *out) {
    memset(out, 0, sizeof *out);
    if (!max_nodes) max_nodes = ECO_REPORT_MAX_LINEAGE;
    size_t n = c->n_models;
    bool *keep = eco_calloc_array(n + 1, sizeof *keep);
    size_t *stack = eco_malloc_array(n + 1, sizeof *stack);
    size_t *node_of = eco_malloc_array(n + 1, sizeof *node_of);
    out->nodes = eco_calloc_array(n + 1, sizeof *out->nodes);
    eco_status st = ECO_STATUS_OK;
    if (!keep || !stack || !node_of || !out->nodes) {
        st = eco_error(ECO_STATUS_ENOMEM, "report: lineage: out of memory");
        goto done;
    }
    out->n_models = n;
    if (n <= max_nodes) {
        for (size_t i = 0; i < n; i++) keep[i] = true;
    } else {
        for (size_t i = 0; i < n; i++)
            if (report_is_champion(c, c->ids[i]) || report_in_archive(c, c->ids[i]))
                keep_with_ancestors(c, i, keep, stack);
        size_t kept = 0;
        for (size_t i = 0; i < n; i++) kept += keep[i];
        for (size_t i = n; i-- > 0 && kept < max_nodes;)
            if (!keep[i]) {
                keep[i] = true;
                kept++;
            }
    }
    for (size_t i = 0; i < n; i++) {
        node_of[i] = SIZE_MAX;
        if (!keep[i]) continue;
        node_of[i] = out->n_nodes;
        if ((st = fill_node(c, i, &out->nodes[out->n_nodes++]))) goto done;
    }
    st = add_edges(c, node_of, out);
done:
    free(keep);
    free(stack);
    free(node_of);
    if (st) eco_report_lineage_free(out);
    return st;
}

eco_status eco_report_lineage_build(eco_registry *r, size_t max_nodes, eco_report_lineage *out) {
    report_ctx c;
    eco_status st = report_ctx_load(r, &c);
    if (!st) st = report_lineage_from_ctx(&c, max_nodes, out);
    report_ctx_free(&c);
    return st;
}

/* ---- SVG ---- */

typedef struct geometry {
    const eco_report_layout *l;
    size_t max_width;
} geometry;

static double slot_x(const geometry *g, size_t layer, size_t pos) {
    double offset = (double)(g->max_width - g->l->width[layer]) * COL_W / 2.0;
    return MARGIN + offset + (double)pos * COL_W + (COL_W - NODE_W) / 2.0;
}

static double layer_y(size_t layer) { return MARGIN + (double)layer * ROW_H; }

static void svg_edge(rout *o, const eco_report_lineage *g, const geometry *geo, size_t e) {
    const eco_report_layout *l = geo->l;
    size_t from = g->edges[2 * e], to = g->edges[2 * e + 1];
    ro_puts(o, "<path class=\"edge");
    if (g->edge_base[e]) ro_puts(o, " base");
    ro_puts(o, "\" data-from=\"");
    ro_esc(o, g->nodes[from].id);
    ro_puts(o, "\" data-to=\"");
    ro_esc(o, g->nodes[to].id);
    double x = slot_x(geo, l->layer[from], l->pos[from]) + NODE_W / 2.0;
    double y = layer_y(l->layer[from]) + NODE_H;
    ro_printf(o, "\" d=\"M%.1f,%.1f", x, y);
    size_t layer = l->layer[from] + 1;
    for (size_t k = l->route_off[e]; k <= l->route_off[e + 1]; k++, layer++) {
        bool last = k == l->route_off[e + 1];
        double nx =
            (last ? slot_x(geo, l->layer[to], l->pos[to]) : slot_x(geo, layer, l->route_pos[k])) +
            NODE_W / 2.0;
        double ny = layer_y(layer);
        double mid = (y + ny) / 2.0;
        ro_printf(o, " C%.1f,%.1f %.1f,%.1f %.1f,%.1f", x, mid, nx, mid, nx, ny);
        if (!last) ro_printf(o, " L%.1f,%.1f", nx, ny + NODE_H); /* through the virtual slot */
        x = nx;
        y = ny + NODE_H;
    }
    ro_puts(o, "\" marker-end=\"url(#lineage-arrow)\"/>\n");
}

static void svg_node(rout *o, const eco_report_node *nd, double x, double y) {
    ro_puts(o, "<g class=\"node ");
    ro_esc(o, nd->classes);
    ro_puts(o, "\" data-id=\"");
    ro_esc(o, nd->id);
    ro_printf(o, "\" transform=\"translate(%.1f,%.1f)\"><title>", x, y);
    ro_esc(o, nd->id);
    ro_puts(o, "\n");
    ro_esc(o, nd->kind);
    ro_puts(o, " \xC2\xB7 ");
    ro_esc(o, nd->op);
    if (*nd->family) {
        ro_puts(o, "\nfamily: ");
        ro_esc(o, nd->family);
    }
    if (*nd->caps) {
        ro_puts(o, "\ncapabilities: ");
        ro_esc(o, nd->caps);
    }
    ro_printf(o, "</title><rect width=\"%d\" height=\"%d\" rx=\"6\" fill=\"%s\"/>", NODE_W, NODE_H,
              fill_of(nd->kind));
    ro_puts(o, "<text x=\"8\" y=\"17\" class=\"id\">");
    ro_label(o, nd->id, LABEL_CPS);
    ro_puts(o, "</text><text x=\"8\" y=\"33\" class=\"sub\">");
    ro_esc(o, nd->kind);
    ro_puts(o, " \xC2\xB7 ");
    ro_esc(o, nd->op);
    ro_puts(o, "</text></g>\n");
}

static const char svg_style[] =
    "<style>#lineage text{font:12px sans-serif;fill:#222}#lineage .sub{fill:#555;font-size:11px}"
    "#lineage rect{stroke:#667;stroke-width:1}#lineage .archive rect{stroke:#2a7;"
    "stroke-width:2}#lineage .champion rect{stroke:#c90;stroke-width:3}#lineage .archive .id{"
    "font-weight:bold}#lineage .rejected rect{fill:#f7d4d4;stroke:#b33}#lineage .edge{"
    "fill:none;stroke:#889;stroke-width:1.3}#lineage .edge.base{stroke-dasharray:5 4}"
    "</style>\n";

eco_status eco_report_lineage_svg(const eco_report_lineage *g, eco_buf *out) {
    if (!g || !out) return eco_error(ECO_STATUS_EINVAL, "report: lineage svg: NULL argument");
    eco_report_layout l;
    eco_status st = eco_report_layout_dag(g->n_nodes, g->edges, g->n_edges, &l);
    if (st) return st;
    geometry geo = {&l, 1};
    for (size_t k = 0; k < l.n_layers; k++)
        if (l.width[k] > geo.max_width) geo.max_width = l.width[k];
    double w = 2 * MARGIN + (double)geo.max_width * COL_W;
    double h = 2 * MARGIN + (l.n_layers ? (double)l.n_layers * ROW_H - (ROW_H - NODE_H) : 40);
    rout o = {out, true};
    ro_printf(&o,
              "<svg id=\"lineage\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
              "role=\"img\" aria-label=\"lineage graph\" data-models=\"%zu\" data-nodes=\"%zu\" "
              "data-crossings=\"%zu\">\n",
              w, h, w, h, g->n_models, g->n_nodes, l.crossings);
    ro_puts(&o, svg_style);
    ro_puts(&o, "<defs><marker id=\"lineage-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
                "markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path d=\"M0,0 L10,5 L0,10 "
                "z\" fill=\"#889\"/></marker></defs>\n");
    if (!g->n_nodes)
        ro_printf(&o, "<text x=\"%d\" y=\"%d\">no models registered yet</text>\n", MARGIN,
                  MARGIN + 15);
    for (size_t e = 0; e < g->n_edges; e++) svg_edge(&o, g, &geo, e);
    for (size_t v = 0; v < g->n_nodes; v++)
        svg_node(&o, &g->nodes[v], slot_x(&geo, l.layer[v], l.pos[v]), layer_y(l.layer[v]));
    ro_puts(&o, "</svg>\n");
    eco_report_layout_free(&l);
    return o.ok ? ECO_STATUS_OK
                : eco_error(ECO_STATUS_ENOMEM, "report: lineage svg: out of memory");
}

/* ---- DOT ---- */

static void dot_str(rout *o, const char *s) {
    ro_puts(o, "\"");
    if (o->ok && !eco_report_dot_escape(o->b, s)) o->ok = false;
    ro_puts(o, "\"");
}

eco_status eco_report_lineage_dot(const eco_report_lineage *g, eco_buf *out) {
    if (!g || !out) return eco_error(ECO_STATUS_EINVAL, "report: lineage dot: NULL argument");
    rout o = {out, true};
    ro_puts(&o, "digraph lineage {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", "
                "fontname=\"Helvetica\", fontsize=10];\n  edge [color=\"#888899\"];\n");
    for (size_t v = 0; v < g->n_nodes; v++) {
        const eco_report_node *nd = &g->nodes[v];
        eco_buf label = {0};
        bool ok = eco_buf_printf(&label, "%s\n%s \xC2\xB7 %s", nd->id, nd->kind, nd->op);
        ro_puts(&o, "  ");
        dot_str(&o, nd->id);
        ro_puts(&o, " [label=");
        dot_str(&o, ok ? label.data : nd->id);
        ro_printf(&o, ", fillcolor=\"%s\"", fill_of(nd->kind));
        if (strstr(nd->classes, "champion")) ro_puts(&o, ", penwidth=3, color=\"#cc9900\"");
        if (strstr(nd->classes, "rejected")) ro_puts(&o, ", fillcolor=\"#f7d4d4\"");
        ro_puts(&o, ", class=");
        dot_str(&o, nd->classes);
        ro_puts(&o, "];\n");
        eco_buf_free(&label);
        if (!ok) o.ok = false;
    }
    for (size_t e = 0; e < g->n_edges; e++) {
        ro_puts(&o, "  ");
        dot_str(&o, g->nodes[g->edges[2 * e]].id);
        ro_puts(&o, " -> ");
        dot_str(&o, g->nodes[g->edges[2 * e + 1]].id);
        ro_puts(&o, g->edge_base[e] ? " [style=dashed];\n" : ";\n");
    }
    ro_puts(&o, "}\n");
    return o.ok ? ECO_STATUS_OK
                : eco_error(ECO_STATUS_ENOMEM, "report: lineage dot: out of memory");
}
