/* ecology train --model DIR --data FILE.jsonl
 *     ((--lora r=8,alpha=16,targets=q,k,v,o[,dropout=0.05][,rslora] | --init-adapter ADAPTER)
 *      --adapter-out DIR | --full --out DIR)
 *     --steps N --batch B --seq T --lr LR --seed S [--warmup N] [--accum N] [--weight-decay W]
 *     [--clip C] [--checkpoint-every N] [--doc-mask] [--resume] [--work-dir DIR] [--force]
 *     [--threads N] [--json]
 * --doc-mask: each example packed into a row attends only to itself (eco_trainer_options).
 * --init-adapter: LoRA training continued from a saved adapter (its configuration and its A
 * and B; eco_trainer_options.init_adapter), e.g. a bred child.
 * Parses the options into an eco_trainer_options and calls eco_trainer_run; prints a summary
 * (or one JSON object). The result (with training.json) goes to --out or --adapter-out,
 * written beside it and renamed into place at the end; checkpoints go to its .work/ or
 * --work-dir. A non-empty output folder is refused unless --force, or --resume with a
 * checkpoint to continue. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/trainer.h"

static int target_of(const char *s, size_t n, eco_lora_target *t) {
    static const char *const short_names[ECO_LORA__COUNT] = {"q",    "k",  "v",   "o",
                                                             "gate", "up", "down"};
    for (int i = 0; i < ECO_LORA__COUNT; i++) {
        const char *full = eco_lora_target_name((eco_lora_target)i);
        if ((strlen(short_names[i]) == n && strncmp(s, short_names[i], n) == 0) ||
            (strlen(full) == n && strncmp(s, full, n) == 0)) {
            *t = (eco_lora_target)i;
            return CLI_OK;
        }
    }
    return CLI_USAGE;
}

/* "r=8,alpha=16,targets=q,k,v,o,dropout=0.05,rslora": items after targets= without '=' are
 * more targets. */
int cli_parse_lora(const char *spec, eco_peft_config *cfg) {
    eco_peft_config_init(cfg);
    cfg->r = 8;
    cfg->lora_alpha = 16;
    bool in_targets = false, any_target = false, have_alpha = false;
    unsigned seen = 0; /* keys given so far, one bit each */
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char item[128];
        if (n == 0 || n >= sizeof item)
            return cli_usage_error("option '--lora': empty or overlong item in '%s'", spec);
        memcpy(item, p, n);
        item[n] = 0;
        char *eq = strchr(item, '=');
        if (!eq) {
            eco_lora_target t;
            if (strcmp(item, "rslora") == 0) {
                if (cfg->use_rslora)
                    return cli_usage_error("option '--lora': key 'rslora' given twice in '%s'",
                                           spec);
                cfg->use_rslora = true;
                in_targets = false;
            } else if (in_targets && target_of(item, n, &t) == CLI_OK) {
                cfg->targets[t] = any_target = true;
            } else {
                return cli_usage_error(
                    "option '--lora': '%s' is not a key=value, a target (q,k,v,o,gate,up,down) "
                    "or rslora",
                    item);
            }
        } else {
            *eq = 0;
            const char *v = eq + 1;
            in_targets = false;
            /* Each key once: "r=4,r=8" is a mistake, not "the last wins". */
            static const char *const keys[] = {"r", "alpha", "dropout", "targets"};
            for (unsigned k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                if (strcmp(item, keys[k]) != 0) continue;
                if (seen & (1u << k))
                    return cli_usage_error("option '--lora': key '%s' given twice in '%s'", item,
                                           spec);
                seen |= 1u << k;
            }
            int64_t iv;
            double dv;
            if (strcmp(item, "r") == 0) {
                if (cli_parse_int("lora' 'r", v, 1, 65536, &iv) != CLI_OK) return CLI_USAGE;
                cfg->r = iv;
            } else if (strcmp(item, "alpha") == 0) {
                if (cli_parse_float("lora' 'alpha", v, 1e-6, 1e6, &dv) != CLI_OK) return CLI_USAGE;
                cfg->lora_alpha = dv;
                have_alpha = true;
            } else if (strcmp(item, "dropout") == 0) {
                if (cli_parse_float("lora' 'dropout", v, 0, 0.999, &dv) != CLI_OK) return CLI_USAGE;
                cfg->lora_dropout = dv;
            } else if (strcmp(item, "targets") == 0) {
                eco_lora_target t;
                if (target_of(v, strlen(v), &t) != CLI_OK)
                    return cli_usage_error(
                        "option '--lora': target '%s' is not one of q,k,v,o,gate,up,down", v);
                cfg->targets[t] = any_target = true;
                in_targets = true;
            } else {
                return cli_usage_error(
                    "option '--lora': unknown key '%s' (r, alpha, targets, dropout, rslora)", item);
            }
        }
        p += n;
        if (*p == ',') p++;
    }
    if (!any_target) return cli_usage_error("option '--lora': no targets given (targets=q,k,v,o)");
    (void)have_alpha;
    return CLI_OK;
}

static void print_json_result(const eco_trainer_result *r, const eco_trainer_options *o) {
    json_t *j = json_pack(
        "{s:b, s:b, s:I, s:I, s:I, s:f, s:I, s:s, s:s, s:s}", "finished", (int)r->finished,
        "resumed", (int)r->resumed, "start_step", (json_int_t)r->start_step, "steps_done",
        (json_int_t)r->steps_done, "tokens", (json_int_t)r->tokens, "seconds", r->seconds,
        "trainable_floats", (json_int_t)r->trainable_floats, "base_sha256", r->base_sha256,
        "corpus_sha256", r->corpus_sha256, "out",
        o->mode == ECO_TRAIN_MODE_LORA && o->adapter_out ? o->adapter_out : o->out_dir);
    if (!j) return;
    json_object_set_new(j, "first_loss",
                        isfinite(r->first_loss) ? json_real(r->first_loss) : json_null());
    json_object_set_new(j, "final_loss",
                        isfinite(r->final_loss) ? json_real(r->final_loss) : json_null());
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    if (s) puts(s);
    free(s);
    json_decref(j);
}

void cli_print_train_result(const eco_trainer_result *r, const eco_trainer_options *o, bool json) {
    if (json) {
        print_json_result(r, o);
        return;
    }
    const char *where =
        o->mode == ECO_TRAIN_MODE_LORA && o->adapter_out ? o->adapter_out : o->out_dir;
    printf("%s: %s, steps %lld/%lld%s, loss %.4f -> %.4f, %lld tokens in %.1fs (%.0f tok/s), %zu "
           "trainable floats\n",
           where, r->finished ? "done" : "stopped", (long long)r->steps_done, (long long)o->steps,
           r->resumed ? " (resumed)" : "", r->first_loss, r->final_loss, (long long)r->tokens,
           r->seconds, r->seconds > 0 ? (double)r->tokens / r->seconds : 0.0, r->trainable_floats);
    printf("corpus sha256 %s\n", r->corpus_sha256);
}

/* The hyper-parameter options shared by train and distill (--steps --batch --seq --lr --seed
 * required; --warmup --accum --weight-decay --clip --min-lr-ratio --checkpoint-every
 * --stop-after --threads --doc-mask when present in o) into t. */
int cli_parse_hyper(const char *cmd, const cli_opt *o, int n, eco_trainer_options *t) {
    static const char *const required[] = {"steps", "batch", "seq", "lr", "seed"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!cli_get(o, n, required[i]))
            return cli_usage_error("%s: --%s is required", cmd, required[i]);
    int64_t iv;
    const char *s;
    if (cli_parse_int("steps", cli_get(o, n, "steps"), 1, 100000000, &t->steps) != CLI_OK ||
        cli_parse_int("batch", cli_get(o, n, "batch"), 1, 65536, &t->batch) != CLI_OK ||
        cli_parse_int("seq", cli_get(o, n, "seq"), 1, 1 << 20, &t->seq) != CLI_OK ||
        cli_parse_float("lr", cli_get(o, n, "lr"), 1e-12, 10, &t->lr) != CLI_OK ||
        cli_parse_u64("seed", cli_get(o, n, "seed"), &t->seed) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "warmup")) &&
        cli_parse_int("warmup", s, 0, t->steps, &t->warmup) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "accum")) && cli_parse_int("accum", s, 1, 65536, &t->accum) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "weight-decay")) &&
        cli_parse_float("weight-decay", s, 0, 10, &t->weight_decay) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "clip")) && cli_parse_float("clip", s, 0, 1e6, &t->grad_clip) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "min-lr-ratio")) &&
        cli_parse_float("min-lr-ratio", s, 0, 1, &t->min_lr_ratio) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "checkpoint-every")) &&
        cli_parse_int("checkpoint-every", s, 0, 100000000, &t->checkpoint_every) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "stop-after")) &&
        cli_parse_int("stop-after", s, 1, t->steps, &t->stop_after) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "threads"))) {
        if (cli_parse_int("threads", s, 1, 1024, &iv) != CLI_OK) return CLI_USAGE;
        t->threads = (int)iv;
    }
    t->doc_mask = cli_get(o, n, "doc-mask") != NULL;
    return CLI_OK;
}

int cmd_train(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),        CLI_OPT("data", true),
                   CLI_OPT("lora", true),         CLI_OPT("adapter-out", true),
                   CLI_OPT("full", false),        CLI_OPT("out", true),
                   CLI_OPT("steps", true),        CLI_OPT("batch", true),
                   CLI_OPT("seq", true),          CLI_OPT("lr", true),
                   CLI_OPT("seed", true),         CLI_OPT("warmup", true),
                   CLI_OPT("accum", true),        CLI_OPT("weight-decay", true),
                   CLI_OPT("clip", true),         CLI_OPT("checkpoint-every", true),
                   CLI_OPT("resume", false),      CLI_OPT("threads", true),
                   CLI_OPT("json", false),        CLI_OPT("stop-after", true),
                   CLI_OPT("min-lr-ratio", true), CLI_OPT("doc-mask", false),
                   CLI_OPT("force", false),       CLI_OPT("work-dir", true),
                   CLI_OPT("data-dir", true),     CLI_OPT("init-adapter", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_trainer_options t;
    eco_trainer_options_init(&t);
    t.model_dir = cli_get(o, n, "model");
    t.data_path = cli_get(o, n, "data");
    const char *lora = cli_get(o, n, "lora"), *adapter_out = cli_get(o, n, "adapter-out"),
               *out = cli_get(o, n, "out");
    bool full = cli_get(o, n, "full") != NULL;
    t.init_adapter = cli_get(o, n, "init-adapter");
    if (!t.model_dir) return cli_usage_error("train: --model DIR is required");
    if (!t.data_path) return cli_usage_error("train: --data FILE.jsonl is required");
    if (!!lora + full + !!t.init_adapter != 1)
        return cli_usage_error("train: give exactly one of --lora SPEC and --full (or "
                               "--init-adapter ADAPTER in place of --lora)");
    if (full) {
        if (!out) return cli_usage_error("train: --full needs --out DIR");
        if (adapter_out) return cli_usage_error("train: --adapter-out is for --lora runs");
        t.out_dir = out;
    } else {
        if (!adapter_out)
            return cli_usage_error("train: %s needs --adapter-out DIR",
                                   lora ? "--lora" : "--init-adapter");
        if (out)
            return cli_usage_error(
                "train: --out is for --full runs (a --lora run writes the adapter and "
                "training.json to --adapter-out, checkpoints to --work-dir)");
        if (lora && cli_parse_lora(lora, &t.lora) != CLI_OK) return CLI_USAGE;
        t.mode = ECO_TRAIN_MODE_LORA;
        t.adapter_out = adapter_out;
        t.out_dir = adapter_out;
    }
    if (cli_parse_hyper("train", o, n, &t) != CLI_OK) return CLI_USAGE;
    t.resume = cli_get(o, n, "resume") != NULL;
    t.force = cli_get(o, n, "force") != NULL;
    t.work_dir = cli_get(o, n, "work-dir");
    bool json = cli_get(o, n, "json") != NULL;
    t.progress = true;
    if (cli_model_ref(o, n, "model", &t.model_dir)) return CLI_FAIL;
    if (t.init_adapter) { /* continue an adapter: its own rank, targets and scaling */
        if (cli_model_ref(o, n, "init-adapter", &t.init_adapter)) return CLI_FAIL;
        eco_status lst = eco_peft_config_load(t.init_adapter, &t.lora);
        if (lst != ECO_STATUS_OK) return cli_fail(lst, "train");
    }
    eco_trainer_result r;
    eco_status st = eco_trainer_run(&t, &r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "train");
    cli_print_train_result(&r, &t, json);
    return CLI_OK;
}
