/*
 * A plain main for the libFuzzer targets, so that every target builds with the ordinary
 * compiler in the normal and sanitizer builds and its seed corpus runs as a test:
 *
 *   fuzz_NAME_replay FILE|FOLDER...
 *
 * feeds each file (a folder's regular files, in name order) to LLVMFuzzerTestOneInput once,
 * after LLVMFuzzerInitialize when the target has one, as libFuzzer does. A target traps or
 * the sanitizers stop the process on a finding; a file that cannot be read, or no file at
 * all, exits 1. Prints "NAME: N inputs replayed".
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* The whole file in a buffer of exactly its size (so ASan sees a read past the end). */
static int replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: cannot open\n", path);
        return 1;
    }
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            uint8_t *b = realloc(buf, cap *= 2);
            if (!b) free(buf);
            buf = b;
        }
    }
    int err = ferror(f) || !buf;
    fclose(f);
    if (err) {
        free(buf);
        fprintf(stderr, "replay: %s: read failed\n", path);
        return 1;
    }
    uint8_t *exact = malloc(n ? n : 1);
    if (!exact) {
        free(buf);
        return 1;
    }
    memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    return 0;
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order; *count grows by the files replayed. */
static int replay_dir(const char *dir, size_t *count) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: cannot open folder\n", dir);
        return 1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            char **v = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *v);
            if (!v) {
                rc = 1;
                break;
            }
            names = v;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = 1;
            break;
        }
        snprintf(names[n++], len, "%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (!rc) qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n && !rc; i++) {
        struct stat sb;
        if (stat(names[i], &sb) != 0 || !S_ISREG(sb.st_mode)) continue;
        rc = replay_file(names[i]);
        if (!rc) ++*count;
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|FOLDER...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    size_t count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: %s: no such file or folder\n", argv[i]);
            return 1;
        }
        if (S_ISDIR(sb.st_mode) ? replay_dir(argv[i], &count) : replay_file(argv[i])) return 1;
        if (!S_ISDIR(sb.st_mode)) count++;
    }
    const char *slash = strrchr(argv[0], '/');
    printf("%s: %zu inputs replayed\n", slash ? slash + 1 : argv[0], count);
    if (count == 0) {
        fprintf(stderr, "replay: no inputs found\n");
        return 1;
    }
    return 0;
}
