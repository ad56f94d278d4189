/*
 * eco_tasks_eval: exact match of an engine on a capability's held-out split.
 *
 * The loop of tasks.h's header: generate the eval items, ask the engine greedily with the
 * stop sequence and a token budget of the longest completion plus a margin, judge with
 * eco_tasks_check, keep the first few failures for display.
 */
#include "ecology/contracts.h"
#include "ecology/tasks.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

void eco_tasks_eval_options_init(eco_tasks_eval_options *opt) {
    memset(opt, 0, sizeof *opt);
    opt->n = 100;
    opt->max_failures = 5;
    opt->extra_tokens = 8;
}

void eco_tasks_eval_report_free(eco_tasks_eval_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_failures; i++) {
        free(r->failures[i].prompt);
        free(r->failures[i].expected);
        free(r->failures[i].got);
    }
    free(r->failures);
    memset(r, 0, sizeof *r);
}

eco_status eco_tasks_eval(struct eco_engine *engine, const eco_capability *cap,
                          const eco_tasks_eval_options *opt, eco_tasks_eval_report *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!engine || !cap || !opt || !out)
        return eco_error(ECO_STATUS_EINVAL, "tasks eval: NULL argument");
    if (opt->n == 0)
        return eco_error(ECO_STATUS_EINVAL, "tasks eval: %s: n must be > 0", cap->name);
    if (opt->n > ECO_TASKS_MAX_N)
        return eco_error(ECO_STATUS_ERANGE, "tasks eval: %s: n %zu exceeds %zu", cap->name, opt->n,
                         ECO_TASKS_MAX_N);
    if (opt->extra_tokens < 0 || cap->max_completion_bytes > (size_t)(INT_MAX - opt->extra_tokens))
        return eco_error(ECO_STATUS_EINVAL, "tasks eval: %s: extra_tokens %d out of range",
                         cap->name, opt->extra_tokens);

    /* Past the split's size a fixed set cycles (each item scored twice) and a small drawn
     * space repeats itself: n stops at the size where the capability has one. */
    size_t n = opt->n, split_n = 0;
    if (eco_tasks_split_size(cap, ECO_TASK_SPLIT_EVAL, &split_n) == ECO_STATUS_OK && split_n > 0 &&
        n > split_n)
        n = split_n;
    eco_task_item *items = NULL;
    eco_status st = eco_tasks_generate(cap, ECO_TASK_SPLIT_EVAL, n, opt->seed, &items);
    if (st != ECO_STATUS_OK) return st;
    const size_t keep = opt->max_failures < n ? opt->max_failures : n;
    eco_tasks_eval_report r = {.capability = cap->name, .n = n, .n_requested = opt->n};
    if (keep) {
        r.failures = eco_calloc_array(keep, sizeof *r.failures);
        if (!r.failures) {
            eco_task_items_free(items, n);
            return eco_error(ECO_STATUS_ENOMEM, "tasks eval: out of memory");
        }
    }

    static const char *const stop[1] = {ECO_TASKS_STOP};
    for (size_t i = 0; i < n; i++) {
        eco_infer_request req;
        eco_infer_request_init(&req);
        req.capability = cap->name;
        req.prompt = items[i].prompt;
        req.max_tokens = (int)cap->max_completion_bytes + opt->extra_tokens;
        req.temperature = 0.0f;
        req.stop = stop;
        req.n_stop = 1;
        eco_infer_response resp;
        st = engine->infer(engine, &req, &resp);
        if (st != ECO_STATUS_OK) {
            st = eco_error_wrap(st, "tasks eval: %s: item %zu", cap->name, i);
            break;
        }
        if (eco_tasks_check(cap, &items[i], resp.text, resp.text_len)) {
            r.correct++;
        } else if (r.n_failures < keep) {
            eco_tasks_eval_failure *f = &r.failures[r.n_failures];
            f->index = i;
            f->prompt = eco_bytes_dup(items[i].prompt, strlen(items[i].prompt));
            f->expected = eco_bytes_dup(items[i].completion, strlen(items[i].completion));
            f->got = eco_bytes_dup(resp.text ? resp.text : "", resp.text ? resp.text_len : 0);
            f->got_len = resp.text ? resp.text_len : 0;
            r.n_failures++; /* counted before the check so that free releases partial copies */
            if (!f->prompt || !f->expected || !f->got) {
                eco_infer_response_free(&resp);
                st = eco_error(ECO_STATUS_ENOMEM, "tasks eval: out of memory");
                break;
            }
        }
        eco_infer_response_free(&resp);
        if (opt->progress) opt->progress(opt->progress_ctx, i + 1, n);
    }
    eco_task_items_free(items, n);
    if (st != ECO_STATUS_OK) {
        eco_tasks_eval_report_free(&r);
        return st;
    }
    r.accuracy = (double)r.correct / (double)r.n;
    *out = r;
    return ECO_STATUS_OK;
}
