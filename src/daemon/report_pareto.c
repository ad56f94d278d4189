/* report: the Pareto front as an SVG scatter of two objectives (report.h,
 * eco_report_pareto_svg). The archive holds no dominated member over all its objectives;
 * on the two drawn, some members are beaten by another: those are grey ("dominated"), and
 * the rest ("front") are joined in x order. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/report_internal.h"

#define PW       760 /* the picture */
#define PH       440
#define PLOT_L   80 /* the plot area inside it */
#define PLOT_R   560
#define PLOT_T   24
#define PLOT_B   380
#define N_TICKS  5
#define LABEL_CP 22

/* The objective index for name (NULL: dflt, else fallback); ENOTFOUND naming it. */
static eco_status pick_objective(const eco_pareto *a, const char *name, const char *dflt,
                                 size_t fallback, size_t *out) {
    if (eco_pareto_objective_index(a, name ? name : dflt, out) == ECO_STATUS_OK)
        return ECO_STATUS_OK;
    size_t m = eco_pareto_n_objectives(a);
    if (name) {
        char have[ECO_PARETO_MAX_OBJECTIVES * (ECO_PARETO_NAME_MAX + 2) + 1] = "";
        for (size_t k = 0; k < m; k++) {
            if (k) strcat(have, ", ");
            strncat(have, eco_pareto_objective_at(a, k).name, ECO_PARETO_NAME_MAX);
        }
        return eco_error(ECO_STATUS_ENOTFOUND,
                         "report: pareto: no objective '%s' (the archive has %s)", name, have);
    }
    *out = fallback < m ? fallback : 0;
    return ECO_STATUS_OK;
}

typedef struct axis {
    double lo, hi; /* the value range drawn */
    double p0, p1; /* pixels of lo and hi */
} axis;

static axis make_axis(const double *v, size_t n, double p0, double p1) {
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo) lo = v[i];
        if (v[i] > hi) hi = v[i];
    }
    double span = hi - lo;
    if (!(span > 0)) span = fabs(lo) > 0 ? fabs(lo) * 0.2 : 1.0;
    return (axis){lo - span * 0.08, hi + span * 0.08, p0, p1};
}

static double to_px(const axis *ax, double v) {
    return ax->p0 + (v - ax->lo) / (ax->hi - ax->lo) * (ax->p1 - ax->p0);
}

static void axis_title(rout *o, const eco_pareto *a, size_t k) {
    eco_pareto_objective ob = eco_pareto_objective_at(a, k);
    ro_esc(o, ob.name);
    ro_puts(o, ob.dir == ECO_PARETO_DIR_MAX ? " (higher is better)" : " (lower is better)");
}

static void draw_axes(rout *o, const eco_pareto *a, size_t xi, size_t yi, const axis *ax,
                      const axis *ay) {
    ro_printf(o, "<g class=\"axes\"><line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>", PLOT_L,
              PLOT_B, PLOT_R, PLOT_B);
    ro_printf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", PLOT_L, PLOT_T, PLOT_L,
              PLOT_B);
    for (int t = 0; t < N_TICKS; t++) {
        double fx = ax->lo + (ax->hi - ax->lo) * t / (N_TICKS - 1);
        double fy = ay->lo + (ay->hi - ay->lo) * t / (N_TICKS - 1);
        double px = to_px(ax, fx), py = to_px(ay, fy);
        ro_printf(o,
                  "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                  "<text class=\"tick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3g</text>",
                  px, PLOT_T, px, PLOT_B, px, PLOT_B + 16, fx);
        ro_printf(o,
                  "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                  "<text class=\"tick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.3g</text>\n",
                  PLOT_L, py, PLOT_R, py, PLOT_L - 6, py + 4, fy);
    }
    ro_printf(o, "<text class=\"title\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">",
              (PLOT_L + PLOT_R) / 2, PLOT_B + 40);
    axis_title(o, a, xi);
    ro_printf(o,
              "</text><text class=\"title\" transform=\"translate(18,%d) rotate(-90)\" "
              "text-anchor=\"middle\">",
              (PLOT_T + PLOT_B) / 2);
    axis_title(o, a, yi);
    ro_puts(o, "</text></g>\n");
}

static int cmp_x_index(const void *p, const void *q) { return eco_cmp_keyed(p, q); }

static const char pareto_style[] =
    "<style>#pareto-front text{font:11px sans-serif;fill:#333}#pareto-front .title{"
    "font-size:12px;font-weight:bold}#pareto-front .axes line{stroke:#444}#pareto-front "
    ".grid{stroke:#e4e4e4 !important}#pareto-front .front-line{fill:none;stroke:#2a6fb0;"
    "stroke-width:2}#pareto-front circle.front{fill:#2a6fb0}#pareto-front "
    "circle.dominated{fill:#bbb}#pareto-front .label.dominated{fill:#999}</style>\n";

eco_status eco_report_pareto_svg(const eco_pareto *a, const char *x_obj, const char *y_obj,
                                 eco_buf *out) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "report: pareto: NULL argument");
    rout o = {out, true};
    size_t n = a ? eco_pareto_count(a) : 0;
    ro_printf(&o,
              "<svg id=\"pareto-front\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
              "role=\"img\" aria-label=\"Pareto front\" data-members=\"%zu\">\n",
              PW, PH, PW, PH, n);
    ro_puts(&o, pareto_style);
    if (n == 0) {
        ro_puts(&o, "<text x=\"20\" y=\"30\">no archive yet: no candidate has been gated</text>"
                    "</svg>\n");
        return o.ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "report: pareto: out of memory");
    }
    size_t xi, yi;
    eco_status st;
    if ((st = pick_objective(a, x_obj, "p95_ms", 1, &xi)) ||
        (st = pick_objective(a, y_obj, "quality", 0, &yi)))
        return st;
    double *xs = eco_malloc_array(n, sizeof *xs), *ys = eco_malloc_array(n, sizeof *ys);
    bool *front = eco_malloc_array(n, sizeof *front);
    eco_keyed *order = eco_malloc_array(n, sizeof *order);
    if (!xs || !ys || !front || !order) {
        st = eco_error(ECO_STATUS_ENOMEM, "report: pareto: out of memory");
        goto done;
    }
    eco_pareto_objective pair[2] = {eco_pareto_objective_at(a, xi), eco_pareto_objective_at(a, yi)};
    for (size_t i = 0; i < n; i++) {
        xs[i] = eco_pareto_values(a, i)[xi];
        ys[i] = eco_pareto_values(a, i)[yi];
    }
    for (size_t i = 0; i < n; i++) {
        front[i] = true;
        double vi[2] = {xs[i], ys[i]};
        for (size_t j = 0; j < n && front[i]; j++) {
            double vj[2] = {xs[j], ys[j]};
            if (j != i && eco_pareto_dominates(pair, 2, vj, vi)) front[i] = false;
        }
        order[i] = (eco_keyed){xs[i], i};
    }
    qsort(order, n, sizeof *order, cmp_x_index);
    axis ax = make_axis(xs, n, PLOT_L, PLOT_R), ay = make_axis(ys, n, PLOT_B, PLOT_T);
    draw_axes(&o, a, xi, yi, &ax, &ay);
    ro_puts(&o, "<polyline class=\"front-line\" points=\"");
    for (size_t k = 0; k < n; k++)
        if (front[order[k].i])
            ro_printf(&o, "%.1f,%.1f ", to_px(&ax, xs[order[k].i]), to_px(&ay, ys[order[k].i]));
    ro_puts(&o, "\"/>\n");
    for (size_t k = 0; k < n; k++) {
        size_t i = order[k].i;
        const char *cls = front[i] ? "front" : "dominated";
        const char *id = eco_pareto_id(a, i);
        double px = to_px(&ax, xs[i]), py = to_px(&ay, ys[i]);
        ro_printf(&o, "<circle class=\"member %s\" data-id=\"", cls);
        ro_esc(&o, id);
        ro_printf(&o,
                  "\" data-x=\"%.17g\" data-y=\"%.17g\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>",
                  xs[i], ys[i], px, py);
        ro_esc(&o, id);
        ro_printf(&o, ": %s %.4g, %s %.4g</title></circle>", pair[0].name, xs[i], pair[1].name,
                  ys[i]);
        ro_printf(&o, "<text class=\"label %s\" x=\"%.1f\" y=\"%.1f\">", cls, px + 7, py - 6);
        ro_label(&o, id, LABEL_CP);
        ro_puts(&o, "</text>\n");
    }
    ro_puts(&o, "</svg>\n");
    st = o.ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "report: pareto: out of memory");
done:
    free(xs);
    free(ys);
    free(front);
    free(order);
    return st;
}
