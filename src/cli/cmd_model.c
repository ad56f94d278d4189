/* ecology model create --preset P [--seed N (default 0)] [--dtype f32|bf16|f16] --out DIR [--force]
 * ecology model merge --model DIR --adapter DIR --out DIR [--force]
 * ecology model export --format gguf [--type T] --model MODEL --out FILE.gguf [--force]
 * ecology model import --model FILE.gguf --out DIR [--force]
 * Both write the new folder beside DIR and rename it into place (eco_output_*), refuse a
 * non-empty DIR without --force and an input as DIR always, and leave lineage.json in it
 * (the preset and seed; the merge's base and adapter) for `add`. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "ecology/gguf.h"
#include "ecology/model.h"

static int model_create(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("preset", true), CLI_OPT("seed", true), CLI_OPT("dtype", true),
                   CLI_OPT("out", true), CLI_OPT("force", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *preset = cli_get(o, n, "preset"), *out = cli_get(o, n, "out");
    const char *seed_s = cli_get(o, n, "seed"), *dtype_s = cli_get(o, n, "dtype");
    if (!preset)
        return cli_usage_error("model create: --preset is required (tiny, smollm2-135m, "
                               "tinyllama-1.1b, qwen2.5-0.5b)");
    if (!out) return cli_usage_error("model create: --out DIR is required");
    int64_t seed = 0; /* the default, recorded in lineage.json like a given one */
    if (seed_s && cli_parse_int("seed", seed_s, 0, INT64_MAX, &seed) != CLI_OK) return CLI_USAGE;
    eco_dtype dtype = ECO_DTYPE_F32;
    if (dtype_s) {
        if (strcmp(dtype_s, "f32") == 0)
            dtype = ECO_DTYPE_F32;
        else if (strcmp(dtype_s, "bf16") == 0)
            dtype = ECO_DTYPE_BF16;
        else if (strcmp(dtype_s, "f16") == 0)
            dtype = ECO_DTYPE_F16;
        else
            return cli_usage_error("option '--dtype': '%s' is not one of f32, bf16, f16", dtype_s);
    }
    eco_model_config cfg;
    eco_status st = eco_model_preset_config(preset, &cfg);
    if (st == ECO_STATUS_ENOTFOUND)
        return cli_usage_error("option '--preset': %s", eco_last_error());
    if (st != ECO_STATUS_OK) return cli_fail(st, "model create");
    eco_output_dir od;
    st = eco_output_begin(&od, out, NULL, 0, NULL, cli_get(o, n, "force") ? ECO_OUTPUT_FORCE : 0);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model create");
    st = eco_model_create_preset(preset, (uint64_t)seed, dtype, od.tmp);
    st = st == ECO_STATUS_OK ? eco_output_commit(&od) : (eco_output_abort(&od), st);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model create");
    printf("%s: %s %s, %lld parameters, %s, seed %lld\n", out, preset, eco_arch_name(cfg.arch),
           (long long)eco_config_param_count(&cfg), eco_dtype_name(dtype), (long long)seed);
    return CLI_OK;
}

/* W' = W + s·B·A into a new model folder (eco_model_merge_adapter). */
static int model_merge(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true), CLI_OPT("adapter", true), CLI_OPT("out", true),
                   CLI_OPT("force", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *adapter = cli_get(o, n, "adapter"),
               *out = cli_get(o, n, "out");
    if (!model) return cli_usage_error("model merge: --model DIR is required");
    if (!adapter) return cli_usage_error("model merge: --adapter DIR is required");
    if (!out) return cli_usage_error("model merge: --out DIR is required");
    if (cli_model_ref(o, n, "model", &model) || cli_model_ref(o, n, "adapter", &adapter))
        return CLI_FAIL;
    const char *inputs[2] = {model, adapter};
    eco_output_dir od;
    eco_status st =
        eco_output_begin(&od, out, inputs, 2, NULL, cli_get(o, n, "force") ? ECO_OUTPUT_FORCE : 0);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model merge");
    st = eco_model_merge_adapter(model, adapter, od.tmp);
    st = st == ECO_STATUS_OK ? eco_output_commit(&od) : (eco_output_abort(&od), st);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model merge");
    printf("%s: %s merged with adapter %s\n", out, model, adapter);
    return CLI_OK;
}

/* A model (folder, registered id or .gguf) → one GGUF file (eco_gguf_export), atomically. */
static int model_export(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("format", true), CLI_OPT("type", true),   CLI_OPT("model", true),
                   CLI_OPT("out", true),    CLI_OPT("force", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *format = cli_get(o, n, "format"), *type_s = cli_get(o, n, "type");
    const char *model = cli_get(o, n, "model"), *out = cli_get(o, n, "out");
    if (!format) return cli_usage_error("model export: --format is required (gguf)");
    if (strcmp(format, "gguf") != 0)
        return cli_usage_error("option '--format': '%s' is not one of gguf", format);
    if (!model) return cli_usage_error("model export: --model MODEL is required");
    if (!out) return cli_usage_error("model export: --out FILE.gguf is required");
    eco_gguf_ftype type = ECO_GGUF_FTYPE_F32;
    if (type_s) {
        if (strcmp(type_s, "f32") == 0)
            type = ECO_GGUF_FTYPE_F32;
        else if (strcmp(type_s, "f16") == 0)
            type = ECO_GGUF_FTYPE_F16;
        else if (strcmp(type_s, "bf16") == 0)
            type = ECO_GGUF_FTYPE_BF16;
        else if (strcmp(type_s, "q8_0") == 0)
            type = ECO_GGUF_FTYPE_Q8_0;
        else
            return cli_usage_error("option '--type': '%s' is not one of f32, f16, bf16, q8_0",
                                   type_s);
    }
    if (cli_model_ref(o, n, "model", &model)) return CLI_FAIL;
    if (eco_path_is_dir(out)) {
        fprintf(stderr, "ecology: model export: %s: is a folder; --out names the .gguf file\n",
                out);
        return CLI_FAIL;
    }
    struct stat so, sm;
    bool exists = stat(out, &so) == 0;
    if (exists && !cli_get(o, n, "force")) {
        fprintf(stderr, "ecology: model export: %s exists (use --force to replace it)\n", out);
        return CLI_FAIL;
    }
    if (exists && stat(model, &sm) == 0 && so.st_dev == sm.st_dev && so.st_ino == sm.st_ino) {
        fprintf(stderr, "ecology: model export: --out %s is the model being exported\n", out);
        return CLI_FAIL;
    }
    eco_status st = eco_gguf_export(model, type, out);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model export");
    printf("%s: %s as GGUF (%s)\n", out, model, type_s ? type_s : "f32");
    return CLI_OK;
}

/* A .gguf → a model folder (eco_gguf_import), for the commands that need a folder's files. */
static int model_import(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true), CLI_OPT("out", true), CLI_OPT("force", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *out = cli_get(o, n, "out");
    if (!model) return cli_usage_error("model import: --model FILE.gguf is required");
    if (!out) return cli_usage_error("model import: --out DIR is required");
    if (!eco_gguf_is_model_path(model)) {
        fprintf(stderr, "ecology: model import: %s: expected a .gguf file\n", model);
        return CLI_FAIL;
    }
    const char *inputs[1] = {model};
    eco_output_dir od;
    eco_status st =
        eco_output_begin(&od, out, inputs, 1, NULL, cli_get(o, n, "force") ? ECO_OUTPUT_FORCE : 0);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model import");
    st = eco_gguf_import(model, od.tmp);
    st = st == ECO_STATUS_OK ? eco_output_commit(&od) : (eco_output_abort(&od), st);
    if (st != ECO_STATUS_OK) return cli_fail(st, "model import");
    printf("%s: %s as a model folder\n", out, model);
    return CLI_OK;
}

int cmd_model(int argc, char **argv) {
    if (argc < 3)
        return cli_usage_error("model: expected a subcommand (create, merge, export, import)");
    if (strcmp(argv[2], "create") == 0) return model_create(argc, argv);
    if (strcmp(argv[2], "merge") == 0) return model_merge(argc, argv);
    if (strcmp(argv[2], "export") == 0) return model_export(argc, argv);
    if (strcmp(argv[2], "import") == 0) return model_import(argc, argv);
    return cli_usage_error(
        "model: unknown subcommand '%s' (expected create, merge, export, import)", argv[2]);
}
