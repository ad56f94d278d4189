/*
 * Presets: configurations with the shapes of real checkpoints (from their Hugging Face
 * config.json), and random-initialised model folders built from any configuration.
 *
 * Random weights are a pure function of (seed, tensor name, element index): every tensor
 * is cut into chunks of RANDOM_CHUNK elements and each chunk draws from its own eco_rng
 * stream seeded by (seed, name, chunk), so the bytes do not depend on the thread count or
 * on the order tensors are generated in. Values are drawn in f32 and converted once to the
 * requested dtype, straight into the one buffer eco_safetensors_write reads from: a bf16
 * TinyLlama needs 2.2 GB, not the 4.4 GB of an f32 copy.
 */
#include "model/model_internal.h"

#include "ecology/tokenizer.h"

#include <jansson.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One row per preset: the fields that differ between the real checkpoints. */
typedef struct preset {
    const char *name;
    const char *source; /* the Hugging Face repository the shapes come from */
    eco_arch arch;
    int64_t vocab, hidden, intermediate, layers, heads, kv_heads, head_dim, max_pos;
    double rms_norm_eps, rope_theta;
    bool tied, qkv_bias;
    int64_t bos, eos;
    eco_dtype torch_dtype;
} preset;

static const preset presets[] = {
    /* tiny: the byte tokenizer's 259 ids exactly, so anything sampled decodes */
    {"tiny", "(project)", ECO_ARCH_LLAMA, ECO_BYTE_TOKENIZER_VOCAB, 64, 172, 2, 4, 2, 16, 1024,
     1e-5, 10000.0, true, false, ECO_BYTE_TOKENIZER_BOS, ECO_BYTE_TOKENIZER_EOS, ECO_DTYPE_F32},
    {"smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct", ECO_ARCH_LLAMA, 49152, 576, 1536, 30, 9,
     3, 64, 8192, 1e-5, 100000.0, true, false, 1, 2, ECO_DTYPE_BF16},
    {"tinyllama-1.1b", "TinyLlama/TinyLlama-1.1B-Chat-v1.0", ECO_ARCH_LLAMA, 32000, 2048, 5632, 22,
     32, 4, 64, 2048, 1e-5, 10000.0, false, false, 1, 2, ECO_DTYPE_BF16},
    {"qwen2.5-0.5b", "Qwen/Qwen2.5-0.5B", ECO_ARCH_QWEN2, 151936, 896, 4864, 24, 14, 2, 64, 32768,
     1e-6, 1000000.0, true, true, 151643, 151643, ECO_DTYPE_BF16},
};

eco_status eco_model_preset_config(const char *name, eco_model_config *out) {
    if (!name || !out) return eco_error(ECO_STATUS_EINVAL, "model preset: NULL argument");
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++) {
        const preset *p = &presets[i];
        if (strcmp(name, p->name) != 0) continue;
        eco_model_config c;
        memset(&c, 0, sizeof c);
        c.arch = p->arch;
        snprintf(c.model_type, sizeof c.model_type, "%s",
                 p->arch == ECO_ARCH_QWEN2 ? "qwen2" : "llama");
        c.vocab_size = p->vocab;
        c.hidden_size = p->hidden;
        c.intermediate_size = p->intermediate;
        c.n_layers = p->layers;
        c.n_heads = p->heads;
        c.n_kv_heads = p->kv_heads;
        c.head_dim = p->head_dim;
        c.max_position_embeddings = p->max_pos;
        c.rms_norm_eps = p->rms_norm_eps;
        c.rope_theta = p->rope_theta;
        c.tie_word_embeddings = p->tied;
        c.qkv_bias = p->qkv_bias;
        c.bos_token_id = p->bos;
        c.eos_token_ids[0] = p->eos;
        c.n_eos = 1;
        c.torch_dtype = p->torch_dtype;
        *out = c;
        return ECO_STATUS_OK;
    }
    return eco_error(
        ECO_STATUS_ENOTFOUND,
        "model preset '%s': unknown (tiny, smollm2-135m, tinyllama-1.1b, qwen2.5-0.5b)", name);
}

/* ---- random weights ------------------------------------------------------------------ */

#define RANDOM_CHUNK    ((size_t)1 << 16)
#define RANDOM_STD      0.02
#define RANDOM_BIAS_STD 0.02

typedef enum init_kind { INIT_NORMAL, INIT_ONES, INIT_BIAS } init_kind;

typedef struct tensor_spec {
    char name[96];
    int ndim;
    int64_t shape[2];
    init_kind init;
    size_t numel;
    size_t offset; /* bytes into the data block, 64-byte aligned */
} tensor_spec;

typedef struct spec_list {
    tensor_spec *items;
    size_t n, cap;
    bool overflow;
} spec_list;

static void add_spec(spec_list *l, init_kind init, int64_t d0, int64_t d1, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void add_spec(spec_list *l, init_kind init, int64_t d0, int64_t d1, const char *fmt, ...) {
    if (l->n == l->cap) return; /* cap computed exactly by the caller */
    tensor_spec *s = &l->items[l->n++];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->name, sizeof s->name, fmt, ap);
    va_end(ap);
    s->init = init;
    s->ndim = d1 < 0 ? 1 : 2;
    s->shape[0] = d0;
    s->shape[1] = d1 < 0 ? 0 : d1;
    size_t numel = (size_t)d0;
    if (d1 >= 0 && !eco_mul_ok(numel, (size_t)d1, &numel)) l->overflow = true;
    s->numel = numel;
}

static uint64_t mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t fnv1a64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) h = (h ^ (uint8_t)*s) * 0x100000001b3ull;
    return h;
}

static eco_status check_random_config(const eco_model_config *c) {
    if (c->vocab_size <= 0 || c->vocab_size > INT32_MAX || c->hidden_size <= 0 ||
        c->intermediate_size <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
        c->n_heads % c->n_kv_heads != 0 || c->head_dim <= 0 || c->head_dim % 2 != 0)
        return eco_error(
            ECO_STATUS_EINVAL,
            "random model: invalid config (vocab %lld, hidden %lld, intermediate %lld, "
            "layers %lld, heads %lld/%lld, head_dim %lld)",
            (long long)c->vocab_size, (long long)c->hidden_size, (long long)c->intermediate_size,
            (long long)c->n_layers, (long long)c->n_heads, (long long)c->n_kv_heads,
            (long long)c->head_dim);
    return ECO_STATUS_OK;
}

/* Fills every tensor; OpenMP over (tensor, chunk) pairs. */
static eco_status fill_random(const tensor_spec *specs, size_t n_specs, uint8_t *block,
                              eco_dtype dtype, uint64_t seed, double init_std) {
    size_t n_tasks = 0;
    for (size_t i = 0; i < n_specs; i++)
        n_tasks += (specs[i].numel + RANDOM_CHUNK - 1) / RANDOM_CHUNK;
    size_t *task_spec = eco_malloc_array(n_tasks ? n_tasks : 1, sizeof(size_t));
    size_t *task_chunk = eco_malloc_array(n_tasks ? n_tasks : 1, sizeof(size_t));
    if (!task_spec || !task_chunk) {
        free(task_spec);
        free(task_chunk);
        return eco_error(ECO_STATUS_ENOMEM, "random model: out of memory");
    }
    size_t t = 0;
    for (size_t i = 0; i < n_specs; i++)
        for (size_t c = 0; c * RANDOM_CHUNK < specs[i].numel; c++) {
            task_spec[t] = i;
            task_chunk[t] = c;
            t++;
        }
    const size_t esz = eco_dtype_size(dtype);
    int failed = 0;
    /* A progress line for models big enough to take a while (tens of millions of weights). */
    size_t total_elems = 0, done_elems = 0;
    for (size_t i = 0; i < n_specs; i++) total_elems += specs[i].numel;
    const bool show = total_elems >= ((size_t)1 << 24);
    eco_progress prog;
    if (show) eco_progress_begin(&prog, "random weights", (double)total_elems / 1e6, "M params");
#pragma omp parallel
    {
        float *tmp = malloc(RANDOM_CHUNK * sizeof(float));
        if (!tmp) {
#pragma omp atomic write
            failed = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (size_t k = 0; k < n_tasks; k++) {
            if (!tmp) continue;
            const tensor_spec *s = &specs[task_spec[k]];
            size_t begin = task_chunk[k] * RANDOM_CHUNK;
            size_t count = s->numel - begin < RANDOM_CHUNK ? s->numel - begin : RANDOM_CHUNK;
            if (s->init == INIT_ONES) {
                for (size_t j = 0; j < count; j++) tmp[j] = 1.0f;
            } else {
                double std = s->init == INIT_BIAS ? RANDOM_BIAS_STD : init_std;
                eco_rng r;
                eco_rng_seed(&r, mix64(seed ^ mix64(fnv1a64(s->name) + mix64(task_chunk[k]))));
                for (size_t j = 0; j < count; j++) tmp[j] = (float)(std * eco_rng_normal(&r));
            }
            eco_from_f32(block + s->offset + begin * esz, dtype, tmp, count);
            if (show) {
                size_t now;
#pragma omp atomic capture
                now = done_elems += count;
                if (omp_get_thread_num() == 0) eco_progress_update(&prog, (double)now / 1e6);
            }
        }
        free(tmp);
    }
    if (show) {
        prog.done = (double)total_elems / 1e6;
        eco_progress_end(&prog);
    }
    free(task_spec);
    free(task_chunk);
    if (failed) return eco_error(ECO_STATUS_ENOMEM, "random model: out of memory");
    return ECO_STATUS_OK;
}

eco_status eco_model_create_random(const eco_model_config *cfg, uint64_t seed, eco_dtype dtype,
                                   const char *out_dir) {
    return eco_model_create_random_std(cfg, seed, dtype, RANDOM_STD, out_dir);
}

eco_status eco_model_create_random_std(const eco_model_config *cfg, uint64_t seed, eco_dtype dtype,
                                       double init_std, const char *out_dir) {
    if (!cfg || !out_dir) return eco_error(ECO_STATUS_EINVAL, "random model: NULL argument");
    if (!(init_std > 0 && init_std <= 1))
        return eco_error(ECO_STATUS_EINVAL, "random model: init std %g outside (0, 1]", init_std);
    if (dtype != ECO_DTYPE_F32 && dtype != ECO_DTYPE_BF16 && dtype != ECO_DTYPE_F16)
        return eco_error(ECO_STATUS_EINVAL, "random model: dtype %s, expected F32, BF16 or F16",
                         eco_dtype_name(dtype));
    eco_status st = check_random_config(cfg);
    if (st) return st;

    const int64_t d = cfg->hidden_size, f = cfg->intermediate_size, V = cfg->vocab_size;
    const int64_t qd = cfg->n_heads * cfg->head_dim, kvd = cfg->n_kv_heads * cfg->head_dim;
    const bool o_bias = cfg->o_bias && cfg->arch != ECO_ARCH_QWEN2;

    spec_list l = {0};
    l.cap = (size_t)cfg->n_layers * 13 + 3;
    l.items = eco_calloc_array(l.cap, sizeof(tensor_spec));
    if (!l.items) return eco_error(ECO_STATUS_ENOMEM, "random model: out of memory");

    add_spec(&l, INIT_NORMAL, V, d, "model.embed_tokens.weight");
    for (int64_t i = 0; i < cfg->n_layers; i++) {
        long long li = (long long)i;
        add_spec(&l, INIT_ONES, d, -1, "model.layers.%lld.input_layernorm.weight", li);
        add_spec(&l, INIT_NORMAL, qd, d, "model.layers.%lld.self_attn.q_proj.weight", li);
        add_spec(&l, INIT_NORMAL, kvd, d, "model.layers.%lld.self_attn.k_proj.weight", li);
        add_spec(&l, INIT_NORMAL, kvd, d, "model.layers.%lld.self_attn.v_proj.weight", li);
        add_spec(&l, INIT_NORMAL, d, qd, "model.layers.%lld.self_attn.o_proj.weight", li);
        if (cfg->qkv_bias) {
            add_spec(&l, INIT_BIAS, qd, -1, "model.layers.%lld.self_attn.q_proj.bias", li);
            add_spec(&l, INIT_BIAS, kvd, -1, "model.layers.%lld.self_attn.k_proj.bias", li);
            add_spec(&l, INIT_BIAS, kvd, -1, "model.layers.%lld.self_attn.v_proj.bias", li);
        }
        if (o_bias) add_spec(&l, INIT_BIAS, d, -1, "model.layers.%lld.self_attn.o_proj.bias", li);
        add_spec(&l, INIT_ONES, d, -1, "model.layers.%lld.post_attention_layernorm.weight", li);
        add_spec(&l, INIT_NORMAL, f, d, "model.layers.%lld.mlp.gate_proj.weight", li);
        add_spec(&l, INIT_NORMAL, f, d, "model.layers.%lld.mlp.up_proj.weight", li);
        add_spec(&l, INIT_NORMAL, d, f, "model.layers.%lld.mlp.down_proj.weight", li);
    }
    add_spec(&l, INIT_ONES, d, -1, "model.norm.weight");
    if (!cfg->tie_word_embeddings) add_spec(&l, INIT_NORMAL, V, d, "lm_head.weight");

    /* Lay the tensors out in one block, each 64-byte aligned. */
    const size_t esz = eco_dtype_size(dtype);
    size_t total = 0;
    bool overflow = l.overflow;
    for (size_t i = 0; i < l.n && !overflow; i++) {
        size_t nbytes;
        total = (total + 63) & ~(size_t)63;
        l.items[i].offset = total;
        if (!eco_mul_ok(l.items[i].numel, esz, &nbytes) || !eco_add_ok(total, nbytes, &total) ||
            total > SIZE_MAX - 64)
            overflow = true;
    }
    eco_tensor *tensors = NULL;
    uint8_t *block = NULL;
    char *st_path = NULL, *cfg_path = NULL, *tok_path = NULL;
    if (overflow) {
        st = eco_error(ECO_STATUS_EOVERFLOW, "random model: tensor sizes overflow");
        goto done;
    }
    block = malloc(total ? total : 1);
    tensors = eco_calloc_array(l.n, sizeof(eco_tensor));
    if (!block || !tensors) {
        st = eco_error(ECO_STATUS_ENOMEM, "random model: out of memory for %zu bytes of weights",
                       total);
        goto done;
    }
    if ((st = fill_random(l.items, l.n, block, dtype, seed, init_std))) goto done;
    for (size_t i = 0; i < l.n; i++) {
        const tensor_spec *s = &l.items[i];
        eco_tensor *t = &tensors[i];
        t->name = s->name;
        t->dtype = dtype;
        t->ndim = s->ndim;
        t->shape[0] = s->shape[0];
        t->shape[1] = s->shape[1];
        t->data = block + s->offset;
        t->nbytes = s->numel * esz;
    }

    if ((st = eco_mkdir_p(out_dir))) goto done;
    st_path = eco_path_join(out_dir, "model.safetensors");
    cfg_path = eco_path_join(out_dir, "config.json");
    tok_path = eco_path_join(out_dir, "tokenizer.json");
    if (!st_path || !cfg_path || !tok_path) {
        st = eco_error(ECO_STATUS_ENOMEM, "random model: out of memory");
        goto done;
    }
    static const char *const meta[] = {"format", "pt"};
    if ((st = eco_safetensors_write(st_path, tensors, l.n, meta, 1))) goto done;
    eco_model_config written = *cfg;
    written.torch_dtype = dtype;
    /* The folder ships the byte tokenizer, so BOS/EOS must be its ids, whatever the real
     * model's vocabulary used (the embedding table keeps the real model's size). */
    written.bos_token_id = ECO_BYTE_TOKENIZER_BOS;
    written.eos_token_ids[0] = ECO_BYTE_TOKENIZER_EOS;
    written.n_eos = 1;
    if ((st = eco_config_write(cfg_path, &written))) goto done;
    st = eco_tokenizer_write_bytes(tok_path);

done:
    free(st_path);
    free(cfg_path);
    free(tok_path);
    free(tensors);
    free(block);
    free(l.items);
    return st;
}

eco_status eco_model_create_preset(const char *name, uint64_t seed, eco_dtype dtype,
                                   const char *out_dir) {
    if (!name || !out_dir) return eco_error(ECO_STATUS_EINVAL, "random model: NULL argument");
    eco_model_config cfg;
    eco_status st = eco_model_preset_config(name, &cfg);
    if (st) return st;
    if ((st = eco_model_create_random(&cfg, seed, dtype, out_dir))) return st;
    /* the lineage record (ECO_LINEAGE_FILE, core.h): no parents, the preset and seed */
    json_t *rec = json_pack("{s:s, s:s, s:{s:s, s:{s:s, s:s, s:f}, s:I}, s:[]}", "tool", "ecology",
                            "version", ECO_VERSION_STRING, "operation", "name", "create", "params",
                            "preset", name, "dtype", eco_dtype_name(dtype), "init_std", RANDOM_STD,
                            "seed", (json_int_t)seed, "parents");
    char *path = eco_path_join(out_dir, ECO_LINEAGE_FILE);
    st = rec && path ? eco_json_write_canonical_file(path, rec)
                     : eco_error(ECO_STATUS_ENOMEM, "random model: out of memory");
    free(path);
    json_decref(rec);
    return st;
}
