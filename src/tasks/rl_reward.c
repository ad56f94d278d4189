/*
 * The rl loop's small pieces (rl.h): the reward of one completion, the sampling seeds, the
 * reference's names and the default options.
 */
#include "ecology/rl.h"

#include <jansson.h>
#include <math.h>
#include <string.h>

/* The task's form: " <answer>" ended by the stop sequence, one line, the answer non-empty
 * (and one JSON object when the capability answers JSON). */
static bool has_form(const eco_capability *cap, const char *s, size_t len, bool stopped) {
    if (!stopped || len < 2 || s[0] != ' ' || s[1] == ' ' || memchr(s, '\n', len)) return false;
    size_t start, alen;
    eco_tasks_answer_span(s, len, &start, &alen);
    if (alen == 0 || memchr(s + start, '\0', alen)) return false;
    if (cap->check != ECO_TASK_CHECK_JSON) return true;
    json_error_t err;
    json_t *j = json_loadb(s + start, alen, JSON_REJECT_DUPLICATES, &err);
    bool ok = json_is_object(j);
    json_decref(j);
    return ok;
}

eco_rl_reward_parts eco_rl_reward(const eco_capability *cap, const eco_task_item *item,
                                  const char *output, size_t len, bool stopped, size_t n_tokens,
                                  size_t max_tokens, const eco_rl_reward_weights *w) {
    eco_rl_reward_parts p = {false, false, 0.0};
    if (!cap || !item || !w || (!output && len)) return p;
    p.correct = eco_tasks_check(cap, item, output, len);
    p.format = has_form(cap, output ? output : "", len, stopped);
    p.reward = w->correct * (p.correct ? 1.0 : 0.0) + w->format * (p.format ? 1.0 : 0.0);
    if (max_tokens > 0) p.reward -= w->length_penalty * (double)n_tokens / (double)max_tokens;
    return p;
}

/* splitmix64's finaliser */
static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

uint64_t eco_rl_sample_seed(uint64_t seed, int64_t i, int64_t j) {
    return mix(mix(mix(seed + 0x9e3779b97f4a7c15ULL) ^ (uint64_t)i) ^ (uint64_t)j);
}

const char *eco_rl_reference_name(eco_rl_reference r) {
    return r == ECO_RL_REF_START ? "start" : r == ECO_RL_REF_BASE ? "base" : NULL;
}

eco_status eco_rl_reference_parse(const char *s, eco_rl_reference *out) {
    if (!s || !out) return eco_error(ECO_STATUS_EINVAL, "rl reference: NULL argument");
    if (strcmp(s, "start") == 0)
        *out = ECO_RL_REF_START;
    else if (strcmp(s, "base") == 0)
        *out = ECO_RL_REF_BASE;
    else
        return eco_error(ECO_STATUS_EINVAL,
                         "rl reference \"%s\": expected \"start\" (the adapter as the run began) "
                         "or \"base\" (the bare base)",
                         s);
    return ECO_STATUS_OK;
}

void eco_rl_options_init(eco_rl_options *o) {
    memset(o, 0, sizeof *o);
    eco_peft_config_init(&o->lora);
    o->steps = 50;
    o->batch = 8;
    o->group = 8;
    o->iterations = 1;
    o->lr = 1e-4;
    o->clip = 1.0;
    o->grpo = eco_grpo_config_default();
    o->reference = ECO_RL_REF_START;
    o->scale_rewards = true;
    o->reward.correct = 1.0;
    o->temperature = 1.0;
    o->top_p = 1.0;
    o->eval_n = 100;
}
