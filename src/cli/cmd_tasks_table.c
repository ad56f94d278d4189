/* ecology tasks table [--family NAME=MODEL_DIR[:ADAPTER_DIR]]... [--data-root DIR]
 *                    [--capability C[,C...]] [--n N] [--seed S] [--threads N] [--json]
 *
 * The base families side by side (issue 20): for each family and each capability of the
 * suite, the family's adapter for it scored in distribution (eco_tasks_eval on the held-out
 * split: `ecology tasks eval`'s figure) and out of distribution (eco_evaluate on the
 * capability's shift corpus: `ecology corpus build --shift` scored as `ecology eval` scores
 * it; none for the capabilities without one), and per family its parameters, the bytes of
 * its folder's files, its compatibility identity (tokenizer and architecture hashes) and its
 * decode rate on a fixed greedy generation. Per capability the best family: the highest
 * held-out exact match, then the highest shift exact match, then the first given.
 *
 * Families: every --family, else every folder of DIR/models holding a config.json
 * (--data-root, default ./data: the repository's shipped models) with DIR/adapters as its
 * adapter folder. A family's adapter for capability C is ADAPTER_DIR/C, else
 * ADAPTER_DIR/<group>/C (data/adapters/bpe/C), the first of them whose adapter_config.json's
 * base_model_name_or_path names the family's base (its last path component equal to
 * eco_peft_base_name(MODEL_DIR): the folder's name, as the trainer writes it). A family
 * without one has a "no adapter" row, not an error. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "breeder/lora_lineage.h"
#include "cli.h"
#include "ecology/artifacts.h"
#include "ecology/engine.h"
#include "ecology/evaluator.h"
#include "ecology/peft.h"
#include "ecology/registry.h"
#include "ecology/tasks.h"

enum { MAX_FAMILIES = 16, MAX_CAPS = 64, NAME_MAX_BYTES = 64 };

/* The decode-rate measurement: a fixed prompt both families were pretrained on, greedy,
 * EOS ignored, after a short warm-up generation. */
#define SPEED_PROMPT "Call me Ishmael. Some years ago"
#define SPEED_TOKENS 128
#define SPEED_WARMUP 8

typedef struct family {
    char *name;     /* the label */
    char *model;    /* the model folder */
    char *adapters; /* the folder searched for its adapters; NULL: none */
    char base[512]; /* the name its adapters give their base (eco_peft_base_name) */
    int64_t n_params;
    uint64_t bytes; /* the model folder's files */
    eco_compat_identity compat;
    double tok_s, bytes_s; /* the fixed generation's decode rate */
    double eval_s;         /* wall time of the family's evaluations */
    size_t n_adapters;
} family;

typedef struct cell {
    char *adapter; /* the adapter scored; NULL: the family has none for the capability */
    eco_rate in, shift;
    bool has_shift;
} cell;

typedef struct table {
    family fam[MAX_FAMILIES];
    size_t n_fam;
    const eco_capability *caps[MAX_CAPS];
    size_t n_caps;
    eco_eval_corpus *shift[MAX_CAPS]; /* NULL: the capability has no shift corpus */
    cell cells[MAX_CAPS][MAX_FAMILIES];
    int best[MAX_CAPS]; /* family index, -1 when no family has an adapter */
    size_t n;
    uint64_t seed;
} table;

static void table_free(table *t) {
    for (size_t i = 0; i < t->n_fam; i++) {
        free(t->fam[i].name);
        free(t->fam[i].model);
        free(t->fam[i].adapters);
    }
    for (size_t c = 0; c < t->n_caps; c++) {
        eco_eval_corpus_free(t->shift[c]);
        for (size_t i = 0; i < t->n_fam; i++) free(t->cells[c][i].adapter);
    }
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(char **v, size_t n) {
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* The names of dir's subfolders, sorted, hidden ones ('.') left out. */
static eco_status list_subdirs(const char *dir, char ***out, size_t *n) {
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return eco_error(ECO_STATUS_EIO, "%s: cannot open folder", dir);
    char **v = NULL;
    size_t cap = 0;
    eco_status st = ECO_STATUS_OK;
    struct dirent *e;
    while (st == ECO_STATUS_OK && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = eco_path_join(dir, e->d_name);
        bool is_dir = p && eco_path_is_dir(p);
        free(p);
        if (!is_dir) continue;
        if (*n == cap) {
            char **nv = realloc(v, (cap ? cap * 2 : 8) * sizeof *v);
            if (!nv) {
                st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
                break;
            }
            v = nv;
            cap = cap ? cap * 2 : 8;
        }
        if (!(v[*n] = eco_strdup(e->d_name)))
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        else
            (*n)++;
    }
    closedir(d);
    if (st != ECO_STATUS_OK) {
        names_free(v, *n);
        *n = 0;
        return st;
    }
    if (*n) qsort(v, *n, sizeof *v, cmp_str);
    *out = v;
    return ECO_STATUS_OK;
}

/* --family NAME=MODEL_DIR[:ADAPTER_DIR] into f (a usage error when malformed). */
static int parse_family(const char *spec, family *f) {
    const char *eq = strchr(spec, '=');
    const char *model = eq ? eq + 1 : NULL, *colon = model ? strchr(model, ':') : NULL;
    size_t name_len = eq ? (size_t)(eq - spec) : 0;
    size_t model_len = model ? (colon ? (size_t)(colon - model) : strlen(model)) : 0;
    if (!eq || name_len == 0 || model_len == 0 || (colon && colon[1] == '\0'))
        return cli_usage_error("option '--family': '%s' is not NAME=MODEL_DIR[:ADAPTER_DIR]", spec);
    if (name_len > NAME_MAX_BYTES)
        return cli_usage_error("option '--family': name '%.*s' is longer than %d bytes",
                               (int)name_len, spec, NAME_MAX_BYTES);
    for (size_t i = 0; i < name_len; i++)
        if (spec[i] <= ' ' || spec[i] > '~' || spec[i] == ':')
            return cli_usage_error("option '--family': name '%.*s': printable ASCII without "
                                   "spaces or ':' only",
                                   (int)name_len, spec);
    f->name = eco_bytes_dup(spec, name_len);
    f->model = eco_bytes_dup(model, model_len);
    f->adapters = colon ? eco_strdup(colon + 1) : NULL;
    if (!f->name || !f->model || (colon && !f->adapters))
        return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks table");
    return CLI_OK;
}

/* The families of root/models (folders holding config.json), root/adapters their adapters;
 * given: root came from --data-root (else the default ./data). */
static eco_status root_families(const char *root, bool given, table *t) {
    char *models = eco_path_join(root, "models"), *adapters = eco_path_join(root, "adapters");
    char **names = NULL;
    size_t n = 0;
    eco_status st =
        models && adapters ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (st == ECO_STATUS_OK && !eco_path_is_dir(models))
        st = eco_error(ECO_STATUS_ENOTFOUND, "%s: no such folder (%s)", models,
                       given ? "--data-root DIR holds models/ and adapters/"
                             : "run from the repository's root, or give --data-root DIR or "
                               "--family NAME=MODEL_DIR[:ADAPTER_DIR]");
    if (st == ECO_STATUS_OK) st = list_subdirs(models, &names, &n);
    for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++) {
        char *dir = eco_path_join(models, names[i]);
        if (!dir) {
            st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        } else if (!eco_path_has_file(dir, "config.json")) {
            free(dir);
        } else if (t->n_fam == MAX_FAMILIES) {
            free(dir);
            st = eco_error(ECO_STATUS_ERANGE, "%s: more than %d model folders", models,
                           MAX_FAMILIES);
        } else {
            family *f = &t->fam[t->n_fam++];
            f->name = eco_strdup(names[i]);
            f->model = dir;
            f->adapters = eco_path_is_dir(adapters) ? eco_strdup(adapters) : NULL;
            if (!f->name || (eco_path_is_dir(adapters) && !f->adapters))
                st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        }
    }
    if (st == ECO_STATUS_OK && t->n_fam == 0)
        st = eco_error(ECO_STATUS_ENOTFOUND, "%s: no model folder (config.json) in it", models);
    names_free(names, n);
    free(models);
    free(adapters);
    return st;
}

/* The family's folders checked, its size, identity and decode rate measured. */
static eco_status family_open(family *f) {
    eco_status st = eco_path_require_dir(f->model, ECO_MODEL_DIR_EXPECTED);
    if (st == ECO_STATUS_OK && !eco_path_has_file(f->model, "config.json"))
        st = eco_error(ECO_STATUS_EINVAL, "%s: no config.json, expected %s", f->model,
                       ECO_MODEL_DIR_EXPECTED);
    if (st == ECO_STATUS_OK && f->adapters)
        st = eco_path_require_dir(f->adapters,
                                  "a folder of adapters (<capability>/adapter_config.json)");
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "family '%s'", f->name);
    eco_peft_base_name(f->model, f->base, sizeof f->base);

    eco_manifest m;
    if ((st = eco_manifest_from_dir(f->model, NULL, &m)) != ECO_STATUS_OK)
        return eco_error_wrap(st, "family '%s'", f->name);
    for (size_t i = 0; i < m.n; i++) f->bytes += m.files[i].size;
    st = eco_compat_compute_base_manifest(f->model, &m, &f->compat);
    eco_manifest_free(&m);
    if (st != ECO_STATUS_OK) return eco_error_wrap(st, "family '%s'", f->name);

    eco_engine *eng;
    if ((st = eco_llama_engine_open(f->model, f->name, &eng)) != ECO_STATUS_OK)
        return eco_error_wrap(st, "family '%s'", f->name);
    f->n_params = eng->genome(eng)->n_params;
    eco_infer_request req;
    eco_infer_request_init(&req);
    req.prompt = SPEED_PROMPT;
    req.stop_at_eos = false;
    eco_infer_response resp = {0};
    for (int run = 0; run < 2 && st == ECO_STATUS_OK; run++) {
        req.max_tokens = run ? SPEED_TOKENS : SPEED_WARMUP;
        eco_infer_response_free(&resp);
        st = eng->infer(eng, &req, &resp);
    }
    if (st == ECO_STATUS_OK && resp.decode_ms > 0) {
        f->tok_s = (double)resp.n_tokens / (resp.decode_ms / 1000.0);
        f->bytes_s = (double)resp.text_len / (resp.decode_ms / 1000.0);
    }
    eco_infer_response_free(&resp);
    eco_engine_destroy(eng);
    return st == ECO_STATUS_OK ? st : eco_error_wrap(st, "family '%s': decode rate", f->name);
}

/* Whether dir holds an adapter of the family's base (a folder whose adapter_config.json's
 * base_model_name_or_path ends in f->base). */
static eco_status adapter_fits(const family *f, const char *dir, bool *fits) {
    *fits = false;
    if (!eco_path_has_file(dir, "adapter_config.json")) return ECO_STATUS_OK;
    eco_peft_config pc;
    eco_status st = eco_peft_config_load(dir, &pc);
    if (st != ECO_STATUS_OK) return st;
    size_t len;
    const char *last = eco_lora_last_component(pc.base_model_name_or_path, &len);
    *fits = len == strlen(f->base) && memcmp(last, f->base, len) == 0;
    return ECO_STATUS_OK;
}

/* The family's adapter for cap into c->adapter (NULL when it has none); groups are the
 * subfolders of f->adapters. */
static eco_status find_adapter(const family *f, const eco_capability *cap, char **groups,
                               size_t n_groups, cell *c) {
    c->adapter = NULL;
    if (!f->adapters) return ECO_STATUS_OK;
    for (size_t g = 0; g <= n_groups; g++) {
        char *group = g ? eco_path_join(f->adapters, groups[g - 1]) : NULL;
        char *dir = !g || group ? eco_path_join(g ? group : f->adapters, cap->name) : NULL;
        free(group);
        if (!dir) return eco_error(ECO_STATUS_ENOMEM, "out of memory");
        bool fits = false;
        eco_status st = adapter_fits(f, dir, &fits);
        if (st != ECO_STATUS_OK || !fits) {
            free(dir);
            if (st != ECO_STATUS_OK) return st;
            continue;
        }
        c->adapter = dir;
        return ECO_STATUS_OK;
    }
    return ECO_STATUS_OK;
}

/* cap's shift corpus (`corpus build --shift`) parsed for the evaluator; NULL when the
 * capability has none. */
static eco_status shift_corpus(const eco_capability *cap, size_t n, uint64_t seed,
                               eco_eval_corpus **out) {
    *out = NULL;
    eco_tasks_corpus_options o = {.caps = &cap, .n_caps = 1, .n = n, .seed = seed, .shift = true};
    eco_tasks_corpus tc;
    eco_status st = eco_tasks_corpus_build(&o, &tc);
    if (st == ECO_STATUS_EUNSUPPORTED) {
        eco_clear_error();
        return ECO_STATUS_OK;
    }
    if (st != ECO_STATUS_OK) return st;
    eco_buf text = {0};
    st = eco_tasks_corpus_write(&tc, &text);
    eco_tasks_corpus_free(&tc);
    if (st == ECO_STATUS_OK) st = eco_eval_corpus_parse(text.data, text.len, cap->name, out);
    eco_buf_free(&text);
    return st;
}

/* One family × capability: the held-out split and the shift corpus on model + adapter. */
static eco_status eval_cell(const table *t, const family *f, size_t ci, cell *c) {
    const eco_capability *cap = t->caps[ci];
    eco_engine *eng;
    eco_status st = eco_llama_engine_open_adapter(f->model, c->adapter, NULL, &eng);
    if (st != ECO_STATUS_OK) return st;
    eco_tasks_eval_options o;
    eco_tasks_eval_options_init(&o);
    o.n = t->n;
    o.seed = t->seed;
    o.max_failures = 0;
    eco_tasks_eval_report r;
    st = eco_tasks_eval(eng, cap, &o, &r);
    if (st == ECO_STATUS_OK) {
        st = eco_rate_wilson(r.correct, r.n, &c->in);
        eco_tasks_eval_report_free(&r);
    }
    if (st == ECO_STATUS_OK && t->shift[ci]) {
        eco_eval_caps caps;
        eco_eval_caps_init(&caps);
        caps.robustness = false;
        caps.case_timeout_ms = 0; /* the figure must not depend on timing */
        eco_eval_report rep;
        st = eco_evaluate(eng, t->shift[ci], &caps, f->name, c->adapter, NULL, NULL, &rep);
        for (size_t i = 0; st == ECO_STATUS_OK && i < rep.n_caps; i++)
            if (strcmp(rep.caps_fig[i].capability, cap->name) == 0) {
                c->shift = rep.caps_fig[i].quality_by_tag[1];
                c->has_shift = true;
            }
        if (st == ECO_STATUS_OK) eco_eval_report_free(&rep);
    }
    eco_engine_destroy(eng);
    return st;
}

/* The best family for capability ci: held-out rate, then shift rate, then the first. */
static int best_family(const table *t, size_t ci) {
    int best = -1;
    for (size_t i = 0; i < t->n_fam; i++) {
        const cell *c = &t->cells[ci][i], *b = best >= 0 ? &t->cells[ci][best] : NULL;
        if (!c->adapter) continue;
        if (!b || c->in.rate > b->in.rate ||
            (c->in.rate == b->in.rate && c->has_shift && c->shift.rate > b->shift.rate))
            best = (int)i;
    }
    return best;
}

/* ---- output ---------------------------------------------------------------------------- */

static json_t *rate_json(const eco_rate *r) {
    return json_pack("{s:I, s:I, s:f, s:f, s:f}", "k", (json_int_t)r->k, "n", (json_int_t)r->n,
                     "rate", r->rate, "lo", r->lo, "hi", r->hi);
}

static int print_json(const table *t, double wall_s) {
    json_t *fams = json_array(), *caps = json_array();
    for (size_t i = 0; fams && i < t->n_fam; i++) {
        const family *f = &t->fam[i];
        json_t *v =
            json_pack("{s:s, s:s, s:s?, s:s, s:I, s:I, s:s, s:s, s:f, s:f, s:f, s:I}", "name",
                      f->name, "model", f->model, "adapters", f->adapters, "base", f->base,
                      "parameters", (json_int_t)f->n_params, "bytes", (json_int_t)f->bytes,
                      "tokenizer_hash", f->compat.tokenizer_hash, "architecture_hash",
                      f->compat.architecture_hash, "tokens_per_s", f->tok_s, "bytes_per_s",
                      f->bytes_s, "eval_s", f->eval_s, "n_adapters", (json_int_t)f->n_adapters);
        if (!v || json_array_append_new(fams, v)) {
            json_decref(fams);
            fams = NULL;
        }
    }
    for (size_t ci = 0; caps && ci < t->n_caps; ci++) {
        json_t *rows = json_array();
        for (size_t i = 0; rows && i < t->n_fam; i++) {
            const cell *c = &t->cells[ci][i];
            json_t *v =
                json_pack("{s:s, s:s?, s:o?, s:o?}", "family", t->fam[i].name, "adapter",
                          c->adapter, "in_distribution", c->adapter ? rate_json(&c->in) : NULL,
                          "shift", c->has_shift ? rate_json(&c->shift) : NULL);
            if (!v || json_array_append_new(rows, v)) {
                json_decref(rows);
                rows = NULL;
            }
        }
        json_t *v =
            rows ? json_pack("{s:s, s:b, s:s?, s:o}", "capability", t->caps[ci]->name, "has_shift",
                             t->shift[ci] != NULL, "best",
                             t->best[ci] >= 0 ? t->fam[t->best[ci]].name : NULL, "families", rows)
                 : NULL;
        if (!v || json_array_append_new(caps, v)) {
            json_decref(caps);
            caps = NULL;
        }
    }
    /* the seed as a number, or a decimal string past INT64_MAX (the reports' rule) */
    char seed_s[24];
    snprintf(seed_s, sizeof seed_s, "%llu", (unsigned long long)t->seed);
    json_t *root = fams && caps
                       ? json_pack("{s:I, s:o, s:I, s:O, s:O, s:f}", "n", (json_int_t)t->n, "seed",
                                   t->seed <= INT64_MAX ? json_integer((json_int_t)t->seed)
                                                        : json_string(seed_s),
                                   "threads", (json_int_t)eco_get_threads(), "families", fams,
                                   "capabilities", caps, "wall_s", wall_s)
                       : NULL;
    json_decref(fams);
    json_decref(caps);
    char *out = NULL;
    eco_status st =
        root ? eco_json_dumps_line(root, JSON_INDENT(2) | JSON_SORT_KEYS, "tasks table", &out, NULL)
             : eco_error(ECO_STATUS_ENOMEM, "tasks table: out of memory");
    json_decref(root);
    if (st == ECO_STATUS_OK && fputs(out, stdout) == EOF)
        st = eco_error(ECO_STATUS_EIO, "cannot write to stdout");
    free(out);
    return st == ECO_STATUS_OK ? CLI_OK : cli_fail(st, "tasks table");
}

/* s left-aligned in width columns (UTF-8: a code point a column), then two spaces. */
static void print_cell(const char *s, int width) {
    int cols = 0;
    for (const char *p = s; *p; p++) cols += ((unsigned char)*p & 0xC0) != 0x80;
    printf("%s%*s  ", s, width > cols ? width - cols : 0, "");
}

static void print_text(const table *t, double wall_s) {
    printf("%-16s %10s %10s %8s %9s %9s  %-12s  %-12s\n", "FAMILY", "PARAMETERS", "MB", "ADAPTERS",
           "TOKENS/S", "BYTES/S", "TOKENIZER", "ARCHITECTURE");
    for (size_t i = 0; i < t->n_fam; i++) {
        const family *f = &t->fam[i];
        printf("%-16s %10lld %10.1f %4zu/%-3zu %9.0f %9.0f  %.12s  %.12s\n", f->name,
               (long long)f->n_params, (double)f->bytes / 1e6, f->n_adapters, t->n_caps, f->tok_s,
               f->bytes_s, f->compat.tokenizer_hash, f->compat.architecture_hash);
    }
    putchar('\n');
    int width = 13;
    for (size_t i = 0; i < t->n_fam; i++)
        if ((int)strlen(t->fam[i].name) > width) width = (int)strlen(t->fam[i].name);
    print_cell("CAPABILITY", 18);
    for (size_t i = 0; i < t->n_fam; i++) print_cell(t->fam[i].name, width);
    printf("BEST\n");
    for (size_t ci = 0; ci < t->n_caps; ci++) {
        print_cell(t->caps[ci]->name, 18);
        for (size_t i = 0; i < t->n_fam; i++) {
            const cell *c = &t->cells[ci][i];
            char buf[64] = "no adapter", sh[16] = "—";
            if (c->has_shift) snprintf(sh, sizeof sh, "%.1f", 100.0 * c->shift.rate);
            if (c->adapter) snprintf(buf, sizeof buf, "%.1f / %s", 100.0 * c->in.rate, sh);
            print_cell(buf, width);
        }
        printf("%s\n", t->best[ci] >= 0 ? t->fam[t->best[ci]].name : "—");
    }
    printf("exact match %%, held-out split / shift corpus (— none for the capability); n %zu "
           "each (fewer where a split or shift space is smaller), seed %llu; %.1f s\n",
           t->n, (unsigned long long)t->seed, wall_s);
}

/* ---- the command ----------------------------------------------------------------------- */

int cli_tasks_table(int argc, char **argv) {
    const char *specs[MAX_FAMILIES];
    cli_opt o[] = {{.name = "family",
                    .takes_value = true,
                    .repeated_ok = true,
                    .values = specs,
                    .max_values = MAX_FAMILIES},
                   CLI_OPT("data-root", true),
                   CLI_OPT("capability", true),
                   CLI_OPT("n", true),
                   CLI_OPT("seed", true),
                   CLI_OPT("threads", true),
                   CLI_OPT("json", false)};
    const int n_opts = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 3, o, n_opts, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *root = cli_get(o, n_opts, "data-root"), *s;
    if (root && o[0].n_values)
        return cli_usage_error("tasks table: give --family or --data-root, not both");
    table *t = calloc(1, sizeof *t);
    if (!t) return cli_fail(eco_error(ECO_STATUS_ENOMEM, "out of memory"), "tasks table");
    t->n = 50;
    int rc = CLI_OK;
    int64_t v;
    if ((s = cli_get(o, n_opts, "capability")))
        rc = cli_parse_capabilities("capability", s, t->caps, MAX_CAPS, &t->n_caps);
    else
        for (size_t i = 0; i < eco_tasks_count() && t->n_caps < MAX_CAPS; i++)
            t->caps[t->n_caps++] = eco_tasks_get(i);
    if (rc == CLI_OK && (s = cli_get(o, n_opts, "n"))) {
        rc = cli_parse_int("n", s, 1, ECO_TASKS_CORPUS_MAX_N, &v);
        t->n = (size_t)v;
    }
    if (rc == CLI_OK && (s = cli_get(o, n_opts, "seed"))) rc = cli_parse_u64("seed", s, &t->seed);
    if (rc == CLI_OK && (s = cli_get(o, n_opts, "threads"))) {
        rc = cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v);
        if (rc == CLI_OK) eco_set_threads((int)v);
    }
    for (int i = 0; rc == CLI_OK && i < o[0].n_values; i++) {
        family *f = &t->fam[t->n_fam++];
        rc = parse_family(specs[i], f);
        for (size_t j = 0; rc == CLI_OK && j + 1 < t->n_fam; j++)
            if (strcmp(t->fam[j].name, f->name) == 0)
                rc = cli_usage_error("option '--family': the name '%s' is given twice", f->name);
    }
    if (rc != CLI_OK) {
        table_free(t);
        free(t);
        return rc;
    }

    double t0 = eco_now();
    eco_status st = t->n_fam ? ECO_STATUS_OK : root_families(root ? root : "data", root != NULL, t);
    for (size_t i = 0; st == ECO_STATUS_OK && i < t->n_fam; i++) st = family_open(&t->fam[i]);
    for (size_t ci = 0; st == ECO_STATUS_OK && ci < t->n_caps; ci++)
        st = shift_corpus(t->caps[ci], t->n, t->seed, &t->shift[ci]);
    for (size_t i = 0; st == ECO_STATUS_OK && i < t->n_fam; i++) {
        family *f = &t->fam[i];
        char **groups = NULL;
        size_t n_groups = 0;
        if (f->adapters) st = list_subdirs(f->adapters, &groups, &n_groups);
        double f0 = eco_now();
        for (size_t ci = 0; st == ECO_STATUS_OK && ci < t->n_caps; ci++) {
            cell *c = &t->cells[ci][i];
            st = find_adapter(f, t->caps[ci], groups, n_groups, c);
            if (st != ECO_STATUS_OK || !c->adapter) continue;
            f->n_adapters++;
            double c0 = eco_now();
            st = eval_cell(t, f, ci, c);
            if (st != ECO_STATUS_OK) {
                st = eco_error_wrap(st, "family '%s', %s (%s)", f->name, t->caps[ci]->name,
                                    c->adapter);
                break;
            }
            fprintf(stderr, "tasks table: %s, %s: %llu/%llu held out", f->name, t->caps[ci]->name,
                    (unsigned long long)c->in.k, (unsigned long long)c->in.n);
            if (c->has_shift)
                fprintf(stderr, ", %llu/%llu shift", (unsigned long long)c->shift.k,
                        (unsigned long long)c->shift.n);
            fprintf(stderr, " (%.1f s)\n", eco_now() - c0);
        }
        f->eval_s = eco_now() - f0;
        names_free(groups, n_groups);
    }
    if (st != ECO_STATUS_OK) {
        table_free(t);
        free(t);
        return cli_fail(st, "tasks table");
    }
    for (size_t ci = 0; ci < t->n_caps; ci++) t->best[ci] = best_family(t, ci);
    double wall_s = eco_now() - t0;
    if (cli_get(o, n_opts, "json"))
        rc = print_json(t, wall_s);
    else
        print_text(t, wall_s);
    table_free(t);
    free(t);
    return rc;
}
