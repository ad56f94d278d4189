/*
 * The distill operator (breed_train.h): teachers → a student of any supported architecture
 * through eco_distill_run (token level when the tokenizers match, sequence level otherwise),
 * on the mixed corpora, into an output folder with lineage.json. The operator for parents
 * whose compatibility identity differs, which no parameter-level merge takes.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_train.h"
#include "ecology/trainer.h"
#include "breeder/breed_train_internal.h"

static eco_status check(const eco_breed_distill_options *o) {
    if (!o || !o->student || !o->out)
        return eco_error(ECO_STATUS_EINVAL, "distill: student and out are required");
    if (!o->n_teachers || !o->teachers) return eco_error(ECO_STATUS_EINVAL, "distill: no teachers");
    if (!o->n_corpora || !o->corpora)
        return eco_error(ECO_STATUS_EINVAL, "distill: no training data: give the corpora");
    for (size_t i = 0; i < o->n_teachers; i++)
        if (eco_path_has_file(o->teachers[i], "adapter_config.json"))
            return eco_error(ECO_STATUS_EINVAL,
                             "distill: teacher %s is an adapter: merge it into its base first "
                             "(ecology model merge)",
                             o->teachers[i]);
    return breed_check_train("distill", &o->train);
}

eco_status eco_breed_distill(const eco_breed_distill_options *o, eco_breed_train_report *rep) {
    eco_status st = check(o);
    if (st) return st;
    eco_breed_train_report r;
    memset(&r, 0, sizeof r);
    size_t n_in = o->n_teachers + o->n_corpora + 1;
    const char **inputs = calloc(n_in, sizeof *inputs);
    char *work = NULL, *mix = NULL;
    json_t *entries = NULL, *params = NULL, *parents = json_array();
    eco_output_dir od = {0};
    if (!inputs || !parents) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    inputs[0] = o->student;
    for (size_t i = 0; i < o->n_teachers; i++) inputs[1 + i] = o->teachers[i];
    for (size_t i = 0; i < o->n_corpora; i++) inputs[1 + o->n_teachers + i] = o->corpora[i];
    if ((st = eco_output_begin(&od, o->out, inputs, n_in, NULL, o->force ? ECO_OUTPUT_FORCE : 0)))
        goto done;
    if ((st = breed_work_and_mix("distill", od.tmp, o->work_dir, &work, &mix))) goto done;
    if ((st = eco_breed_mix_corpus(o->corpora, o->n_corpora, mix, &r.n_records, r.mix_sha256,
                                   &entries)))
        goto done;

    eco_distill_run_options d;
    eco_distill_run_options_init(&d);
    eco_trainer_options *t = &d.train;
    t->model_dir = o->student;
    t->data_path = mix;
    t->out_dir = od.tmp;
    t->work_dir = o->work_dir;
    t->force = true; /* od.tmp is this run's own temporary folder */
    t->mode = ECO_TRAIN_MODE_FULL;
    breed_trainer_set(t, &o->train, o->threads, o->progress);
    d.teachers = o->teachers;
    d.n_teachers = o->n_teachers;
    d.weight = o->weight;
    d.temperature = o->temperature;
    d.max_tokens = o->max_tokens;
    eco_trainer_result tr;
    if ((st = eco_distill_run(&d, &r.token_level, &tr))) goto done;
    breed_report_trained(&r, &tr);
    if ((st = breed_drop_training_files(od.tmp))) goto done;

    params = breed_train_params_json(&o->train);
    if (!params || json_object_set_new(params, "weight", json_real(o->weight)) ||
        json_object_set_new(params, "temperature", json_real(o->temperature)) ||
        json_object_set_new(params, "max_tokens", json_integer(o->max_tokens)) ||
        json_object_set_new(params, "level", json_string(r.token_level ? "token" : "sequence")) ||
        json_object_set(params, "corpus", entries) ||
        json_object_set_new(params, "mix_sha256", json_string(r.mix_sha256))) {
        st = eco_error(ECO_STATUS_ENOMEM, "distill: out of memory");
        goto done;
    }
    if ((st = breed_weights_entry(o->student, "base", parents))) goto done;
    for (size_t i = 0; i < o->n_teachers; i++)
        if ((st = breed_weights_entry(o->teachers[i], "parent", parents))) goto done;
    if ((st = breed_write_lineage(od.tmp, "distill", params, o->train.seed, &r, parents)))
        goto done;
    st = eco_output_commit(&od);
    if (!st && rep) *rep = r;
done:
    if (st) eco_output_abort(&od);
    json_decref(entries);
    json_decref(params);
    json_decref(parents);
    free(inputs);
    free(work);
    free(mix);
    return st;
}
