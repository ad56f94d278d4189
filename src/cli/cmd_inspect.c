/* ecology inspect PATH|ID [--json] [--data-dir D]: a safetensors file, a model folder
 * (config.json), a LoRA adapter folder (adapter_config.json + adapter_model.safetensors) or a
 * registered model (id or alias) — architecture or adapter settings, tensors (in natural
 * order: layers.2 before layers.10), dtypes, parameters, bytes. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/config.h"
#include "ecology/peft.h"
#include "ecology/safetensors.h"

static void shape_str(char *buf, size_t n, const eco_tensor *t) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->ndim && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, i ? ", %lld" : "%lld", (long long)t->shape[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

/* Natural order: runs of digits compare as numbers ("layers.2" < "layers.10"), the rest
 * byte by byte; equal numbers with more leading zeros sort later, so the order is total. */
static int natural_cmp(const char *a, const char *b) {
    while (*a && *b) {
        if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
            const char *za = a, *zb = b;
            while (*a == '0') a++;
            while (*b == '0') b++;
            size_t la = 0, lb = 0;
            while (a[la] >= '0' && a[la] <= '9') la++;
            while (b[lb] >= '0' && b[lb] <= '9') lb++;
            if (la != lb) return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c) return c;
            if ((a - za) != (b - zb)) return (a - za) < (b - zb) ? -1 : 1;
            a += la;
            b += lb;
        } else {
            if (*a != *b) return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
            a++;
            b++;
        }
    }
    return *a ? 1 : *b ? -1 : 0;
}

static int cmp_tensor(const void *x, const void *y) {
    return natural_cmp((*(const eco_tensor *const *)x)->name,
                       (*(const eco_tensor *const *)y)->name);
}

static json_t *adapter_json(const eco_peft_config *p) {
    json_t *a = json_object(), *targets = json_array();
    for (int t = 0; t < ECO_LORA__COUNT; t++)
        if (p->targets[t])
            json_array_append_new(targets, json_string(eco_lora_target_name((eco_lora_target)t)));
    json_object_set_new(a, "r", json_integer(p->r));
    json_object_set_new(a, "lora_alpha", json_real(p->lora_alpha));
    json_object_set_new(a, "use_rslora", json_boolean(p->use_rslora));
    json_object_set_new(a, "target_modules", targets);
    json_object_set_new(a, "base_model_name_or_path", json_string(p->base_model_name_or_path));
    return a;
}

int cmd_inspect(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("json", false), CLI_OPT("data-dir", true)};
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, 2, pos, 1, &npos) != CLI_OK) return CLI_USAGE;
    if (npos != 1)
        return cli_usage_error(
            "inspect: expected PATH (a .safetensors file, a model folder or an adapter folder)");
    const char *path;
    if (cli_model_path(cli_get(o, 2, "data-dir"), "inspect", pos[0], CLI_REF_ANY, &path) != CLI_OK)
        return CLI_FAIL;
    bool json = cli_get(o, 1, "json") != NULL;

    eco_model_config cfg;
    eco_peft_config peft;
    bool have_cfg = false, have_peft = false;
    char *weights_path = NULL; /* an adapter folder's adapter_model.safetensors */
    eco_status st;
    if (eco_path_is_dir(path)) {
        if (eco_path_has_file(path, "config.json")) {
            if ((st = eco_config_load(path, &cfg)) != ECO_STATUS_OK) return cli_fail(st, "inspect");
            have_cfg = true;
        } else if (eco_path_has_file(path, "adapter_config.json")) {
            if ((st = eco_peft_config_load(path, &peft)) != ECO_STATUS_OK)
                return cli_fail(st, "inspect");
            have_peft = true;
            weights_path = eco_path_join(path, "adapter_model.safetensors");
            if (!weights_path)
                return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "inspect");
        }
    }
    eco_weights *w;
    st = eco_weights_open(weights_path ? weights_path : path, &w);
    free(weights_path);
    if (st != ECO_STATUS_OK) return cli_fail(st, "inspect");

    size_t count = eco_weights_count(w);
    const eco_tensor **sorted = count ? malloc(count * sizeof *sorted) : NULL;
    if (count && !sorted) {
        eco_weights_close(w);
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "inspect");
    }
    size_t n_dtype[ECO_DTYPE_Q8_0 + 1] = {0}; /* by dtype: the safetensors ones and Q8_0 */
    uint64_t params = 0;
    int name_w = 4, shape_w = 5;
    for (size_t i = 0; i < count; i++) {
        const eco_tensor *t = sorted[i] = eco_weights_get(w, i);
        params += eco_tensor_numel(t);
        n_dtype[t->dtype]++;
        char sh[96];
        shape_str(sh, sizeof sh, t);
        if ((int)strlen(t->name) > name_w) name_w = (int)strlen(t->name);
        if ((int)strlen(sh) > shape_w) shape_w = (int)strlen(sh);
    }
    if (count) qsort(sorted, count, sizeof *sorted, cmp_tensor);
    if (json) {
        json_t *root = json_object(), *tensors = json_array();
        for (size_t i = 0; i < count; i++) {
            const eco_tensor *t = sorted[i];
            json_t *e = json_object(), *shape = json_array();
            for (int d = 0; d < t->ndim; d++)
                json_array_append_new(shape, json_integer(t->shape[d]));
            json_object_set_new(e, "name", json_string(t->name));
            json_object_set_new(e, "dtype", json_string(eco_dtype_name(t->dtype)));
            json_object_set_new(e, "shape", shape);
            json_object_set_new(e, "bytes", json_integer((json_int_t)t->nbytes));
            json_array_append_new(tensors, e);
        }
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
        if (have_peft) json_object_set_new(root, "adapter", adapter_json(&peft));
        json_object_set_new(root, "tensors", tensors);
        json_object_set_new(root, "parameters", json_integer((json_int_t)params));
        json_object_set_new(root, "bytes", json_integer((json_int_t)eco_weights_nbytes(w)));
        char *s = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (s) puts(s);
        free(s);
        json_decref(root);
    } else {
        printf("%s\n", path);
        if (have_cfg)
            printf("  architecture  %s: hidden %lld, intermediate %lld, %lld layers, %lld heads "
                   "(%lld kv, head_dim %lld), vocab %lld, %s embeddings\n",
                   eco_arch_name(cfg.arch), (long long)cfg.hidden_size,
                   (long long)cfg.intermediate_size, (long long)cfg.n_layers,
                   (long long)cfg.n_heads, (long long)cfg.n_kv_heads, (long long)cfg.head_dim,
                   (long long)cfg.vocab_size, cfg.tie_word_embeddings ? "tied" : "untied");
        if (have_peft) {
            printf("  adapter       LoRA r %lld, alpha %g%s, targets ", (long long)peft.r,
                   peft.lora_alpha, peft.use_rslora ? " (rsLoRA)" : "");
            bool first_t = true;
            for (int t = 0; t < ECO_LORA__COUNT; t++)
                if (peft.targets[t]) {
                    printf("%s%s", first_t ? "" : ",", eco_lora_target_name((eco_lora_target)t));
                    first_t = false;
                }
            printf("\n  base          %s\n",
                   peft.base_model_name_or_path[0] ? peft.base_model_name_or_path : "-");
        }
        printf("  tensors       %zu (", count);
        bool first = true;
        for (int d = 0; d <= ECO_DTYPE_Q8_0; d++)
            if (n_dtype[d]) {
                printf("%s%zu %s", first ? "" : ", ", n_dtype[d], eco_dtype_name((eco_dtype)d));
                first = false;
            }
        printf(")\n  parameters    %llu\n  bytes         %zu\n\n", (unsigned long long)params,
               eco_weights_nbytes(w));
        printf("  %-*s %-5s %-*s %12s\n", name_w, "name", "dtype", shape_w, "shape", "bytes");
        for (size_t i = 0; i < count; i++) {
            const eco_tensor *t = sorted[i];
            char sh[96];
            shape_str(sh, sizeof sh, t);
            printf("  %-*s %-5s %-*s %12zu\n", name_w, t->name, eco_dtype_name(t->dtype), shape_w,
                   sh, t->nbytes);
        }
    }
    free(sorted);
    eco_weights_close(w);
    return CLI_OK;
}
