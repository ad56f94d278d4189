/* ecology rl --model MODEL [--adapter ADAPTER --continue | --lora SPEC]
 *     --capability C[,C...] --group G --steps N --batch B --adapter-out DIR [options]
 * GRPO on a LoRA adapter with the capabilities' checkers as rewards (rl.h: eco_rl_run).
 * Parses the options into an eco_rl_options; prints a per-step progress line on stderr and a
 * summary (or one JSON object) on stdout. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/rl.h"

#define MAX_CAPS 64

static json_t *jnum(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static void print_result(const eco_rl_result *r, const eco_rl_options *o, bool json) {
    double sampled = r->sample_seconds > 0 ? (double)r->tokens / r->sample_seconds : 0;
    if (json) {
        json_t *j = json_pack(
            "{s:b, s:b, s:I, s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:f, s:f, s:f, s:s}",
            "finished", (int)r->finished, "resumed", (int)r->resumed, "start_step",
            (json_int_t)r->start_step, "steps_done", (json_int_t)r->steps_done, "first_reward",
            jnum(r->first_reward), "final_reward", jnum(r->final_reward), "heldout_start",
            jnum(r->heldout_start), "heldout_end", jnum(r->heldout_end), "zero_signal_groups",
            (json_int_t)r->zero_signal, "groups", (json_int_t)r->groups, "tokens",
            (json_int_t)r->tokens, "sample_seconds", r->sample_seconds, "update_seconds",
            r->update_seconds, "seconds", r->seconds, "out", o->adapter_out);
        char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(j);
        return;
    }
    printf("%s: %s, steps %lld/%lld%s, reward %.3f -> %.3f, held-out %.1f%% -> %.1f%%\n",
           o->adapter_out, r->finished ? "done" : "stopped", (long long)r->steps_done,
           (long long)o->steps, r->resumed ? " (resumed)" : "", r->first_reward, r->final_reward,
           100 * r->heldout_start, 100 * r->heldout_end);
    printf("%lld zero-signal groups of %lld; %lld tokens sampled in %.1f s (%.0f tok/s), "
           "updates %.1f s, %.1f s in all\n",
           (long long)r->zero_signal, (long long)r->groups, (long long)r->tokens, r->sample_seconds,
           sampled, r->update_seconds, r->seconds);
}

int cmd_rl(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true),
                   CLI_OPT("adapter", true),
                   CLI_OPT("continue", false),
                   CLI_OPT("lora", true),
                   CLI_OPT("capability", true),
                   CLI_OPT("group", true),
                   CLI_OPT("steps", true),
                   CLI_OPT("batch", true),
                   CLI_OPT("micro-batch", true),
                   CLI_OPT("lr", true),
                   CLI_OPT("warmup", true),
                   CLI_OPT("clip", true),
                   CLI_OPT("beta", true),
                   CLI_OPT("reference", true),
                   CLI_OPT("epsilon", true),
                   CLI_OPT("epsilon-high", true),
                   CLI_OPT("iterations", true),
                   CLI_OPT("loss-type", true),
                   CLI_OPT("no-scale-rewards", false),
                   CLI_OPT("resample", true),
                   CLI_OPT("reward-correct", true),
                   CLI_OPT("reward-format", true),
                   CLI_OPT("length-penalty", true),
                   CLI_OPT("temperature", true),
                   CLI_OPT("top-p", true),
                   CLI_OPT("max-tokens", true),
                   CLI_OPT("max-seq", true),
                   CLI_OPT("seed", true),
                   CLI_OPT("eval-every", true),
                   CLI_OPT("eval-n", true),
                   CLI_OPT("eval-seed", true),
                   CLI_OPT("adapter-out", true),
                   CLI_OPT("work-dir", true),
                   CLI_OPT("force", false),
                   CLI_OPT("checkpoint-every", true),
                   CLI_OPT("stop-after", true),
                   CLI_OPT("resume", false),
                   CLI_OPT("threads", true),
                   CLI_OPT("json", false),
                   CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    eco_rl_options r;
    eco_rl_options_init(&r);
    r.model_dir = cli_get(o, n, "model");
    const char *adapter = cli_get(o, n, "adapter"), *lora = cli_get(o, n, "lora"), *s;
    bool cont = cli_get(o, n, "continue") != NULL;
    if (!r.model_dir) return cli_usage_error("rl: --model MODEL is required");
    if (!cli_get(o, n, "capability"))
        return cli_usage_error("rl: --capability C[,C...] is required");
    if (!(r.adapter_out = cli_get(o, n, "adapter-out")))
        return cli_usage_error("rl: --adapter-out DIR is required");
    if (!!lora + cont != 1)
        return cli_usage_error("rl: give exactly one of --lora SPEC (a fresh adapter) and "
                               "--continue (train --adapter further)");
    if (cont && !adapter) return cli_usage_error("rl: --continue needs --adapter ADAPTER");
    if (lora && adapter)
        return cli_usage_error("rl: --adapter is the adapter to continue: use it with --continue, "
                               "not --lora");
    if (lora && cli_parse_lora(lora, &r.lora) != CLI_OK) return CLI_USAGE;
    const eco_capability *caps[MAX_CAPS];
    if (cli_parse_capabilities("capability", cli_get(o, n, "capability"), caps, MAX_CAPS,
                               &r.n_caps) != CLI_OK)
        return CLI_USAGE;
    r.caps = caps;
    static const char *const required[] = {"group", "steps", "batch"};
    for (size_t i = 0; i < sizeof required / sizeof *required; i++)
        if (!cli_get(o, n, required[i]))
            return cli_usage_error("rl: --%s is required", required[i]);
    int64_t iv;
    if (cli_parse_int("group", cli_get(o, n, "group"), 2, 1024, &r.group) != CLI_OK ||
        cli_parse_int("steps", cli_get(o, n, "steps"), 1, 1000000, &r.steps) != CLI_OK ||
        cli_parse_int("batch", cli_get(o, n, "batch"), 1, 4096, &r.batch) != CLI_OK)
        return CLI_USAGE;
#define INT_OPT(name, lo, hi, field)                                                               \
    if ((s = cli_get(o, n, name)) && cli_parse_int(name, s, lo, hi, &field) != CLI_OK)             \
        return CLI_USAGE;
#define FLOAT_OPT(name, lo, hi, field)                                                             \
    if ((s = cli_get(o, n, name)) && cli_parse_float(name, s, lo, hi, &field) != CLI_OK)           \
        return CLI_USAGE;
    INT_OPT("micro-batch", 1, 65536, r.micro_batch);
    INT_OPT("warmup", 0, r.steps, r.warmup);
    INT_OPT("iterations", 1, 64, r.iterations);
    INT_OPT("resample", 0, 64, r.resample);
    INT_OPT("max-seq", 2, 1 << 20, r.max_seq);
    INT_OPT("eval-every", 0, 1000000, r.eval_every);
    INT_OPT("checkpoint-every", 0, 1000000, r.checkpoint_every);
    INT_OPT("stop-after", 1, r.steps, r.stop_after);
    FLOAT_OPT("lr", 1e-12, 10, r.lr);
    FLOAT_OPT("clip", 0, 1e6, r.clip);
    FLOAT_OPT("beta", 0, 1e6, r.grpo.beta);
    FLOAT_OPT("epsilon", 0, 0.999, r.grpo.epsilon_low);
    r.grpo.epsilon_high = r.grpo.epsilon_low; /* TRL: epsilon_high defaults to epsilon */
    FLOAT_OPT("epsilon-high", 0, 1e6, r.grpo.epsilon_high);
    FLOAT_OPT("reward-correct", -1e6, 1e6, r.reward.correct);
    FLOAT_OPT("reward-format", -1e6, 1e6, r.reward.format);
    FLOAT_OPT("length-penalty", -1e6, 1e6, r.reward.length_penalty);
    FLOAT_OPT("temperature", 1e-6, 100, r.temperature);
    FLOAT_OPT("top-p", 1e-6, 1, r.top_p);
#undef INT_OPT
#undef FLOAT_OPT
    if ((s = cli_get(o, n, "max-tokens"))) {
        if (cli_parse_int("max-tokens", s, 1, 4096, &iv) != CLI_OK) return CLI_USAGE;
        r.max_tokens = (int)iv;
    }
    if ((s = cli_get(o, n, "eval-n"))) {
        if (cli_parse_int("eval-n", s, 0, 100000, &iv) != CLI_OK) return CLI_USAGE;
        r.eval_n = (size_t)iv;
    }
    if ((s = cli_get(o, n, "threads"))) {
        if (cli_parse_int("threads", s, 1, 1024, &iv) != CLI_OK) return CLI_USAGE;
        r.threads = (int)iv;
    }
    if ((s = cli_get(o, n, "seed")) && cli_parse_u64("seed", s, &r.seed) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "eval-seed")) && cli_parse_u64("eval-seed", s, &r.eval_seed) != CLI_OK)
        return CLI_USAGE;
    if ((s = cli_get(o, n, "reference")) &&
        eco_rl_reference_parse(s, &r.reference) != ECO_STATUS_OK)
        return cli_usage_error("rl: --reference: %s", eco_last_error());
    if ((s = cli_get(o, n, "loss-type")) &&
        eco_grpo_loss_type_parse(s, &r.grpo.loss_type) != ECO_STATUS_OK)
        return cli_usage_error("rl: --loss-type: %s", eco_last_error());
    r.scale_rewards = cli_get(o, n, "no-scale-rewards") == NULL;
    r.resume = cli_get(o, n, "resume") != NULL;
    r.force = cli_get(o, n, "force") != NULL;
    r.work_dir = cli_get(o, n, "work-dir");
    r.progress = true;
    bool json = cli_get(o, n, "json") != NULL;
    if (cli_model_ref(o, n, "model", &r.model_dir)) return CLI_FAIL;
    if (adapter) {
        if (cli_model_ref(o, n, "adapter", &adapter)) return CLI_FAIL;
        r.init_adapter = adapter;
    }
    eco_rl_result res;
    eco_status st = eco_rl_run(&r, &res);
    if (st != ECO_STATUS_OK) return cli_fail(st, "rl");
    print_result(&res, &r, json);
    return CLI_OK;
}
