/*
 * The rl loop's parts (private to src/tasks): the prompt stream, one step's rollouts turned
 * into training rows, and the held-out evaluation through the policy.
 */
#ifndef ECOLOGY_TASKS_RL_INTERNAL_H
#define ECOLOGY_TASKS_RL_INTERNAL_H

#include "ecology/engine.h"
#include "ecology/rl.h"

/* The prompt stream (rl.h): position i is item i div n_caps of caps[i mod n_caps]'s TRAIN
 * items from seed; items are generated as far as asked for. */
typedef struct rl_stream {
    const eco_capability *const *caps;
    size_t n_caps;
    uint64_t seed;
    eco_task_item **items; /* [n_caps] */
    size_t *n_items;       /* [n_caps] */
} rl_stream;

eco_status rl_stream_init(rl_stream *s, const eco_capability *const *caps, size_t n_caps,
                          uint64_t seed);
void rl_stream_free(rl_stream *s);
eco_status rl_stream_get(rl_stream *s, int64_t i, const eco_capability **cap,
                         const eco_task_item **item);
/* SHA-256 over positions [0, n) of the stream, each prompt followed by a NUL byte (hex). */
eco_status rl_stream_hash(rl_stream *s, int64_t n, char hex[ECO_SHA256_HEX_LEN + 1]);

/* Whether prompt with max_tokens new tokens fits the engine's context and, when max_seq > 0,
 * a training row of max_seq + 1 tokens (*fits; errors only from the tokenizer). */
eco_status rl_prompt_fits(eco_engine *e, const char *prompt, int max_tokens, int64_t max_seq,
                          bool *fits);

/* One sampled completion, ready to train on. */
typedef struct rl_sample {
    int64_t pos; /* stream position of its prompt */
    const eco_capability *cap;
    int32_t *row;            /* prompt ids (BOS first) then completion ids */
    int64_t n_prompt, n_row; /* row[n_prompt, n_row) is the completion */
    size_t n_tokens;         /* tokens the engine generated (an appended EOS not counted) */
    eco_rl_reward_parts reward;
} rl_sample;

/* Samples G completions of the prompts at stream positions pos[n_pos] with adapter ad
 * (engine.h: eco_llama_generate_batch, all n_pos·G at once) into out[n_pos·G] (group-major;
 * caller frees each with rl_sample_free; what out held before, zeroed or an earlier
 * call's samples, is freed first). Sampling settings from o. */
eco_status rl_rollout(eco_engine *e, const eco_model_adapter *ad, rl_stream *s, const int64_t *pos,
                      size_t n_pos, const eco_rl_options *o, int max_tokens, rl_sample *out);
void rl_sample_free(rl_sample *x);

/* Held-out exact match of each capability (eco_tasks_eval's items, requests and checker)
 * through the engine with adapter ad, all items decoded in one batch: acc[n_caps]. */
typedef struct rl_heldout {
    size_t n_caps;
    const eco_capability *const *caps;
    eco_task_item **items; /* [n_caps] */
    size_t *n;             /* [n_caps] */
} rl_heldout;

eco_status rl_heldout_init(rl_heldout *h, const eco_capability *const *caps, size_t n_caps,
                           size_t n, uint64_t seed);
void rl_heldout_free(rl_heldout *h);
eco_status rl_heldout_eval(rl_heldout *h, eco_engine *e, const eco_model_adapter *ad, double *acc);

#endif
