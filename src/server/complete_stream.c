/* Streaming answers: a generation thread turns each step into a server-sent event (text
 * that can no longer change: held back before a possible stop sequence and an incomplete
 * UTF-8 sequence) and MHD's reader hands them out, the connection suspended while there is
 * nothing to send. */
#include <jansson.h>
#include <microhttpd.h>
#include <stdlib.h>
#include <string.h>

#include "server/complete_internal.h"

/* Under st->mu: a suspended reader is woken (MHD calls it again). */
static void wake(stream *st) {
    if (st->suspended) {
        st->suspended = false;
        MHD_resume_connection(st->c);
    }
}

static void push(stream *st, const char *data, size_t n) {
    pthread_mutex_lock(&st->mu);
    (void)eco_buf_append(&st->out, data, n);
    wake(st);
    pthread_mutex_unlock(&st->mu);
}

/* "data: <json>\n\n" (takes the reference). */
static void push_event(stream *st, json_t *v) {
    char *text = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    if (!text) return;
    eco_buf b = {0};
    if (eco_buf_puts(&b, "data: ") && eco_buf_puts(&b, text) && eco_buf_puts(&b, "\n\n"))
        push(st, b.data, b.len);
    eco_buf_free(&b);
    free(text);
}

/* A chunk for choice j->index: delta text (may be NULL), its logprobs, finish reason. */
static json_t *chunk(const job *j, json_t *delta_text, json_t *lp, const char *finish, bool first) {
    json_t *choice;
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
        json_t *delta = json_object();
        if (first) json_object_set_new(delta, "role", json_string("assistant"));
        if (delta_text) json_object_set_new(delta, "content", delta_text);
        choice = json_pack("{s:i,s:o,s:o,s:o}", "index", j->index, "delta", delta, "logprobs",
                           lp ? json_pack("{s:o}", "content", lp) : json_null(), "finish_reason",
                           finish ? json_string(finish) : json_null());
    } else {
        choice =
            json_pack("{s:i,s:o,s:o,s:o}", "index", j->index, "text",
                      delta_text ? delta_text : json_string(""), "logprobs", lp ? lp : json_null(),
                      "finish_reason", finish ? json_string(finish) : json_null());
    }
    return json_pack("{s:s,s:s,s:I,s:s,s:[o]}", "id", j->id, "object", j->object, "created",
                     j->created, "model", j->model, "choices", choice);
}

/* Where text[0..len) can be cut now: before a trailing incomplete UTF-8 sequence (the next
 * token may complete it) and before the last max_stop - 1 bytes (a stop sequence may be
 * starting there). */
static size_t stable_end(const char *text, size_t len, size_t hold) {
    size_t end = len > hold ? len - hold : 0;
    for (size_t back = 1; back <= 3 && back <= end; back++) {
        unsigned char b = (unsigned char)text[end - back];
        if ((b & 0xC0) == 0x80) continue; /* a continuation byte: look further back */
        size_t need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : b >= 0xC0 ? 2 : 1;
        if (back < need) end -= back;
        break;
    }
    return end;
}

static size_t max_stop_len(const job *j) {
    size_t m = 0;
    for (size_t i = 0; i < j->n_stops; i++) {
        size_t n = strlen(j->stops[i]);
        m = n > m ? n : m;
    }
    return m;
}

/* Sends text[j->emitted..end) (after the chat's leading space) as a delta. */
static void stream_text(job *j, const char *text, size_t end, json_t *lp) {
    if (j->emitted == 0 && j->chat_space && end > 0 && text[0] == ' ') j->emitted = j->skip = 1;
    json_t *delta = NULL;
    if (end > j->emitted) {
        delta = srv_lp_text_json(text + j->emitted, end - j->emitted);
        j->emitted = end;
    }
    if (delta || lp) push_event(j->st, chunk(j, delta, lp, NULL, false));
}

/* A step of a streamed choice: its text delta (what can no longer change) and its
 * log-probabilities, as one chunk. */
void srv_stream_step(job *j, const eco_infer_step *step) {
    json_t *lp = NULL; /* this token's log-probabilities go out with its chunk */
    if (j->q.logprobs) {
        json_t *saved = j->lp;
        j->lp = srv_lp_new(j);
        srv_lp_record(j, step);
        lp = j->lp;
        j->lp = saved;
    }
    size_t hold = step->stopped ? 0 : max_stop_len(j);
    hold = hold > 0 ? hold - 1 : 0;
    stream_text(j, step->text, stable_end(step->text, step->text_len, hold), lp);
}

static void *stream_main(void *arg) {
    stream *st = arg;
    job *j = st->j;
    eco_set_threads(j->s->compute_threads);
    double gen_s = 0;
    bool failed = false;
    for (j->index = 0; j->index < j->q.n && !failed; j->index++) {
        if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT)
            push_event(st, chunk(j, json_string(""), NULL, NULL, true));
        eco_infer_response resp;
        unsigned status = 500;
        const char *code = NULL;
        eco_status s = srv_job_run_choice(j, &resp, &status, &code);
        if (s != ECO_STATUS_OK) {
            answer e = {0};
            srv_answer_error(&e, status, code, NULL, "%s", eco_last_error());
            push(st, "data: ", 6);
            push(st, e.body, e.len);
            push(st, "\n\n", 2);
            free(e.body);
            failed = true;
            break;
        }
        gen_s += resp.decode_ms / 1e3;
        /* The rest of the final text (held back for stops and UTF-8), then the finish. */
        if (resp.text_len >= j->emitted) stream_text(j, resp.text, resp.text_len, NULL);
        json_t *last = chunk(j, NULL, NULL, resp.finish_reason, false);
        if (last && j->index + 1 == j->q.n) /* the last chunk: llama-server's timings */
            json_object_set_new(last, "timings", srv_job_timings_json(j));
        push_event(st, last);
        eco_infer_response_free(&resp);
    }
    if (!failed && j->q.include_usage)
        push_event(st, json_pack("{s:s,s:s,s:I,s:s,s:[],s:o}", "id", j->id, "object", j->object,
                                 "created", j->created, "model", j->model, "choices", "usage",
                                 srv_job_usage_json(j)));
    push(st, "data: [DONE]\n\n", 14);
    srv_job_record(j, failed, gen_s);
    /* The engine and the generation slot go back now, not when the client has read it all
     * (j->model, borrowed from the engine, is not used after this). */
    eco_pool_release(j->s->pool, j->eng);
    j->eng = NULL;
    j->model = NULL;
    atomic_fetch_sub(&j->s->generating, 1);
    j->slot = false;
    pthread_mutex_lock(&st->mu);
    st->done = true;
    wake(st);
    pthread_mutex_unlock(&st->mu);
    return NULL;
}

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max) {
    stream *st = cls;
    pthread_mutex_lock(&st->mu);
    if (st->out_pos == st->out.len && !st->done) {
        /* Nothing yet: the connection waits suspended (MHD's way to avoid busy polling)
         * until the generation thread pushes more and resumes it. */
        st->suspended = true;
        MHD_suspend_connection(st->c);
        pthread_mutex_unlock(&st->mu);
        return 0;
    }
    size_t n = st->out.len - st->out_pos;
    if (n > max) n = max;
    if (n) memcpy(buf, st->out.data + st->out_pos, n);
    st->out_pos += n;
    if (st->out_pos == st->out.len) { /* everything sent: the buffer starts again */
        st->out.len = st->out_pos = 0;
    }
    bool end = n == 0 && st->done;
    pthread_mutex_unlock(&st->mu);
    return end ? MHD_CONTENT_READER_END_OF_STREAM : (ssize_t)n;
}

static void stream_free(void *cls) {
    stream *st = cls;
    pthread_mutex_lock(&st->mu); /* the connection is going: nobody resumes it any more */
    st->suspended = false;
    pthread_mutex_unlock(&st->mu);
    atomic_store(&st->gone, true);
    pthread_join(st->th, NULL);
    srv_job_free(st->j);
    eco_buf_free(&st->out);
    pthread_mutex_destroy(&st->mu);
    free(st);
}

void srv_answer_stream(job *j, struct MHD_Connection *c, answer *a) {
    stream *st = calloc(1, sizeof *st);
    if (!st) {
        srv_job_free(j);
        return srv_answer_error(a, 500, NULL, NULL, "out of memory");
    }
    pthread_mutex_init(&st->mu, NULL);
    atomic_init(&st->gone, false);
    st->j = j;
    st->c = c;
    j->st = st;
    if (pthread_create(&st->th, NULL, stream_main, st) != 0) {
        pthread_mutex_destroy(&st->mu);
        free(st);
        srv_job_free(j);
        return srv_answer_error(a, 500, NULL, NULL, "cannot start a generation thread");
    }
    a->response =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, st, stream_free);
    if (!a->response) {
        stream_free(st);
        return srv_answer_error(a, 500, NULL, NULL, "out of memory");
    }
    MHD_add_response_header(a->response, "Content-Type", "text/event-stream");
    MHD_add_response_header(a->response, "Cache-Control", "no-cache");
    a->status = 200;
}
