/*
 * json_constraint: structured output (ecology/json_schema.h). A compiled schema becomes a
 * tree of grammar nodes (gnode); a state is a stack of frames over those nodes (one per open
 * value, plus a transient frame for an object key) and a pool of hashes of the free keys of
 * the open objects. step() advances a state by one byte or refuses it, and refuses exactly
 * the bytes after which no completion to a valid instance exists.
 *
 * The token mask walks the vocabulary in sorted order as a trie: states[d] is the state after
 * the first d bytes of the current token, kept for the next token as far as it shares those
 * bytes (lcp), and a byte refused at depth d skips every following token with that prefix.
 * Masks are cached by state (an output inside a long free string meets the same state at
 * every token).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "verifier/json_schema_internal.h"

#define MAXD     ECO_JSON_CONSTRAINT_MAX_DEPTH
#define MAXPOOL  ECO_JSON_CONSTRAINT_MAX_FREE_KEYS
#define MAXSET   64 /* properties or literals in one place (a 64-bit set) */
#define INT_DIG  15
#define FRAC_DIG 15
#define EXP_DIG  2
#define N_CACHE  16

enum { T_NULL = 1, T_BOOL = 2, T_OBJ = 4, T_ARR = 8, T_NUM = 16, T_INT = 32, T_STR = 64 };
#define T_ALL 127

typedef struct gnode gnode;
struct gnode {
    unsigned types; /* T_* bits the value may take (T_INT alone: integers only) */
    /* literals: when n_lits > 0 the value is exactly one of these texts */
    size_t n_lits;
    const char *const *lits;
    const size_t *lit_lens;
    /* object */
    bool free_keys;        /* any key (no properties/required given): values free_val */
    const gnode *free_val; /* NULL: no free key (additionalProperties false) */
    size_t n_keys;         /* known keys: their JSON-escaped texts */
    const char *const *keys;
    const size_t *key_lens;
    const gnode *const *vals;
    uint64_t required; /* bits of keys */
    /* array */
    const gnode *items;           /* NULL: no item may come */
    int64_t min_items, max_items; /* max -1: unbounded */
    /* string */
    int64_t min_len, max_len; /* max -1: unbounded */
    bool counted;             /* min_len > 0 or max_len >= 0: code points are counted */
    /* anyOf / oneOf: when n_alts > 0 the value is one of these, told apart by its first byte
     * (no two start alike) */
    size_t n_alts;
    const gnode *const *alts;
    int height; /* frames a value needs at most (free values: 1, they nest while room is left) */
};

static const char *const bool_lits[] = {"true", "false"};
static const size_t bool_lens[] = {4, 5};
static const char *const null_lits[] = {"null"};
static const size_t null_lens[] = {4};
static const gnode g_bool = {
    .types = T_BOOL, .n_lits = 2, .lits = bool_lits, .lit_lens = bool_lens, .height = 1};
static const gnode g_null = {
    .types = T_NULL, .n_lits = 1, .lits = null_lits, .lit_lens = null_lens, .height = 1};
static const gnode g_any = {.types = T_ALL,
                            .free_keys = true,
                            .free_val = &g_any,
                            .items = &g_any,
                            .max_items = -1,
                            .max_len = -1,
                            .height = 1};
static const gnode g_any_object = {
    .types = T_OBJ, .free_keys = true, .free_val = &g_any, .height = 2};

/* ---- states ------------------------------------------------------------------------------ */

enum { FR_VALUE, FR_OBJ, FR_ARR, FR_STR, FR_KEY, FR_FKEY, FR_NUM, FR_LIT };
enum {
    O_OPEN,
    O_KEY,
    O_COLON,
    O_AFTER_COLON,
    O_COLON_SP,
    O_VALUE,
    O_AFTER_VALUE,
    O_COMMA,
    O_COMMA_SP
};
enum { A_OPEN, A_VALUE, A_AFTER, A_COMMA, A_COMMA_SP };
enum { N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };

/* One open value. Frames are zeroed when pushed, so that states compare with memcmp. */
typedef struct frame {
    const gnode *g;
    uint64_t set;   /* OBJ: keys written; KEY, LIT: candidates left */
    uint64_t hash;  /* FKEY: FNV-1a of the key's bytes so far */
    uint32_t pos;   /* KEY, LIT: bytes matched; NUM: digits of the current part; OBJ: pool base */
    uint32_t count; /* ARR: items; STR: code points (when counted); OBJ: the key being read */
    uint8_t kind, phase;
    uint8_t esc; /* STR: 0, 1 after '\\', 2..5 reading \u's hex digits; NUM: 1 integers only */
    uint8_t utf; /* STR, FKEY: continuation bytes left (low 2 bits), next byte's range (<< 2) */
} frame;

typedef struct state {
    uint32_t len, np;       /* frames, pool entries */
    frame f[MAXD];          /* [len] */
    uint64_t pool[MAXPOOL]; /* [np] hashes of the free keys written in the open objects */
} state;

#define STATE_HEAD offsetof(state, f)

static void st_copy(state *d, const state *s) {
    d->len = s->len;
    d->np = s->np;
    memcpy(d->f, s->f, s->len * sizeof(frame));
    memcpy(d->pool, s->pool, s->np * sizeof(uint64_t));
}

static bool st_equal(const state *a, const state *b) {
    return a->len == b->len && a->np == b->np && !memcmp(a->f, b->f, a->len * sizeof(frame)) &&
           !memcmp(a->pool, b->pool, a->np * sizeof(uint64_t));
}

static uint64_t st_hash(const state *s) {
    uint64_t h = 1469598103934665603ull ^ ((uint64_t)s->len << 32 | s->np);
    const unsigned char *p = (const unsigned char *)s->f;
    for (size_t i = 0; i < s->len * sizeof(frame); i++) h = (h ^ p[i]) * 1099511628211ull;
    for (uint32_t i = 0; i < s->np; i++) h = (h ^ s->pool[i]) * 1099511628211ull;
    return h;
}

static frame *push(state *s, uint8_t kind, const gnode *g) {
    if (s->len >= MAXD) return NULL;
    frame *f = &s->f[s->len++];
    memset(f, 0, sizeof *f);
    f->kind = kind;
    f->g = g;
    return f;
}

/* The top frame is finished: pop it and move its parent past the value. */
static void child_done(state *s) {
    s->len--;
    if (s->len == 0) return;
    frame *p = &s->f[s->len - 1];
    if (p->kind == FR_OBJ) {
        p->phase = O_AFTER_VALUE;
    } else if (p->kind == FR_ARR) {
        p->count++;
        p->phase = A_AFTER;
    }
}

static bool num_complete(const frame *f) {
    return f->phase == N_ZERO || f->phase == N_INT || f->phase == N_FRAC || f->phase == N_EXP;
}

static bool lit_complete(const frame *f) {
    for (uint64_t set = f->set; set; set &= set - 1)
        if (f->g->lit_lens[__builtin_ctzll(set)] == f->pos) return true;
    return false;
}

/* A number or literal that may end here, ending when the next byte is not its own. */
static bool implicit_complete(const frame *f) {
    return (f->kind == FR_NUM && num_complete(f)) || (f->kind == FR_LIT && lit_complete(f));
}

/* Whether a value of g may start with byte c (pure). */
static bool value_can_start(const state *s, const gnode *g, uint8_t c) {
    for (size_t i = 0; i < g->n_alts; i++)
        if (value_can_start(s, g->alts[i], c)) return true;
    if (g->n_alts) return false;
    if (g->n_lits) {
        for (size_t i = 0; i < g->n_lits; i++)
            if ((uint8_t)g->lits[i][0] == c) return true;
        return false;
    }
    switch (c) {
        case '{':
            return (g->types & T_OBJ) && s->len < MAXD;
        case '[':
            return (g->types & T_ARR) && s->len < MAXD;
        case '"':
            return g->types & T_STR;
        case 't':
        case 'f':
            return g->types & T_BOOL;
        case 'n':
            return g->types & T_NULL;
        default:
            return (c == '-' || (c >= '0' && c <= '9')) && (g->types & (T_NUM | T_INT));
    }
}

/* The top frame (a FR_VALUE of g) takes its first byte c; value_can_start said yes. */
static void value_start(state *s, uint8_t c) {
    frame *f = &s->f[s->len - 1];
    const gnode *g = f->g;
    for (size_t i = 0; i < g->n_alts; i++) /* the one branch that starts with c */
        if (value_can_start(s, g->alts[i], c)) {
            f->g = g = g->alts[i];
            break;
        }
    if (!g->n_lits && (c == 't' || c == 'f' || c == 'n')) g = c == 'n' ? &g_null : &g_bool;
    if (g->n_lits) {
        f->g = g;
        f->kind = FR_LIT;
        f->set = 0;
        for (size_t i = 0; i < g->n_lits; i++)
            if ((uint8_t)g->lits[i][0] == c) f->set |= (uint64_t)1 << i;
        f->pos = 1;
        bool longer = false;
        for (uint64_t set = f->set; set; set &= set - 1)
            longer |= g->lit_lens[__builtin_ctzll(set)] > 1;
        if (!longer) child_done(s);
        return;
    }
    switch (c) {
        case '{':
            f->kind = FR_OBJ;
            f->phase = O_OPEN;
            f->pos = s->np;
            return;
        case '[':
            f->kind = FR_ARR;
            f->phase = A_OPEN;
            return;
        case '"':
            f->kind = FR_STR;
            return;
        default:
            f->kind = FR_NUM;
            f->esc = !(g->types & T_NUM);
            f->phase = c == '-' ? N_MINUS : c == '0' ? N_ZERO : N_INT;
            f->pos = c >= '1' && c <= '9';
            return;
    }
}

/* Pushes a value of g and gives it its first byte c, or returns false (state unchanged). */
static bool start_child(state *s, const gnode *g, uint8_t c) {
    if (s->len >= MAXD || !value_can_start(s, g, c)) return false;
    push(s, FR_VALUE, g);
    value_start(s, c);
    return true;
}

/* An object frame may take another key. */
static bool can_key(const state *s, const frame *f) {
    const gnode *g = f->g;
    if (g->free_keys) return g->free_val && s->np < MAXPOOL && s->len < MAXD;
    uint64_t all = g->n_keys == 64 ? ~(uint64_t)0 : (((uint64_t)1 << g->n_keys) - 1);
    return (all & ~f->set) != 0 && s->len < MAXD;
}

static void start_key(state *s, frame *f) {
    f->phase = O_KEY;
    const gnode *g = f->g;
    if (g->free_keys) {
        frame *k = push(s, FR_FKEY, g);
        k->hash = 1469598103934665603ull;
    } else {
        uint64_t all = g->n_keys == 64 ? ~(uint64_t)0 : (((uint64_t)1 << g->n_keys) - 1);
        frame *k = push(s, FR_KEY, g);
        k->set = all & ~f->set;
    }
}

/* UTF-8 inside a string: true when c may come (and is taken into f->utf); *starts says whether
 * c starts a code point. */
static bool utf8_take(frame *f, uint8_t c, bool *starts) {
    *starts = false;
    if (f->utf & 3) {
        static const uint8_t lo[] = {0x80, 0xA0, 0x80, 0x90, 0x80};
        static const uint8_t hi[] = {0xBF, 0xBF, 0x9F, 0xBF, 0x8F};
        unsigned cls = f->utf >> 2;
        if (c < lo[cls] || c > hi[cls]) return false;
        f->utf = (uint8_t)((f->utf & 3) - 1);
        return true;
    }
    if (c < 0x20) return false;
    *starts = true;
    if (c < 0x80) return true;
    if (c >= 0xC2 && c <= 0xDF)
        f->utf = 1;
    else if (c == 0xE0)
        f->utf = 2 | 1 << 2;
    else if (c == 0xED)
        f->utf = 2 | 2 << 2;
    else if (c >= 0xE1 && c <= 0xEF)
        f->utf = 2;
    else if (c == 0xF0)
        f->utf = 3 | 3 << 2;
    else if (c == 0xF4)
        f->utf = 3 | 4 << 2;
    else if (c >= 0xF1 && c <= 0xF3)
        f->utf = 3;
    else
        return false;
    return true;
}

static bool is_hex(uint8_t c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The top frame takes c: true when it did, false when it refuses (state unchanged). */
static bool take(state *s, uint8_t c) {
    frame *f = &s->f[s->len - 1];
    const gnode *g = f->g;
    switch (f->kind) {
        case FR_VALUE:
            if (!value_can_start(s, g, c)) return false;
            value_start(s, c);
            return true;
        case FR_LIT: {
            uint64_t set = 0;
            bool longer = false;
            for (uint64_t m = f->set; m; m &= m - 1) {
                int i = __builtin_ctzll(m);
                if (g->lit_lens[i] > f->pos && (uint8_t)g->lits[i][f->pos] == c) {
                    set |= (uint64_t)1 << i;
                    longer |= g->lit_lens[i] > f->pos + 1;
                }
            }
            if (!set) return false;
            f->set = set;
            f->pos++;
            if (!longer) child_done(s);
            return true;
        }
        case FR_NUM: {
            bool digit = c >= '0' && c <= '9';
            bool frac_ok = !f->esc;
            switch (f->phase) {
                case N_MINUS:
                    if (!digit) return false;
                    f->phase = c == '0' ? N_ZERO : N_INT;
                    f->pos = 1;
                    return true;
                case N_ZERO:
                case N_INT:
                    if (digit && f->phase == N_INT && f->pos < INT_DIG) {
                        f->pos++;
                        return true;
                    }
                    if (c == '.' && frac_ok) {
                        f->phase = N_DOT;
                        return true;
                    }
                    if ((c == 'e' || c == 'E') && frac_ok) {
                        f->phase = N_E;
                        return true;
                    }
                    return false;
                case N_DOT:
                    if (!digit) return false;
                    f->phase = N_FRAC;
                    f->pos = 1;
                    return true;
                case N_FRAC:
                    if (digit && f->pos < FRAC_DIG) {
                        f->pos++;
                        return true;
                    }
                    if (c == 'e' || c == 'E') {
                        f->phase = N_E;
                        return true;
                    }
                    return false;
                case N_E:
                    if (c == '+' || c == '-') {
                        f->phase = N_ESIGN;
                        return true;
                    }
                    /* fall through */
                case N_ESIGN:
                    if (!digit) return false;
                    f->phase = N_EXP;
                    f->pos = 1;
                    return true;
                default: /* N_EXP */
                    if (digit && f->pos < EXP_DIG) {
                        f->pos++;
                        return true;
                    }
                    return false;
            }
        }
        case FR_STR: {
            if (f->esc == 1) {
                if (c == 'u') {
                    f->esc = 2;
                    return true;
                }
                if (!strchr("\"\\/bfnrt", c) || c == 0) return false;
                f->esc = 0;
                return true;
            }
            if (f->esc >= 2) {
                if (!is_hex(c) || (f->esc == 2 && (c == 'd' || c == 'D'))) return false;
                f->esc = f->esc == 5 ? 0 : (uint8_t)(f->esc + 1);
                return true;
            }
            if (!(f->utf & 3)) {
                if (c == '"') {
                    if (g->counted && (int64_t)f->count < g->min_len) return false;
                    child_done(s);
                    return true;
                }
                if (c == '\\') {
                    if (g->counted) {
                        if (g->max_len >= 0 && (int64_t)f->count >= g->max_len) return false;
                        f->count++;
                    }
                    f->esc = 1;
                    return true;
                }
            }
            frame save = *f;
            bool starts;
            if (!utf8_take(f, c, &starts)) {
                *f = save;
                return false;
            }
            if (starts && g->counted) {
                if (g->max_len >= 0 && (int64_t)f->count >= g->max_len) {
                    *f = save;
                    return false;
                }
                f->count++;
            }
            return true;
        }
        case FR_FKEY: {
            if (!(f->utf & 3) && c == '"') {
                const frame *obj = &s->f[s->len - 2];
                for (uint32_t i = obj->pos; i < s->np; i++)
                    if (s->pool[i] == f->hash) return false;
                if (s->np >= MAXPOOL) return false;
                s->pool[s->np++] = f->hash;
                s->len--;
                s->f[s->len - 1].phase = O_COLON;
                return true;
            }
            if (c == '\\') return false;
            frame save = *f;
            bool starts;
            if (!utf8_take(f, c, &starts)) {
                *f = save;
                return false;
            }
            f->hash = (f->hash ^ c) * 1099511628211ull;
            return true;
        }
        case FR_KEY: {
            /* a '"' ends the key unless it is the next byte of a candidate (after its '\\') */
            bool inner = false;
            for (uint64_t m = f->set; m && c == '"'; m &= m - 1) {
                int i = __builtin_ctzll(m);
                inner |= g->key_lens[i] > f->pos && g->keys[i][f->pos] == '"';
            }
            if (c == '"' && !inner) {
                for (uint64_t m = f->set; m; m &= m - 1) {
                    int i = __builtin_ctzll(m);
                    if (g->key_lens[i] == f->pos) {
                        s->len--;
                        frame *obj = &s->f[s->len - 1];
                        obj->set |= (uint64_t)1 << i;
                        obj->count = (uint32_t)i;
                        obj->phase = O_COLON;
                        return true;
                    }
                }
                return false;
            }
            uint64_t set = 0;
            for (uint64_t m = f->set; m; m &= m - 1) {
                int i = __builtin_ctzll(m);
                if (g->key_lens[i] > f->pos && (uint8_t)g->keys[i][f->pos] == c)
                    set |= (uint64_t)1 << i;
            }
            if (!set) return false;
            f->set = set;
            f->pos++;
            return true;
        }
        case FR_OBJ:
            switch (f->phase) {
                case O_OPEN:
                case O_AFTER_VALUE:
                    if (c == '}') {
                        if (g->required & ~f->set) return false;
                        s->np = f->pos; /* its free keys leave the pool */
                        child_done(s);
                        return true;
                    }
                    if (f->phase == O_OPEN && c == '"' && can_key(s, f)) {
                        start_key(s, f);
                        return true;
                    }
                    if (f->phase == O_AFTER_VALUE && c == ',' && can_key(s, f)) {
                        f->phase = O_COMMA;
                        return true;
                    }
                    return false;
                case O_COLON:
                    if (c != ':') return false;
                    f->phase = O_AFTER_COLON;
                    return true;
                case O_AFTER_COLON:
                case O_COLON_SP: {
                    if (c == ' ' && f->phase == O_AFTER_COLON) {
                        f->phase = O_COLON_SP;
                        return true;
                    }
                    const gnode *v = g->free_keys ? g->free_val : g->vals[f->count];
                    uint8_t was = f->phase;
                    f->phase = O_VALUE;
                    if (start_child(s, v, c)) return true;
                    s->f[s->len - 1].phase = was;
                    return false;
                }
                case O_COMMA:
                case O_COMMA_SP:
                    if (c == ' ' && f->phase == O_COMMA) {
                        f->phase = O_COMMA_SP;
                        return true;
                    }
                    if (c != '"') return false;
                    start_key(s, f);
                    return true;
                default:
                    return false;
            }
        case FR_ARR:
            switch (f->phase) {
                case A_OPEN:
                case A_AFTER:
                    if (c == ']') {
                        if ((int64_t)f->count < g->min_items) return false;
                        child_done(s);
                        return true;
                    }
                    if (f->phase == A_AFTER) {
                        if (c != ',' || (g->max_items >= 0 && (int64_t)f->count >= g->max_items))
                            return false;
                        f->phase = A_COMMA;
                        return true;
                    }
                    break;
                case A_COMMA:
                    if (c == ' ') {
                        f->phase = A_COMMA_SP;
                        return true;
                    }
                    break;
                case A_COMMA_SP:
                    break;
                default:
                    return false;
            }
            /* an item starts */
            if (!g->items || (g->max_items >= 0 && (int64_t)f->count >= g->max_items)) return false;
            {
                uint8_t was = f->phase;
                f->phase = A_VALUE;
                if (start_child(s, g->items, c)) return true;
                s->f[s->len - 1].phase = was;
                return false;
            }
        default:
            return false;
    }
}

/* Advances s by c: true when c may come. On false s may have changed (callers step copies). */
static bool step(state *s, uint8_t c) {
    for (;;) {
        if (s->len == 0) return false;
        if (take(s, c)) return true;
        const frame *f = &s->f[s->len - 1];
        if (s->len > 1 && implicit_complete(f)) {
            child_done(s);
            continue;
        }
        return false;
    }
}

static bool st_complete(const state *s) {
    return s->len == 0 || (s->len == 1 && implicit_complete(&s->f[0]));
}

/* ---- the schema's grammar ------------------------------------------------------------------ */

struct eco_json_constraint {
    eco_decode_constraint base; /* first member */
    void **owned;               /* every allocation of the grammar */
    size_t n_owned, cap_owned;
    const gnode *root;
    state cur;
    /* the mask walk and its cache, for one vocabulary */
    const eco_token_vocab *vocab;
    state *walk;    /* [vocab->max_len + 1] */
    size_t n_words; /* bitmap words per mask */
    struct {
        state key;
        uint64_t hash;
        uint64_t *bits; /* [n_words] allowed ids */
        uint64_t used;  /* last use (0: empty) */
    } cache[N_CACHE];
    uint64_t clock;
};

typedef struct builder {
    eco_json_constraint *c;
    const char *label;
    char *where;
    size_t where_size;
    /* each subschema is built once (a $defs entry may be used in many places): an open
     * addressing table over the schema's nodes */
    const js_node **mk;
    const gnode **mv;
    uint8_t *ms; /* 0 empty, 1 being built, 2 built */
    size_t mcap;
} builder;

static size_t memo_slot(const builder *b, const js_node *n) {
    size_t h = ((uintptr_t)n >> 4) * 11400714819323198485ull;
    size_t i = h & (b->mcap - 1);
    while (b->ms[i] && b->mk[i] != n) i = (i + 1) & (b->mcap - 1);
    return i;
}

static void *own(builder *b, void *p) {
    if (!p) return NULL;
    eco_json_constraint *c = b->c;
    if (c->n_owned == c->cap_owned) {
        size_t cap = c->cap_owned ? 2 * c->cap_owned : 16;
        void **o = realloc(c->owned, cap * sizeof *o);
        if (!o) {
            free(p);
            return NULL;
        }
        c->owned = o;
        c->cap_owned = cap;
    }
    c->owned[c->n_owned++] = p;
    return p;
}

static void *own_alloc(builder *b, size_t n, size_t size) {
    return own(b, calloc(n ? n : 1, size));
}

static eco_status oom(void) {
    return eco_error(ECO_STATUS_ENOMEM, "json constraint: out of memory");
}

static eco_status refuse(builder *b, const js_node *n, const char *kw, eco_status st,
                         const char *why) {
    if (b->where && b->where_size) snprintf(b->where, b->where_size, "%s/%s", n->ptr, kw);
    return eco_error(st, "%s: #%s/%s: %s", b->label, n->ptr, kw, why);
}

/* The JSON text of v, compact (owned by the builder). */
static eco_status dump(builder *b, const json_t *v, bool strip_quotes, const char **out,
                       size_t *len) {
    char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_SORT_KEYS);
    if (!t || !own(b, t)) return oom();
    size_t n = strlen(t);
    if (strip_quotes) {
        t[n - 1] = '\0';
        t++;
        n -= 2;
    }
    *out = t;
    *len = n;
    return ECO_STATUS_OK;
}

static bool type_fits(unsigned types, const json_t *v) {
    if (types == 0) return true;
    const char *t = js_type_name(v);
    if (!strcmp(t, "integer")) return types & (T_INT | T_NUM);
    if (!strcmp(t, "number")) return types & T_NUM;
    if (!strcmp(t, "string")) return types & T_STR;
    if (!strcmp(t, "object")) return types & T_OBJ;
    if (!strcmp(t, "array")) return types & T_ARR;
    if (!strcmp(t, "boolean")) return types & T_BOOL;
    return types & T_NULL;
}

static unsigned map_types(unsigned js) {
    unsigned t = 0;
    if (js & JS_T_NULL) t |= T_NULL;
    if (js & JS_T_BOOLEAN) t |= T_BOOL;
    if (js & JS_T_OBJECT) t |= T_OBJ;
    if (js & JS_T_ARRAY) t |= T_ARR;
    if (js & JS_T_NUMBER) t |= T_NUM;
    if (js & JS_T_INTEGER) t |= T_INT;
    if (js & JS_T_STRING) t |= T_STR;
    return js ? t : T_ALL;
}

static const char *const enforced[] = {
    "type",      "properties", "required", "additionalProperties",
    "items",     "minItems",   "maxItems", "minLength",
    "maxLength", "enum",       "const",    NULL};
static const char *const applicators[] = {"$ref", "anyOf", "oneOf", "allOf", NULL};
static const char *const annotations[] = {"$schema",     "$id",      "$defs",     "title",
                                          "description", "$comment", "default",   "examples",
                                          "deprecated",  "readOnly", "writeOnly", NULL};

static bool in_list(const char *const *l, const char *k) {
    for (; *l; l++)
        if (!strcmp(*l, k)) return true;
    return false;
}

static eco_status build(builder *b, const js_node *n, const gnode **out);

static void first_bytes(const gnode *g, uint64_t set[4]) {
    for (size_t i = 0; i < g->n_alts; i++) first_bytes(g->alts[i], set);
    if (g->n_alts) return;
#define ADD(c) set[(uint8_t)(c) >> 6] |= (uint64_t)1 << ((uint8_t)(c)&63)
    if (g->n_lits) {
        for (size_t i = 0; i < g->n_lits; i++) ADD(g->lits[i][0]);
        return;
    }
    if (g->types & T_OBJ) ADD('{');
    if (g->types & T_ARR) ADD('[');
    if (g->types & T_STR) ADD('"');
    if (g->types & T_BOOL) ADD('t'), ADD('f');
    if (g->types & T_NULL) ADD('n');
    if (g->types & (T_NUM | T_INT))
        for (const char *p = "-0123456789"; *p; p++) ADD(*p);
#undef ADD
}

/* $ref, anyOf, oneOf, allOf (beside annotations only). */
static eco_status build_applicator(builder *b, const js_node *n, const gnode **out) {
    const char *kw = n->ref_text ? "$ref" : n->n_any ? "anyOf" : n->n_one ? "oneOf" : "allOf";
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)n->json, key, val) {
        if (!in_list(enforced, key)) continue;
        char why[160];
        snprintf(why, sizeof why, "cannot be enforced beside '%s' while decoding", kw);
        return refuse(b, n, key, ECO_STATUS_EUNSUPPORTED, why);
    }
    if ((n->ref_text != NULL) + (n->n_any > 0) + (n->n_one > 0) + (n->n_all > 0) > 1)
        return refuse(b, n, kw, ECO_STATUS_EUNSUPPORTED,
                      "cannot be enforced together with another of $ref, anyOf, oneOf, allOf "
                      "while decoding");
    if (n->ref_text) {
        if (!n->ref)
            return eco_error(ECO_STATUS_EINTERNAL, "%s: #%s: unresolved $ref", b->label, n->ptr);
        if (!n->ref->is_bool && b->ms[memo_slot(b, n->ref)] == 1)
            return refuse(b, n, "$ref", ECO_STATUS_EUNSUPPORTED,
                          "a recursive schema cannot be enforced while decoding");
        return build(b, n->ref, out);
    }
    if (n->n_all) {
        if (n->n_all != 1)
            return refuse(b, n, "allOf", ECO_STATUS_EUNSUPPORTED,
                          "only an allOf of one subschema can be enforced while decoding");
        return build(b, n->all_of[0], out);
    }
    size_t na = n->n_any ? n->n_any : n->n_one;
    js_node **list = n->n_any ? n->any_of : n->one_of;
    size_t cap = 0; /* branches, nested anyOf/oneOf flattened */
    const gnode **alts = NULL;
    for (size_t i = 0; i < na; i++) {
        const gnode *a = NULL;
        eco_status st = build(b, list[i], &a);
        if (st) return st;
        if (!a) continue;
        size_t add = a->n_alts ? a->n_alts : 1;
        const gnode **grown = own_alloc(b, cap + add, sizeof *grown);
        if (!grown) return oom();
        if (cap) memcpy(grown, alts, cap * sizeof *grown);
        for (size_t k = 0; k < add; k++) grown[cap + k] = a->n_alts ? a->alts[k] : a;
        alts = grown;
        cap += add;
    }
    if (cap <= 1) {
        *out = cap ? alts[0] : NULL;
        return ECO_STATUS_OK;
    }
    uint64_t seen[4] = {0};
    int height = 1;
    for (size_t i = 0; i < cap; i++) {
        uint64_t f[4] = {0};
        first_bytes(alts[i], f);
        for (int w = 0; w < 4; w++) {
            if (!(f[w] & seen[w])) continue;
            int c = w * 64 + __builtin_ctzll(f[w] & seen[w]);
            char why[160];
            snprintf(why, sizeof why,
                     "branches that can start with the same byte ('%c') cannot be told apart "
                     "while decoding",
                     c);
            return refuse(b, n, kw, ECO_STATUS_EUNSUPPORTED, why);
        }
        for (int w = 0; w < 4; w++) seen[w] |= f[w];
        if (alts[i]->height > height) height = alts[i]->height;
    }
    gnode *g = own_alloc(b, 1, sizeof *g);
    if (!g) return oom();
    g->n_alts = cap;
    g->alts = alts;
    g->height = height;
    g->max_items = g->max_len = -1;
    *out = g;
    return ECO_STATUS_OK;
}

/* Builds the grammar of n: *out NULL when no value satisfies n. */
static eco_status build_node(builder *b, const js_node *n, const gnode **out) {
    *out = NULL;
    const char *key;

    json_t *val;
    json_object_foreach((json_t *)n->json, key, val) {
        if (in_list(enforced, key) || in_list(annotations, key) || in_list(applicators, key))
            continue;
        char why[160];
        snprintf(why, sizeof why, "keyword '%.60s' cannot be enforced while decoding", key);
        return refuse(b, n, key, ECO_STATUS_EUNSUPPORTED, why);
    }
    if (n->ref_text || n->n_any || n->n_one || n->n_all) return build_applicator(b, n, out);
    gnode *g = own_alloc(b, 1, sizeof *g);
    if (!g) return oom();
    g->height = 1;
    g->types = map_types(n->types);
    g->max_items = -1;
    g->max_len = -1;
    eco_status st;

    if (n->enum_values || n->const_value) {
        static const char *const beside[] = {"properties", "required",  "additionalProperties",
                                             "items",      "minItems",  "maxItems",
                                             "minLength",  "maxLength", NULL};
        for (const char *const *k = beside; *k; k++)
            if (json_object_get(n->json, *k))
                return refuse(b, n, *k, ECO_STATUS_EUNSUPPORTED,
                              "cannot be enforced beside enum or const while decoding");
        size_t cand = n->enum_values ? json_array_size(n->enum_values) : 1;
        const char **lits = own_alloc(b, cand, sizeof *lits);
        size_t *lens = own_alloc(b, cand, sizeof *lens);
        if (!lits || !lens) return oom();
        size_t k = 0;
        for (size_t i = 0; i < cand; i++) {
            const json_t *v = n->enum_values ? json_array_get(n->enum_values, i) : n->const_value;
            if (!type_fits(n->types ? g->types : 0, v)) continue;
            if (n->enum_values && n->const_value && !js_equal(v, n->const_value)) continue;
            if (k == MAXSET)
                return refuse(b, n, n->enum_values ? "enum" : "const", ECO_STATUS_ERANGE,
                              "more than 64 values");
            if ((st = dump(b, v, false, &lits[k], &lens[k]))) return st;
            k++;
        }
        if (k == 0) return ECO_STATUS_OK; /* unsatisfiable */
        g->n_lits = k;
        g->lits = lits;
        g->lit_lens = lens;
        *out = g;
        return ECO_STATUS_OK;
    }

    if (g->types & T_OBJ) {
        const gnode *extra = &g_any;
        if (n->additional && (st = build(b, n->additional, &extra))) return st;
        if (extra && extra->height + 1 > g->height) g->height = extra->height + 1;
        if (n->n_props || n->n_required) {
            size_t cap = n->n_props + n->n_required;
            const char **keys = own_alloc(b, cap, sizeof *keys);
            size_t *lens = own_alloc(b, cap, sizeof *lens);
            const gnode **vals = own_alloc(b, cap, sizeof *vals);
            if (!keys || !lens || !vals) return oom();
            size_t k = 0;
            bool sat = true;
            for (size_t i = 0; i < cap && sat; i++) {
                const char *name = i < n->n_props ? n->prop_keys[i] : n->required[i - n->n_props];
                size_t nl = i < n->n_props ? n->prop_key_lens[i] : n->required_lens[i - n->n_props];
                bool req = false, seen = false;
                for (size_t r = 0; r < n->n_required; r++)
                    req |= n->required_lens[r] == nl && !memcmp(n->required[r], name, nl);
                for (size_t p = 0; p < n->n_props && i >= n->n_props; p++)
                    seen |= n->prop_key_lens[p] == nl && !memcmp(n->prop_keys[p], name, nl);
                for (size_t r = 0; r + n->n_props < i && i >= n->n_props; r++)
                    seen |= n->required_lens[r] == nl && !memcmp(n->required[r], name, nl);
                if (seen) continue; /* a required key listed in properties, or twice */
                const gnode *v = extra;
                if (i < n->n_props && (st = build(b, n->props[i], &v))) return st;
                if (!v) {
                    sat = !req;
                    continue;
                }
                if (k == MAXSET)
                    return refuse(b, n, "properties", ECO_STATUS_ERANGE,
                                  "more than 64 properties in one object");
                json_t *js = json_stringn(name, nl);
                if (!js) return oom();
                st = dump(b, js, true, &keys[k], &lens[k]);
                json_decref(js);
                if (st) return st;
                vals[k] = v;
                if (v->height + 1 > g->height) g->height = v->height + 1;
                if (req) g->required |= (uint64_t)1 << k;
                k++;
            }
            if (sat) {
                g->n_keys = k;
                g->keys = keys;
                g->key_lens = lens;
                g->vals = vals;
            } else {
                g->types &= ~(unsigned)T_OBJ;
            }
        } else {
            g->free_keys = true;
            g->free_val = extra;
        }
    }
    if (g->types & T_ARR) {
        const gnode *items = &g_any;
        if (n->items && (st = build(b, n->items, &items))) return st;
        if (items && items->height + 1 > g->height) g->height = items->height + 1;
        g->items = items;
        g->min_items = n->min_items > 0 ? n->min_items : 0;
        g->max_items = n->max_items;
        if ((!items && g->min_items > 0) || (g->max_items >= 0 && g->min_items > g->max_items))
            g->types &= ~(unsigned)T_ARR;
    }
    if (g->types & T_STR) {
        g->min_len = n->min_length > 0 ? n->min_length : 0;
        g->max_len = n->max_length;
        g->counted = g->min_len > 0 || g->max_len >= 0;
        if (g->max_len >= 0 && g->min_len > g->max_len) g->types &= ~(unsigned)T_STR;
    }
    if (g->types) *out = g;
    return ECO_STATUS_OK;
}

static eco_status build(builder *b, const js_node *n, const gnode **out) {
    *out = NULL;
    if (n->is_bool) {
        *out = n->bool_value ? &g_any : NULL;
        return ECO_STATUS_OK;
    }
    size_t slot = memo_slot(b, n);
    if (b->ms[slot] == 2) {
        *out = b->mv[slot];
        return ECO_STATUS_OK;
    }
    b->mk[slot] = n;
    b->ms[slot] = 1;
    eco_status st = build_node(b, n, out);
    if (st) return st;
    b->ms[slot] = 2;
    b->mv[slot] = *out;
    return ECO_STATUS_OK;
}

/* ---- the decoding constraint ----------------------------------------------------------------- */

void eco_json_constraint_reset(eco_json_constraint *c) {
    memset(&c->cur, 0, sizeof c->cur);
    push(&c->cur, FR_VALUE, c->root);
}

bool eco_json_constraint_feed(eco_json_constraint *c, const void *bytes, size_t n) {
    state *t = malloc(sizeof *t);
    if (!t) return false;
    st_copy(t, &c->cur);
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) ok = step(t, ((const uint8_t *)bytes)[i]);
    if (ok) st_copy(&c->cur, t);
    free(t);
    return ok;
}

bool eco_json_constraint_complete(const eco_json_constraint *c) { return st_complete(&c->cur); }

void eco_json_constraint_next_bytes(const eco_json_constraint *c, bool allowed[256]) {
    state t;
    for (int b = 0; b < 256; b++) {
        st_copy(&t, &c->cur);
        allowed[b] = step(&t, (uint8_t)b);
    }
}

static void drop_walk(eco_json_constraint *c) {
    free(c->walk);
    c->walk = NULL;
    for (int i = 0; i < N_CACHE; i++) {
        free(c->cache[i].bits);
        c->cache[i].bits = NULL;
        c->cache[i].used = 0;
    }
    c->vocab = NULL;
}

static eco_status use_vocab(eco_json_constraint *c, const eco_token_vocab *v) {
    if (c->vocab == v) return ECO_STATUS_OK;
    drop_walk(c);
    c->walk = eco_malloc_array((size_t)v->max_len + 1, sizeof *c->walk);
    c->n_words = ((size_t)v->n + 63) / 64;
    for (int i = 0; i < N_CACHE && c->walk; i++)
        if (!(c->cache[i].bits = eco_malloc_array(c->n_words ? c->n_words : 1, sizeof(uint64_t))))
            break;
    if (!c->walk || !c->cache[N_CACHE - 1].bits) {
        drop_walk(c);
        return oom();
    }
    c->vocab = v;
    return ECO_STATUS_OK;
}

/* bits[] of the ids whose bytes may come next from state s (EOS ids not included). */
static void walk_vocab(eco_json_constraint *c, const eco_token_vocab *v, const state *s,
                       uint64_t *bits) {
    memset(bits, 0, c->n_words * sizeof *bits);
    state *W = c->walk;
    st_copy(&W[0], s);
    uint32_t ok = 0; /* W[0..ok] hold the states after the previous token's first bytes */
    int64_t k = 0;
    while (k < v->n_sorted) {
        int32_t id = v->sorted[k];
        const uint8_t *t = v->bytes[id];
        uint32_t L = v->len[id];
        uint32_t d = v->lcp[k] < ok ? v->lcp[k] : ok;
        bool good = true;
        while (d < L) {
            st_copy(&W[d + 1], &W[d]);
            if (!step(&W[d + 1], t[d])) {
                good = false;
                break;
            }
            d++;
        }
        ok = d;
        k++;
        if (good) {
            bits[id >> 6] |= (uint64_t)1 << (id & 63);
        } else {
            /* every following token that shares t[0..d] fails at the same byte */
            while (k < v->n_sorted && v->lcp[k] > d) k++;
        }
    }
}

static bool is_eos(const eco_token_vocab *v, int32_t id) {
    for (size_t i = 0; i < v->n_eos; i++)
        if (v->eos[i] == id) return true;
    return false;
}

static eco_status cons_mask(eco_decode_constraint *self, const eco_token_vocab *v, float *logits,
                            size_t *n_allowed, bool *complete) {
    eco_json_constraint *c = (eco_json_constraint *)self;
    eco_status st = use_vocab(c, v);
    if (st) return st;
    uint64_t h = st_hash(&c->cur);
    int slot = -1, oldest = 0;
    for (int i = 0; i < N_CACHE; i++) {
        if (c->cache[i].used && c->cache[i].hash == h && st_equal(&c->cache[i].key, &c->cur)) {
            slot = i;
            break;
        }
        if (c->cache[i].used < c->cache[oldest].used) oldest = i;
    }
    if (slot < 0) {
        slot = oldest;
        walk_vocab(c, v, &c->cur, c->cache[slot].bits);
        st_copy(&c->cache[slot].key, &c->cur);
        c->cache[slot].hash = h;
    }
    c->cache[slot].used = ++c->clock;
    const uint64_t *bits = c->cache[slot].bits;
    bool done = st_complete(&c->cur);
    size_t count = 0;
    for (int64_t id = 0; id < v->n; id++) {
        if (bits[id >> 6] >> (id & 63) & 1)
            count++;
        else if (!done || !is_eos(v, (int32_t)id))
            logits[id] = -INFINITY;
    }
    if (done)
        for (size_t i = 0; i < v->n_eos; i++) count += v->len[v->eos[i]] == 0;
    *n_allowed = count;
    *complete = done;
    return ECO_STATUS_OK;
}

static eco_status cons_accept(eco_decode_constraint *self, const eco_token_vocab *v, int32_t id) {
    eco_json_constraint *c = (eco_json_constraint *)self;
    if (id < 0 || id >= v->n || v->len[id] == 0 ||
        !eco_json_constraint_feed(c, v->bytes[id], v->len[id]))
        return eco_error(ECO_STATUS_EINVAL, "json constraint: token %d may not come next", id);
    return ECO_STATUS_OK;
}

eco_status eco_json_constraint_create(const eco_json_schema *s, const char *label,
                                      eco_json_constraint **out, char *where, size_t where_size) {
    if (!out) return eco_error(ECO_STATUS_EINVAL, "json constraint: NULL argument");
    *out = NULL;
    if (where && where_size) where[0] = '\0';
    eco_json_constraint *c = calloc(1, sizeof *c);
    if (!c) return oom();
    c->base.mask = cons_mask;
    c->base.accept = cons_accept;
    builder b = {
        .c = c, .label = label ? label : "schema", .where = where, .where_size = where_size};
    eco_status st = ECO_STATUS_OK;
    if (!s) {
        c->root = &g_any_object;
    } else {
        const gnode *root = NULL;
        const js_node *top = NULL;
        for (size_t i = 0; i < s->n_nodes && !top; i++)
            if (s->nodes[i]->ptr[0] == '\0') top = s->nodes[i];
        if (!top) st = eco_error(ECO_STATUS_EINTERNAL, "%s: the schema has no root", b.label);
        b.mcap = 16;
        while (b.mcap < 2 * s->n_nodes) b.mcap *= 2;
        b.mk = calloc(b.mcap, sizeof *b.mk);
        b.mv = calloc(b.mcap, sizeof *b.mv);
        b.ms = calloc(b.mcap, sizeof *b.ms);
        if (!b.mk || !b.mv || !b.ms)
            st = oom();
        else if ((st = build(&b, top, &root)) == ECO_STATUS_OK && !root)
            st = eco_error(ECO_STATUS_EFORMAT, "%s: no JSON value satisfies the schema", b.label);
        else if (st == ECO_STATUS_OK && root->height > MAXD)
            st = eco_error(ECO_STATUS_ERANGE, "%s: values nest %d deep, more than the decoder's %d",
                           b.label, root->height, MAXD);
        free(b.mk);
        free(b.mv);
        free(b.ms);
        c->root = root;
    }
    if (st) {
        eco_json_constraint_free(c);
        return st;
    }
    eco_json_constraint_reset(c);
    *out = c;
    return ECO_STATUS_OK;
}

void eco_json_constraint_free(eco_json_constraint *c) {
    if (!c) return;
    drop_walk(c);
    for (size_t i = 0; i < c->n_owned; i++) free(c->owned[i]);
    free(c->owned);
    free(c);
}

eco_decode_constraint *eco_json_constraint_decoder(eco_json_constraint *c) {
    return c ? &c->base : NULL;
}
