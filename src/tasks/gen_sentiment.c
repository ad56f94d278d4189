/* sentiment.imdb@1 and sentiment.yelp@1: the UCI Sentiment Labelled Sentences (Kotzias et
 * al. 2015, CC BY 4.0), 1,000 sentences per domain, compiled in from
 * src/tasks/sentiment_data.c.
 *
 * "Review: Very little music or anything to speak of.\nSentiment:" -> " negative\n"
 *
 * Both domains share the format, so one adapter per domain can be trained and merged. The
 * source repeats a few sentences (same text, same label); repeats have the same prompt, so
 * they fall in the same split and never straddle train and eval. */
#include <string.h>

#include "tasks/tasks_internal.h"

bool sentiment_normalize_text(eco_buf *out, const char *text) {
    size_t start = out->len;
    bool space = true; /* drops leading spaces and collapses runs */
    for (const unsigned char *q = (const unsigned char *)text; *q; q++) {
        const char *rep = NULL;
        char one[2] = {0, 0};
        if (q[0] == 0xc2 && (q[1] == 0x85 || q[1] == 0x96 || q[1] == 0x97)) {
            rep = q[1] == 0x85 ? "..." : "-"; /* Windows-1252 ellipsis, en dash, em dash */
            q++;
        } else if (q[0] == 0xc2 && q[1] >= 0x80 && q[1] <= 0x9f) {
            rep = " "; /* other C1 controls */
            q++;
        } else if (*q < 0x20 || *q == 0x7f) {
            rep = " ";
        } else {
            one[0] = (char)*q;
            rep = one;
        }
        if (rep[0] == ' ' && rep[1] == '\0') {
            if (space) continue;
            space = true;
        } else {
            space = false;
        }
        if (!eco_buf_puts(out, rep)) return false;
    }
    while (out->len > start && out->data[out->len - 1] == ' ') out->data[--out->len] = '\0';
    return true;
}

static eco_status sentiment_row_item(const sentiment_row *rows, size_t count, const char *name, size_t i, eco_buf *p,
                                     eco_buf *c) {
    if (i >= count) return eco_error(ECO_STATUS_EINTERNAL, "%s: row %zu out of range", name, i);
    bool ok = eco_buf_puts(p, SENTIMENT_PREFIX) && sentiment_normalize_text(p, rows[i].text) && eco_buf_puts(p, SENTIMENT_SUFFIX) &&
              eco_buf_puts(c, rows[i].label ? " positive\n" : " negative\n");
    return ok ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", name);
}

static size_t imdb_count(void) { return eco_sentiment_imdb_count; }
static size_t yelp_count(void) { return eco_sentiment_yelp_count; }
static eco_status imdb_row(size_t i, eco_buf *p, eco_buf *c) {
    return sentiment_row_item(eco_sentiment_imdb_rows, eco_sentiment_imdb_count, "sentiment.imdb@1", i, p, c);
}
static eco_status yelp_row(size_t i, eco_buf *p, eco_buf *c) {
    return sentiment_row_item(eco_sentiment_yelp_rows, eco_sentiment_yelp_count, "sentiment.yelp@1", i, p, c);
}

const task_ops eco_task_ops_sentiment_imdb = {.count = imdb_count, .row = imdb_row};
const task_ops eco_task_ops_sentiment_yelp = {.count = yelp_count, .row = yelp_row};
