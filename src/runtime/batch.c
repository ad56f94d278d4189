/*
 * The per-base batcher (runtime/batch.h): continuous batching of concurrent infers on one
 * base's model, every infer in its caller's thread, the decode steps run by whichever
 * waiting thread finds the batch ready.
 */
#include "runtime/batch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/runtime.h"

/* One infer in the batch; lives on its caller's stack. */
typedef struct batch_row {
    eco_llama_gen *g;
    const eco_model_adapter *ad;
    int32_t token;     /* the token to run next (while pending) */
    bool pending;      /* waiting for a step */
    uint64_t since;    /* when it became pending (order of the batcher's stamps) */
    eco_status status; /* the step's result for this row */
    struct batch_row *prev, *next;
} batch_row;

struct pool_batcher {
    eco_model *model; /* borrowed: the engine's */
    eco_engine *engine;
    size_t max_batch;
    pthread_mutex_t mu; /* everything below */
    pthread_cond_t cv;  /* any change: the model freed, a row pending, a row leaving */
    bool busy;          /* a prompt or a step is running on the model */
    batch_row *rows;    /* the rows in the batch (a list) */
    size_t n_rows, n_pending;
    size_t queued; /* infers waiting for the model to run their prompt */
    uint64_t stamp;
    uint64_t steps, rows_run;
    batch_row **picked;     /* [max_batch] the rows of the step running */
    eco_decode_row *decode; /* [max_batch] */
};

pool_batcher *pool_batcher_new(eco_engine *engine, size_t max_batch) {
    pool_batcher *bt = calloc(1, sizeof *bt);
    if (!bt) return NULL;
    bt->engine = engine;
    bt->model = eco_llama_engine_model(engine);
    bt->max_batch = max_batch ? max_batch : ECO_POOL_DEFAULT_MAX_BATCH;
    bt->picked = eco_calloc_array(bt->max_batch, sizeof *bt->picked);
    bt->decode = eco_calloc_array(bt->max_batch, sizeof *bt->decode);
    if (!bt->picked || !bt->decode || pthread_mutex_init(&bt->mu, NULL) != 0) {
        free(bt->picked);
        free(bt->decode);
        free(bt);
        return NULL;
    }
    if (pthread_cond_init(&bt->cv, NULL) != 0) {
        pthread_mutex_destroy(&bt->mu);
        free(bt->picked);
        free(bt->decode);
        free(bt);
        return NULL;
    }
    return bt;
}

void pool_batcher_free(pool_batcher *bt) {
    if (!bt) return;
    pthread_cond_destroy(&bt->cv);
    pthread_mutex_destroy(&bt->mu);
    free(bt->picked);
    free(bt->decode);
    free(bt);
}

void pool_batcher_counts(pool_batcher *bt, uint64_t *steps, uint64_t *rows) {
    pthread_mutex_lock(&bt->mu);
    *steps = bt->steps;
    *rows = bt->rows_run;
    pthread_mutex_unlock(&bt->mu);
}

/* Under mu, the model free: runs one step over up to max_batch pending rows, those pending
 * longest first, releasing mu while the model runs. */
static void run_step(pool_batcher *bt) {
    size_t k = 0;
    for (batch_row *r = bt->rows; r; r = r->next) {
        if (!r->pending) continue;
        if (k < bt->max_batch) {
            bt->picked[k++] = r;
            continue;
        }
        size_t newest = 0; /* replace the newest picked when r has waited longer */
        for (size_t i = 1; i < k; i++)
            if (bt->picked[i]->since > bt->picked[newest]->since) newest = i;
        if (r->since < bt->picked[newest]->since) bt->picked[newest] = r;
    }
    for (size_t i = 0; i < k; i++) {
        batch_row *r = bt->picked[i];
        bt->decode[i] = (eco_decode_row){.kv = eco_llama_gen_cache(r->g),
                                         .adapter = r->ad,
                                         .token = r->token,
                                         .logits = eco_llama_gen_logits(r->g)};
    }
    bt->busy = true;
    pthread_mutex_unlock(&bt->mu);
    const eco_status st = eco_model_decode_batch(bt->model, bt->decode, (int64_t)k);
    pthread_mutex_lock(&bt->mu);
    for (size_t i = 0; i < k; i++) {
        batch_row *r = bt->picked[i];
        r->status = st != ECO_STATUS_OK ? st : bt->decode[i].status;
        r->pending = false;
    }
    bt->n_pending -= k;
    bt->steps++;
    bt->rows_run += k;
    bt->busy = false;
    pthread_cond_broadcast(&bt->cv);
}

static void unlink_row(pool_batcher *bt, batch_row *r) {
    if (r->prev)
        r->prev->next = r->next;
    else
        bt->rows = r->next;
    if (r->next) r->next->prev = r->prev;
    bt->n_rows--;
    pthread_cond_broadcast(&bt->cv);
}

size_t pool_batcher_queued(pool_batcher *bt) {
    pthread_mutex_lock(&bt->mu);
    size_t n = bt->queued;
    pthread_mutex_unlock(&bt->mu);
    return n;
}

eco_status pool_batcher_infer(pool_batcher *bt, const eco_model_adapter *ad,
                              const eco_infer_request *req, eco_infer_response *resp) {
    batch_row row = {.ad = ad};
    /* the prompt, alone on the model, between two steps */
    pthread_mutex_lock(&bt->mu);
    bt->queued++;
    while (bt->busy) pthread_cond_wait(&bt->cv, &bt->mu);
    bt->queued--;
    bt->busy = true;
    pthread_mutex_unlock(&bt->mu);
    eco_status st = eco_llama_gen_begin(bt->engine, ad, req, resp, &row.g);
    pthread_mutex_lock(&bt->mu);
    bt->busy = false;
    pthread_cond_broadcast(&bt->cv);
    if (st != ECO_STATUS_OK) {
        pthread_mutex_unlock(&bt->mu);
        return st;
    }
    row.next = bt->rows;
    if (bt->rows) bt->rows->prev = &row;
    bt->rows = &row;
    bt->n_rows++;
    pthread_mutex_unlock(&bt->mu);

    for (;;) {
        int32_t tok = 0;
        bool more = false;
        st = eco_llama_gen_step(row.g, &tok, &more); /* this thread's own work, unlocked */
        pthread_mutex_lock(&bt->mu);
        if (st != ECO_STATUS_OK || !more) {
            unlink_row(bt, &row);
            pthread_mutex_unlock(&bt->mu);
            break;
        }
        row.token = tok;
        row.pending = true;
        row.since = ++bt->stamp;
        bt->n_pending++;
        pthread_cond_broadcast(&bt->cv);
        while (row.pending) {
            if (!bt->busy && (bt->n_pending == bt->n_rows || bt->n_pending >= bt->max_batch))
                run_step(bt);
            else
                pthread_cond_wait(&bt->cv, &bt->mu);
        }
        st = row.status;
        if (st != ECO_STATUS_OK) unlink_row(bt, &row);
        pthread_mutex_unlock(&bt->mu);
        if (st != ECO_STATUS_OK) {
            st = eco_error(st, "infer: decode step: %s", eco_status_str(st));
            break;
        }
    }
    return eco_llama_gen_end(row.g, st);
}
