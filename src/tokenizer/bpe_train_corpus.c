/*
 * Corpus lines for the BPE trainer: a file read in blocks (never whole) or a text in memory,
 * cut into lines that keep their '\n' (Rust's BufRead::read_line, which HF's
 * train_from_files uses: a '\r' stays, a last line without '\n' counts), handed on in
 * batches of whole lines. Every line must be UTF-8, as read_line requires: the first bad
 * byte is reported with the file, the line number and the byte's offset in the line.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer/bpe_train_internal.h"

/* Where lines come from: a FILE or a memory span. */
typedef struct source {
    const char *label;
    FILE *fp;
    const char *text;
    size_t len, pos;
} source;

/* Reads up to n bytes into dst; *got 0 at the end. */
static eco_status source_read(source *s, char *dst, size_t n, size_t *got) {
    if (!s->fp) {
        size_t k = s->len - s->pos < n ? s->len - s->pos : n;
        if (k) memcpy(dst, s->text + s->pos, k);
        s->pos += k;
        *got = k;
        return ECO_STATUS_OK;
    }
    *got = fread(dst, 1, n, s->fp);
    if (*got < n && ferror(s->fp))
        return eco_error(ECO_STATUS_EIO, "%s: read failed: %s", s->label, strerror(errno));
    return ECO_STATUS_OK;
}

typedef struct batch {
    eco_buf buf;  /* bytes: whole lines, then the start of a partial one */
    size_t *ends; /* [n] end offsets of the whole lines in buf */
    size_t n, cap;
} batch;

static bool batch_add_end(batch *b, size_t end) {
    if (b->n == b->cap) {
        size_t *e = tok_array_grow(b->ends, sizeof *e, &b->cap, b->n + 1, 4096);
        if (!e) return false;
        b->ends = e;
    }
    b->ends[b->n++] = end;
    return true;
}

/* Checks that line data[0..n) (number line_no) is UTF-8. */
static eco_status check_line(const char *label, const char *data, size_t n, int64_t line_no) {
    size_t ok = eco_utf8_valid_prefix(data, n);
    if (ok == n) return ECO_STATUS_OK;
    return eco_error(ECO_STATUS_EFORMAT,
                     "%s: line %lld: invalid UTF-8 at byte %zu of the line (0x%02X): a corpus "
                     "must be UTF-8 text",
                     label, (long long)line_no, ok + 1, (unsigned)(unsigned char)data[ok]);
}

static eco_status stream(source *src, size_t batch_bytes, tok_lines_fn fn, void *ctx,
                         eco_progress *progress, int64_t *lines_out, int64_t *bytes_out) {
    if (batch_bytes < 4096) batch_bytes = 4096;
    batch b = {0};
    eco_status st = ECO_STATUS_OK;
    int64_t line_no = 0, total = 0;
    size_t scan = 0; /* bytes of b.buf already searched for '\n' (all in the partial line) */
    bool eof = false;
    while (!eof && st == ECO_STATUS_OK) {
        if (!eco_buf_reserve(&b.buf, batch_bytes)) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory reading lines", src->label);
            break;
        }
        size_t got;
        st = source_read(src, b.buf.data + b.buf.len, batch_bytes, &got);
        if (st != ECO_STATUS_OK) break;
        b.buf.len += got;
        b.buf.data[b.buf.len] = '\0';
        total += (int64_t)got;
        if (progress) eco_progress_update(progress, progress->done + (double)got);
        eof = got == 0;
        /* cut whole lines */
        b.n = 0;
        size_t start = 0;
        for (size_t i = scan; i < b.buf.len; i++) {
            if (b.buf.data[i] != '\n') continue;
            if (!batch_add_end(&b, i + 1)) {
                st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory reading lines", src->label);
                break;
            }
            start = i + 1;
        }
        if (st != ECO_STATUS_OK) break;
        if (eof && start < b.buf.len && !batch_add_end(&b, b.buf.len)) {
            st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory reading lines", src->label);
            break;
        }
        if (eof) start = b.buf.len;
        if (b.buf.len - start > ECO_BPE_TRAIN_MAX_LINE) {
            st = eco_error(ECO_STATUS_ERANGE, "%s: line %lld is longer than %zu bytes", src->label,
                           (long long)(line_no + (int64_t)b.n + 1), ECO_BPE_TRAIN_MAX_LINE);
            break;
        }
        for (size_t k = 0; k < b.n && st == ECO_STATUS_OK; k++) {
            size_t s0 = k ? b.ends[k - 1] : 0;
            st = check_line(src->label, b.buf.data + s0, b.ends[k] - s0, line_no + 1 + (int64_t)k);
        }
        if (st != ECO_STATUS_OK) break;
        if (b.n) st = fn(ctx, b.buf.data, b.ends, b.n, line_no + 1);
        line_no += (int64_t)b.n;
        /* keep the partial line */
        memmove(b.buf.data, b.buf.data + start, b.buf.len - start);
        b.buf.len -= start;
        scan = b.buf.len;
    }
    if (st == ECO_STATUS_OK && total == 0)
        st = eco_error(ECO_STATUS_EFORMAT, "%s: empty file: a corpus needs at least one line",
                       src->label);
    eco_buf_free(&b.buf);
    free(b.ends);
    *lines_out = line_no;
    *bytes_out = total;
    return st;
}

eco_status tok_corpus_stream_file(const char *path, size_t batch_bytes, tok_lines_fn fn, void *ctx,
                                  eco_progress *progress, int64_t *lines, int64_t *bytes) {
    *lines = *bytes = 0;
    if (eco_path_is_dir(path))
        return eco_error(ECO_STATUS_EIO, "%s: is a folder, expected a text file", path);
    FILE *fp = fopen(path, "rb");
    if (!fp) return eco_error(ECO_STATUS_EIO, "%s: cannot open: %s", path, strerror(errno));
    source src = {.label = path, .fp = fp};
    eco_status st = stream(&src, batch_bytes, fn, ctx, progress, lines, bytes);
    fclose(fp);
    return st;
}

eco_status tok_corpus_stream_text(const char *label, const char *text, size_t len,
                                  size_t batch_bytes, tok_lines_fn fn, void *ctx, int64_t *lines,
                                  int64_t *bytes) {
    *lines = *bytes = 0;
    if (!text && len) return eco_error(ECO_STATUS_EINVAL, "%s: no text", label);
    source src = {.label = label, .text = text, .len = len};
    return stream(&src, batch_bytes, fn, ctx, NULL, lines, bytes);
}
