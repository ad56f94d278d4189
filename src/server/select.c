/*
 * Model selection per request (server.h): `model` alone (a registry id or alias, a pool
 * engine over it); `lora` (llama-server's per-request adapters with scales) and
 * `merged_adapters` (LoRAX's), both made into one adapter by the breeder's own merge
 * (eco_merge_adapters_dir, MERGING.md) and cached by content under
 * <data>/cache/merged/<key>/; `routing` (a router policy over pool engines, as `ecology
 * route` answers through one).
 *
 * lora [{id, scale}] is Σ s_i·B_i·A_i exactly: the breeder's linear merge without
 * normalisation writes B = [s_1·c_1·B_1 | ...], A = [A_1; ...] (c_i the adapter's own
 * alpha/r) at rank Σ r_i, a concatenation with no SVD (merge_lora.c). merged_adapters with
 * merge_strategy linear is the same sum Σ w_i·ΔW_i (LoRAX's linear does not normalise
 * either), so a lora request and a merged_adapters one with the same adapters and weights
 * share one cached adapter. ties, dare_linear and dare_ties are the breeder's methods with
 * their defaults (ties and dare_ties normalise by the agreeing weights, MERGING.md), the
 * request's density for every parent, majority_sign_method total (the sum election) or
 * frequency (the count election), seed the dare draws', written at rank Σ r_i (the merge's
 * truncated SVD, its error in the folder's lineage.json).
 *
 * The cache key is the SHA-256 of the canonical JSON of everything the merged bytes depend
 * on: the base's id, each adapter's files (name and SHA-256 from its registered manifest),
 * in order, the merge parameters (eco_merge_params_to_json: method, weights, density,
 * election, seed, ...) and the rank rule (Σ r_i). Only a miss checks the files out and
 * merges; a hit reads nothing but the genomes. The folder is written once, atomically
 * (eco_output_*), so a folder that exists is whole; merges run one at a time per process,
 * and a folder that appears while one runs (another process) is taken as it is.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ecology/artifacts.h"
#include "ecology/merge_dir.h"
#include "ecology/peft.h"
#include "ecology/router.h"
#include "server/complete_internal.h"

static pthread_mutex_t merge_mu = PTHREAD_MUTEX_INITIALIZER;

/* One adapter a lora or merged_adapters request names. */
typedef struct named {
    const char *ref; /* as the request wrote it */
    char param[64];  /* "lora[1].id", "merged_adapters.ids[0]" */
    eco_genome g;    /* its registered genome */
    char *dir;       /* its checkout */
} named;

static bool add_id(job *j, const char *id) {
    for (size_t i = 0; i < j->n_template_ids; i++)
        if (!strcmp(j->template_ids[i], id)) return true;
    char **t = realloc(j->template_ids, (j->n_template_ids + 1) * sizeof *t);
    if (!t) return false;
    j->template_ids = t;
    if (!(t[j->n_template_ids] = eco_strdup(id))) return false;
    j->n_template_ids++;
    return true;
}

/* The id whose chat template an engine's requests use: an adapter's base, else its own. */
static bool add_engine_template(job *j, eco_engine *e) {
    const eco_genome *g = e->genome(e);
    return add_id(j, g->kind == ECO_GENOME_KIND_ADAPTER && g->base ? g->base : g->id);
}

/* The error answer for a failed pool acquire of ref. */
static void acquire_error(answer *a, eco_status st, const char *param, const char *ref) {
    if (st == ECO_STATUS_ENOTFOUND || st == ECO_STATUS_EINVAL)
        srv_answer_error(a, 404, "model_not_found", param,
                         "the model '%s' does not exist (not a registered id or alias)", ref);
    else
        srv_answer_error(a, srv_status_http(st) == 400 ? 400 : 500, NULL, param, "%s",
                         eco_last_error());
}

/* ---- lora and merged_adapters ------------------------------------------------------- */

/* The merge a request asks for: params, and the adapters in order (named[n]). */
static void merge_params(const eco_server_request *q, eco_merge_params *p) {
    if (q->n_lora) {
        eco_merge_params_init(p, ECO_MERGE_METHOD_LINEAR);
        p->n_parents = (int)q->n_lora;
        for (size_t i = 0; i < q->n_lora; i++) p->weight[i] = q->lora[i].scale;
        p->normalize = 0;
        return;
    }
    const eco_server_merged *m = q->merged;
    eco_merge_params_init(p, (eco_merge_method)m->strategy);
    p->n_parents = (int)m->n;
    for (size_t i = 0; i < m->n; i++) {
        p->weight[i] = m->weights[i];
        p->density[i] = m->density;
    }
    if (m->strategy == ECO_MERGE_METHOD_LINEAR || m->strategy == ECO_MERGE_METHOD_DARE_LINEAR)
        p->normalize = 0;
    p->election = m->sign_by_count ? ECO_MERGE_ELECTION_COUNT : ECO_MERGE_ELECTION_SUM;
    p->seed = m->seed;
}

/* The genome of the model ref names (an id or an alias), under the caller's registry lock. */
static eco_status genome_of(eco_registry *r, const char *ref, eco_genome *g) {
    char *id = NULL;
    eco_status st = eco_registry_resolve(r, ref, &id);
    if (st == ECO_STATUS_OK) st = eco_registry_get(r, id, g, NULL);
    free(id);
    return st;
}

/* Resolves the request's model (a base: *base_id) and its adapters (ns[n]: their genomes),
 * under the server's registry lock; nothing is checked out (a cached merge needs no file of
 * theirs). false with the answer in a. */
static bool resolve_adapters(job *j, named *ns, size_t n, char **base_id, answer *a) {
    eco_server *s = j->s;
    const char *sel = j->q.n_lora ? "lora" : "merged_adapters";
    bool ok = false;
    eco_genome bg = {0};
    pthread_mutex_lock(&s->reg_mu);
    eco_status st = genome_of(s->reg, j->q.model, &bg);
    if (st != ECO_STATUS_OK) {
        acquire_error(a, st, "model", j->q.model);
        goto out;
    }
    if (bg.kind == ECO_GENOME_KIND_ADAPTER) {
        srv_answer_error(a, 400, NULL, "model",
                         "'%s' is an adapter: with %s, model names the base the adapters adapt "
                         "('%s')",
                         j->q.model, sel, bg.base ? bg.base : "?");
        goto out;
    }
    if (!(*base_id = eco_strdup(bg.id))) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        named *x = &ns[i];
        st = genome_of(s->reg, x->ref, &x->g);
        if (st != ECO_STATUS_OK) {
            if (st == ECO_STATUS_ENOTFOUND || st == ECO_STATUS_EINVAL)
                srv_answer_error(a, 400, "model_not_found", x->param,
                                 "'%s' is not a registered adapter id or alias", x->ref);
            else
                srv_answer_error(a, 500, NULL, x->param, "%s", eco_last_error());
            goto out;
        }
        if (x->g.kind != ECO_GENOME_KIND_ADAPTER) {
            srv_answer_error(a, 400, NULL, x->param, "'%s' is not an adapter (%s)", x->ref,
                             x->g.id);
            goto out;
        }
        if (!x->g.base || strcmp(x->g.base, bg.id) != 0) {
            srv_answer_error(a, 400, NULL, x->param,
                             "adapter '%s' adapts '%s', not the request's model '%s' (%s): "
                             "adapters of different bases cannot be combined",
                             x->ref, x->g.base ? x->g.base : "?", j->q.model, bg.id);
            goto out;
        }
    }
    ok = true;
out:
    pthread_mutex_unlock(&s->reg_mu);
    eco_genome_free(&bg);
    return ok;
}

/* The cache key: hex SHA-256 of the canonical JSON of what the merged bytes depend on. */
static eco_status cache_key(const char *base_id, const named *ns, size_t n,
                            const eco_merge_params *p, char hex[ECO_SHA256_HEX_LEN + 1]) {
    json_t *params = NULL;
    eco_status st = eco_merge_params_to_json(p, &params);
    if (st) return st;
    json_t *adapters = json_array();
    for (size_t i = 0; i < n; i++) {
        json_t *files = json_object();
        for (size_t k = 0; k < ns[i].g.files.n; k++)
            json_object_set_new(files, ns[i].g.files.files[k].name,
                                json_string(ns[i].g.files.files[k].sha256));
        json_array_append_new(adapters, files);
    }
    json_t *key = json_pack("{s:i,s:s,s:o,s:o,s:s}", "version", 1, "base", base_id, "adapters",
                            adapters, "params", params, "rank", "sum");
    char *text = key ? json_dumps(key, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(key);
    if (!text) return eco_error(ECO_STATUS_ENOMEM, "merged adapter: out of memory");
    st = eco_sha256_hex(text, strlen(text), hex);
    free(text);
    return st;
}

/* Σ r_i of the adapters (each one's largest rank: "r" or a rank_pattern value). */
static int64_t rank_sum(const named *ns, size_t n) {
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        eco_peft_config pc;
        if (eco_peft_config_load(ns[i].dir, &pc) != ECO_STATUS_OK) continue;
        int64_t r = pc.r;
        for (int k = 0; k < pc.n_rank_pattern; k++)
            if (pc.rank_pattern_val[k] > r) r = pc.rank_pattern_val[k];
        sum += r;
    }
    return sum;
}

/* Checks out the base and the adapters (ns[i].dir), under the registry lock. */
static eco_status checkout_all(eco_server *s, const char *base_id, named *ns, size_t n,
                               char **base_dir) {
    pthread_mutex_lock(&s->reg_mu);
    eco_status st = eco_registry_checkout(s->reg, base_id, base_dir, NULL);
    for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++)
        st = eco_registry_checkout(s->reg, ns[i].g.id, &ns[i].dir, NULL);
    pthread_mutex_unlock(&s->reg_mu);
    return st;
}

/* The merged adapter's folder, merged now unless it is cached. */
static eco_status merged_dir(eco_server *s, const char *base_id, named *ns, size_t n,
                             const eco_merge_params *p, char **out) {
    *out = NULL;
    char hex[ECO_SHA256_HEX_LEN + 1];
    eco_status st = cache_key(base_id, ns, n, p, hex);
    if (st) return st;
    char *data = eco_data_dir_resolve(s->opt.data_dir);
    char *cache = data ? eco_path_join(data, "cache/merged") : NULL;
    char *dir = cache ? eco_path_join(cache, hex) : NULL;
    free(data);
    free(cache);
    if (!dir) return eco_error(ECO_STATUS_ENOMEM, "merged adapter: out of memory");
    pthread_mutex_lock(&merge_mu);
    if (!eco_path_has_file(dir, "adapter_model.safetensors")) {
        double t0 = eco_now();
        char *base_dir = NULL;
        st = checkout_all(s, base_id, ns, n, &base_dir);
        if (st == ECO_STATUS_OK) {
            const char *parents[ECO_SERVER_MAX_ADAPTERS];
            for (size_t i = 0; i < n; i++) parents[i] = ns[i].dir;
            eco_merge_dir_options o = {.base = base_dir,
                                       .parents = parents,
                                       .n_parents = n,
                                       .params = *p,
                                       .rank = rank_sum(ns, n),
                                       .out = dir};
            st = eco_merge_adapters_dir(&o, NULL);
        }
        free(base_dir);
        if (st == ECO_STATUS_EEXIST && eco_path_has_file(dir, "adapter_model.safetensors"))
            st = ECO_STATUS_OK; /* another process wrote it meanwhile */
        if (st == ECO_STATUS_OK)
            eco_log(ECO_LOG_INFO, "serve: merged %zu adapters into %s in %.3f s", n, dir,
                    eco_now() - t0);
    }
    pthread_mutex_unlock(&merge_mu);
    if (st != ECO_STATUS_OK) {
        free(dir);
        return st;
    }
    *out = dir;
    return ECO_STATUS_OK;
}

static bool select_merged(job *j, answer *a) {
    const eco_server_request *q = &j->q;
    const size_t n = q->n_lora ? q->n_lora : q->merged->n;
    named ns[ECO_SERVER_MAX_ADAPTERS];
    memset(ns, 0, sizeof ns);
    for (size_t i = 0; i < n; i++) {
        ns[i].ref = q->n_lora ? q->lora[i].id : q->merged->ids[i];
        if (q->n_lora)
            snprintf(ns[i].param, sizeof ns[i].param, "lora[%zu].id", i);
        else
            snprintf(ns[i].param, sizeof ns[i].param, "merged_adapters.ids[%zu]", i);
    }
    char *base_id = NULL, *dir = NULL;
    bool ok = resolve_adapters(j, ns, n, &base_id, a);
    if (ok) {
        eco_merge_params p;
        merge_params(q, &p);
        eco_status st = eco_merge_params_check(&p);
        if (st == ECO_STATUS_OK) st = merged_dir(j->s, base_id, ns, n, &p, &dir);
        if (st == ECO_STATUS_OK)
            st = eco_pool_acquire_adapter_dir(j->s->pool, base_id, dir, &j->eng);
        if (st != ECO_STATUS_OK) {
            unsigned code = srv_status_http(st);
            srv_answer_error(a, code == 404 ? 500 : code, NULL,
                             q->n_lora ? "lora" : "merged_adapters", "%s", eco_last_error());
            j->eng = NULL;
            ok = false;
        }
    }
    if (ok && !add_id(j, base_id)) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        ok = false;
    }
    for (size_t i = 0; i < n; i++) {
        eco_genome_free(&ns[i].g);
        free(ns[i].dir);
    }
    free(base_id);
    free(dir);
    return ok;
}

/* ---- routing ------------------------------------------------------------------------ */

typedef struct route_ids {
    char **ids; /* [n] as the policy names them (unique) */
    size_t n;
} route_ids;

static bool route_add(route_ids *r, const char *id) {
    for (size_t i = 0; i < r->n; i++)
        if (!strcmp(r->ids[i], id)) return true;
    char **t = realloc(r->ids, (r->n + 1) * sizeof *t);
    if (!t) return false;
    r->ids = t;
    if (!(t[r->n] = eco_strdup(id))) return false;
    r->n++;
    return true;
}

/* The targets the policy may call: every target node's id, and for a capability route
 * without members the registered models advertising its capability. */
static eco_status route_collect(eco_server *s, const eco_route_node *node, route_ids *r) {
    if (node->kind == ECO_ROUTE_KIND_TARGET)
        return route_add(r, node->target) ? ECO_STATUS_OK
                                          : eco_error(ECO_STATUS_ENOMEM, "out of memory");
    if (node->kind == ECO_ROUTE_KIND_CAPABILITY && node->n_children == 0) {
        if (!node->capability)
            return eco_error(ECO_STATUS_EINVAL,
                             "routing%s%s: a capability route without members needs its "
                             "\"capability\"",
                             node->at[0] ? "." : "", node->at);
        eco_registry_filter f = {.capability = node->capability};
        char **ids = NULL;
        size_t n = 0;
        pthread_mutex_lock(&s->reg_mu);
        eco_status st = eco_registry_list(s->reg, &f, &ids, &n);
        pthread_mutex_unlock(&s->reg_mu);
        if (st) return st;
        if (n == 0)
            st = eco_error(ECO_STATUS_EINVAL, "routing: no registered model advertises '%s'",
                           node->capability);
        for (size_t i = 0; st == ECO_STATUS_OK && i < n; i++)
            if (!route_add(r, ids[i])) st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
        eco_registry_ids_free(ids, n);
        return st;
    }
    for (size_t i = 0; i < node->n_children; i++) {
        eco_status st = route_collect(s, node->children[i], r);
        if (st) return st;
    }
    return ECO_STATUS_OK;
}

/* A target's cost: its weight bytes, an adapter's base's added (as `ecology route`). */
static double route_cost(eco_server *s, const eco_genome *g) {
    double bytes = (double)g->bytes;
    if (g->kind == ECO_GENOME_KIND_ADAPTER && g->base) {
        eco_genome bg = {0};
        pthread_mutex_lock(&s->reg_mu);
        if (eco_registry_get(s->reg, g->base, &bg, NULL) == ECO_STATUS_OK)
            bytes += (double)bg.bytes;
        pthread_mutex_unlock(&s->reg_mu);
        eco_genome_free(&bg);
    }
    return bytes;
}

static bool select_routing(job *j, answer *a) {
    eco_server *s = j->s;
    eco_route_node *policy = NULL;
    route_ids r = {0};
    eco_route_target *t = NULL;
    bool ok = false;
    eco_status st = eco_route_policy_parse(j->q.routing, strlen(j->q.routing), "routing", &policy);
    if (st == ECO_STATUS_OK) st = route_collect(s, policy, &r);
    if (st != ECO_STATUS_OK) {
        srv_answer_error(a, srv_status_http(st) == 500 ? 500 : 400, NULL, "routing", "%s",
                         eco_last_error());
        goto out;
    }
    if (!(j->route_engs = calloc(r.n, sizeof *j->route_engs)) || !(t = calloc(r.n, sizeof *t))) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < r.n; i++) {
        st = eco_pool_acquire(s->pool, r.ids[i], &j->route_engs[i]);
        if (st != ECO_STATUS_OK) {
            j->route_engs[i] = NULL;
            if (st == ECO_STATUS_ENOTFOUND || st == ECO_STATUS_EINVAL)
                srv_answer_error(a, 400, "model_not_found", "routing",
                                 "routing: the target '%s' is not a registered id or alias",
                                 r.ids[i]);
            else
                acquire_error(a, st, "routing", r.ids[i]);
            goto out;
        }
        j->n_route_engs = i + 1;
        const eco_genome *g = j->route_engs[i]->genome(j->route_engs[i]);
        t[i] = (eco_route_target){.id = r.ids[i],
                                  .engine = j->route_engs[i],
                                  .capabilities = (const char *const *)g->capabilities,
                                  .n_capabilities = g->n_capabilities,
                                  .cost = route_cost(s, g)};
        if (!add_engine_template(j, j->route_engs[i])) {
            srv_answer_error(a, 500, NULL, NULL, "out of memory");
            goto out;
        }
    }
    { /* a remote model's cost is not known here: last in a cascade, as `ecology route` has it */
        bool *remote = calloc(r.n, sizeof *remote);
        if (!remote) {
            srv_answer_error(a, 500, NULL, NULL, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < r.n; i++)
            remote[i] = j->route_engs[i]->genome(j->route_engs[i])->kind == ECO_GENOME_KIND_REMOTE;
        eco_route_cost_unknown_last(t, r.n, remote);
        free(remote);
    }
    st = eco_router_create(t, r.n, policy, &j->router);
    if (st != ECO_STATUS_OK) {
        j->router = NULL;
        srv_answer_error(a, srv_status_http(st) == 500 ? 500 : 400, NULL, "routing", "%s",
                         eco_last_error());
        goto out;
    }
    eco_router_set_scorer(j->router, eco_route_score_agree, NULL);
    ok = true;
out:
    free(t);
    for (size_t i = 0; i < r.n; i++) free(r.ids[i]);
    free(r.ids);
    eco_route_policy_free(policy);
    return ok;
}

/* ---- the request's selection -------------------------------------------------------- */

bool srv_select(job *j, answer *a) {
    if (j->q.routing) return select_routing(j, a);
    if (j->q.n_lora || j->q.merged) {
        if (!select_merged(j, a)) return false;
        j->model = j->q.model; /* the answer names what the request did */
        return true;
    }
    eco_status st = eco_pool_acquire(j->s->pool, j->q.model, &j->eng);
    if (st != ECO_STATUS_OK) {
        j->eng = NULL;
        acquire_error(a, st, "model", j->q.model);
        return false;
    }
    j->model = j->eng->genome(j->eng)->id;
    if (!add_engine_template(j, j->eng)) {
        srv_answer_error(a, 500, NULL, NULL, "out of memory");
        return false;
    }
    return true;
}

eco_status srv_select_infer(job *j, const eco_infer_request *req, eco_infer_response *resp) {
    if (!j->router) return j->eng->infer(j->eng, req, resp);
    eco_route_trace trace = {0};
    eco_status st = eco_router_answer(j->router, j->id, req, resp, &trace);
    j->routed_to = st == ECO_STATUS_OK && trace.answered != SIZE_MAX
                       ? eco_router_target_id(j->router, trace.answered)
                       : NULL;
    eco_route_trace_free(&trace);
    if (st != ECO_STATUS_OK) memset(resp, 0, sizeof *resp);
    return st;
}

void srv_select_free(job *j) {
    eco_router_free(j->router);
    j->router = NULL;
    for (size_t i = 0; i < j->n_route_engs; i++) eco_pool_release(j->s->pool, j->route_engs[i]);
    free(j->route_engs);
    j->route_engs = NULL;
    j->n_route_engs = 0;
    for (size_t i = 0; i < j->n_template_ids; i++) free(j->template_ids[i]);
    free(j->template_ids);
    j->template_ids = NULL;
    j->n_template_ids = 0;
}
