/*
 * The set-up finetune.c and distill_op.c share around the trainer (breed_train_internal.h):
 * the working folder and mixed corpus, the hyper-parameters into the trainer's options, the
 * trainer's figures into the report.
 */
#include "ecology/trainer.h"
#include "breeder/breed_train_internal.h"

#define MIX_NAME "breed-mix.jsonl"

eco_status breed_work_and_mix(const char *what, const char *tmp, const char *work_dir, char **work,
                              char **mix) {
    *work = work_dir ? eco_strdup(work_dir) : eco_path_join(tmp, ECO_WORK_DIR);
    *mix = *work ? eco_path_join(*work, MIX_NAME) : NULL;
    if (!*work || !*mix) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", what);
    return eco_mkdir_p(*work);
}

void breed_trainer_set(eco_trainer_options *t, const eco_breed_train_params *p, int threads,
                       bool progress) {
    t->steps = p->steps;
    t->batch = p->batch;
    t->seq = p->seq;
    t->accum = p->accum;
    t->warmup = p->warmup;
    t->lr = p->lr;
    t->weight_decay = p->weight_decay;
    t->grad_clip = p->clip;
    t->seed = p->seed;
    t->threads = threads;
    t->progress = progress;
}

void breed_report_trained(eco_breed_train_report *r, const eco_trainer_result *tr) {
    r->steps_done = tr->steps_done;
    r->first_loss = tr->first_loss;
    r->final_loss = tr->final_loss;
    r->tokens = tr->tokens;
    r->trainable_floats = tr->trainable_floats;
    r->seconds = tr->seconds;
}
