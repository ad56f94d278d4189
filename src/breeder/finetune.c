/*
 * The finetune operator (breed_train.h): a bred child trained further on its parents' mixed
 * corpora and hard examples through eco_trainer_run, LoRA from the child's own adapter
 * weights (eco_trainer_options.init_adapter) or full, into an output folder with lineage.json.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ecology/breed_train.h"
#include "ecology/peft.h"
#include "ecology/trainer.h"
#include "breeder/breed_train_internal.h"

static eco_status check(const eco_breed_finetune_options *o, bool *lora) {
    if (!o || !o->child || !o->out)
        return eco_error(ECO_STATUS_EINVAL, "finetune: child and out are required");
    if (o->n_corpora + o->n_hard == 0)
        return eco_error(ECO_STATUS_EINVAL,
                         "finetune: no training data: give the parents' corpora or hard examples");
    if ((o->n_corpora && !o->corpora) || (o->n_hard && !o->hard))
        return eco_error(ECO_STATUS_EINVAL, "finetune: NULL file list");
    eco_status st = eco_path_require_dir(o->child, "a model or adapter folder");
    if (st) return st;
    *lora = eco_path_has_file(o->child, "adapter_config.json");
    if (*lora && !o->base_model)
        return eco_error(ECO_STATUS_EINVAL,
                         "finetune: %s is an adapter: its base model is required", o->child);
    if (!*lora && o->base_model)
        return eco_error(ECO_STATUS_EINVAL,
                         "finetune: %s is a model (no adapter_config.json): no base model is "
                         "taken",
                         o->child);
    return breed_check_train("finetune", &o->train);
}

eco_status eco_breed_finetune(const eco_breed_finetune_options *o, eco_breed_train_report *rep) {
    bool lora = false;
    eco_status st = check(o, &lora);
    if (st) return st;
    eco_breed_train_report r;
    memset(&r, 0, sizeof r);
    r.lora = lora;

    size_t n_files = o->n_corpora + o->n_hard, n_in = n_files + 2;
    const char **files = calloc(n_files, sizeof *files), **inputs = calloc(n_in, sizeof *inputs);
    char *work = NULL, *mix = NULL;
    json_t *entries = NULL, *params = NULL, *parents = json_array();
    eco_output_dir od = {0};
    if (!files || !inputs || !parents) {
        st = eco_error(ECO_STATUS_ENOMEM, "finetune: out of memory");
        goto done;
    }
    for (size_t i = 0; i < o->n_corpora; i++) files[i] = o->corpora[i];
    for (size_t i = 0; i < o->n_hard; i++) files[o->n_corpora + i] = o->hard[i];
    inputs[0] = o->child;
    inputs[1] = o->base_model;
    for (size_t i = 0; i < n_files; i++) inputs[2 + i] = files[i];
    if ((st = eco_output_begin(&od, o->out, inputs, n_in, NULL, o->force ? ECO_OUTPUT_FORCE : 0)))
        goto done;
    if ((st = breed_work_and_mix("finetune", od.tmp, o->work_dir, &work, &mix))) goto done;
    if ((st = eco_breed_mix_corpus(files, n_files, mix, &r.n_records, r.mix_sha256, &entries)))
        goto done;

    eco_trainer_options t;
    eco_trainer_options_init(&t);
    t.model_dir = lora ? o->base_model : o->child;
    t.data_path = mix;
    t.out_dir = od.tmp;
    t.work_dir = o->work_dir;
    t.force = true; /* od.tmp is this run's own temporary folder */
    t.mode = lora ? ECO_TRAIN_MODE_LORA : ECO_TRAIN_MODE_FULL;
    if (lora) {
        if ((st = eco_peft_config_load(o->child, &t.lora))) goto done;
        t.init_adapter = o->child;
    }
    breed_trainer_set(&t, &o->train, o->threads, o->progress);
    eco_trainer_result tr;
    if ((st = eco_trainer_run(&t, &tr))) goto done;
    breed_report_trained(&r, &tr);
    if ((st = breed_drop_training_files(od.tmp))) goto done;

    /* lineage: the hyper-parameters, every file's canonical hash, the mix's */
    params = breed_train_params_json(&o->train);
    json_t *corpus = json_array(), *hard = json_array();
    for (size_t i = 0; corpus && hard && i < n_files; i++)
        json_array_append(i < o->n_corpora ? corpus : hard, json_array_get(entries, i));
    if (!params || !corpus || !hard ||
        json_object_set_new(params, "mode", json_string(lora ? "lora" : "full")) ||
        json_object_set_new(params, "corpus", corpus) ||
        json_object_set_new(params, "hard_examples", hard) ||
        json_object_set_new(params, "mix_sha256", json_string(r.mix_sha256))) {
        st = eco_error(ECO_STATUS_ENOMEM, "finetune: out of memory");
        goto done;
    }
    if (lora && (st = breed_weights_entry(o->base_model, "base", parents))) goto done;
    if ((st = breed_weights_entry(o->child, "parent", parents))) goto done;
    if ((st = breed_write_lineage(od.tmp, "finetune", params, o->train.seed, &r, parents)))
        goto done;
    st = eco_output_commit(&od);
    if (!st && rep) *rep = r;
done:
    if (st) eco_output_abort(&od);
    json_decref(entries);
    json_decref(params);
    json_decref(parents);
    free(files);
    free(inputs);
    free(work);
    free(mix);
    return st;
}
