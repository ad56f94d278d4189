/* GET /: the loop's report page (daemon's eco_report_html, report.h) rendered from the
 * registry at request, kept for SERVER_REPORT_TTL_S seconds so that a page refreshed by many
 * browsers renders once per interval. The page is self-contained (inline SVG and style, no
 * script), so it is served as one HTML body. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/report.h"
#include "server/server_internal.h"

struct srv_report_cache {
    pthread_mutex_t mu; /* the fields below; held while rendering, so one render at a time */
    char *html;
    size_t len;
    double at; /* eco_now() of the render; valid while html */
};

eco_status srv_report_init(eco_server *s) {
    s->report = calloc(1, sizeof *s->report);
    if (!s->report) return eco_error(ECO_STATUS_ENOMEM, "server start: out of memory");
    pthread_mutex_init(&s->report->mu, NULL);
    return ECO_STATUS_OK;
}

void srv_report_free(eco_server *s) {
    if (!s->report) return;
    pthread_mutex_destroy(&s->report->mu);
    free(s->report->html);
    free(s->report);
    s->report = NULL;
}

void srv_handle_report(eco_server *s, answer *a) {
    srv_report_cache *c = s->report;
    pthread_mutex_lock(&c->mu);
    double now = eco_now();
    eco_status st = ECO_STATUS_OK;
    if (!c->html || now - c->at > SERVER_REPORT_TTL_S) {
        eco_buf b = {0};
        pthread_mutex_lock(&s->reg_mu);
        st = eco_report_html(s->reg, NULL, &b);
        pthread_mutex_unlock(&s->reg_mu);
        if (st == ECO_STATUS_OK) {
            free(c->html);
            c->html = b.data;
            c->len = b.len;
            c->at = now;
        } else {
            eco_buf_free(&b);
        }
    }
    char *copy = st == ECO_STATUS_OK ? malloc(c->len + 1) : NULL;
    if (copy) memcpy(copy, c->html, c->len + 1);
    size_t len = c->len;
    pthread_mutex_unlock(&c->mu);
    if (st) return srv_answer_error(a, 500, NULL, NULL, "report: %s", eco_last_error());
    if (!copy) return srv_answer_error(a, 500, NULL, NULL, "report: out of memory");
    a->status = 200;
    a->content_type = "text/html; charset=utf-8";
    a->body = copy;
    a->len = len;
}
