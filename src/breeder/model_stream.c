/*
 * model_stream: the streaming driver of the full-model operators (model_stream.h).
 *
 * Order of work: the inputs are opened (mmap) and compared; the output tensors are
 * declared from the first parent and written in the writer's order, which is the order of
 * the data in files written by this project (and by Hugging Face's writer, which sorts the
 * same way), so each input file is read front to back. While the tensors stream, a second
 * thread hashes each input's weights file (model.safetensors, or the shard index) for the
 * lineage record, from the page cache the merge is reading anyway (more threads where
 * there are more cores), unless its digest is known (breed_inputs_add_known: a registry
 * checkout's manifest). Chunked streams hand their output to a writer thread (stage_pipe)
 * that writes it and drops the input pages read for it, while the caller merges on.
 */
#include "breeder/model_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ecology/config.h"
#include "ecology/registry.h"

#define CONVERT_BLOCK 8192 /* elements converted to the output dtype at a time (32 KB) */
#define RELEASE_BYTES ((uintptr_t)1 << 20) /* pages dropped in runs of at least 1 MB */
/* A run of pages to drop starts at the 64 KB-aligned window holding its first byte: a page
 * fault maps the page cache's pages around the faulting one, in the aligned window of
 * fault_around_bytes (64 KB by default), so the first read of a run's start maps again the
 * pages before it in that window that an earlier run dropped; started at the page, each
 * run left up to 15 of them mapped for good (ties, twice SmolLM2-135M's layers: 76 MB
 * resident against 45 MB at its depth). */
#define FAULT_WINDOW  ((uintptr_t)64 << 10)

static uintptr_t run_start(uintptr_t lo) { return lo / FAULT_WINDOW * FAULT_WINDOW; }

/* ---- inputs --------------------------------------------------------------------------- */

eco_status breed_inputs_add(breed_inputs *in, const char *dir, const char *role) {
    if (!dir) return eco_error(ECO_STATUS_EINVAL, "%s: a %s folder is NULL", in->op, role);
    if (in->n >= BREED_MAX_INPUTS)
        return eco_error(ECO_STATUS_EINVAL, "%s: more than %d folders", in->op, BREED_MAX_INPUTS);
    in->dir[in->n] = dir;
    in->role[in->n] = role;
    in->known[in->n] = NULL;
    in->n++;
    return ECO_STATUS_OK;
}

eco_status breed_inputs_add_known(breed_inputs *in, const char *dir, const char *role,
                                  const eco_manifest *files) {
    eco_status st = breed_inputs_add(in, dir, role);
    if (!st) in->known[in->n - 1] = files;
    return st;
}

void breed_inputs_close(breed_inputs *in) {
    for (size_t i = 0; i < in->n; i++) {
        eco_weights_close(in->w[i]);
        in->w[i] = NULL;
    }
}

typedef struct compat3 {
    char h[3][ECO_SHA256_HEX_LEN + 1];
} compat3;

static const char *const COMPAT_FIELD[3] = {"architecture_hash", "tokenizer_hash",
                                            "tensor_schema_hash"};

static eco_status compat_of(const char *dir, compat3 *c) {
    eco_status st = eco_compat_architecture_hash(dir, c->h[0]);
    if (!st) st = eco_compat_tokenizer_hash(dir, c->h[1]);
    if (!st) st = eco_compat_tensor_schema_hash(dir, c->h[2]);
    return st;
}

eco_status breed_inputs_open(breed_inputs *in) {
    const char *op = in->op;
    if (in->n == 0) return eco_error(ECO_STATUS_EINVAL, "%s: no parents", op);
    compat3 first, c;
    for (size_t i = 0; i < in->n; i++) {
        eco_status st = eco_path_require_dir(in->dir[i], ECO_MODEL_DIR_EXPECTED);
        if (!st) st = compat_of(in->dir[i], i == 0 ? &first : &c);
        if (st) return eco_error_wrap(st, "%s", op);
        for (int f = 0; i > 0 && f < 3; f++)
            if (strcmp(first.h[f], c.h[f]) != 0)
                return eco_error(ECO_STATUS_EINCOMPAT,
                                 "%s: %s: %s differs from %s's (%.12s... vs %.12s...): parameter "
                                 "operators need parents of one compatibility identity "
                                 "(architecture, tokenizer, tensor schema); use distill for "
                                 "heterogeneous parents",
                                 op, in->dir[i], COMPAT_FIELD[f], in->dir[0], c.h[f], first.h[f]);
    }
    char *cfg_path = eco_path_join(in->dir[0], "config.json");
    if (!cfg_path) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op);
    eco_model_config cfg;
    eco_status st = eco_config_load(cfg_path, &cfg);
    free(cfg_path);
    if (st) return eco_error_wrap(st, "%s", op);
    in->n_layers = cfg.n_layers;
    for (size_t i = 0; i < in->n && !st; i++) {
        st = eco_weights_open(in->dir[i], &in->w[i]);
        for (size_t k = 0; !st && k < eco_weights_count(in->w[i]); k++) {
            const eco_tensor *t = eco_weights_get(in->w[i], k);
            if (t->dtype != ECO_DTYPE_F32 && t->dtype != ECO_DTYPE_BF16 &&
                t->dtype != ECO_DTYPE_F16)
                st = eco_error(ECO_STATUS_EUNSUPPORTED,
                               "%s: %s: tensor '%s' is %s; only F32, BF16 and F16 weights are "
                               "merged",
                               op, in->dir[i], t->name, eco_dtype_name(t->dtype));
        }
    }
    if (st) breed_inputs_close(in);
    return st;
}

int64_t breed_layer_of(const char *name) {
    static const char prefix[] = "model.layers.";
    if (!name || strncmp(name, prefix, sizeof prefix - 1) != 0) return -1;
    const char *p = name + sizeof prefix - 1;
    int64_t k = 0;
    int digits = 0;
    for (; *p >= '0' && *p <= '9' && digits < 12; p++, digits++) k = k * 10 + (*p - '0');
    return digits > 0 && *p == '.' ? k : -1;
}

/* ---- the hashing threads -------------------------------------------------------------- */

#define HASH_THREADS_MAX 8
#define HASH_WINDOW      ((size_t)1 << 20) /* bytes read at a time */

/* The inputs' weight files, hashed by up to HASH_THREADS_MAX threads (one fewer than the
 * cores, at least one), each taking the next file, read 1 MB at a time (read() into a
 * buffer costs half the system time of a map's page faults, measured). */
typedef struct hash_job {
    size_t n;                       /* files, every input's in turn (eco_weights_files) */
    size_t *todo, n_todo;           /* the files to hash (the others' digests are known) */
    char **path;                    /* [n] */
    char **hex;                     /* [n], each ECO_SHA256_HEX_LEN + 1 */
    eco_status *st;                 /* [n] */
    char (*err)[256];               /* [n] */
    char **names[BREED_MAX_INPUTS]; /* input i's files (eco_weights_files) */
    size_t n_names[BREED_MAX_INPUTS], first[BREED_MAX_INPUTS]; /* and where they start */
    atomic_size_t next;
    atomic_bool cancel;
    pthread_t thread[HASH_THREADS_MAX];
    size_t n_threads;
} hash_job;

static eco_status hash_file(hash_job *j, const char *path, char *hex) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return eco_error(ECO_STATUS_EIO, "%s: cannot open for hashing", path);
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    eco_sha256_ctx *ctx = NULL;
    eco_status st = eco_sha256_begin(&ctx);
    uint8_t *buf = st ? NULL : malloc(HASH_WINDOW);
    if (!st && !buf) st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", path);
    while (!st) {
        if (atomic_load(&j->cancel)) {
            st = eco_error(ECO_STATUS_EINTERNAL, "%s: hashing cancelled", path);
            break;
        }
        ssize_t got = read(fd, buf, HASH_WINDOW);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) st = eco_error(ECO_STATUS_EIO, "%s: read error while hashing", path);
        if (got <= 0) break;
        st = eco_sha256_update(ctx, buf, (size_t)got);
    }
    free(buf);
    close(fd);
    if (st) {
        if (ctx) eco_sha256_abort(ctx);
        return st;
    }
    uint8_t d[ECO_SHA256_LEN];
    if ((st = eco_sha256_end(ctx, d))) return st;
    eco_hex(hex, d, ECO_SHA256_LEN);
    return ECO_STATUS_OK;
}

static void *hash_main(void *arg) {
    hash_job *j = arg;
    for (;;) {
        size_t k = atomic_fetch_add(&j->next, 1);
        if (k >= j->n_todo) break;
        size_t i = j->todo[k];
        j->st[i] = hash_file(j, j->path[i], j->hex[i]);
        if (j->st[i]) snprintf(j->err[i], sizeof j->err[i], "%s", eco_last_error());
    }
    return NULL;
}

static eco_status hash_start(hash_job *j) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    size_t want = cpus > 2 ? (size_t)cpus - 1 : 1;
    if (want > HASH_THREADS_MAX) want = HASH_THREADS_MAX;
    if (want > j->n_todo) want = j->n_todo;
    for (size_t t = 0; t < want; t++) {
        if (pthread_create(&j->thread[t], NULL, hash_main, j) != 0) break;
        j->n_threads++;
    }
    if (j->n_threads == 0 && j->n_todo > 0)
        return eco_error(ECO_STATUS_EIO, "cannot start a hashing thread");
    return ECO_STATUS_OK;
}

/* Waits for the threads; the first failure's status (its message set), else OK. Cancelled
 * (the caller failed already): OK, the caller's message left as it is. */
static eco_status hash_join(hash_job *j, bool cancel) {
    if (cancel) atomic_store(&j->cancel, true);
    for (size_t t = 0; t < j->n_threads; t++) pthread_join(j->thread[t], NULL);
    j->n_threads = 0;
    if (cancel) return ECO_STATUS_OK;
    for (size_t i = 0; i < j->n; i++)
        if (j->st[i]) return eco_error(j->st[i], "%s", j->err[i]);
    return ECO_STATUS_OK;
}

static void hash_free(hash_job *j) {
    for (size_t i = 0; j->path && i < j->n; i++) free(j->path[i]);
    for (size_t i = 0; j->hex && i < j->n; i++) free(j->hex[i]);
    free(j->path);
    free(j->hex);
    free(j->todo);
    free(j->st);
    free(j->err);
    for (size_t i = 0; i < BREED_MAX_INPUTS; i++)
        eco_weights_files_free(j->names[i], j->n_names[i]);
}

/* The digest of dir/name in the manifest known when it lists the file with its size. */
static const char *known_digest(const eco_manifest *known, const char *path, const char *name) {
    const eco_file_entry *e = known ? eco_manifest_find(known, name) : NULL;
    struct stat sb;
    if (!e || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size != e->size)
        return NULL;
    return e->sha256;
}

/* The files naming each input's weights (the index and every shard when sharded), to hash
 * unless their digests are known. */
static eco_status hash_plan(hash_job *j, const breed_inputs *in) {
    size_t total = 0;
    for (size_t i = 0; i < in->n; i++) {
        eco_status st = eco_weights_files(in->dir[i], &j->names[i], &j->n_names[i]);
        if (st) return st;
        j->first[i] = total;
        if (!eco_add_ok(total, j->n_names[i], &total))
            return eco_error(ECO_STATUS_ERANGE, "too many weights files");
    }
    j->path = eco_calloc_array(total, sizeof *j->path);
    j->hex = eco_calloc_array(total, sizeof *j->hex);
    j->st = eco_calloc_array(total, sizeof *j->st);
    j->err = eco_calloc_array(total, sizeof *j->err);
    j->todo = eco_calloc_array(total ? total : 1, sizeof *j->todo);
    if (!j->path || !j->hex || !j->st || !j->err || !j->todo)
        return eco_error(ECO_STATUS_ENOMEM, "out of memory");
    j->n = total;
    for (size_t i = 0; i < in->n; i++)
        for (size_t k = 0; k < j->n_names[i]; k++) {
            size_t f = j->first[i] + k;
            if (!(j->path[f] = eco_path_join(in->dir[i], j->names[i][k])) ||
                !(j->hex[f] = calloc(1, ECO_SHA256_HEX_LEN + 1)))
                return eco_error(ECO_STATUS_ENOMEM, "out of memory");
            const char *hex = known_digest(in->known[i], j->path[f], j->names[i][k]);
            if (hex && strlen(hex) == ECO_SHA256_HEX_LEN)
                memcpy(j->hex[f], hex, ECO_SHA256_HEX_LEN + 1);
            else
                j->todo[j->n_todo++] = f;
        }
    return ECO_STATUS_OK;
}

/* ---- the writer thread ------------------------------------------------------------------ */

#define STAGE_BYTES ((size_t)2 << 20) /* output bytes handed to the writer thread at a time */
#define N_STAGES    3
#define STAGE_DROPS 16 /* runs of input pages dropped by the writer after a buffer */

/* Chunked streams: the output bytes are staged in N_STAGES buffers used in turn; a full
 * one (or one whose tensor is complete) goes to a thread that writes it (the copy into the
 * page cache and the file system's work: as much CPU as the merge of linear), while this
 * thread merges the next chunks. Each buffer holds bytes of one tensor. The runs of input
 * pages read for a buffer are dropped by the writer too, after it (a tenth of linear's
 * time; they are read again, never wrongly, if a buffer is written late). */
typedef struct stage_drop {
    const eco_weights *w;
    uintptr_t lo, hi;
} stage_drop;

typedef struct stage_pipe {
    bool on;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint8_t *buf[N_STAGES];
    size_t len[N_STAGES]; /* bytes staged in each */
    stage_drop drop[N_STAGES][STAGE_DROPS];
    size_t n_drop[N_STAGES];
    size_t size;         /* bytes of each buffer */
    size_t head, queued; /* buffers head, head + 1, ... (queued of them) wait for the writer */
    size_t fill;         /* the one being filled, (head + queued) % N_STAGES: this thread's
                           * copy, read without the lock */
    bool stop;
    eco_status st; /* the writer's first failure (err its message), or a cancel */
    char err[512];
} stage_pipe;

/* ---- the stream ---------------------------------------------------------------------- */

struct breed_stream {
    breed_inputs *in;
    size_t first_parent;
    eco_output_dir od;
    bool od_open;
    eco_safetensors_writer *wr;
    size_t chunk_elems;
    eco_status st;
    bool progress;
    eco_progress prog;
    double t0;
    uint64_t bytes_read, bytes_written;
    int64_t n_tensors;
    /* the current tensor */
    const eco_tensor *decl;
    const eco_tensor *src[BREED_MAX_INPUTS];
    breed_tensor cur;
    bool have;      /* cur is a chunk handed out and not yet put */
    bool in_tensor; /* more chunks of decl follow */
    float *buf[BREED_MAX_INPUTS];
    bool used[BREED_MAX_INPUTS];
    uintptr_t pend_lo[BREED_MAX_INPUTS], pend_hi[BREED_MAX_INPUTS]; /* read, not yet dropped */
    uintptr_t blk_lo[BREED_MAX_INPUTS],
        blk_hi[BREED_MAX_INPUTS]; /* the same, whole-tensor passes */
    float *out;
    size_t cap; /* elements of each buffer */
    uint16_t *conv;
    hash_job hash;
    size_t next_tensor; /* index in the writer's data order of the next tensor */
    stage_pipe pipe;
};

static void *pipe_main(void *arg) {
    breed_stream *s = arg;
    stage_pipe *p = &s->pipe;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->queued && !p->stop) pthread_cond_wait(&p->cv, &p->mu);
        if (!p->queued) break;
        size_t k = p->head;
        bool skip = p->st != ECO_STATUS_OK;
        pthread_mutex_unlock(&p->mu);
        char msg[sizeof p->err] = "";
        eco_status st = skip || !p->len[k]
                            ? ECO_STATUS_OK
                            : eco_safetensors_writer_write(s->wr, p->buf[k], p->len[k]);
        if (st) snprintf(msg, sizeof msg, "%s", eco_last_error());
        for (size_t d = 0; d < p->n_drop[k]; d++) {
            eco_tensor view = {.data = (void *)p->drop[k][d].lo,
                               .nbytes = (size_t)(p->drop[k][d].hi - p->drop[k][d].lo)};
            eco_weights_release(p->drop[k][d].w, &view);
        }
        pthread_mutex_lock(&p->mu);
        if (st && !p->st) {
            p->st = st;
            memcpy(p->err, msg, sizeof msg);
        }
        p->len[k] = 0;
        p->n_drop[k] = 0;
        p->head = (k + 1) % N_STAGES;
        p->queued--;
        pthread_cond_broadcast(&p->cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Starts the writer thread with buffers of size bytes; false (the stream writes on this
 * thread) when a buffer or the thread cannot be had. */
static bool pipe_start(breed_stream *s, size_t size) {
    stage_pipe *p = &s->pipe;
    p->size = size;
    for (size_t k = 0; k < N_STAGES; k++)
        if (!(p->buf[k] = malloc(size))) return false;
    if (pthread_mutex_init(&p->mu, NULL) != 0) return false;
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        return false;
    }
    if (pthread_create(&p->thread, NULL, pipe_main, s) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        return false;
    }
    p->on = true;
    return true;
}

/* The buffer being filled (never one the writer holds). */
static size_t pipe_fill(const stage_pipe *p) { return p->fill; }

/* Hands the buffer being filled to the writer when it holds bytes, then waits until the
 * next one is free (all of them written: drain); the writer's failure, if any. */
static eco_status pipe_flush(breed_stream *s, bool drain) {
    stage_pipe *p = &s->pipe;
    pthread_mutex_lock(&p->mu);
    if (p->len[p->fill] > 0 || p->n_drop[p->fill] > 0) {
        p->queued++;
        p->fill = (p->fill + 1) % N_STAGES;
        pthread_cond_broadcast(&p->cv);
    }
    while (drain ? p->queued > 0 : p->queued == N_STAGES) pthread_cond_wait(&p->cv, &p->mu);
    eco_status st = p->st;
    char msg[sizeof p->err];
    memcpy(msg, p->err, sizeof msg);
    pthread_mutex_unlock(&p->mu);
    return st ? eco_error(st, "%s", msg) : ECO_STATUS_OK;
}

/* Ends the writer thread; cancel: what is queued is not written. */
static void pipe_stop(breed_stream *s, bool cancel) {
    stage_pipe *p = &s->pipe;
    if (p->on) {
        pthread_mutex_lock(&p->mu);
        p->stop = true;
        if (cancel && !p->st) p->st = ECO_STATUS_EINTERNAL;
        pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        pthread_join(p->thread, NULL);
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        p->on = false;
    }
    for (size_t k = 0; k < N_STAGES; k++) {
        free(p->buf[k]);
        p->buf[k] = NULL;
    }
}

static void free_stream(breed_stream *s) {
    if (!s) return;
    pipe_stop(s, true);
    (void)hash_join(&s->hash, true);
    hash_free(&s->hash);
    eco_safetensors_writer_abort(s->wr);
    if (s->od_open) eco_output_abort(&s->od);
    for (size_t i = 0; i < BREED_MAX_INPUTS; i++) free(s->buf[i]);
    free(s->out);
    free(s->conv);
    free(s);
}

void breed_stream_abort(breed_stream *s) { free_stream(s); }

eco_status breed_stream_status(const breed_stream *s) { return s->st; }

eco_status breed_stream_begin(breed_stream **out, breed_inputs *in, size_t first_parent,
                              const char *out_dir, bool force, bool progress, size_t chunk_elems,
                              uint64_t shard_bytes) {
    *out = NULL;
    const char *op = in->op;
    breed_stream *s = calloc(1, sizeof *s);
    if (!s) return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op);
    s->in = in;
    s->first_parent = first_parent;
    s->chunk_elems = chunk_elems;
    s->t0 = eco_now();
    eco_status st =
        eco_output_begin(&s->od, out_dir, in->dir, in->n, NULL, force ? ECO_OUTPUT_FORCE : 0);
    if (st) {
        free_stream(s);
        return eco_error_wrap(st, "%s", op);
    }
    s->od_open = true;

    const eco_weights *w0 = in->w[first_parent];
    size_t nt = eco_weights_count(w0);
    eco_tensor *decl = nt ? eco_malloc_array(nt, sizeof *decl) : NULL;
    if (nt && !decl) {
        free_stream(s);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op);
    }
    size_t maxn = 1;
    for (size_t i = 0; i < nt; i++) {
        decl[i] = *eco_weights_get(w0, i);
        decl[i].data = NULL;
        size_t ne = eco_tensor_numel(&decl[i]);
        if (ne > maxn) maxn = ne;
    }
    static const char *const meta[2] = {"format", "pt"};
    st = eco_safetensors_writer_open(s->od.tmp, decl, nt, meta, 1, shard_bytes, &s->wr);
    free(decl);
    if (st) {
        free_stream(s);
        return eco_error_wrap(st, "%s", op);
    }
    s->cap = chunk_elems && chunk_elems < maxn ? chunk_elems : maxn;
    /* a chunk is whole rows: at least one row of the widest tensor */
    for (size_t i = 0; i < nt; i++) {
        const eco_tensor *t = eco_weights_get(w0, i);
        size_t ne = eco_tensor_numel(t),
               cols = t->ndim >= 2 && t->shape[0] > 0 ? ne / (size_t)t->shape[0] : ne;
        if (chunk_elems && cols > s->cap) s->cap = cols;
    }
    s->out = eco_malloc_array(s->cap, sizeof *s->out);
    s->conv = eco_malloc_array(CONVERT_BLOCK, sizeof *s->conv);
    if (!s->out || !s->conv) {
        free_stream(s);
        return eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for a tensor of %zu elements", op,
                         s->cap);
    }
    /* chunks: the writes on their own thread */
    if (chunk_elems) {
        size_t stage = s->cap * sizeof(float) > STAGE_BYTES ? s->cap * sizeof(float) : STAGE_BYTES;
        if (!pipe_start(s, stage)) pipe_stop(s, true);
    }
    /* the lineage hashes, while the tensors stream */
    if ((st = hash_plan(&s->hash, in)) || (st = hash_start(&s->hash))) {
        free_stream(s);
        return eco_error_wrap(st, "%s", op);
    }
    s->progress = progress;
    if (progress)
        eco_progress_begin(&s->prog, op, (double)eco_safetensors_writer_file_bytes(s->wr) / 1e6,
                           "MB");
    *out = s;
    return ECO_STATUS_OK;
}

static void release_pending(breed_stream *s, size_t i);

bool breed_stream_next(breed_stream *s, breed_tensor *t) {
    if (s->st) return false;
    if (s->have) {
        s->st = eco_error(ECO_STATUS_EINTERNAL, "%s: a chunk was not written", s->in->op);
        return false;
    }
    if (s->pipe.on) { /* a buffer with room for a chunk (and one tensor's bytes each) */
        const stage_pipe *p = &s->pipe;
        if (!s->in_tensor || p->size - p->len[pipe_fill(p)] < s->cap * sizeof(float)) {
            eco_status st = pipe_flush(s, false);
            if (st) {
                s->st = st;
                return false;
            }
        }
    }
    if (!s->in_tensor) {
        s->decl = eco_safetensors_writer_tensor(s->wr, s->next_tensor);
        if (s->decl) s->next_tensor++;
        if (!s->decl) {
            for (size_t i = 0; i < s->in->n; i++) release_pending(s, i);
            return false;
        }
        const eco_tensor *d = s->decl;
        for (size_t i = 0; i < s->in->n; i++) {
            s->src[i] = eco_weights_find(s->in->w[i], d->name);
            if (!s->src[i]) { /* the schema hashes matched, so this is a bug */
                s->st = eco_error(ECO_STATUS_EINTERNAL, "%s: %s: no tensor '%s'", s->in->op,
                                  s->in->dir[i], d->name);
                return false;
            }
        }
        breed_tensor *c = &s->cur;
        memset(c, 0, sizeof *c);
        c->decl = d;
        c->layer = breed_layer_of(d->name);
        c->n = (int64_t)eco_tensor_numel(d);
        c->rows = d->ndim >= 2 ? d->shape[0] : 1;
        c->cols = c->rows > 0 ? c->n / c->rows : 0;
        if (c->rows == 0) c->cols = 0;
        c->row0 = 0;
        c->nrows = 0;
        s->n_tensors++;
    }
    breed_tensor *c = &s->cur;
    c->row0 += c->nrows;
    int64_t per = c->rows;
    if (s->chunk_elems && c->cols > 0) {
        per = (int64_t)s->chunk_elems / c->cols;
        if (per < 1) per = 1;
    }
    c->nrows = c->rows - c->row0 < per ? c->rows - c->row0 : per;
    c->off = c->row0 * c->cols;
    c->len = c->nrows * c->cols;
    s->in_tensor = c->row0 + c->nrows < c->rows;
    memset(s->used, 0, sizeof s->used);
    s->have = true;
    *t = *c;
    return true;
}

const float *breed_stream_input(breed_stream *s, size_t i) {
    if (s->st || !s->have || i >= s->in->n) return NULL;
    const eco_tensor *src = s->src[i];
    const breed_tensor *c = &s->cur;
    size_t es = eco_dtype_size(src->dtype);
    const uint8_t *p = (const uint8_t *)src->data + (size_t)c->off * es;
    if (!s->used[i]) {
        s->used[i] = true;
        s->bytes_read += (uint64_t)c->len * es;
    }
    if (src->dtype == ECO_DTYPE_F32 && ((uintptr_t)p % sizeof(float)) == 0)
        return (const float *)p; /* zero copy: the mapped file */
    if (!s->buf[i] && !(s->buf[i] = eco_malloc_array(s->cap, sizeof(float)))) {
        s->st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", s->in->op);
        return NULL;
    }
    eco_to_f32(s->buf[i], p, src->dtype, (size_t)c->len);
    return s->buf[i];
}

const float *breed_stream_tensor_block(breed_stream *s, size_t i, int64_t off, int64_t len,
                                       float *dst) {
    if (s->st || !s->have || i >= s->in->n || off < 0 || len < 0 || off > s->cur.n - len)
        return NULL;
    const eco_tensor *src = s->src[i];
    size_t es = eco_dtype_size(src->dtype);
    const uint8_t *p = (const uint8_t *)src->data + (size_t)off * es;
    if (src->dtype == ECO_DTYPE_F32 && ((uintptr_t)p % sizeof(float)) == 0) return (const float *)p;
    eco_to_f32(dst, p, src->dtype, (size_t)len);
    return dst;
}

/* Drops input i's run of blocks read by a whole-tensor pass. */
static void release_blocks(breed_stream *s, size_t i) {
    if (s->blk_hi[i] > s->blk_lo[i]) {
        eco_tensor view = {.data = (void *)s->blk_lo[i],
                           .nbytes = (size_t)(s->blk_hi[i] - s->blk_lo[i])};
        eco_weights_release(s->in->w[i], &view);
    }
    s->blk_lo[i] = s->blk_hi[i] = 0;
}

void breed_stream_release_block(breed_stream *s, size_t i, int64_t off, int64_t len) {
    if (!s->have || i >= s->in->n || off < 0 || len <= 0 || off > s->cur.n - len) return;
    const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const eco_tensor *src = s->src[i];
    size_t es = eco_dtype_size(src->dtype);
    uintptr_t lo = (uintptr_t)src->data + (size_t)off * es, hi = lo + (size_t)len * es;
    if (s->blk_hi[i] != lo) { /* not a continuation: a new run, from the page of its start */
        release_blocks(s, i);
        s->blk_lo[i] = run_start(lo);
    }
    s->blk_hi[i] = hi;
    if (s->blk_hi[i] - s->blk_lo[i] >= RELEASE_BYTES) {
        uintptr_t end = s->blk_hi[i];
        release_blocks(s, i); /* whole pages only: the one holding end stays, for the next */
        s->blk_lo[i] = end / page * page;
        s->blk_hi[i] = end;
    }
}

void breed_stream_release_tensor(breed_stream *s, size_t i) {
    if (!s->have || i >= s->in->n) return;
    s->blk_lo[i] = s->blk_hi[i] = 0; /* inside the tensor: dropped below */
    const eco_tensor *src = s->src[i];
    uintptr_t lo = (uintptr_t)src->data;
    uintptr_t hi = lo + (size_t)s->cur.n * eco_dtype_size(src->dtype);
    release_pending(s, i); /* the run before this tensor first */
    s->pend_lo[i] = run_start(lo);
    s->pend_hi[i] = hi;
    release_pending(s, i);
}

static void release_pending(breed_stream *s, size_t i);

eco_status breed_stream_input_into(breed_stream *s, size_t i, float *dst) {
    const float *x = breed_stream_input(s, i);
    if (!x) return s->st ? s->st : eco_error(ECO_STATUS_EINTERNAL, "%s: no chunk", s->in->op);
    if (x != dst) memcpy(dst, x, (size_t)s->cur.len * sizeof *dst);
    /* its pages go now, not after the chunk is written */
    const eco_tensor *src = s->src[i];
    size_t es = eco_dtype_size(src->dtype);
    release_pending(s, i);
    uintptr_t lo = (uintptr_t)src->data + (size_t)s->cur.off * es;
    s->pend_lo[i] = run_start(lo);
    s->pend_hi[i] = lo + (size_t)s->cur.len * es;
    release_pending(s, i);
    s->used[i] = false; /* nothing left to release at the put */
    return ECO_STATUS_OK;
}

float *breed_stream_out(breed_stream *s) {
    stage_pipe *p = &s->pipe;
    if (p->on && s->decl && s->decl->dtype == ECO_DTYPE_F32) /* merged in place */
        return (float *)(void *)(p->buf[pipe_fill(p)] + p->len[pipe_fill(p)]);
    return s->out;
}

/* Drops input i's pending range of read pages. */
static void release_pending(breed_stream *s, size_t i) {
    if (s->pend_hi[i] > s->pend_lo[i]) {
        eco_tensor view = {.data = (void *)s->pend_lo[i],
                           .nbytes = (size_t)(s->pend_hi[i] - s->pend_lo[i])};
        eco_weights_release(s->in->w[i], &view);
    }
    s->pend_lo[i] = s->pend_hi[i] = 0;
}

/* Drops input i's pending run: on the writer thread after the buffer being filled when
 * there is one (and room in its list), else now. */
static void release_run(breed_stream *s, size_t i) {
    stage_pipe *p = &s->pipe;
    size_t k = p->fill;
    if (p->on && s->pend_hi[i] > s->pend_lo[i] && p->n_drop[k] < STAGE_DROPS) {
        p->drop[k][p->n_drop[k]++] =
            (stage_drop){.w = s->in->w[i], .lo = s->pend_lo[i], .hi = s->pend_hi[i]};
        s->pend_lo[i] = s->pend_hi[i] = 0;
        return;
    }
    release_pending(s, i);
}

/* Drops the mapped pages of the inputs read for this chunk, gathered into runs of at least
 * RELEASE_BYTES (one madvise per 64 KB chunk and input was a tenth of a merge's system
 * time). A run starts at the page holding its first byte: release drops only whole pages
 * inside a range, and the partial page before a chunk was read with the chunk (or tensor)
 * before it (one page a chunk would otherwise stay: 100 MB over a 135M-parameter merge).
 * Dropping a page something still needs costs a page fault, never a wrong value (a private
 * read-only map). */
static void release_chunk(breed_stream *s) {
    for (size_t i = 0; i < s->in->n; i++) {
        if (!s->used[i]) continue;
        const eco_tensor *src = s->src[i];
        size_t es = eco_dtype_size(src->dtype);
        uintptr_t lo = (uintptr_t)src->data + (size_t)s->cur.off * es;
        uintptr_t hi = lo + (size_t)s->cur.len * es;
        if (s->pend_hi[i] != lo) { /* not a continuation: a new run */
            release_run(s, i);
            s->pend_lo[i] = run_start(lo);
        }
        s->pend_hi[i] = hi;
        if (s->pend_hi[i] - s->pend_lo[i] >= RELEASE_BYTES) release_run(s, i);
    }
}

static eco_status chunk_done(breed_stream *s, eco_status st) {
    release_chunk(s);
    s->have = false;
    if (!st) s->bytes_written += (uint64_t)s->cur.len * eco_dtype_size(s->decl->dtype);
    if (!st && s->progress) eco_progress_update(&s->prog, (double)s->bytes_written / 1e6);
    if (st && !s->st) s->st = st;
    return st;
}

static eco_status write_f32_as(breed_stream *s, const float *x, size_t n) {
    eco_dtype dt = s->decl->dtype;
    if (dt == ECO_DTYPE_F32) return eco_safetensors_writer_write(s->wr, x, n * sizeof(float));
    for (size_t k = 0; k < n; k += CONVERT_BLOCK) {
        size_t m = n - k < CONVERT_BLOCK ? n - k : CONVERT_BLOCK;
        eco_from_f32(s->conv, dt, x + k, m);
        eco_status st = eco_safetensors_writer_write(s->wr, s->conv, m * sizeof(uint16_t));
        if (st) return st;
    }
    return ECO_STATUS_OK;
}

eco_status breed_stream_put(breed_stream *s) {
    if (s->st) return s->st;
    if (!s->have)
        return s->st = eco_error(ECO_STATUS_EINTERNAL, "%s: no chunk to write", s->in->op);
    stage_pipe *p = &s->pipe;
    if (p->on) { /* staged for the writer thread: f32 in place, else converted */
        size_t k = pipe_fill(p), n = (size_t)s->cur.len;
        eco_dtype dt = s->decl->dtype;
        if (dt != ECO_DTYPE_F32) eco_from_f32(p->buf[k] + p->len[k], dt, s->out, n);
        p->len[k] += n * eco_dtype_size(dt);
        return chunk_done(s, ECO_STATUS_OK);
    }
    return chunk_done(s, write_f32_as(s, s->out, (size_t)s->cur.len));
}

eco_status breed_stream_copy(breed_stream *s, size_t i) {
    if (s->st) return s->st;
    if (!s->have || i >= s->in->n)
        return s->st = eco_error(ECO_STATUS_EINTERNAL, "%s: no chunk to copy", s->in->op);
    const eco_tensor *src = s->src[i];
    eco_status st = s->pipe.on ? pipe_flush(s, true) : ECO_STATUS_OK; /* written here, in order */
    if (st) return chunk_done(s, st);
    if (src->dtype == s->decl->dtype) {
        size_t es = eco_dtype_size(src->dtype);
        s->used[i] = true;
        s->bytes_read += (uint64_t)s->cur.len * es;
        st = eco_safetensors_writer_write(
            s->wr, (const uint8_t *)src->data + (size_t)s->cur.off * es, (size_t)s->cur.len * es);
    } else {
        const float *x = breed_stream_input(s, i);
        st = x ? write_f32_as(s, x, (size_t)s->cur.len) : s->st;
    }
    return chunk_done(s, st);
}

/* Copies dir_in/name to dir_out/name; ENOTFOUND when absent. */
static eco_status copy_side_file(const char *dir_in, const char *dir_out, const char *name) {
    char *src = eco_path_join(dir_in, name), *dst = eco_path_join(dir_out, name);
    eco_status st = ECO_STATUS_OK;
    if (!src || !dst)
        st = eco_error(ECO_STATUS_ENOMEM, "out of memory");
    else if (!eco_path_has_file(dir_in, name))
        st = ECO_STATUS_ENOTFOUND;
    else {
        char *data = NULL;
        size_t len = 0;
        if (!(st = eco_read_file(src, (size_t)1 << 30, &data, &len)))
            st = eco_write_file_atomic(dst, data, len);
        free(data);
    }
    free(src);
    free(dst);
    return st;
}

eco_status breed_stream_finish(breed_stream *s, const char *op_name, const json_t *params,
                               uint64_t seed, const json_t *result, eco_merge_dir_report *rep) {
    const char *op = s->in->op;
    eco_status st = s->st;
    if (!st && s->have) st = eco_error(ECO_STATUS_EINTERNAL, "%s: a chunk was not written", op);
    if (!st && s->pipe.on) st = pipe_flush(s, true);
    pipe_stop(s, st != ECO_STATUS_OK);
    if (!st && eco_safetensors_writer_next(s->wr))
        st = eco_error(ECO_STATUS_EINTERNAL, "%s: tensor '%s' was not written", op,
                       eco_safetensors_writer_next(s->wr)->name);
    if (!st && seed > (uint64_t)INT64_MAX)
        st = eco_error(ECO_STATUS_ERANGE, "%s: seed %llu: above 2^63-1, cannot be recorded", op,
                       (unsigned long long)seed);
    double sync_s = 0;
    if (!st) {
        double t = eco_now();
        st = eco_safetensors_writer_commit(s->wr);
        s->wr = NULL;
        sync_s = eco_now() - t;
    }
    if (s->progress) eco_progress_end(&s->prog);
    /* the side files of the first parent; config.json last */
    static const char *const side[] = {"tokenizer.json", "tokenizer_config.json",
                                       "special_tokens_map.json", "generation_config.json"};
    const char *dir0 = s->in->dir[s->first_parent];
    for (size_t i = 0; !st && i < sizeof side / sizeof *side; i++) {
        st = copy_side_file(dir0, s->od.tmp, side[i]);
        if (st == ECO_STATUS_ENOTFOUND) st = ECO_STATUS_OK;
    }
    /* the lineage: the hashes are ready once the thread ends */
    eco_status hst = hash_join(&s->hash, st != ECO_STATUS_OK);
    if (!st) st = hst;
    json_t *rec = NULL, *parents = NULL;
    if (!st) {
        parents = json_array();
        for (size_t i = 0; parents && i < s->in->n; i++) {
            json_t *e = NULL;
            if (eco_weights_lineage_entry(
                    s->in->dir[i], s->in->role[i], (const char *const *)s->hash.names[i],
                    (const char *const *)s->hash.hex + s->hash.first[i], s->hash.n_names[i], &e) ||
                json_array_append_new(parents, e)) {
                json_decref(parents);
                parents = NULL;
            }
        }
        rec = parents ? json_pack("{s:s, s:s, s:{s:s, s:O, s:I, s:O}, s:o}", "tool", "ecology",
                                  "version", ECO_VERSION_STRING, "operation", "name", op_name,
                                  "params", params, "seed", (json_int_t)seed, "result", result,
                                  "parents", parents)
                      : NULL;
        char *path = eco_path_join(s->od.tmp, ECO_LINEAGE_FILE);
        st = rec && path ? eco_json_write_canonical_file(path, rec)
                         : eco_error(ECO_STATUS_ENOMEM, "%s: out of memory", op);
        free(path);
        json_decref(rec);
    }
    if (!st) st = copy_side_file(dir0, s->od.tmp, "config.json");
    if (st == ECO_STATUS_ENOTFOUND)
        st = eco_error(ECO_STATUS_ENOTFOUND, "%s: %s/config.json: missing", op, dir0);
    if (!st) {
        st = eco_output_commit(&s->od);
        s->od_open = false;
    }
    if (!st && rep) {
        rep->n_tensors = s->n_tensors;
        rep->bytes_read = s->bytes_read;
        rep->bytes_written = s->bytes_written;
        rep->seconds = eco_now() - s->t0;
        rep->sync_seconds = sync_s;
    }
    free_stream(s);
    return st;
}
