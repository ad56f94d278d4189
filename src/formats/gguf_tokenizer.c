/*
 * The tokenizer in a GGUF: tokenizer.ggml.* written from a byte-level BPE tokenizer.json
 * (model "gpt2") and a tokenizer.json rebuilt from them.
 *
 * llama.cpp does not store the pre-tokenizer: tokenizer.ggml.pre names one it
 * re-implements. The table below pairs each name with the Hugging Face normalizer and
 * pre-tokenizer that mean the same split; an export whose tokenizer matches none of them
 * (compared as JSON values) is refused, unless it has no merges: then every byte is its own
 * token whatever the split, and "default" is written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "formats/gguf_internal.h"

/* llama_token_type as llama.cpp numbers them. */
enum { TT_NORMAL = 1, TT_UNKNOWN = 2, TT_CONTROL = 3, TT_USER = 4, TT_UNUSED = 5, TT_BYTE = 6 };

typedef struct pre_entry {
    const char *name;
    const char *normalizer;    /* JSON, "null" for none */
    const char *pre_tokenizer; /* JSON */
    bool ignore_merges;
} pre_entry;

/* The Llama 2 / Mistral normalizer: "▁" prepended, spaces replaced by "▁". */
#define SPM_NORMALIZER                                                                             \
    "{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"       \
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]}"

/* Its decoder: "▁" back to " ", <0xNN> bytes, the leading space dropped. */
#define SPM_DECODER                                                                                \
    "{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":"          \
    "\"\u2581\"},\"content\":\" \"},{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},"              \
    "{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]}"

/* clang-format off */
static const pre_entry pre_table[] = {
    {"qwen2", "{\"type\":\"NFC\"}",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
     "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
     "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
     "\"trim_offsets\":false,\"use_regex\":false}]}", false},
    {"llama-bpe", "null",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":"
     "\"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+\"},"
     "\"behavior\":\"Isolated\",\"invert\":false},{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
     "\"trim_offsets\":true,\"use_regex\":false}]}", true},
    {"smollm", "null",
     "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]}",
     false},
    {"gpt-2", "null",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}",
     false},
    /* no merges: written for any byte-level split, read back as the project's own */
    {"default", "null",
     "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":false}",
     false},
};
/* clang-format on */
#define N_PRE (sizeof pre_table / sizeof *pre_table)

static json_t *parse_const(const char *text) { return json_loads(text, JSON_DECODE_ANY, NULL); }

/* Whether v (NULL = absent) equals the JSON text (the null literal for none). */
static bool json_matches(const json_t *v, const char *text) {
    json_t *want = parse_const(text);
    bool eq = want && (json_is_null(want) ? (!v || json_is_null(v)) : (v && json_equal(v, want)));
    json_decref(want);
    return eq;
}

/* ---- export ----------------------------------------------------------------------------- */

#define SPM_UNMERGED (-1e9f)

typedef struct rank_ref {
    float rank;
    size_t id;
} rank_ref;

static int cmp_rank(const void *a, const void *b) {
    const rank_ref *x = a, *y = b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* scores[i] holds the first merge rank making normal token i (n_merges: none); rewrites them
 * as −(place in that order), SPM_UNMERGED, or 0 for tokens of other types. */
static eco_status dense_scores(float *scores, const int32_t *types, size_t V, size_t n_merges,
                               const char *label) {
    rank_ref *refs = eco_malloc_array(V ? V : 1, sizeof *refs);
    if (!refs) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
    size_t n = 0;
    for (size_t i = 0; i < V; i++) {
        if (types[i] != TT_NORMAL)
            scores[i] = 0.0f;
        else if (scores[i] >= (float)n_merges)
            scores[i] = SPM_UNMERGED;
        else
            refs[n++] = (rank_ref){scores[i], i};
    }
    qsort(refs, n, sizeof *refs, cmp_rank);
    for (size_t k = 0; k < n; k++) scores[refs[k].id] = -(float)k;
    free(refs);
    return ECO_STATUS_OK;
}

typedef struct tok_slot {
    const char *s;
    int type;
} tok_slot;

static eco_status fail(const char *label, eco_status st, const char *fmt, const char *what) {
    return eco_error(st, "%s: %s%s", label, fmt, what ? what : "");
}

eco_status gguf_put_tokenizer(eco_gguf_writer *w, const char *text, size_t len, const char *label,
                              const eco_model_config *cfg) {
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return eco_error(ECO_STATUS_EFORMAT, "%s: not a JSON object (%s)", label, jerr.text);
    }
    eco_status st = ECO_STATUS_OK;
    tok_slot *slots = NULL;
    float *scores = NULL;
    const char **strs = NULL;
    int32_t *types = NULL;
    char **merges = NULL;
    size_t n_merges = 0;
    char **pads = NULL;
    const size_t V = (size_t)cfg->vocab_size;

    const json_t *model = json_object_get(root, "model");
    const json_t *vocab = json_object_get(model, "vocab");
    const json_t *mtype = json_object_get(model, "type");
    const json_t *dec = json_object_get(root, "decoder");
    if (!json_is_string(mtype) || strcmp(json_string_value(mtype), "BPE") != 0 ||
        !json_is_object(vocab)) {
        st = fail(label, ECO_STATUS_EUNSUPPORTED, "model: only a BPE vocabulary can be exported",
                  NULL);
        goto out;
    }
    const json_t *norm = json_object_get(root, "normalizer");
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    /* SentencePiece-style (Llama 2, Mistral, TinyLlama): llama.cpp's "llama" tokenizer */
    const bool spm = json_is_true(json_object_get(model, "byte_fallback")) &&
                     json_matches(norm, SPM_NORMALIZER) && (!pre || json_is_null(pre));
    if (!spm && (!json_is_object(dec) || !json_is_string(json_object_get(dec, "type")) ||
                 strcmp(json_string_value(json_object_get(dec, "type")), "ByteLevel") != 0 ||
                 json_is_true(json_object_get(model, "byte_fallback")))) {
        st = fail(label, ECO_STATUS_EUNSUPPORTED,
                  "decoder: only byte-level BPE tokenizers (GPT-2 style) and SentencePiece-style "
                  "ones with the Prepend/Replace normalizer can be exported to GGUF",
                  NULL);
        goto out;
    }
    const json_t *mj = json_object_get(model, "merges");
    if (mj && !json_is_array(mj)) {
        st = fail(label, ECO_STATUS_EFORMAT, "model.merges: not an array", NULL);
        goto out;
    }
    n_merges = json_array_size(mj);
    const pre_entry *pe = spm ? &pre_table[N_PRE - 1] : NULL; /* "default": llama.cpp ignores it */
    for (size_t i = 0; i < N_PRE && !pe; i++)
        if (json_matches(norm, pre_table[i].normalizer) &&
            json_matches(pre, pre_table[i].pre_tokenizer))
            pe = &pre_table[i];
    if (n_merges == 0 && (!norm || json_is_null(norm)) && json_is_object(pre) &&
        json_is_string(json_object_get(pre, "type")) &&
        strcmp(json_string_value(json_object_get(pre, "type")), "ByteLevel") == 0 &&
        !json_is_true(json_object_get(pre, "add_prefix_space")))
        pe = &pre_table[N_PRE - 1];
    if (!pe || (!spm && strcmp(pe->name, "default") == 0 && n_merges > 0)) {
        st = fail(label, ECO_STATUS_EUNSUPPORTED,
                  "pre_tokenizer: not one llama.cpp re-implements (qwen2, llama-bpe, smollm, "
                  "gpt-2)",
                  NULL);
        goto out;
    }

    const char *unk = json_string_value(json_object_get(model, "unk_token"));
    slots = eco_calloc_array(V, sizeof *slots);
    scores = eco_malloc_array(V, sizeof *scores);
    strs = eco_malloc_array(V, sizeof *strs);
    types = eco_malloc_array(V, sizeof *types);
    pads = eco_calloc_array(V, sizeof *pads);
    merges = eco_calloc_array(n_merges ? n_merges : 1, sizeof *merges);
    if (!slots || !strs || !types || !pads || !merges || !scores) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
        goto out;
    }
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)vocab, key, val) {
        json_int_t id = json_is_integer(val) ? json_integer_value(val) : -1;
        if (id < 0 || (size_t)id >= V || slots[id].s) {
            st = eco_error(ECO_STATUS_EFORMAT,
                           "%s: model.vocab['%s']: id outside the model's %zu or given twice",
                           label, key, V);
            goto out;
        }
        slots[id].s = key;
        slots[id].type = TT_NORMAL;
        if (spm && unk && strcmp(key, unk) == 0) slots[id].type = TT_UNKNOWN;
        unsigned hex;
        char tail;
        if (spm && strlen(key) == 6 && sscanf(key, "<0x%2X%c", &hex, &tail) == 2 && tail == '>')
            slots[id].type = TT_BYTE;
    }
    size_t ai;
    json_array_foreach(json_object_get(root, "added_tokens"), ai, val) {
        json_int_t id = json_integer_value(json_object_get(val, "id"));
        const char *content = json_string_value(json_object_get(val, "content"));
        if (!content || id < 0 || (size_t)id >= V) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: added_tokens[%zu]: bad id or content", label,
                           ai);
            goto out;
        }
        if (slots[id].s && strcmp(slots[id].s, content) != 0) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: added_tokens[%zu]: id %lld is already '%s'",
                           label, ai, (long long)id, slots[id].s);
            goto out;
        }
        slots[id].s = content;
        if (slots[id].type != TT_UNKNOWN && slots[id].type != TT_BYTE) /* <unk> stays unknown */
            slots[id].type = json_is_true(json_object_get(val, "special")) ? TT_CONTROL : TT_USER;
    }
    for (size_t i = 0; i < V; i++) {
        if (!slots[i].s) {
            char buf[32];
            snprintf(buf, sizeof buf, "[PAD%zu]", i);
            if (!(pads[i] = strdup(buf))) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
                goto out;
            }
            slots[i].s = pads[i];
            slots[i].type = TT_UNUSED;
        }
        strs[i] = slots[i].s;
        types[i] = slots[i].type;
    }
    json_array_foreach(mj, ai, val) {
        const char *a = NULL, *b = NULL;
        if (json_is_string(val)) {
            merges[ai] = strdup(json_string_value(val));
        } else if (json_is_array(val) && json_array_size(val) == 2 &&
                   (a = json_string_value(json_array_get(val, 0))) &&
                   (b = json_string_value(json_array_get(val, 1)))) {
            size_t n = strlen(a) + strlen(b) + 2;
            if ((merges[ai] = malloc(n))) snprintf(merges[ai], n, "%s %s", a, b);
        } else {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: model.merges[%zu]: not a merge", label, ai);
            goto out;
        }
        if (!merges[ai]) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
            goto out;
        }
    }
    if (spm) {
        /* llama.cpp merges the pair whose token scores highest: a token made by a merge scores
         * −(its place when such tokens are ordered by their first merge's rank), any other
         * normal token SPM_UNMERGED (never preferred); the import rebuilds merges from these
         * scores so that export → import → export repeats them */
        for (size_t i = 0; i < V; i++) scores[i] = (float)n_merges; /* "no merge yet" */
        for (size_t r = n_merges; r-- > 0;) {
            char *sp = strchr(merges[r], ' ');
            if (!sp) continue;
            size_t la = (size_t)(sp - merges[r]), lb = strlen(sp + 1);
            char *cat = malloc(la + lb + 1);
            if (!cat) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
                goto out;
            }
            memcpy(cat, merges[r], la);
            memcpy(cat + la, sp + 1, lb + 1);
            const json_t *idv = json_object_get(vocab, cat);
            free(cat);
            json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
            if (id >= 0 && (size_t)id < V && types[id] == TT_NORMAL) scores[id] = (float)r;
        }
        if ((st = dense_scores(scores, types, V, n_merges, label))) goto out;
    }
    /* add_bos / add_eos from the template: a special token before / after $A. */
    bool add_bos = false, add_eos = false, seen_a = false;
    const json_t *pp = json_object_get(root, "post_processor");
    const json_t *single = json_object_get(pp, "single");
    json_array_foreach(json_object_get(pp, "processors"), ai, val) /* a Sequence (Llama 3) */
        if (!single) single = json_object_get(val, "single");
    json_array_foreach(single, ai, val) {
        if (json_object_get(val, "Sequence"))
            seen_a = true;
        else if (json_object_get(val, "SpecialToken"))
            *(seen_a ? &add_eos : &add_bos) = true;
    }
    if ((st = eco_gguf_add_str(w, "tokenizer.ggml.model", spm ? "llama" : "gpt2")) ||
        (st = eco_gguf_add_str(w, "tokenizer.ggml.pre", pe->name)) ||
        (st = eco_gguf_add_str_array(w, "tokenizer.ggml.tokens", strs, V)) ||
        (spm && (st = eco_gguf_add_f32_array(w, "tokenizer.ggml.scores", scores, V))) ||
        (st = eco_gguf_add_i32_array(w, "tokenizer.ggml.token_type", types, V)) ||
        (!spm && (st = eco_gguf_add_str_array(w, "tokenizer.ggml.merges",
                                              (const char *const *)merges, n_merges))))
        goto out;
    if (spm) {
        for (size_t i = 0; i < V; i++)
            if (types[i] == TT_UNKNOWN &&
                (st = eco_gguf_add_u32(w, "tokenizer.ggml.unknown_token_id", (uint32_t)i)))
                goto out;
        if ((st = eco_gguf_add_bool(w, "tokenizer.ggml.add_space_prefix", true))) goto out;
    }
    if (cfg->bos_token_id >= 0 && cfg->bos_token_id < (int64_t)V &&
        (st = eco_gguf_add_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)cfg->bos_token_id)))
        goto out;
    if (cfg->n_eos > 0 && cfg->eos_token_ids[0] >= 0 && cfg->eos_token_ids[0] < (int64_t)V &&
        (st = eco_gguf_add_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)cfg->eos_token_ids[0])))
        goto out;
    if ((st = eco_gguf_add_bool(w, "tokenizer.ggml.add_bos_token", add_bos)) ||
        (st = eco_gguf_add_bool(w, "tokenizer.ggml.add_eos_token", add_eos)))
        goto out;

out:
    if (merges)
        for (size_t i = 0; i < n_merges; i++) free(merges[i]);
    if (pads)
        for (size_t i = 0; i < V; i++) free(pads[i]);
    free(merges);
    free(pads);
    free(slots);
    free(scores);
    free(strs);
    free(types);
    json_decref(root);
    return st;
}

/* ---- import ----------------------------------------------------------------------------- */

static eco_status nomem(const char *label) {
    return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", label);
}

typedef struct spm_cand {
    double score;
    uint64_t id;
} spm_cand;

static int cmp_cand(const void *a, const void *b) {
    const spm_cand *x = a, *y = b;
    if (x->score != y->score) return x->score > y->score ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

typedef struct spm_split {
    int64_t l, r;
    size_t at;
} spm_split;

static int cmp_split(const void *a, const void *b) {
    const spm_split *x = a, *y = b;
    if (x->l != y->l) return x->l < y->l ? -1 : 1;
    return x->r < y->r ? -1 : x->r > y->r;
}

/* The merges of a SentencePiece-style vocabulary, as Hugging Face's SentencePieceExtractor
 * derives them: every normal token that a merge made (score above SPM_UNMERGED), best score
 * first, and for each every split at a character boundary into two vocabulary pieces,
 * ordered by the pieces' ids. */
static eco_status spm_merges(const eco_gguf_str *tok, uint64_t n, const int64_t *types,
                             const double *scores, const json_t *vocab, json_t *merges,
                             const char *label) {
    spm_cand *c = eco_malloc_array(n ? (size_t)n : 1, sizeof *c);
    if (!c) return nomem(label);
    size_t nc = 0, longest = 1;
    for (uint64_t i = 0; i < n; i++)
        if ((!types || types[i] == TT_NORMAL) && scores[i] > SPM_UNMERGED / 2 && tok[i].len >= 2) {
            c[nc++] = (spm_cand){scores[i], i};
            if (tok[i].len > longest) longest = tok[i].len;
        }
    qsort(c, nc, sizeof *c, cmp_cand);
    spm_split *sp = eco_malloc_array(longest, sizeof *sp);
    char *buf = malloc(longest + 2);
    eco_status st = sp && buf ? ECO_STATUS_OK : nomem(label);
    for (size_t k = 0; k < nc && !st; k++) {
        const char *s = tok[c[k].id].s;
        const size_t len = tok[c[k].id].len;
        size_t ns = 0;
        for (size_t at = 1; at < len; at++) {
            if (((unsigned char)s[at] & 0xC0) == 0x80) continue; /* inside a character */
            const json_t *l = json_object_getn(vocab, s, at);
            const json_t *r = json_object_getn(vocab, s + at, len - at);
            if (json_is_integer(l) && json_is_integer(r))
                sp[ns++] = (spm_split){json_integer_value(l), json_integer_value(r), at};
        }
        qsort(sp, ns, sizeof *sp, cmp_split);
        for (size_t j = 0; j < ns && !st; j++) {
            memcpy(buf, s, sp[j].at);
            buf[sp[j].at] = ' ';
            memcpy(buf + sp[j].at + 1, s + sp[j].at, len - sp[j].at);
            if (json_array_append_new(merges, json_stringn(buf, len + 1))) st = nomem(label);
        }
    }
    free(buf);
    free(sp);
    free(c);
    return st;
}

/* Adds a TemplateProcessing post-processor (bos before / eos after $A). */
static json_t *template_pp(const eco_gguf_str *tok, int64_t bos, int64_t eos) {
    json_t *single = json_array(), *pair = json_array(), *special = json_object();
    json_t *pp = json_pack("{s:s,s:o,s:o,s:o}", "type", "TemplateProcessing", "single", single,
                           "pair", pair, "special_tokens", special);
    if (!pp) return NULL;
    const int64_t ids[2] = {bos, eos};
    for (int k = 0; k < 3; k++) {
        /* bos, A (B in pair), eos */
        if (k == 1) {
            json_array_append_new(single,
                                  json_pack("{s:{s:s,s:i}}", "Sequence", "id", "A", "type_id", 0));
            json_array_append_new(pair,
                                  json_pack("{s:{s:s,s:i}}", "Sequence", "id", "A", "type_id", 0));
            json_array_append_new(pair,
                                  json_pack("{s:{s:s,s:i}}", "Sequence", "id", "B", "type_id", 1));
            continue;
        }
        int64_t id = ids[k / 2];
        if (id < 0) continue;
        const char *s = tok[id].s;
        json_array_append_new(single,
                              json_pack("{s:{s:s,s:i}}", "SpecialToken", "id", s, "type_id", 0));
        json_array_append_new(pair,
                              json_pack("{s:{s:s,s:i}}", "SpecialToken", "id", s, "type_id", 0));
        json_object_set_new(
            special, s,
            json_pack("{s:s,s:[I],s:[s]}", "id", s, "ids", (json_int_t)id, "tokens", s));
    }
    return pp;
}

eco_status eco_gguf_tokenizer_json(const eco_gguf *g, char **out, size_t *out_len) {
    *out = NULL;
    const char *label = eco_gguf_label(g);
    eco_gguf_str model;
    eco_status st = eco_gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (st == ECO_STATUS_ENOTFOUND)
        return eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.model: missing", label);
    if (st) return st;
    const bool spm = strcmp(model.s, "llama") == 0; /* SentencePiece-style, with scores */
    if (strcmp(model.s, "gpt2") != 0 && !spm)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: tokenizer.ggml.model: '%s' is not supported (gpt2: byte-level BPE; "
                         "llama: SentencePiece-style)",
                         label, model.s);
    bool space_prefix = true;
    if ((st = eco_gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &space_prefix)) &&
        st != ECO_STATUS_ENOTFOUND)
        return st;
    if (spm && !space_prefix)
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: tokenizer.ggml.add_space_prefix: false is not supported", label);
    eco_gguf_str pre = {"default", 7};
    if ((st = eco_gguf_get_str(g, "tokenizer.ggml.pre", &pre)) && st != ECO_STATUS_ENOTFOUND)
        return st;
    const eco_gguf_str *tok, *mer = NULL;
    uint64_t n_tok, n_mer = 0;
    int64_t *types = NULL;
    uint64_t n_types = 0;
    if ((st = eco_gguf_get_str_array(g, "tokenizer.ggml.tokens", &tok, &n_tok)))
        return st == ECO_STATUS_ENOTFOUND
                   ? eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.tokens: missing", label)
                   : st;
    if ((st = eco_gguf_get_str_array(g, "tokenizer.ggml.merges", &mer, &n_mer)) &&
        st != ECO_STATUS_ENOTFOUND)
        return st;
    st = eco_gguf_get_int_array(g, "tokenizer.ggml.token_type", &types, &n_types);
    if (st && st != ECO_STATUS_ENOTFOUND) return st;
    if (!st && n_types != n_tok) {
        free(types);
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tokenizer.ggml.token_type: %llu entries for %llu tokens", label,
                         (unsigned long long)n_types, (unsigned long long)n_tok);
    }
    const pre_entry *pe = spm ? &pre_table[N_PRE - 1] : NULL; /* the pre-tokenizer: unused */
    for (size_t i = 0; i < N_PRE && !spm; i++)
        if (strcmp(pre.s, pre_table[i].name) == 0) pe = &pre_table[i];
    double *scores = NULL;
    uint64_t n_scores = 0;
    if (spm && (st = eco_gguf_get_float_array(g, "tokenizer.ggml.scores", &scores, &n_scores))) {
        free(types);
        return st == ECO_STATUS_ENOTFOUND
                   ? eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.scores: missing", label)
                   : st;
    }
    if (spm && n_scores != n_tok) {
        free(types);
        free(scores);
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tokenizer.ggml.scores: %llu entries for %llu tokens", label,
                         (unsigned long long)n_scores, (unsigned long long)n_tok);
    }
    if (!pe || (!spm && strcmp(pe->name, "default") == 0 && n_mer > 0)) {
        free(scores);
        free(types);
        return eco_error(ECO_STATUS_EUNSUPPORTED,
                         "%s: tokenizer.ggml.pre: '%s' is not supported (qwen2, llama-bpe, smollm, "
                         "gpt-2; default without merges)",
                         label, pre.s);
    }
    int64_t bos = -1, eos = -1;
    bool add_bos = false, add_eos = false;
    if (((st = eco_gguf_get_int(g, "tokenizer.ggml.bos_token_id", &bos)) &&
         st != ECO_STATUS_ENOTFOUND) ||
        ((st = eco_gguf_get_int(g, "tokenizer.ggml.eos_token_id", &eos)) &&
         st != ECO_STATUS_ENOTFOUND) ||
        ((st = eco_gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &add_bos)) &&
         st != ECO_STATUS_ENOTFOUND) ||
        ((st = eco_gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &add_eos)) &&
         st != ECO_STATUS_ENOTFOUND)) {
        free(types);
        free(scores);
        return st;
    }
    if ((add_bos && (bos < 0 || (uint64_t)bos >= n_tok)) ||
        (add_eos && (eos < 0 || (uint64_t)eos >= n_tok))) {
        free(types);
        free(scores);
        return eco_error(ECO_STATUS_EFORMAT,
                         "%s: tokenizer.ggml.add_bos/eos_token: no such token id", label);
    }

    json_t *vocab = json_object(), *added = json_array(), *merges = json_array();
    json_t *root = json_object();
    st = ECO_STATUS_OK;
    if (!vocab || !added || !merges || !root) st = nomem(label);
    for (uint64_t i = 0; i < n_tok && !st; i++) {
        int64_t type = types ? types[i] : TT_NORMAL;
        json_t *probe = json_stringn(tok[i].s, tok[i].len); /* NULL unless valid UTF-8 */
        bool text_ok = probe && tok[i].len == strlen(tok[i].s) && tok[i].len > 0;
        json_decref(probe);
        if (!text_ok) {
            st = eco_error(ECO_STATUS_EFORMAT,
                           "%s: tokenizer.ggml.tokens[%llu]: not non-empty UTF-8 text", label,
                           (unsigned long long)i);
            break;
        }
        if (type == TT_UNUSED) continue;
        if (type == TT_CONTROL || type == TT_USER || (spm && type == TT_UNKNOWN)) {
            json_t *a = json_pack("{s:I,s:s,s:b,s:b,s:b,s:b,s:b}", "id", (json_int_t)i, "content",
                                  tok[i].s, "single_word", 0, "lstrip", 0, "rstrip", 0,
                                  "normalized", type == TT_USER, "special", type != TT_USER);
            if (!a || json_array_append_new(added, a)) st = nomem(label);
            if (!spm) continue; /* SentencePiece-style vocabularies hold them too, as HF's do */
        }
        if (json_object_get(vocab, tok[i].s)) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.tokens[%llu]: '%s' given twice",
                           label, (unsigned long long)i, tok[i].s);
            break;
        }
        if (json_object_set_new(vocab, tok[i].s, json_integer((json_int_t)i))) st = nomem(label);
    }
    for (uint64_t i = 0; i < n_mer && !st; i++) {
        if (mer[i].len != strlen(mer[i].s) || !strchr(mer[i].s, ' ')) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.merges[%llu]: not \"a b\"",
                           label, (unsigned long long)i);
            break;
        }
        json_t *m = json_string(mer[i].s);
        if (!m) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: tokenizer.ggml.merges[%llu]: not valid UTF-8",
                           label, (unsigned long long)i);
            break;
        }
        if (json_array_append_new(merges, m)) st = nomem(label);
    }
    const char *unk = NULL;
    for (uint64_t i = 0; spm && types && i < n_tok; i++)
        if (types[i] == TT_UNKNOWN) unk = tok[i].s;
    if (spm && !st) st = spm_merges(tok, n_tok, types, scores, vocab, merges, label);
    free(scores);
    free(types);
    if (!st) {
        json_t *pp = (add_bos || add_eos)
                         ? template_pp(tok, add_bos ? bos : -1, add_eos ? eos : -1)
                         : json_pack("{s:s,s:b,s:b,s:b}", "type", "ByteLevel", "add_prefix_space",
                                     0, "trim_offsets", 0, "use_regex", 0);
        json_t *bpe = json_pack("{s:s,s:n,s:o,s:n,s:n,s:b,s:b,s:b,s:O,s:O}", "type", "BPE",
                                "dropout", "unk_token", unk ? json_string(unk) : json_null(),
                                "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", spm,
                                "byte_fallback", spm, "ignore_merges", pe->ignore_merges, "vocab",
                                vocab, "merges", merges);
        json_t *norm = parse_const(spm ? SPM_NORMALIZER : pe->normalizer);
        json_t *pt = parse_const(spm ? "null" : pe->pre_tokenizer);
        json_t *dec = parse_const(spm ? SPM_DECODER
                                      : "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,"
                                        "\"trim_offsets\":true,\"use_regex\":true}");
        if (!pp || !bpe || !norm || !pt || !dec ||
            json_object_set_new(root, "version", json_string("1.0")) ||
            json_object_set_new(root, "truncation", json_null()) ||
            json_object_set_new(root, "padding", json_null()) ||
            json_object_set(root, "added_tokens", added) ||
            json_object_set_new(root, "normalizer", norm) ||
            json_object_set_new(root, "pre_tokenizer", pt) ||
            json_object_set_new(root, "post_processor", pp) ||
            json_object_set_new(root, "decoder", dec) || json_object_set_new(root, "model", bpe)) {
            st = nomem(label);
        } else {
            char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            if (!s) {
                st = nomem(label);
            } else {
                *out = s;
                if (out_len) *out_len = strlen(s);
            }
        }
    }
    json_decref(vocab);
    json_decref(added);
    json_decref(merges);
    json_decref(root);
    return st;
}
