/*
 * The training module's private layout, shared by train_model.c (builds it),
 * train_forward.c (the forward and backward passes), train_distill.c (the distillation
 * loss), train_grpo.c (the GRPO objective), train_optim.c, train_checkpoint.c,
 * train_lora_save.c and trainer.c (the loop).
 * The model it trains is read through model.h only (eco_rope_inv_freq included); the
 * JSONL loader (data_*.c) and distill_run.c use the public headers.
 *
 * Weights: each base tensor is reached through a tlayer of pointers. In full mode these
 * point into `params` (trainable) and the grad pointers into `grads`; in LoRA mode they
 * point into the mapped file (f32) or `frozen` (widened once) and the grad pointers are
 * NULL. LoRA modules point into `params`/`grads`.
 */
#ifndef ECO_TRAIN_INTERNAL_H
#define ECO_TRAIN_INTERNAL_H

#include "ecology/safetensors.h"
#include "ecology/train.h"
#include "model/layer.h" /* the llama block's shared pieces (the model module's, for train) */

/* Pointers to one layer's tensors (weights or their gradients). */
typedef struct tlayer {
    float *attn_norm; /* [d] */
    float *wq;        /* [qd, d] */
    float *wk;        /* [kvd, d] */
    float *wv;        /* [kvd, d] */
    float *wo;        /* [d, qd] */
    float *bq;        /* [qd] or NULL */
    float *bk;        /* [kvd] or NULL */
    float *bv;        /* [kvd] or NULL */
    float *bo;        /* [d] or NULL */
    float *ffn_norm;  /* [d] */
    float *wg;        /* [f, d] */
    float *wu;        /* [f, d] */
    float *wd;        /* [d, f] */
} tlayer;

/* One LoRA module on a linear W [out, in]. */
typedef struct tlora {
    bool on;
    int64_t r, in, out;
    float scale;
    float *A, *B;   /* [r, in], [out, r] in params */
    float *dA, *dB; /* same in grads */
    float *xd; /* [N, in] activation: the (dropped-out) input, or NULL (then the input itself) */
    float *t;  /* [N, r] activation: xd·Aᵀ */
} tlora;

/* Activations for N = B·T rows, saved by the forward for the backward. */
typedef struct tacts {
    float *res; /* [L+1, N, d] residual stream entering each layer; res[L] enters the final norm */
    float *res_mid; /* [L, N, d]   residual after the attention block */
    float *rstd1;   /* [L, N]      1/rms of input_layernorm */
    float *xn1;     /* [L, N, d]   normed input of attention */
    float *q;       /* [L, N, qd]  queries after RoPE */
    float *k;       /* [L, N, kvd] keys after RoPE */
    float *v;       /* [L, N, kvd] */
    float *probs;   /* [L, B, H, T, T] attention probabilities (zero above the diagonal) */
    float *atty;    /* [L, N, qd]  attention output, heads concatenated */
    float *rstd2;   /* [L, N] */
    float *xn2;     /* [L, N, d]   normed input of the MLP */
    float *gate;    /* [L, N, f] */
    float *up;      /* [L, N, f] */
    float *hid;     /* [L, N, f]   silu(gate)⊙up */
    float *rstdf;   /* [N] */
    float *xnf;     /* [N, d]      final normed */
    float *logits;  /* [N, V]      logits; backward turns them into dlogits */
    float *losses;  /* [N]         per-position cross-entropy (0 where masked) */
    /* backward scratch */
    float *dres;    /* [N, d] gradient of the residual stream */
    float *dxn;     /* [N, d] */
    float *dbig;    /* [N, max(qd, f)]: dq / dhid */
    float *dgate;   /* [N, f] */
    float *dup;     /* [N, f] */
    float *dk;      /* [N, kvd] */
    float *dv;      /* [N, kvd] */
    float *datty;   /* [N, qd] */
    float *dlora;   /* [N, max(in)] per-module scratch: dt then dxd */
    float *dlora_t; /* [N, max r] */
    float *dscores; /* [threads, T, T] per-thread attention scratch */
} tacts;

struct eco_train_model {
    eco_model_config cfg;
    eco_train_options opt;
    eco_weights *weights;

    /* trainable: table and four arenas */
    eco_train_param *table;
    size_t n_params;
    size_t n_floats;
    float *params;
    float *grads;
    float *adam_m;
    float *adam_v;

    size_t n_frozen, n_act; /* floats of frozen and act_block (big_floats) */
    float *frozen;          /* LoRA mode: widened non-f32 base tensors; NULL otherwise */

    /* views */
    float *embed, *lm_head, *final_norm;       /* [V, d], [V, d] (== embed when tied), [d] */
    float *d_embed, *d_lm_head, *d_final_norm; /* grads or NULL */
    tlayer *w;                                 /* [L] */
    tlayer *dw;                                /* [L] (all NULL in LoRA mode) */
    tlora *lora;                               /* [L * ECO_LORA__COUNT] */

    float *cos_tab; /* [max_seq, hd/2] */
    float *sin_tab;
    int scratch_threads;

    tacts a;
    float *act_block; /* owns every activation buffer */

    /* last forward */
    int64_t B, T;
    int32_t *tokens;  /* [max_batch·max_seq] copy */
    int32_t *targets; /* [max_batch·max_seq] copy */
    int32_t *pos;     /* [max_batch·max_seq] copy of the positions of the last forward */
    bool have_pos;    /* false: positions 0..T−1 in every row, one causal sequence per row */
    bool have_fwd, have_targets, fwd_training;
    uint64_t fwd_counter; /* forward counter the last forward's dropout used */
    int64_t n_valid;      /* unmasked targets */

    /* distillation (train_distill.c): set by eco_train_forward_distill, cleared by every
     * eco_train_forward; when set, the backward's loss stage takes dlogits from the mixed
     * loss (eco_train_distill_dlogits) instead of plain cross-entropy */
    bool distill_on;
    float distill_weight, distill_temp;
    float *
        distill_soft; /* [max_batch·max_seq, V] averaged softened teacher probabilities; NULL until first use */
    double *distill_kl; /* [max_batch·max_seq] per-position KL(teacher ‖ student) */

    /* GRPO (train_grpo.c): set by eco_train_forward_grpo, cleared by every eco_train_forward;
     * when set, the backward's loss stage takes dlogits from grpo_dlp (eco_train_grpo_dlogits) */
    bool grpo_on;
    float grpo_temp;
    float *grpo_lp;     /* [max_batch·max_seq] policy log-probabilities; NULL until first use */
    float *grpo_dlp;    /* [max_batch·max_seq] ∂loss/∂log-probability (0 off the mask) */
    uint8_t *grpo_mask; /* [max_batch·max_seq] targets >= 0 */

    eco_train_state state;
};

/* EINVAL (message starting with `what`) unless every position of pos[B, T] starts a document
 * (0) or follows the one before it in its row by one. */
eco_status eco_train_check_positions(const char *what, const int32_t *pos, int64_t B, int64_t T);

/* Dropout keep-mask element: true if element i of module `mod` is kept. */
bool eco_train_dropout_keep(uint64_t seed, uint64_t counter, uint64_t mod, uint64_t i, double p);

/* In place: logits[N, V] of the last forward → scale·∂(mixed loss)/∂logits per unmasked
 * row (scale = grad_scale / n_valid), zero rows where masked. train_distill.c. */
void eco_train_distill_dlogits(eco_train_model *m, float *logits, float scale);

/* In place: logits[N, V] of the last forward → scale·∂(GRPO loss)/∂logits, zero rows where
 * masked. train_grpo.c. */
void eco_train_grpo_dlogits(eco_train_model *m, float *logits, float scale);

#endif
