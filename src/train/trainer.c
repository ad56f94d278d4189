/*
 * trainer: the training loop (eco_trainer_run), gradients on one batch (eco_trainer_grads)
 * and loading a saved adapter into a training model (eco_train_load_lora). See
 * include/ecology/trainer.h for the files written and the resume rules.
 */
#include "train/train_internal.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecology/safetensors.h"
#include "ecology/tensor.h"
#include "ecology/tokenizer.h"
#include "ecology/trainer.h"

#ifndef ECO_VERSION
#define ECO_VERSION ECO_VERSION_STRING
#endif

void eco_trainer_options_init(eco_trainer_options *o) {
    memset(o, 0, sizeof *o);
    o->mode = ECO_TRAIN_MODE_FULL;
    eco_peft_config_init(&o->lora);
    o->lora.r = 8;
    o->lora.lora_alpha = 16;
    o->lora.targets[ECO_LORA_Q] = o->lora.targets[ECO_LORA_V] = true;
    o->steps = 100;
    o->batch = 4;
    o->seq = 128;
    o->accum = 1;
    o->lr = 1e-3;
    o->min_lr_ratio = 0.1;
    o->weight_decay = 0.01;
    o->grad_clip = 1.0;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->pack = ECO_DATA_PACK_AUTO;
}

/* ---- eco_train_load_lora ----------------------------------------------------------------- */

eco_status eco_train_load_lora(eco_train_model *m, const char *dir) {
    if (!m || !dir) return eco_error(ECO_STATUS_EINVAL, "load adapter: NULL argument");
    if (m->opt.mode != ECO_TRAIN_MODE_LORA)
        return eco_error(ECO_STATUS_EINVAL,
                         "load adapter: %s: the training model is not in LoRA mode", dir);
    eco_lora_adapter *a;
    eco_status st = eco_lora_adapter_load(dir, &m->cfg, &a);
    if (st) return st;
    for (int64_t l = 0; l < m->cfg.n_layers && !st; l++) {
        for (int t = 0; t < ECO_LORA__COUNT && !st; t++) {
            const tlora *lo = &m->lora[l * ECO_LORA__COUNT + t];
            const eco_lora_module *mod = eco_lora_adapter_module(a, l, (eco_lora_target)t);
            if (!lo->on && !mod->A) continue;
            if (!lo->on || !mod->A || !mod->B || mod->r != lo->r || mod->A->shape[1] != lo->in ||
                mod->B->shape[0] != lo->out) {
                st = eco_error(
                    ECO_STATUS_EFORMAT,
                    "%s: layer %lld %s: adapter module does not match the training model's "
                    "(rank %lld vs %lld)",
                    dir, (long long)l, eco_lora_target_name((eco_lora_target)t), (long long)mod->r,
                    (long long)lo->r);
                break;
            }
            eco_to_f32(lo->A, mod->A->data, mod->A->dtype, (size_t)(lo->r * lo->in));
            eco_to_f32(lo->B, mod->B->data, mod->B->dtype, (size_t)(lo->out * lo->r));
        }
    }
    eco_lora_adapter_free(a);
    return st;
}

/* ---- helpers ------------------------------------------------------------------------------ */

/* SHA-256 of the base's weights: model.safetensors', or for a sharded base one digest over
 * the index and every shard (eco_weights_digest, safetensors.h). */
static eco_status base_sha256(const char *dir, char hex[ECO_SHA256_HEX_LEN + 1]) {
    return eco_weights_digest(dir, hex);
}

static eco_status copy_file(const char *from, const char *to) {
    char *data;
    size_t len;
    eco_status st = eco_read_file(from, (size_t)1 << 30, &data, &len);
    if (st) return st;
    st = eco_write_file_atomic(to, data, len);
    free(data);
    return st;
}

static json_t *jreal(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* The run's identity: everything that decides the bytes a run produces, except threads. */
static json_t *run_json(const eco_trainer_options *o, const char *base_hex,
                        const eco_data_corpus *c, const eco_data_tokens *tok,
                        const char *recipe_hex) {
    json_t *hyper = json_pack(
        "{s:I, s:I, s:I, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I, s:s}", "steps",
        (json_int_t)o->steps, "batch", (json_int_t)o->batch, "seq", (json_int_t)o->seq, "accum",
        (json_int_t)o->accum, "lr", o->lr, "min_lr_ratio", o->min_lr_ratio, "weight_decay",
        o->weight_decay, "clip", o->grad_clip, "beta1", o->beta1, "beta2", o->beta2, "eps", o->eps,
        "warmup", (json_int_t)o->warmup, "seed", (json_int_t)o->seed, "pack",
        o->pack == ECO_DATA_PACK_WHOLE    ? "whole"
        : o->pack == ECO_DATA_PACK_STREAM ? "stream"
                                          : "auto");
    if (hyper && o->doc_mask && json_object_set_new(hyper, "doc_mask", json_true())) {
        json_decref(hyper);
        return NULL;
    }
    json_t *run =
        json_pack("{s:s, s:{s:s, s:s}, s:{s:s, s:s, s:s, s:I, s:I, s:I}, s:o}", "mode",
                  o->mode == ECO_TRAIN_MODE_LORA ? "lora" : "full", "base", "path", o->model_dir,
                  "model_sha256", base_hex, "data", "path", o->data_path, "sha256", c->sha256_hex,
                  "kind", c->kind == ECO_DATA_KIND_TEXT ? "text" : "prompt_completion", "records",
                  (json_int_t)c->n_records, "tokens", (json_int_t)tok->n_tokens, "targets",
                  (json_int_t)tok->n_targets, "hyper", hyper);
    if (!run) return NULL;
    if (o->mode == ECO_TRAIN_MODE_LORA) {
        char *pc;
        size_t len;
        json_error_t err;
        if (eco_peft_config_to_json(&o->lora, &pc, &len) != ECO_STATUS_OK) {
            json_decref(run);
            return NULL;
        }
        json_t *lora = json_loadb(pc, len, 0, &err);
        free(pc);
        if (!lora || json_object_set_new(run, "lora", lora)) {
            json_decref(run);
            return NULL;
        }
    }
    if (o->run_extra && json_object_update(run, (json_t *)o->run_extra)) {
        json_decref(run);
        return NULL;
    }
    if (o->recipe_path && recipe_hex) {
        json_t *r = json_pack("{s:s, s:s}", "path", o->recipe_path, "sha256", recipe_hex);
        if (!r || json_object_set_new(run, "recipe", r)) {
            json_decref(run);
            return NULL;
        }
    }
    return run;
}

/* Names the first place two JSON values differ ("hyper.lr"), into buf. */
static bool json_first_diff(const json_t *a, const json_t *b, const char *prefix, char *buf,
                            size_t n) {
    if (json_is_object(a) && json_is_object(b)) {
        const char *k;
        json_t *va;
        json_object_foreach((json_t *)a, k, va) {
            char p[256];
            snprintf(p, sizeof p, "%s%s%s", prefix, *prefix ? "." : "", k);
            json_t *vb = json_object_get(b, k);
            if (!vb) {
                snprintf(buf, n, "%s", p);
                return true;
            }
            if (json_first_diff(va, vb, p, buf, n)) return true;
        }
        json_object_foreach((json_t *)b, k, va) {
            if (!json_object_get(a, k)) {
                snprintf(buf, n, "%s%s%s", prefix, *prefix ? "." : "", k);
                return true;
            }
        }
        return false;
    }
    if (!json_equal((json_t *)a, (json_t *)b)) {
        snprintf(buf, n, "%s", *prefix ? prefix : "(root)");
        return true;
    }
    return false;
}

static eco_status check_options(const eco_trainer_options *o) {
    if (!o->model_dir) return eco_error(ECO_STATUS_EINVAL, "train: no base model folder");
    if (!o->data_path) return eco_error(ECO_STATUS_EINVAL, "train: no data file");
    if (!o->out_dir && !(o->mode == ECO_TRAIN_MODE_LORA && o->adapter_out))
        return eco_error(ECO_STATUS_EINVAL, "train: no output folder");
    if (o->steps < 1)
        return eco_error(ECO_STATUS_EINVAL, "train: steps %lld < 1", (long long)o->steps);
    if (o->batch < 1 || o->batch > 65536)
        return eco_error(ECO_STATUS_EINVAL, "train: batch %lld outside [1, 65536]",
                         (long long)o->batch);
    if (o->seq < 1 || o->seq > 1 << 20)
        return eco_error(ECO_STATUS_EINVAL, "train: seq %lld outside [1, 1048576]",
                         (long long)o->seq);
    if (o->accum < 1 || o->accum > 65536)
        return eco_error(ECO_STATUS_EINVAL, "train: accum %lld outside [1, 65536]",
                         (long long)o->accum);
    if (!(o->lr > 0) || !isfinite(o->lr))
        return eco_error(ECO_STATUS_EINVAL, "train: lr %g is not a positive number", o->lr);
    if (!(o->weight_decay >= 0) || !isfinite(o->weight_decay))
        return eco_error(ECO_STATUS_EINVAL, "train: weight decay %g < 0", o->weight_decay);
    if (!(o->min_lr_ratio >= 0 && o->min_lr_ratio <= 1))
        return eco_error(ECO_STATUS_EINVAL, "train: min_lr_ratio %g outside [0, 1]",
                         o->min_lr_ratio);
    if (o->warmup < 0)
        return eco_error(ECO_STATUS_EINVAL, "train: warmup %lld < 0", (long long)o->warmup);
    if (o->checkpoint_every < 0) return eco_error(ECO_STATUS_EINVAL, "train: checkpoint_every < 0");
    if (isnan(o->grad_clip)) return eco_error(ECO_STATUS_EINVAL, "train: clip is NaN");
    if (o->init_adapter && o->mode != ECO_TRAIN_MODE_LORA)
        return eco_error(ECO_STATUS_EINVAL, "train: an initial adapter (%s) needs LoRA mode",
                         o->init_adapter);
    return ECO_STATUS_OK;
}

/* ---- rows without targets ------------------------------------------------------------- */

/* The explanation of a batch with no target token (step 0: the first batch; < 0: every
 * batch), into the last error: how many examples the rows cut and lose, and the --seq that
 * would do. */
static eco_status no_target_error(const char *cmd, const eco_data_loader *l, int64_t seq,
                                  int64_t max_pos, int64_t step) {
    eco_data_fit f;
    eco_data_loader_fit(l, &f);
    char where[64];
    if (step > 0)
        snprintf(where, sizeof where, "the batch of step %lld", (long long)step);
    else
        snprintf(where, sizeof where, step == 0 ? "the first batch" : "every batch");
    if (eco_data_loader_pack(l) != ECO_DATA_PACK_WHOLE || f.n_lost == 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "%s: %s has no target token (its rows hold only prompt or padding)", cmd,
                         where);
    char ctx[160] = "";
    if (f.seq_keep > max_pos)
        snprintf(ctx, sizeof ctx,
                 ", more than the model's context of %lld (max_position_embeddings): shorten the "
                 "prompts",
                 (long long)max_pos);
    return eco_error(
        ECO_STATUS_EINVAL,
        "%s: %s has no target token: at --seq %lld, %lld of %lld examples are cut (longer than "
        "%lld "
        "tokens) and %lld of them lose every target; --seq %lld keeps a target in every example%s "
        "(--seq %lld fits every example whole)",
        cmd, where, (long long)seq, (long long)f.n_cut, (long long)f.n_examples, (long long)seq + 1,
        (long long)f.n_lost, (long long)f.seq_keep, ctx, (long long)f.seq_whole);
}

/* Before the first step: refuses a corpus that no row can train on, warns when more than
 * 10% of the examples lose every target to the row length. */
static eco_status check_targets(const char *cmd, const eco_data_loader *l, int64_t seq,
                                int64_t max_pos) {
    eco_data_fit f;
    eco_data_loader_fit(l, &f);
    if (f.n_examples == 0 || (f.n_lost > 0 && f.n_lost == f.n_examples))
        return no_target_error(cmd, l, seq, max_pos, -1);
    if (f.n_lost * 10 > f.n_examples)
        ECO_WARN("%s: at --seq %lld, %lld of %lld examples (%.0f%%) lose every target (their "
                 "prompt fills the row); "
                 "--seq %lld keeps a target in every example",
                 cmd, (long long)seq, (long long)f.n_lost, (long long)f.n_examples,
                 100.0 * (double)f.n_lost / (double)f.n_examples, (long long)f.seq_keep);
    return ECO_STATUS_OK;
}

static int64_t pos_encode(eco_data_pos p) { return (p.epoch << 32) | p.row; }
static eco_data_pos pos_decode(int64_t v) {
    eco_data_pos p = {v >> 32, v & 0xffffffffLL};
    return p;
}

/* Everything one run holds; freed by run_free. */
typedef struct run_ctx {
    eco_data_corpus *corpus;
    eco_tokenizer *tok;
    eco_data_tokens *tokens;
    eco_data_loader *loader;
    eco_train_model *model;
    int32_t *inputs, *targets;
    uint8_t *mask;
    int32_t *positions; /* [batch·seq] with doc_mask, else NULL */
    json_t *run;
    const char *work; /* the working folder (checkpoints) */
} run_ctx;

static void run_free(run_ctx *c) {
    eco_train_model_free(c->model);
    eco_data_loader_free(c->loader);
    eco_data_tokens_free(c->tokens);
    eco_tokenizer_free(c->tok);
    eco_data_corpus_free(c->corpus);
    free(c->inputs);
    free(c->targets);
    free(c->mask);
    free(c->positions);
    json_decref(c->run);
}

eco_status eco_trainer_checkpoint_write(eco_train_model *m, const char *work_dir, const json_t *run,
                                        double last_loss) {
    if (!m || !work_dir || !run) return eco_error(ECO_STATUS_EINVAL, "checkpoint: NULL argument");
    char *ck = eco_path_join(work_dir, "checkpoint.safetensors"),
         *cj = eco_path_join(work_dir, "checkpoint.json");
    eco_status st = (!ck || !cj) ? eco_error(ECO_STATUS_ENOMEM, "checkpoint: out of memory")
                                 : eco_train_checkpoint_save(m, ck);
    if (!st) {
        json_t *j = json_pack("{s:O, s:I, s:o}", "run", run, "step",
                              (json_int_t)eco_train_model_state(m)->step, "loss", jreal(last_loss));
        st = j ? eco_json_write_canonical_file(cj, j)
               : eco_error(ECO_STATUS_ENOMEM, "checkpoint.json: out of memory");
        json_decref(j);
    }
    free(ck);
    free(cj);
    return st;
}

eco_status eco_trainer_checkpoint_restore(eco_train_model *m, const char *work_dir,
                                          const json_t *run, bool *resumed, double *last_loss) {
    if (resumed) *resumed = false;
    if (last_loss) *last_loss = NAN;
    if (!m || !work_dir || !run || !resumed || !last_loss)
        return eco_error(ECO_STATUS_EINVAL, "resume: NULL argument");
    char *ck = eco_path_join(work_dir, "checkpoint.safetensors"),
         *cj = eco_path_join(work_dir, "checkpoint.json");
    eco_status st = ECO_STATUS_OK;
    json_t *j = NULL;
    if (!ck || !cj) {
        st = eco_error(ECO_STATUS_ENOMEM, "resume: out of memory");
        goto done;
    }
    FILE *f = fopen(ck, "rb");
    if (!f) {
        ECO_INFO("--resume: no checkpoint at %s, starting from step 0", ck);
        goto done;
    }
    fclose(f);
    char *text;
    size_t len;
    if ((st = eco_read_file(cj, (size_t)1 << 24, &text, &len))) {
        st = eco_error_wrap(st, "resume");
        goto done;
    }
    json_error_t err;
    j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    free(text);
    if (!j) {
        st = eco_error(ECO_STATUS_EFORMAT, "resume: %s: %s", cj, err.text);
        goto done;
    }
    char where[256];
    json_t *jrun = json_object_get(j, "run");
    if (!jrun || json_first_diff(run, jrun, "", where, sizeof where)) {
        st = eco_error(ECO_STATUS_EINVAL, "resume: %s belongs to another run ('%s' differs)", cj,
                       jrun ? where : "run");
        goto done;
    }
    json_t *jstep = json_object_get(j, "step"), *jloss = json_object_get(j, "loss");
    if ((st = eco_train_checkpoint_load(m, ck))) goto done;
    const eco_train_state *s = eco_train_model_state(m);
    if (json_is_integer(jstep) && json_integer_value(jstep) == s->step && json_is_number(jloss))
        *last_loss = json_number_value(jloss);
    *resumed = true;
done:
    json_decref(j);
    free(ck);
    free(cj);
    return st;
}

static eco_status save_checkpoint(run_ctx *c, double last_loss) {
    return eco_trainer_checkpoint_write(c->model, c->work, c->run, last_loss);
}

/* Restores a checkpoint when asked and present, and the data loader's position with it. */
static eco_status maybe_resume(run_ctx *c, bool *resumed, double *last_loss) {
    eco_status st = eco_trainer_checkpoint_restore(c->model, c->work, c->run, resumed, last_loss);
    if (st || !*resumed) return st;
    st =
        eco_data_loader_seek(c->loader, pos_decode(eco_train_model_state(c->model)->data_position));
    if (st) {
        *resumed = false;
        return eco_error_wrap(st, "resume: %s: data position", c->work);
    }
    return ECO_STATUS_OK;
}

/* The folder the run's result goes to: the adapter folder in LoRA mode, else out_dir. */
static const char *output_dir(const eco_trainer_options *o) {
    return o->mode == ECO_TRAIN_MODE_LORA && o->adapter_out ? o->adapter_out : o->out_dir;
}

/* The working folder (checkpoints): work_dir, else <output>/.work; malloc'd. */
static char *work_dir(const eco_trainer_options *o) {
    return o->work_dir ? eco_strdup(o->work_dir) : eco_path_join(output_dir(o), ECO_WORK_DIR);
}

/* path made absolute against the current folder, "." and ".." components resolved by name
 * and repeated slashes folded (malloc'd; NULL when out of memory or no current folder). */
static char *lexical_abs(const char *path) {
    char cwd[PATH_MAX];
    if (path[0] != '/' && !getcwd(cwd, sizeof cwd)) return NULL;
    size_t n = (path[0] == '/' ? 0 : strlen(cwd)) + strlen(path) + 2;
    char *in = malloc(n), *out = malloc(n);
    if (!in || !out) {
        free(in), free(out);
        return NULL;
    }
    snprintf(in, n, "%s/%s", path[0] == '/' ? "" : cwd, path);
    size_t len = 0;
    for (char *save = NULL, *c = strtok_r(in, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
        if (strcmp(c, ".") == 0) continue;
        if (strcmp(c, "..") == 0) {
            while (len > 0 && out[len - 1] != '/') len--;
            if (len > 0) len--;
            continue;
        }
        len += (size_t)snprintf(out + len, n - len, "/%s", c);
    }
    if (len == 0) out[len++] = '/';
    out[len] = '\0';
    free(in);
    return out;
}

/* Whether work would lie inside out, which does not exist yet, other than as out/.work: by
 * the paths' names (nothing exists to compare by inode). */
static bool work_inside_new_output(const char *out, const char *work) {
    char *o = lexical_abs(out), *w = lexical_abs(work);
    bool inside = false;
    if (o && w) {
        size_t ol = strlen(o);
        if (strncmp(w, o, ol) == 0 && (w[ol] == '\0' || w[ol] == '/' || ol == 1)) {
            const char *rest = w + ol + (ol == 1 ? 0 : 1);
            size_t wl = strlen(ECO_WORK_DIR);
            inside =
                !(strncmp(rest, ECO_WORK_DIR, wl) == 0 && (rest[wl] == '\0' || rest[wl] == '/'));
        }
    }
    free(o);
    free(w);
    return inside;
}

/* Whether work (which may not exist yet) is or would be created inside out other than
 * under out/.work: its nearest existing ancestor is compared with out (eco_output_check). */
static bool work_inside_output(const char *out, const char *work) {
    size_t n = strlen(work);
    char *p = malloc(n + 3), *below = malloc(n + 1);
    if (!p || !below) {
        free(p), free(below);
        return false;
    }
    snprintf(p, n + 3, "%s%s", work[0] == '/' ? "" : "./", work);
    below[0] = '\0';
    for (struct stat sb; stat(p, &sb) != 0;) {
        size_t k = strlen(p);
        while (k > 1 && p[k - 1] == '/') p[--k] = '\0';
        char *slash = strrchr(p, '/');
        if (!slash) break;
        snprintf(below, n + 1, "%s", slash + 1);
        if (slash == p)
            slash[1] = '\0';
        else
            *slash = '\0';
    }
    const char *in[1] = {p};
    bool inside = eco_output_check(out, in, 1, ECO_WORK_DIR, ECO_OUTPUT_FORCE) != ECO_STATUS_OK;
    if (inside && strcmp(below, ECO_WORK_DIR) == 0) {
        struct stat a, b;
        if (stat(p, &a) == 0 && stat(out, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
            inside = false;
    }
    free(p);
    free(below);
    eco_clear_error();
    return inside;
}

eco_status eco_trainer_output_check(const eco_trainer_options *o, const char *const *inputs,
                                    size_t n_inputs) {
    if (!o || !output_dir(o)) return eco_error(ECO_STATUS_EINVAL, "train: no output folder");
    char *work = work_dir(o), *ckpt = work ? eco_path_join(work, "checkpoint.safetensors") : NULL;
    const char **all = eco_calloc_array(n_inputs + 1, sizeof *all);
    eco_status st = ECO_STATUS_OK;
    if (!work || !ckpt || !all) st = eco_error(ECO_STATUS_ENOMEM, "train: out of memory");
    bool have_ckpt = false;
    if (!st && o->resume) {
        FILE *f = fopen(ckpt, "rb");
        if ((have_ckpt = f != NULL)) fclose(f);
    }
    if (!st) {
        all[0] = o->model_dir;
        for (size_t i = 0; i < n_inputs; i++) all[i + 1] = inputs[i];
        st = eco_output_check(output_dir(o), all, n_inputs + 1, ECO_WORK_DIR,
                              o->force || have_ckpt ? ECO_OUTPUT_FORCE : 0);
        if (st && o->resume && !have_ckpt)
            st = eco_error_wrap(st, "--resume: no checkpoint at %s", ckpt);
    }
    /* A working folder inside the output folder must be its .work: the rest is replaced. */
    if (!st && o->work_dir &&
        (eco_path_is_dir(output_dir(o)) ? work_inside_output(output_dir(o), o->work_dir)
                                        : work_inside_new_output(output_dir(o), o->work_dir)))
        st = eco_error(
            ECO_STATUS_EINVAL,
            "train: working folder %s lies in the output folder %s: use %s/%s or a folder "
            "outside it",
            o->work_dir, output_dir(o), output_dir(o), ECO_WORK_DIR);
    free(all);
    free(work);
    free(ckpt);
    return st;
}

eco_status eco_trainer_commit(eco_train_model *m, const char *out_dir, const char *model_dir,
                              const json_t *record) {
    if (!m || !out_dir || !model_dir || !record)
        return eco_error(ECO_STATUS_EINVAL, "train: NULL argument");
    eco_output_dir od;
    const char *inputs[1] = {model_dir};
    /* checked at the start (eco_trainer_output_check): replacing is what this run was allowed */
    eco_status st = eco_output_begin(&od, out_dir, inputs, 1, ECO_WORK_DIR, ECO_OUTPUT_FORCE);
    if (st) return st;
    if (eco_train_model_mode(m) == ECO_TRAIN_MODE_FULL) {
        if ((st = eco_train_save_model(m, od.tmp))) goto fail;
        char *from = eco_path_join(model_dir, "tokenizer.json"),
             *to = eco_path_join(od.tmp, "tokenizer.json");
        st = (!from || !to) ? eco_error(ECO_STATUS_ENOMEM, "out of memory") : copy_file(from, to);
        free(from);
        free(to);
        if (st) goto fail;
    } else {
        if ((st = eco_train_save_lora(m, od.tmp))) goto fail;
    }
    char *path = eco_path_join(od.tmp, "training.json");
    st = path ? eco_json_write_canonical_file(path, record)
              : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    free(path);
    if (st) goto fail;
    return eco_output_commit(&od);
fail:
    eco_output_abort(&od);
    return st;
}

/* The result (eco_trainer_commit) with training.json's record. */
static eco_status finish(run_ctx *c, const eco_trainer_options *o, double final_loss) {
    json_t *j = json_pack("{s:s, s:s, s:O, s:i, s:I, s:o, s:I}", "tool", "ecology", "version",
                          ECO_VERSION, "run", c->run, "threads", eco_get_threads(), "steps_done",
                          (json_int_t)eco_train_model_state(c->model)->step, "final_loss",
                          jreal(final_loss), "trainable_floats",
                          (json_int_t)eco_train_num_floats(c->model));
    if (!j) return eco_error(ECO_STATUS_ENOMEM, "training.json: out of memory");
    eco_status st = eco_trainer_commit(c->model, output_dir(o), o->model_dir, j);
    json_decref(j);
    return st;
}

eco_status eco_trainer_run(const eco_trainer_options *opt, eco_trainer_result *res) {
    if (!opt) return eco_error(ECO_STATUS_EINVAL, "train: NULL options");
    eco_status st = check_options(opt);
    if (st) return st;
    eco_trainer_options o = *opt;
    if (o.mode == ECO_TRAIN_MODE_LORA && !o.lora.base_model_name_or_path[0])
        snprintf(o.lora.base_model_name_or_path, sizeof o.lora.base_model_name_or_path, "%s",
                 o.model_dir);
    if (o.threads > 0) eco_set_threads(o.threads);

    eco_trainer_result r;
    memset(&r, 0, sizeof r);
    r.first_loss = r.final_loss = NAN;
    run_ctx c;
    memset(&c, 0, sizeof c);
    char *ckdir = work_dir(&o);
    char recipe_hex[ECO_SHA256_HEX_LEN + 1] = {0};

    if ((st = eco_path_require_dir(o.model_dir, ECO_MODEL_DIR_EXPECTED))) goto done;
    if (!ckdir) {
        st = eco_error(ECO_STATUS_ENOMEM, "train: out of memory");
        goto done;
    }
    {
        const char *in[1] = {o.init_adapter};
        if ((st = eco_trainer_output_check(&o, in, o.init_adapter ? 1 : 0))) goto done;
    }
    if ((st = base_sha256(o.model_dir, r.base_sha256))) goto done;
    char init_hex[ECO_SHA256_HEX_LEN + 1] = {0};
    if (o.init_adapter) {
        char *f = eco_path_join(o.init_adapter, "adapter_model.safetensors");
        st = f ? eco_sha256_file_hex(f, init_hex) : eco_error(ECO_STATUS_ENOMEM, "out of memory");
        free(f);
        if (st) goto done;
    }
    if (o.recipe_path && (st = eco_sha256_file_hex(o.recipe_path, recipe_hex))) goto done;
    if ((st = eco_data_corpus_load(o.data_path, &c.corpus))) goto done;
    memcpy(r.corpus_sha256, c.corpus->sha256_hex, sizeof r.corpus_sha256);
    if ((st = eco_tokenizer_load(o.model_dir, &c.tok))) goto done;

    eco_model_config base_cfg;
    if ((st = eco_config_load(o.model_dir, &base_cfg))) goto done;
    if ((st = eco_config_check_context(&base_cfg, o.seq, "train: --seq %lld", (long long)o.seq)))
        goto done;

    eco_train_options to;
    memset(&to, 0, sizeof to);
    to.mode = o.mode;
    to.lora = o.lora;
    to.seed = o.seed;
    to.max_batch = o.batch;
    to.max_seq = o.seq;
    if ((st = eco_train_model_create(o.model_dir, &to, &c.model))) goto done;
    if (o.init_adapter && (st = eco_train_load_lora(c.model, o.init_adapter))) goto done;
    const eco_model_config *cfg = eco_train_model_config(c.model);
    if (cfg->n_eos < 1 || cfg->eos_token_ids[0] < 0 ||
        cfg->eos_token_ids[0] >= eco_tokenizer_vocab_size(c.tok)) {
        st = eco_error(ECO_STATUS_EINVAL, "train: %s: config.json has no usable eos_token_id",
                       o.model_dir);
        goto done;
    }
    int32_t eos = (int32_t)cfg->eos_token_ids[0];
    if ((st = eco_data_tokenize(c.corpus, c.tok, eos, &c.tokens))) goto done;
    eco_data_loader_options lo = {.batch = o.batch,
                                  .seq = o.seq,
                                  .seed = o.seed,
                                  .shuffle = true,
                                  .pack = o.pack,
                                  .pad_id = eos};
    if ((st = eco_data_loader_create(c.tokens, &lo, &c.loader))) goto done;
    if ((st = check_targets("train", c.loader, o.seq, cfg->max_position_embeddings))) goto done;
    int64_t end = o.steps;
    if (o.stop_after > 0 && o.stop_after < end) end = o.stop_after;
    { /* a step whose batch holds no target would train nothing: refuse the run before it starts
       * (from step 0, whether or not it resumes: the batches are a function of the options) */
        int64_t empty;
        if ((st = eco_data_loader_find_empty(c.loader, end * o.accum, &empty))) goto done;
        if (empty >= 0) {
            st = no_target_error("train", c.loader, o.seq, cfg->max_position_embeddings,
                                 1 + empty / o.accum);
            goto done;
        }
    }

    size_t n = (size_t)(o.batch * o.seq);
    c.inputs = eco_malloc_array(n, sizeof(int32_t));
    c.targets = eco_malloc_array(n, sizeof(int32_t));
    c.mask = eco_malloc_array(n, 1);
    c.positions = o.doc_mask ? eco_malloc_array(n, sizeof(int32_t)) : NULL;
    c.run = run_json(&o, r.base_sha256, c.corpus, c.tokens, o.recipe_path ? recipe_hex : NULL);
    if (c.run && o.init_adapter &&
        json_object_set_new(c.run, "init", json_pack("{s:s}", "adapter_sha256", init_hex))) {
        json_decref(c.run);
        c.run = NULL;
    }
    c.work = ckdir;
    if (!c.inputs || !c.targets || !c.mask || (o.doc_mask && !c.positions) || !c.run) {
        st = eco_error(ECO_STATUS_ENOMEM, "train: out of memory");
        goto done;
    }
    if ((st = eco_mkdir_p(ckdir))) goto done;

    double last_loss = NAN;
    if (o.resume && (st = maybe_resume(&c, &r.resumed, &last_loss))) goto done;
    eco_train_state *state = eco_train_model_state(c.model);
    if (!r.resumed) {
        eco_rng_seed(&state->data_rng, o.seed);
        state->data_position = pos_encode(eco_data_loader_tell(c.loader));
    }
    r.start_step = state->step;

    eco_adamw_config ac = eco_adamw_config_default();
    ac.lr = o.lr;
    ac.beta1 = o.beta1;
    ac.beta2 = o.beta2;
    ac.eps = o.eps;
    ac.weight_decay = o.weight_decay;
    ac.grad_clip = o.grad_clip;
    ac.warmup_steps = o.warmup;
    ac.total_steps = o.steps;
    ac.min_lr_ratio = o.min_lr_ratio;

    const int64_t step_tokens = o.accum * o.batch * o.seq;
    char label[128];
    eco_progress prog;
    if (o.progress) {
        snprintf(label, sizeof label, "train step %lld/%lld", (long long)state->step,
                 (long long)o.steps);
        eco_progress_begin(&prog, label,
                           (double)((end > state->step ? end - state->step : 0) * step_tokens),
                           "tok");
    }
    double t0 = eco_now();
    while (state->step < end) {
        eco_train_zero_grad(c.model);
        double loss_sum = 0;
        for (int64_t k = 0; k < o.accum; k++) {
            int64_t nt;
            if ((st = eco_data_loader_next_pos(c.loader, c.inputs, c.targets, c.mask, c.positions,
                                               &nt)))
                goto done;
            if (nt == 0) { /* a loss of 0 and no gradient: the step would train nothing */
                st = no_target_error("train", c.loader, o.seq, cfg->max_position_embeddings,
                                     state->step + 1);
                goto done;
            }
            for (size_t i = 0; i < n; i++)
                if (!c.mask[i]) c.targets[i] = -1;
            float loss;
            st = o.forward ? o.forward(o.forward_ctx, c.model, c.inputs, c.targets, c.positions,
                                       o.batch, o.seq, &loss)
                           : eco_train_forward_pos(c.model, c.inputs, c.targets, c.positions,
                                                   o.batch, o.seq, true, &loss);
            if (st) goto done;
            if ((st = eco_train_backward(c.model, 1.0f / (float)o.accum))) goto done;
            loss_sum += loss;
        }
        double gnorm, lr;
        if ((st = eco_train_step(c.model, &ac, &gnorm, &lr))) goto done;
        state->data_position = pos_encode(eco_data_loader_tell(c.loader));
        if (eco_data_loader_tell(c.loader).row > 0xffffffffLL) {
            st = eco_error(ECO_STATUS_EOVERFLOW, "train: data position past 2^32 rows in an epoch");
            goto done;
        }
        last_loss = loss_sum / (double)o.accum;
        if (!isfinite(last_loss)) {
            st = eco_error(ECO_STATUS_ERANGE, "train: step %lld: loss is %g (try a lower --lr)",
                           (long long)state->step, last_loss);
            goto done;
        }
        if (isnan(r.first_loss)) r.first_loss = last_loss;
        r.tokens += step_tokens;
        eco_trainer_step_info info = {state->step, o.steps, last_loss, gnorm, lr, step_tokens};
        ECO_DEBUG("train: step %lld/%lld loss %.4f grad-norm %.4f lr %.3g", (long long)state->step,
                  (long long)o.steps, last_loss, gnorm, lr);
        if (o.on_step) o.on_step(o.on_step_ctx, &info);
        if (o.progress) {
            snprintf(label, sizeof label, "train step %lld/%lld loss %.4f", (long long)state->step,
                     (long long)o.steps, last_loss);
            eco_progress_update(&prog, (double)r.tokens);
        }
        if (o.checkpoint_every > 0 && state->step % o.checkpoint_every == 0 && state->step < end &&
            (st = save_checkpoint(&c, last_loss)))
            goto done;
    }
    if (o.progress) eco_progress_end(&prog);
    r.seconds = eco_now() - t0;
    if ((st = save_checkpoint(&c, last_loss))) goto done;
    r.final_loss = last_loss;
    r.steps_done = state->step;
    r.trainable_floats = eco_train_num_floats(c.model);
    if (state->step >= o.steps) {
        if ((st = finish(&c, &o, last_loss))) goto done;
        r.finished = true;
    }
    if (res) *res = r;
done:
    run_free(&c);
    free(ckdir);
    return st;
}

/* ---- eco_trainer_grads ---------------------------------------------------------------- */

eco_status eco_trainer_grads(const char *model_dir, const char *adapter_dir, const char *data_path,
                             int64_t batch, int64_t seq, bool doc_mask, const char *out_path,
                             double *loss_out) {
    if (!model_dir || !data_path || !out_path)
        return eco_error(ECO_STATUS_EINVAL, "grads: NULL argument");
    if (batch < 1 || batch > 65536 || seq < 1 || seq > 1 << 20)
        return eco_error(ECO_STATUS_EINVAL, "grads: batch %lld or seq %lld out of range",
                         (long long)batch, (long long)seq);
    run_ctx c;
    memset(&c, 0, sizeof c);
    eco_tensor *ts = NULL;
    char *names = NULL;
    eco_train_options to;
    memset(&to, 0, sizeof to);
    to.mode = ECO_TRAIN_MODE_FULL;
    to.max_batch = batch;
    to.max_seq = seq;
    eco_status st;
    eco_model_config base_cfg;
    if ((st = eco_config_load(model_dir, &base_cfg))) return st;
    if ((st = eco_config_check_context(&base_cfg, seq, "grads: --seq %lld", (long long)seq)))
        return st;
    if (adapter_dir) {
        to.mode = ECO_TRAIN_MODE_LORA;
        if ((st = eco_peft_config_load(adapter_dir, &to.lora))) return st;
        to.lora.lora_dropout = 0; /* the grads are of the eval-mode forward */
    }
    if ((st = eco_path_require_dir(model_dir, ECO_MODEL_DIR_EXPECTED))) goto done;
    if ((st = eco_data_corpus_load(data_path, &c.corpus))) goto done;
    if ((st = eco_tokenizer_load(model_dir, &c.tok))) goto done;
    if ((st = eco_train_model_create(model_dir, &to, &c.model))) goto done;
    if (adapter_dir && (st = eco_train_load_lora(c.model, adapter_dir))) goto done;
    const eco_model_config *cfg = eco_train_model_config(c.model);
    if (cfg->n_eos < 1 || cfg->eos_token_ids[0] < 0 ||
        cfg->eos_token_ids[0] >= eco_tokenizer_vocab_size(c.tok)) {
        st = eco_error(ECO_STATUS_EINVAL, "grads: %s: config.json has no usable eos_token_id",
                       model_dir);
        goto done;
    }
    int32_t eos = (int32_t)cfg->eos_token_ids[0];
    if ((st = eco_data_tokenize(c.corpus, c.tok, eos, &c.tokens))) goto done;
    eco_data_loader_options lo = {.batch = batch,
                                  .seq = seq,
                                  .seed = 0,
                                  .shuffle = false,
                                  .pack = ECO_DATA_PACK_AUTO,
                                  .pad_id = eos};
    if ((st = eco_data_loader_create(c.tokens, &lo, &c.loader))) goto done;
    size_t n = (size_t)(batch * seq);
    c.inputs = eco_malloc_array(n, sizeof(int32_t));
    c.targets = eco_malloc_array(n, sizeof(int32_t));
    c.mask = eco_malloc_array(n, 1);
    c.positions = doc_mask ? eco_malloc_array(n, sizeof(int32_t)) : NULL;
    size_t np = eco_train_num_params(c.model);
    const int nextra = doc_mask ? 3 : 2; /* input_ids, labels [, position_ids] */
    ts = eco_calloc_array(np + (size_t)nextra, sizeof *ts);
    if (!c.inputs || !c.targets || !c.mask || (doc_mask && !c.positions) || !ts) {
        st = eco_error(ECO_STATUS_ENOMEM, "grads: out of memory");
        goto done;
    }
    int64_t nt;
    if ((st = eco_data_loader_next_pos(c.loader, c.inputs, c.targets, c.mask, c.positions, &nt)))
        goto done;
    if (nt == 0) {
        st = no_target_error("grads", c.loader, seq, cfg->max_position_embeddings, 0);
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        if (!c.mask[i]) c.targets[i] = -1;
    float loss;
    eco_train_zero_grad(c.model);
    if ((st = eco_train_forward_pos(c.model, c.inputs, c.targets, c.positions, batch, seq, false,
                                    &loss)))
        goto done;
    if ((st = eco_train_backward(c.model, 1.0f))) goto done;
    float *g = eco_train_grads(c.model);
    for (size_t i = 0; i < np; i++) {
        const eco_train_param *p = eco_train_param_at(c.model, i);
        ts[i].name = p->name;
        ts[i].dtype = ECO_DTYPE_F32;
        ts[i].ndim = p->ndim;
        ts[i].shape[0] = p->shape[0];
        ts[i].shape[1] = p->shape[1];
        ts[i].data = g + p->offset;
        ts[i].nbytes = p->numel * sizeof(float);
    }
    /* labels as Hugging Face writes them: −100 where masked */
    for (size_t i = 0; i < n; i++)
        if (c.targets[i] < 0) c.targets[i] = -100;
    const char *tn[3] = {"input_ids", "labels", "position_ids"};
    int32_t *td[3] = {c.inputs, c.targets, c.positions};
    for (int k = 0; k < nextra; k++) {
        eco_tensor *t = &ts[np + (size_t)k];
        t->name = tn[k];
        t->dtype = ECO_DTYPE_I32;
        t->ndim = 2;
        t->shape[0] = batch;
        t->shape[1] = seq;
        t->data = td[k];
        t->nbytes = n * sizeof(int32_t);
    }
    char ls[32], bs[32], ss[32];
    snprintf(ls, sizeof ls, "%.9g", (double)loss);
    snprintf(bs, sizeof bs, "%lld", (long long)batch);
    snprintf(ss, sizeof ss, "%lld", (long long)seq);
    const char *meta[] = {"format",   "pt",  "loss", ls,     "batch",
                          bs,         "seq", ss,     "mode", adapter_dir ? "lora" : "full",
                          "doc_mask", "true"};
    if ((st = eco_safetensors_write(out_path, ts, np + (size_t)nextra, meta, doc_mask ? 6 : 5)))
        goto done;
    if (loss_out) *loss_out = loss;
done:
    free(ts);
    free(names);
    run_free(&c);
    return st;
}
