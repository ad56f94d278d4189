/* ecology inspect PATH|ID [--json] [--data-dir D]: a safetensors file, a model folder or a
 * registered model (id or alias) — architecture, tensors, dtypes, parameters, bytes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/config.h"
#include "ecology/safetensors.h"

static void shape_str(char *buf, size_t n, const eco_tensor *t) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && o < n; i++) o += (size_t)snprintf(buf + o, n - o, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

int cmd_inspect(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, 2, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1) return cli_usage_error("inspect: expected PATH (a .safetensors file or a model folder)");
    const char *path;
    if (cli_model_path(cli_get(o, 2, "data-dir"), "inspect", pos[0], CLI_REF_ANY, &path) != CLI_OK) return CLI_FAIL;
    bool json = cli_get(o, 1, "json") != NULL;

    eco_model_config cfg;
    bool have_cfg = false;
    if (eco_path_is_dir(path)) {
        char *cp = eco_path_join(path, "config.json");
        FILE *f = cp ? fopen(cp, "rb") : NULL;
        if (f) {
            fclose(f);
            eco_status st = eco_config_load(cp, &cfg);
            if (st != ECO_STATUS_OK) {
                free(cp);
                return cli_fail(st, "inspect");
            }
            have_cfg = true;
        }
        free(cp);
    }
    eco_weights *w;
    eco_status st = eco_weights_open(path, &w);
    if (st != ECO_STATUS_OK) return cli_fail(st, "inspect");

    size_t count = eco_weights_count(w);
    size_t n_dtype[ECO_DTYPE__COUNT] = {0};
    uint64_t params = 0;
    json_t *root = json_object(), *tensors = json_array(); /* both unused without --json */
    for (size_t i = 0; i < count; i++) {
        const eco_tensor *t = eco_weights_get(w, i);
        params += eco_tensor_numel(t);
        n_dtype[t->dtype]++;
        if (json) {
            json_t *e = json_object(), *shape = json_array();
            for (int d = 0; d < t->ndim; d++) json_array_append_new(shape, json_integer(t->shape[d]));
            json_object_set_new(e, "name", json_string(t->name));
            json_object_set_new(e, "dtype", json_string(eco_dtype_name(t->dtype)));
            json_object_set_new(e, "shape", shape);
            json_object_set_new(e, "bytes", json_integer((json_int_t)t->nbytes));
            json_array_append_new(tensors, e);
        }
    }
    if (json) {
        if (have_cfg) {
            json_t *c = json_object();
            json_object_set_new(c, "architecture", json_string(eco_arch_name(cfg.arch)));
            json_object_set_new(c, "hidden_size", json_integer(cfg.hidden_size));
            json_object_set_new(c, "intermediate_size", json_integer(cfg.intermediate_size));
            json_object_set_new(c, "layers", json_integer(cfg.n_layers));
            json_object_set_new(c, "heads", json_integer(cfg.n_heads));
            json_object_set_new(c, "kv_heads", json_integer(cfg.n_kv_heads));
            json_object_set_new(c, "head_dim", json_integer(cfg.head_dim));
            json_object_set_new(c, "vocab_size", json_integer(cfg.vocab_size));
            json_object_set_new(c, "tie_word_embeddings", json_boolean(cfg.tie_word_embeddings));
            json_object_set_new(root, "config", c);
        }
        json_object_set_new(root, "tensors", tensors);
        json_object_set_new(root, "parameters", json_integer((json_int_t)params));
        json_object_set_new(root, "bytes", json_integer((json_int_t)eco_weights_nbytes(w)));
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) puts(s);
        free(s);
    } else {
        printf("%s\n", path);
        if (have_cfg)
            printf("  architecture  %s: hidden %lld, intermediate %lld, %lld layers, %lld heads (%lld kv, head_dim %lld), vocab %lld, %s embeddings\n",
                   eco_arch_name(cfg.arch), (long long)cfg.hidden_size, (long long)cfg.intermediate_size,
                   (long long)cfg.n_layers, (long long)cfg.n_heads, (long long)cfg.n_kv_heads, (long long)cfg.head_dim,
                   (long long)cfg.vocab_size, cfg.tie_word_embeddings ? "tied" : "untied");
        printf("  tensors       %zu (", count);
        bool first = true;
        for (int d = 0; d < ECO_DTYPE__COUNT; d++)
            if (n_dtype[d]) {
                printf("%s%zu %s", first ? "" : ", ", n_dtype[d], eco_dtype_name((eco_dtype)d));
                first = false;
            }
        printf(")\n  parameters    %llu\n  bytes         %zu\n\n", (unsigned long long)params, eco_weights_nbytes(w));
        printf("  %-56s %-5s %-16s %12s\n", "name", "dtype", "shape", "bytes");
        for (size_t i = 0; i < count; i++) {
            const eco_tensor *t = eco_weights_get(w, i);
            char sh[96];
            shape_str(sh, sizeof sh, t);
            printf("  %-56s %-5s %-16s %12zu\n", t->name, eco_dtype_name(t->dtype), sh, t->nbytes);
        }
    }
    if (!json) json_decref(tensors); /* with --json, root owns it */
    json_decref(root);
    eco_weights_close(w);
    return CLI_OK;
}
