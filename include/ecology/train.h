/*
 * train: the llama-family model with a backward pass, AdamW and LoRA, on the CPU (llm.c style).
 *
 * An eco_train_model is built from a model folder (config.json + safetensors). Trainable
 * parameters live in ONE f32 arena laid out by ONE table of eco_train_param entries (name,
 * shape, offset, decay flag); the gradients, AdamW's first moments m and second moments v
 * are three more arenas with the same layout, so zero-grad, clipping and the update are flat
 * loops over `n_floats`.
 *
 *   ECO_TRAIN_MODE_FULL  every tensor of the model is trainable; names are the Hugging Face
 *                        names ("model.layers.0.self_attn.q_proj.weight", ...). No weight
 *                        decay on norm weights and biases.
 *   ECO_TRAIN_MODE_LORA  the base is frozen (f32 tensors of the file are pointed into, others
 *                        widened once into a frozen block) and has no gradients; the
 *                        trainable tensors are LoRA A [r, in] and B [out, r] of the chosen
 *                        targets, named as PEFT saves them
 *                        ("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight").
 *                        A is Kaiming-uniform (bound 1/√in, as PEFT's
 *                        kaiming_uniform_(a=√5)), B zero, both from eco_rng seeded by the
 *                        seed; y = x·Wᵀ + s·(drop(x)·Aᵀ)·Bᵀ with s = alpha/r (alpha/√r with
 *                        rsLoRA); drop is inverted dropout with probability lora_dropout in
 *                        training forwards only.
 *
 * One training micro-step: eco_train_forward (saves activations for the batch [B, T]) then
 * eco_train_backward (accumulates into the gradient arena). One optimiser step:
 * eco_train_step (global-norm clipping, warm-up + cosine learning rate, AdamW with
 * decoupled weight decay). Gradient accumulation is several forward/backward pairs with
 * grad_scale = 1/n_micro before one step; eco_train_zero_grad starts the next.
 *
 * Targets: targets[b, t] is the token position t should predict (the caller shifts); a
 * negative target masks the position. The loss is the mean cross-entropy over unmasked
 * positions (prompt tokens masked for completion-only training).
 *
 * Determinism: the same model, seed, data and thread count give bit-identical results.
 * Every reduction (norm-weight and bias gradients, embedding gradients, the gradient norm,
 * the loss) runs in a fixed order independent of OpenMP scheduling; dropout masks come from
 * a counter-based hash of (seed, forward counter, module, element), so they do not depend on
 * threads either and are reproducible from eco_train_state alone.
 *
 * Threads: OpenMP inside each call; one call at a time per model.
 */
#ifndef ECOLOGY_TRAIN_H
#define ECOLOGY_TRAIN_H

#include "ecology/config.h"
#include "ecology/contracts.h"
#include "ecology/model.h"
#include "ecology/peft.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum eco_train_mode {
    ECO_TRAIN_MODE_FULL = 0,
    ECO_TRAIN_MODE_LORA = 1,
} eco_train_mode;

typedef struct eco_train_options {
    eco_train_mode mode;
    eco_peft_config
        lora;          /* ECO_TRAIN_MODE_LORA only: targets, r, alpha, dropout, rsLoRA, patterns */
    uint64_t seed;     /* LoRA initialisation and dropout */
    int64_t max_batch; /* B: activations are sized for [max_batch, max_seq] once */
    int64_t max_seq;   /* T */
} eco_train_options;

/* One trainable tensor: its place in the params / grads / m / v arenas. */
typedef struct eco_train_param {
    char name[160]; /* HF name (full) or PEFT name (LoRA) */
    int ndim;       /* 1 or 2 */
    int64_t shape[2];
    size_t offset; /* in floats from the start of each arena */
    size_t numel;
    bool decay; /* false for norm weights and biases */
} eco_train_param;

/* Optimiser state that a checkpoint must carry besides the arenas. data_position and
 * data_rng are the caller's (the data loader's cursor and shuffle RNG), kept here so one
 * checkpoint holds everything. */
typedef struct eco_train_state {
    int64_t step;             /* optimiser steps taken */
    uint64_t forward_counter; /* training forwards run (feeds the dropout hash) */
    int64_t data_position;
    eco_rng data_rng;
} eco_train_state;

typedef struct eco_adamw_config {
    double lr;            /* peak learning rate */
    double beta1, beta2;  /* 0.9, 0.999 */
    double eps;           /* 1e-8 */
    double weight_decay;  /* decoupled, on tensors with decay == true */
    double grad_clip;     /* max global L2 norm; <= 0 disables clipping */
    int64_t warmup_steps; /* lr·(step+1)/warmup for step < warmup */
    int64_t
        total_steps; /* cosine from lr down to lr·min_lr_ratio at total_steps; <= 0: constant after warm-up */
    double min_lr_ratio;
} eco_adamw_config;

/* AdamW defaults of torch.optim.AdamW (lr 1e-3, betas 0.9/0.999, eps 1e-8, wd 0.01), no
 * clipping, no warm-up, constant rate. */
eco_adamw_config eco_adamw_config_default(void);

typedef struct eco_train_model eco_train_model;

/* Builds a training model from `dir` (config.json + model.safetensors or a sharded index).
 * In LoRA mode opt->lora must have r > 0 and at least one target. Tensors are checked as
 * eco_model_load checks them. Caller frees with eco_train_model_free. EINVAL on bad options,
 * EFORMAT on a bad model, ENOMEM, EOVERFLOW. */
eco_status eco_train_model_create(const char *dir, const eco_train_options *opt,
                                  eco_train_model **out);
void eco_train_model_free(eco_train_model *m);

const eco_model_config *eco_train_model_config(const eco_train_model *m);
eco_train_mode eco_train_model_mode(const eco_train_model *m);
/* The parameter table (owned by m) and the four arenas of eco_train_num_floats(m) floats
 * each, laid out by it (owned by m; writable: tests and loaders set parameters in place). */
size_t eco_train_num_params(const eco_train_model *m);
const eco_train_param *eco_train_param_at(const eco_train_model *m, size_t i);
const eco_train_param *eco_train_find_param(const eco_train_model *m, const char *name);
size_t eco_train_num_floats(const eco_train_model *m);
float *eco_train_params(eco_train_model *m);
float *eco_train_grads(eco_train_model *m);
float *eco_train_adam_m(eco_train_model *m);
float *eco_train_adam_v(eco_train_model *m);
eco_train_state *eco_train_model_state(eco_train_model *m);

/* Forward over tokens[B, T] (B <= max_batch, T <= max_seq, positions 0..T−1 in each row),
 * saving what backward needs. `training` turns LoRA dropout on (and advances the forward
 * counter). With targets (may be NULL) *loss (may be NULL) gets the mean cross-entropy over
 * positions whose target is >= 0; NaN-free 0 when every position is masked. Tokens or
 * targets outside [0, vocab) (targets: or negative) give ERANGE. */
eco_status eco_train_forward(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                             int64_t B, int64_t T, bool training, float *loss);
/* eco_train_forward with the position of every token, positions[B, T] (may be NULL: 0..T−1
 * in each row). A row may hold several packed documents: each starts at position 0 and the
 * next positions count up by one; a token attends only to its own document and RoPE turns
 * it by its position in that document, so a row [A | B] gives A and B the logits and
 * gradients they get in rows of their own. EINVAL for any other pattern. */
eco_status eco_train_forward_pos(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                 const int32_t *positions, int64_t B, int64_t T, bool training,
                                 float *loss);
/* The logits of the last forward, [B, T, vocab]; valid until the next eco_train_backward,
 * which overwrites them with their gradient. */
const float *eco_train_logits(const eco_train_model *m);
/* Backward of the last forward (which must have had targets): adds grad_scale × ∂loss/∂θ to
 * the gradient arena. EINVAL without a preceding forward with targets. */
eco_status eco_train_backward(eco_train_model *m, float grad_scale);
void eco_train_zero_grad(eco_train_model *m);

/* Learning rate for optimiser step `step` (0-based): linear warm-up lr·(step+1)/warmup, then
 * cosine to lr·min_lr_ratio at total_steps (held there after). */
double eco_train_lr_at(const eco_adamw_config *cfg, int64_t step);
/* Global L2 norm of the gradient arena (summed in double, fixed order). */
double eco_train_grad_norm(eco_train_model *m);
/* One optimiser step on the accumulated gradients: clip to cfg->grad_clip (as
 * torch.nn.utils.clip_grad_norm_: scale by max/(norm+1e-6) when that is < 1), then AdamW
 * (torch.optim.AdamW's arithmetic) at eco_train_lr_at(cfg, state.step); state.step += 1.
 * Gradients are left as they are (clipped); call eco_train_zero_grad before accumulating
 * again. *grad_norm (pre-clip) and *lr may be NULL. */
eco_status eco_train_step(eco_train_model *m, const eco_adamw_config *cfg, double *grad_norm,
                          double *lr);

/* LoRA mode: the trained adapter in PEFT's layout (adapter_config.json +
 * adapter_model.safetensors), through eco_lora_adapter_save. EINVAL in full mode. */
eco_status eco_train_save_lora(eco_train_model *m, const char *dir);
/* LoRA mode: the adapter as it stands now, widened for the inference model `target` (of
 * the same shapes as the base m was built from), so that the policy being trained can be
 * sampled with eco_model_forward_adapter / eco_model_decode_batch: the tensors are copied,
 * so later updates of m do not reach *out (free with eco_model_adapter_free). EINVAL in
 * full mode or for a model of other shapes; ENOMEM. */
eco_status eco_train_model_adapter(eco_train_model *m, const eco_model *target,
                                   eco_model_adapter **out);
/* Full mode: the weights as model.safetensors (f32, HF names) and config.json in dir. */
eco_status eco_train_save_model(eco_train_model *m, const char *dir);

/* Checkpoint: one safetensors file holding params, AdamW m and v (by name, suffixed
 * ".adam_m"/".adam_v") and eco_train_state in its metadata; written atomically. Loading
 * into a model built with the same options restores all of it, so a run that resumes from
 * a checkpoint ends bit-identical to one that was never interrupted. Load checks every
 * name and shape (EFORMAT naming the tensor). */
eco_status eco_train_checkpoint_save(eco_train_model *m, const char *path);
eco_status eco_train_checkpoint_load(eco_train_model *m, const char *path);

/* ---- distillation (train_distill.c) ------------------------------------------------------
 *
 * Token level, when teacher and student share a tokenizer (eco_distill_same_tokenizer):
 * the student is trained on a mix of cross-entropy on the targets and the KL divergence
 * from the teachers' temperature-softened distribution, Hinton-style. Over the N_v
 * positions i whose target y_i >= 0 (masked positions contribute to neither term), with
 * student logits z_i [V], K teachers' logits t_ki [V], temperature τ > 0, weight w in [0, 1]:
 *
 *   p_i  = (1/K) Σ_k softmax(t_ki / τ)           (several teachers: mean of their softened
 *                                                  probabilities)
 *   q_i  = softmax(z_i / τ)
 *   CE   = (1/N_v) Σ_i −log softmax(z_i)[y_i]
 *   KL   = (1/N_v) Σ_i Σ_v p_iv·(log p_iv − log q_iv)      (terms with p_iv = 0 are 0)
 *   loss = (1 − w)·CE + w·τ²·KL
 *
 * Normalisation: KL is summed over the vocabulary and averaged over unmasked positions,
 * which is torch.nn.KLDivLoss(reduction='batchmean') applied to the [N_v, V] rows of
 * unmasked positions, i.e. in torch
 *   (1−w)·F.cross_entropy(z, y, ignore_index=−1)
 *     + w·τ²·F.kl_div(F.log_softmax(z[valid]/τ, −1), p[valid], reduction='batchmean')
 * (not reduction='mean', which would also divide by V). The τ² keeps the soft term's
 * gradient on the scale of the hard one as τ changes. The gradient the backward uses is
 *   ∂loss/∂z_i = (1/N_v)·[(1 − w)·(softmax(z_i) − onehot(y_i)) + w·τ·(q_i − p_i)].
 * With w = 0 the loss and every gradient are bit-identical to eco_train_forward's.
 *
 * Sequence level, when tokenizers differ: eco_distill_generate_jsonl has the teachers
 * complete prompts greedily and writes {"prompt", "completion"} JSONL, on which the plain
 * cross-entropy trainer then trains the student. */

/* Losses of the last eco_train_forward_distill. */
typedef struct eco_distill_losses {
    float loss; /* (1 − w)·ce + w·τ²·kl: the loss the backward differentiates */
    float ce;   /* mean cross-entropy over unmasked positions */
    float kl;   /* mean KL(p ‖ q) over unmasked positions, without the τ² factor */
} eco_distill_losses;

/* Forward over tokens[B, T] like eco_train_forward (same limits and errors), then the mixed
 * loss above; the following eco_train_backward differentiates the mixed loss (its logits
 * gradient reflects both terms). targets [B, T] are required (EINVAL when NULL).
 * teacher_logits[k] (k < n_teachers, n_teachers >= 1) are [B, T, teacher_vocab] row-major,
 * borrowed for this call only (the softened mean is copied into the model). teacher_vocab
 * must equal the student's vocab_size (EINVAL naming both otherwise); weight outside [0, 1]
 * or a temperature that is not finite and > 0 is EINVAL; a non-finite teacher logit at an
 * unmasked position is ERANGE naming it. On error no backward is possible (EINVAL there).
 * *out (may be NULL) gets the three losses (all 0 when every position is masked). ENOMEM
 * when the model's [max_batch·max_seq, V] soft-target buffer (allocated on first use, owned
 * by m) cannot be allocated. */
eco_status eco_train_forward_distill(eco_train_model *m, const int32_t *tokens,
                                     const int32_t *targets, const float *const *teacher_logits,
                                     size_t n_teachers, int64_t teacher_vocab, int64_t B, int64_t T,
                                     float weight, float temperature, bool training,
                                     eco_distill_losses *out);
/* eco_train_forward_distill with positions[B, T] (may be NULL) as eco_train_forward_pos
 * takes them: packed documents, each attending only to itself. The teachers' logits should
 * come from the same positions (eco_distill_teacher_logits_* below). */
eco_status eco_train_forward_distill_pos(eco_train_model *m, const int32_t *tokens,
                                         const int32_t *targets, const int32_t *positions,
                                         const float *const *teacher_logits, size_t n_teachers,
                                         int64_t teacher_vocab, int64_t B, int64_t T, float weight,
                                         float temperature, bool training, eco_distill_losses *out);

/* Teacher logits out[B, T, V_teacher] (caller-allocated; V_teacher from the teacher's
 * config) for tokens[B, T], each row run from position 0; with positions[B, T] (may be
 * NULL; the pattern of eco_train_forward_pos, EINVAL otherwise) each packed document is run
 * on its own from position 0.
 *   _model: an inference eco_model (one KV cache of T, reset per row or document;
 *           eco_model_forward's errors).
 *   _train: an eco_train_model in eval mode (no dropout, forward counter untouched); this
 *           replaces that model's last forward. */
eco_status eco_distill_teacher_logits_model(eco_model *teacher, const int32_t *tokens,
                                            const int32_t *positions, int64_t B, int64_t T,
                                            float *out);
eco_status eco_distill_teacher_logits_train(eco_train_model *teacher, const int32_t *tokens,
                                            const int32_t *positions, int64_t B, int64_t T,
                                            float *out);

/* SHA-256 of <dir>/tokenizer.json's canonical JSON (eco_json_canonicalize: sorted keys, no
 * insignificant white space), and whether two folders' tokenizers hash the same (so token
 * ids mean the same text and token-level distillation applies). ENOTFOUND when a
 * tokenizer.json is missing, EFORMAT when it is not JSON, ERANGE over 512 MiB. */
eco_status eco_distill_tokenizer_hash(const char *dir, uint8_t out[ECO_SHA256_LEN]);
eco_status eco_distill_same_tokenizer(const char *dir_a, const char *dir_b, bool *same);

/* Sequence-level distillation data. Reads prompts_jsonl_in: each non-blank line a JSON
 * object with a string "prompt" (other keys ignored; a line that is not such an object,
 * holds a duplicate key or a NUL byte in the prompt is EFORMAT "file:line: ..."; no prompt
 * at all is EFORMAT). Every prompt is given to every teacher greedily (temperature 0,
 * add_special and stop_at_eos on, max_tokens new tokens at most). With several teachers
 * the completion kept is the one with the highest mean log-probability per generated
 * token (the sum of the response's logprobs over n_tokens, in double; an empty completion
 * scores −∞; ties go to the lower teacher index). Writes one line per prompt, in input
 * order, {"completion": ..., "prompt": ...} in canonical JSON, atomically to jsonl_out
 * (eco_atomic_file_*): on any error (missing input: ENOTFOUND; a teacher's failure, with
 * the line named) nothing appears at jsonl_out. Completion bytes that are not valid UTF-8
 * are replaced, one U+FFFD per invalid byte, so the line is valid JSON. *n_written (may be
 * NULL) gets the number of lines. Teachers are borrowed; calls on them are serialised. */
eco_status eco_distill_generate_jsonl(eco_engine *const *teachers, size_t n_teachers,
                                      const char *prompts_jsonl_in, const char *jsonl_out,
                                      int max_tokens, size_t *n_written);

/* ---- GRPO: group relative policy optimisation (train_grpo.c) ----------------------------
 *
 * The objective of TRL's GRPOTrainer (its _compute_loss and the advantage normalisation of
 * _generate_and_score_completions), on per-token log-probabilities of completion tokens.
 *
 * Advantages: rewards r [n_groups, G] (the G completions of one prompt are one group),
 *   A_gi = r_gi − mean_g                        scale_rewards false
 *   A_gi = (r_gi − mean_g) / (std_g + 1e-4)     scale_rewards true (std unbiased, as torch.std)
 * A group whose G rewards are all equal carries no signal: its advantages are exactly 0 and
 * it is counted (n_zero_signal), so the loop can report or resample it.
 *
 * Objective over rows b < B (one completion per row) and positions t < T, with the
 * completion mask m_bt (1 on completion tokens), the policy's log-probabilities lp_bt, the
 * log-probabilities at sampling time old_bt (the policy before this batch's updates; equal
 * to lp_bt with one update per batch), the reference policy's ref_bt, the row's advantage
 * A_b, clip bounds ε_low, ε_high and KL weight β:
 *   ρ_bt  = exp(lp_bt − old_bt)
 *   ℓ_bt  = −min(ρ_bt·A_b, clamp(ρ_bt, 1 − ε_low, 1 + ε_high)·A_b)
 *           + β·(exp(ref_bt − lp_bt) − (ref_bt − lp_bt) − 1)        (the k3 estimator)
 *   loss  = Σ_bt w_bt·m_bt·ℓ_bt with, by loss type (TRL's names),
 *     "grpo"     w_bt = 1 / (B·max(1, Σ_t m_bt))     per sequence, then the batch mean
 *     "bnpo"     w_bt = 1 / max(1, Σ_bt m_bt)        per token over the batch (TRL's "dapo"
 *                                                   on one batch without accumulation)
 *     "dr_grpo"  w_bt = 1 / (B·max_completion_length) a constant normaliser
 * Gradient (what the backward uses), with torch's conventions at ties:
 *   ∂loss/∂lp_bt = w_bt·m_bt·(−A_b·ρ_bt·[not clipped] + β·(1 − exp(ref_bt − lp_bt)))
 * where a token is clipped when A_b > 0 and ρ_bt > 1 + ε_high or A_b < 0 and ρ_bt < 1 − ε_low
 * (the clamped branch is the minimum and has no gradient). The log-probabilities are those
 * of softmax(logits / temperature), as TRL divides the logits by the sampling temperature. */

typedef enum eco_grpo_loss_type {
    ECO_GRPO_LOSS_GRPO = 0,    /* "grpo" */
    ECO_GRPO_LOSS_BNPO = 1,    /* "bnpo" */
    ECO_GRPO_LOSS_DR_GRPO = 2, /* "dr_grpo" */
} eco_grpo_loss_type;

/* "grpo", "bnpo", "dr_grpo" (the run record's spelling); NULL for a value outside the enum. */
const char *eco_grpo_loss_type_name(eco_grpo_loss_type t);
/* The inverse; EINVAL naming the value and the accepted names otherwise. */
eco_status eco_grpo_loss_type_parse(const char *name, eco_grpo_loss_type *out);

typedef struct eco_grpo_config {
    double epsilon_low;            /* ε_low, default 0.2 */
    double epsilon_high;           /* ε_high, default 0.2 (TRL: epsilon_high = epsilon) */
    double beta;                   /* KL weight, default 0 (no reference log-probabilities) */
    double temperature;            /* logits / temperature before log-softmax, default 1 */
    eco_grpo_loss_type loss_type;  /* default ECO_GRPO_LOSS_GRPO */
    int64_t max_completion_length; /* "dr_grpo" only: the constant normaliser's length */
} eco_grpo_config;

eco_grpo_config eco_grpo_config_default(void);
/* EINVAL naming the field: ε not finite or < 0, ε_low >= 1, β not finite or < 0, a
 * temperature not finite and > 0, an unknown loss type, dr_grpo without
 * max_completion_length > 0. */
eco_status eco_grpo_config_check(const eco_grpo_config *cfg);

/* advantages[n_groups·G] from rewards[n_groups·G] (group-major), in double, rounded to f32.
 * *n_zero_signal (may be NULL) gets the number of groups whose rewards are all equal.
 * EINVAL for n_groups < 1 or G < 2 (a group of one has no relative signal); ERANGE naming
 * the group and member of a reward that is not finite. */
eco_status eco_grpo_advantages(const float *rewards, int64_t n_groups, int64_t G,
                               bool scale_rewards, float *advantages, int64_t *n_zero_signal);

/* What one evaluation of the objective measured (TRL's logged metrics). */
typedef struct eco_grpo_stats {
    double loss;         /* the objective above */
    double kl;           /* mean k3 KL over completion tokens (0 when β = 0) */
    double clip_ratio;   /* share of completion tokens clipped (either side) */
    double clip_low;     /* share clipped at 1 − ε_low (A < 0) */
    double clip_high;    /* share clipped at 1 + ε_high (A > 0) */
    int64_t n_tokens;    /* completion tokens Σ m_bt */
    int64_t n_sequences; /* rows with at least one completion token */
} eco_grpo_stats;

/* The objective and its gradient on log-probabilities, all [B, T] row-major: lp (the
 * policy's), old (NULL: lp itself, one update per batch), ref (read only when β > 0, then
 * required), mask (nonzero = completion token; positions outside the mask are never read),
 * advantages [B]. *stats (may be NULL) as above; dlp [B, T] (may be NULL) gets
 * ∂loss/∂lp (0 outside the mask). EINVAL on a bad config or a NULL required argument;
 * ERANGE naming [b, t] for a non-finite log-probability or advantage under the mask. */
eco_status eco_grpo_objective(const eco_grpo_config *cfg, const float *lp, const float *old,
                              const float *ref, const uint8_t *mask, const float *advantages,
                              int64_t B, int64_t T, eco_grpo_stats *stats, float *dlp);

/* Per-token log-probabilities of the targets under softmax(logits / temperature) of an
 * eval-mode forward (no dropout; the forward counter is untouched): out[B, T] gets
 * log p(targets[b, t]) where targets[b, t] >= 0 and 0 elsewhere. This replaces the model's
 * last forward. eco_train_forward's limits and errors; EINVAL for a temperature not finite
 * and > 0. The rl loop takes old log-probabilities (before the batch's first update) and the
 * reference's (a model without the adapter, or the adapter as it was at the start) this way. */
eco_status eco_train_token_logps(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                 int64_t B, int64_t T, double temperature, float *out);

/* A GRPO micro-step's forward: tokens[B, T] are prompt + completion rows (padding after the
 * completion is any valid token), targets[B, T] the next token at completion positions and
 * −1 elsewhere (the mask is targets >= 0; the caller shifts as for eco_train_forward).
 * old_logps, ref_logps [B, T] and advantages [B] as for eco_grpo_objective (old may be NULL,
 * ref is read when cfg->beta > 0). The following eco_train_backward(m, grad_scale) adds
 * grad_scale·∂loss/∂θ through the same backward as cross-entropy (the logits' gradient is
 * dlp_bt·(onehot(y_bt) − softmax(z_bt/τ))/τ). *stats (may be NULL) as above; *logps (may be
 * NULL, [B, T]) gets the policy's log-probabilities. eco_train_forward's limits and errors,
 * eco_grpo_objective's; on error no backward is possible. A later plain forward clears the
 * GRPO loss. ENOMEM when the [max_batch·max_seq] buffers (allocated on first use, owned by
 * m) cannot be allocated.
 *
 * The rl loop's contract: per batch of rollouts (n_groups prompts × G completions, rows
 * group-major) it computes rewards, eco_grpo_advantages, the old log-probabilities (only
 * when num_iterations > 1; with one update the ratio is 1 and old may be NULL) and, with
 * β > 0, the reference's, all with eco_train_token_logps; then num_iterations times:
 * eco_train_zero_grad, for each micro-batch of rows eco_train_forward_grpo and
 * eco_train_backward(m, 1 / n_micro), eco_train_step. The settings (ε_low, ε_high, β,
 * temperature, loss type and its name, scale_rewards, num_iterations, G) and the zero-signal
 * count go in the run record. With several micro-batches the "grpo" and "dr_grpo" means are
 * over each micro-batch's rows (as TRL's per-device batches); "bnpo" normalises per
 * micro-batch. */
eco_status eco_train_forward_grpo(eco_train_model *m, const int32_t *tokens, const int32_t *targets,
                                  const float *old_logps, const float *ref_logps,
                                  const float *advantages, int64_t B, int64_t T,
                                  const eco_grpo_config *cfg, bool training, eco_grpo_stats *stats,
                                  float *logps);

#ifdef __cplusplus
}
#endif
#endif
