/*
 * rl: reinforcement fine-tuning with verifiable rewards — GRPO (train.h's objective) on a
 * LoRA adapter, rewarded by the capability suite's own checkers (tasks.h), with no labelled
 * completions: the policy learns from its own samples.
 *
 * One step of eco_rl_run (step s, 0-based):
 *   1. prompts: `batch` prompts taken in order from the prompt stream. Prompt i of the
 *      stream is of capability caps[i mod n_caps], its item number i div n_caps of
 *      eco_tasks_generate(cap, ECO_TASK_SPLIT_TRAIN, ·, seed) (the TRAIN split only, so no
 *      held-out prompt is ever trained on). A prompt that does not fit the model's context
 *      with max_tokens new tokens, or a training row of max_seq + 1 tokens, is passed over
 *      (counted as "prompts_skipped" in the record). The stream's cursor is the checkpoint's
 *      data position.
 *   2. rollouts: G completions of every prompt, sampled from the policy as it stands (the
 *      base with the adapter being trained, eco_train_model_adapter) at `temperature` and
 *      `top_p`, stop ECO_TASKS_STOP, BOS added, at most max_tokens new tokens; completion j
 *      of the prompt at stream position i is drawn with seed eco_rl_sample_seed(seed, i, j).
 *      All batch·G sequences decode together (engine.h: eco_llama_generate_batch).
 *   3. rewards (eco_rl_reward): w_correct·[the checker accepts the answer] +
 *      w_format·[the completion has the task's form] − length_penalty·tokens/max_tokens.
 *   4. zero-signal groups (all G rewards equal) are counted; with `resample` > 0 each is
 *      replaced by the next prompt of the stream and sampled again, up to `resample` rounds
 *      per step (the count reported is the groups with no signal before resampling and
 *      those left after).
 *   5. advantages per group (eco_grpo_advantages, scale_rewards), the old log-probabilities
 *      (iterations > 1) and the reference's (beta > 0: the adapter as it was at the start,
 *      or the bare base), then `iterations` optimiser steps over the same rollouts, each
 *      over micro-batches of `micro_batch` rows (eco_train_forward_grpo,
 *      eco_train_backward(1 / n_micro), eco_train_step with AdamW at lr, warm-up, clip).
 *   6. every eval_every steps (and at step 0 and the end): exact match on eval_n held-out
 *      items of each capability, greedy, through the policy — the items, prompt handling
 *      and checker of eco_tasks_eval with the same seed (an item too long for the context
 *      counts as wrong), so the figure equals `ecology tasks eval` on the adapter saved at
 *      that step.
 *
 * Training rows: prompt tokens (as the engine encodes them, BOS first) followed by the
 * completion's sampled tokens (the stop "\n" included; an EOS that ended a completion
 * appended, since it was sampled too); targets are the completion tokens only.
 *
 * Output: the adapter folder (adapter_out; eco_trainer_output_check's rules) written whole
 * with training.json, canonical: {"tool", "version", "run", "threads", "steps_done",
 * "prompts_used", "prompts_skipped", "prompts_sha256" (SHA-256 over the used prompts in
 * stream order, each followed by a NUL byte), "final": {the last step's metrics},
 * "curve": [{"step", "reward", "correct", "format", "zero_signal", "zero_signal_left", "kl",
 * "clip_ratio", "loss", "tokens"}, ...],
 * "heldout": [{"step", "<capability>": exact match, ...}, ...]}. "run" is the run's
 * identity: "mode": "rl", base (path, model_sha256), init (adapter_sha256, when
 * continuing), lora, capabilities, prompts {split, seed}, reward {correct, format,
 * length_penalty}, grpo {epsilon_low, epsilon_high, beta, reference, loss_type,
 * scale_rewards, iterations, group, resample}, sampling {temperature, top_p, max_tokens},
 * hyper {steps, batch, micro_batch, lr, warmup, clip, weight_decay, seed}, eval {every, n}.
 * No timings: the same inputs, seed and thread count give the same bytes.
 * Checkpoints: eco_trainer_checkpoint_write into work_dir (default adapter_out/.work) every
 * checkpoint_every steps and at the end of a call, with the curve so far in
 * work_dir/rl-curve.json; a resume continues bit-identical to a run never interrupted
 * (the sampling seeds are functions of the stream position, the rest is the checkpoint).
 */
#ifndef ECOLOGY_RL_H
#define ECOLOGY_RL_H

#include "ecology/contracts.h"
#include "ecology/model.h"
#include "ecology/peft.h"
#include "ecology/tasks.h"
#include "ecology/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- rewards ---------------------------------------------------------------------------- */

typedef struct eco_rl_reward_weights {
    double correct;        /* weight of the checker's verdict (default 1) */
    double format;         /* weight of the format reward (default 0) */
    double length_penalty; /* subtracted × tokens / max_tokens (default 0) */
} eco_rl_reward_weights;

/* What one completion earned. */
typedef struct eco_rl_reward_parts {
    bool correct; /* eco_tasks_check accepts it */
    bool format;  /* it has the task's form: " <answer>" on one line ended by the stop
                   * sequence ("\n"), the answer non-empty; for a capability whose answers
                   * are JSON, the answer parses as one JSON object */
    double reward;
} eco_rl_reward_parts;

/* The reward of output[0..len) (the engine's text, stop excluded) for item, which ended by
 * the stop sequence when `stopped`, after n_tokens of at most max_tokens. */
eco_rl_reward_parts eco_rl_reward(const eco_capability *cap, const eco_task_item *item,
                                  const char *output, size_t len, bool stopped, size_t n_tokens,
                                  size_t max_tokens, const eco_rl_reward_weights *w);

/* The sampling seed of completion j of the prompt at stream position i. */
uint64_t eco_rl_sample_seed(uint64_t seed, int64_t i, int64_t j);

/* ---- the run ---------------------------------------------------------------------------- */

typedef enum eco_rl_reference {
    ECO_RL_REF_START = 0, /* the adapter as it was when the run began ("start") */
    ECO_RL_REF_BASE = 1,  /* the bare base ("base") */
} eco_rl_reference;

/* What the loop reports after every step (progress lines, tests, benchmarks). */
typedef struct eco_rl_step_info {
    int64_t step, total_steps; /* steps done (1-based) and asked for */
    double reward;             /* mean reward of the step's rollouts (after resampling) */
    double correct, format;    /* shares of completions judged correct / well-formed */
    int64_t groups;            /* groups sampled: batch, plus the resampled ones */
    int64_t zero_signal;       /* groups with no signal before resampling */
    int64_t zero_signal_left;  /* ... and after */
    double kl;                 /* mean k3 KL to the reference (0 when beta = 0) */
    double clip_ratio;
    double loss;           /* the objective at the last update */
    int64_t tokens;        /* completion tokens sampled in the step */
    double sample_seconds; /* sampling (rollouts, rewards) */
    double update_seconds; /* log-probabilities and optimiser steps */
    /* held-out exact match per capability when this step evaluated (n_heldout > 0) */
    size_t n_heldout;
    const double *heldout; /* [n_caps], valid during the callback */
} eco_rl_step_info;

typedef struct eco_rl_options {
    const char *model_dir;             /* the base model folder */
    const char *init_adapter;          /* continue this adapter (its configuration); NULL: a fresh
                               * adapter of `lora` */
    eco_peft_config lora;              /* fresh adapters: r, alpha, targets, ... */
    const eco_capability *const *caps; /* [n_caps] capabilities, distinct */
    size_t n_caps;
    const char *adapter_out; /* the output adapter folder */
    const char *work_dir;    /* NULL: adapter_out/.work */
    bool force;
    int64_t steps;        /* >= 1 */
    int64_t batch;        /* prompts (groups) per step, default 8 */
    int64_t group;        /* G completions per prompt, >= 2, default 8 */
    int64_t micro_batch;  /* rows per forward/backward, default G */
    int64_t iterations;   /* updates per batch of rollouts, default 1 */
    double lr;            /* default 1e-4 */
    int64_t warmup;       /* default 0 */
    double clip;          /* global-norm clipping, default 1; <= 0 off */
    double weight_decay;  /* default 0 */
    eco_grpo_config grpo; /* epsilon_low/high (0.2), beta (0), loss_type ("grpo");
                           * temperature is `temperature` below */
    eco_rl_reference reference;
    bool scale_rewards; /* default true */
    int64_t resample;   /* rounds of resampling zero-signal groups per step, default 0 */
    eco_rl_reward_weights reward;
    double temperature; /* sampling, > 0 (default 1) */
    double top_p;       /* default 1 */
    int max_tokens;     /* per completion; 0: the largest max_completion_bytes + 8 */
    int64_t max_seq;    /* training row length bound; 0: 256 (or the context) */
    uint64_t seed;      /* prompts, LoRA initialisation, sampling */
    int64_t eval_every; /* 0: only at the start and the end */
    size_t eval_n;      /* held-out items per capability, default 100; 0: no eval */
    uint64_t eval_seed; /* default 0, as `tasks eval` */
    int threads;        /* <= 0 keeps the current count */
    int64_t checkpoint_every;
    bool resume;
    int64_t stop_after; /* stop once that many steps are done (checkpoint, no result) */
    bool progress;      /* a progress line on stderr */
    void (*on_step)(void *ctx, const eco_rl_step_info *info);
    void *on_step_ctx;
} eco_rl_options;

void eco_rl_options_init(eco_rl_options *o);

/* "start" / "base" and back (EINVAL naming the value). */
const char *eco_rl_reference_name(eco_rl_reference r);
eco_status eco_rl_reference_parse(const char *s, eco_rl_reference *out);

typedef struct eco_rl_result {
    bool finished; /* all steps done and the adapter written */
    bool resumed;
    int64_t start_step; /* steps done when this call began */
    int64_t steps_done;
    double first_reward, final_reward; /* mean rewards of the first and last steps of the call */
    double heldout_start, heldout_end; /* mean held-out exact match over the capabilities at
                                        * this call's first and last evaluation (NaN: none) */
    int64_t zero_signal;               /* zero-signal groups over the call, before resampling */
    int64_t groups;                    /* groups sampled over the call, resamples included */
    int64_t tokens;                    /* completion tokens sampled over the call */
    double sample_seconds, update_seconds, seconds;
} eco_rl_result;

/* Runs GRPO as described above. EINVAL naming the option for bad options (and for a resume
 * whose checkpoint belongs to another run), the trainer's, engine's and file writes' errors
 * otherwise (ERANGE for a row longer than max_seq, naming it). res may be NULL. */
eco_status eco_rl_run(const eco_rl_options *o, eco_rl_result *res);

#ifdef __cplusplus
}
#endif
#endif
