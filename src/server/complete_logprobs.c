/* Log-probabilities in OpenAI's shapes (chat: logprobs.content entries with bytes and
 * top_logprobs; completions: tokens, token_logprobs, top_logprobs, text_offset), the top
 * alternatives computed from the step's raw logits (log-softmax), and JSON text helpers. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"
#include "server/complete_internal.h"

json_t *srv_lp_text_json(const char *t, size_t n) {
    size_t m = 0;
    char *safe = eco_utf8_lossy(t, n, &m);
    json_t *v = safe ? json_stringn(safe, m) : NULL;
    free(safe);
    return v ? v : json_string("");
}

json_t *srv_lp_value_json(double lp) { return json_real(isfinite(lp) ? lp : -9999.0); }

static json_t *bytes_json(const char *t, size_t n) {
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) json_array_append_new(a, json_integer((unsigned char)t[i]));
    return a;
}

/* The text of one token id (decoded alone), malloc'd; "" when there is no tokenizer. */
static char *token_text(const eco_tokenizer *tok, int32_t id, size_t *len) {
    char *t = NULL;
    *len = 0;
    if (tok && eco_tokenizer_decode(tok, &id, 1, false, &t, len) == ECO_STATUS_OK) return t;
    return eco_strdup("");
}

/* The per-token log-probability entry of step (chat: a content entry; completions: appended
 * to the tokens/token_logprobs/top_logprobs/text_offset arrays of j->lp). */
void srv_lp_record(job *j, const eco_infer_step *step) {
    size_t n = 0;
    char *t = token_text(step->tokenizer, step->token, &n);
    int k = j->q.top_logprobs;
    json_t *top =
        k > 0 ? (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT ? json_array() : json_object()) : NULL;
    if (k > 0 && step->logits && step->n_logits > 0) {
        const float *lg = step->logits;
        const int64_t V = step->n_logits;
        double mx = lg[0], sum = 0;
        for (int64_t i = 1; i < V; i++) mx = lg[i] > mx ? lg[i] : mx;
        for (int64_t i = 0; i < V; i++) sum += exp((double)lg[i] - mx);
        const double lse = mx + log(sum);
        int32_t chosen[20];
        int m = k < V ? k : (int)V;
        for (int r = 0; r < m; r++) { /* the r-th largest, ties to the lower id */
            int64_t best = -1;
            for (int64_t i = 0; i < V; i++) {
                bool taken = false;
                for (int q = 0; q < r; q++) taken |= chosen[q] == (int32_t)i;
                if (!taken && (best < 0 || lg[i] > lg[best])) best = i;
            }
            chosen[r] = (int32_t)best;
            size_t tn = 0;
            char *tt = token_text(step->tokenizer, (int32_t)best, &tn);
            /* the chosen token's own figure as the sampler computed it, so the two agree */
            double lp =
                (int32_t)best == step->token ? (double)step->logprob : (double)lg[best] - lse;
            if (json_is_array(top)) {
                json_array_append_new(
                    top, json_pack("{s:o,s:o,s:o}", "token", srv_lp_text_json(tt, tn), "logprob",
                                   srv_lp_value_json(lp), "bytes", bytes_json(tt, tn)));
            } else if (top) {
                size_t sn = 0;
                char *key = eco_utf8_lossy(tt, tn, &sn);
                if (key && !memchr(key, '\0', sn))
                    json_object_set_new(top, key, srv_lp_value_json(lp));
                free(key);
            }
            free(tt);
        }
    }
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) {
        json_array_append_new(j->lp, json_pack("{s:o,s:o,s:o,s:o}", "token", srv_lp_text_json(t, n),
                                               "logprob", srv_lp_value_json(step->logprob), "bytes",
                                               bytes_json(t, n), "top_logprobs",
                                               top ? top : json_array()));
    } else {
        json_array_append_new(json_object_get(j->lp, "tokens"), srv_lp_text_json(t, n));
        json_array_append_new(json_object_get(j->lp, "token_logprobs"),
                              srv_lp_value_json(step->logprob));
        json_array_append_new(json_object_get(j->lp, "top_logprobs"), top ? top : json_null());
        json_array_append_new(json_object_get(j->lp, "text_offset"),
                              json_integer((json_int_t)j->text_offset));
        j->text_offset += n;
    }
    free(t);
}

json_t *srv_lp_new(const job *j) {
    if (!j->q.logprobs) return NULL;
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) return json_array();
    return json_pack("{s:[],s:[],s:[],s:[]}", "tokens", "token_logprobs", "top_logprobs",
                     "text_offset");
}

json_t *srv_lp_wrap(const job *j, json_t *lp) {
    if (!lp) return json_null();
    if (j->q.endpoint == ECO_SERVER_ENDPOINT_CHAT) return json_pack("{s:o}", "content", lp);
    return lp;
}
