/* A progress line: redrawn in place on a terminal, one summary line otherwise. */
#include "ecology/core.h"

#include <unistd.h>

static void format_duration(char *buf, size_t n, double s) {
    if (s < 0 || s > 1e7) {
        snprintf(buf, n, "--");
    } else if (s < 60) {
        snprintf(buf, n, "%.1fs", s);
    } else if (s < 3600) {
        snprintf(buf, n, "%dm%02ds", (int)s / 60, (int)s % 60);
    } else {
        snprintf(buf, n, "%dh%02dm", (int)s / 3600, ((int)s % 3600) / 60);
    }
}

void eco_progress_begin(eco_progress *p, const char *label, double total, const char *unit) {
    p->label = label;
    p->unit = unit ? unit : "";
    p->total = total;
    p->done = 0;
    p->t_start = eco_now();
    p->t_last_draw = 0;
    p->tty = isatty(STDERR_FILENO) == 1;
    p->quiet = eco_log_get_level() > ECO_LOG_INFO;
}

static void draw(eco_progress *p, bool final) {
    double el = eco_now() - p->t_start;
    double rate = el > 0 ? p->done / el : 0;
    char eta[32], elapsed[32];
    format_duration(eta, sizeof eta, rate > 0 ? (p->total - p->done) / rate : -1);
    format_duration(elapsed, sizeof elapsed, el);
    if (final) {
        fprintf(stderr, "%s%s: %.0f %s in %s (%.1f %s/s)\n", p->tty ? "\r\033[K" : "", p->label,
                p->done, p->unit, elapsed, rate, p->unit);
    } else {
        double pct = p->total > 0 ? 100.0 * p->done / p->total : 0;
        fprintf(stderr, "\r\033[K%s: %.0f/%.0f %s (%.0f%%)  %.1f %s/s  eta %s", p->label, p->done,
                p->total, p->unit, pct, rate, p->unit, eta);
    }
    fflush(stderr);
}

void eco_progress_update(eco_progress *p, double done) {
    p->done = done;
    if (!p->tty || p->quiet) return;
    double t = eco_now();
    if (t - p->t_last_draw < 0.1) return;
    p->t_last_draw = t;
    draw(p, false);
}

void eco_progress_end(eco_progress *p) {
    if (p->quiet) return;
    draw(p, true);
}
