/*
 * Pausing the loop (daemon.h): a pause file in the data folder, <data>/loop.pause, that any
 * process may write (the server's admin API, `ecology` by hand, an operator's touch) and the
 * loop reads between generations. While it exists the loop starts no new generation: it
 * waits, polling the file, and the time it waits is not counted against the run's minutes.
 * A generation already running finishes first (a generation is the loop's unit of work: its
 * events and aliases are consistent only at its end).
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "daemon/loop_internal.h"

#define PAUSE_MAX_BYTES 4096

static char *pause_path(const char *data_dir) {
    return data_dir ? eco_path_join(data_dir, ECO_LOOP_PAUSE_FILE) : NULL;
}

eco_status eco_loop_pause_set(const char *data_dir, bool paused, const char *by, const char *at) {
    char *path = pause_path(data_dir);
    if (!path) return eco_error(ECO_STATUS_EINVAL, "loop pause: no data folder");
    eco_status st = ECO_STATUS_OK;
    if (paused) {
        json_t *d = json_pack("{s:s,s:s}", "by", by ? by : "unknown", "paused_at", at ? at : "");
        char *text = NULL;
        size_t len = 0;
        st = d ? eco_json_canonical(d, &text, &len)
               : eco_error(ECO_STATUS_ENOMEM, "loop pause: out of memory");
        json_decref(d);
        if (st == ECO_STATUS_OK) st = eco_write_file_atomic(path, text, len);
        free(text);
    } else if (unlink(path) != 0 && errno != ENOENT) {
        st = eco_error(ECO_STATUS_EIO, "%s: cannot remove: %s", path, strerror(errno));
    }
    free(path);
    return st;
}

eco_status eco_loop_pause_get(const char *data_dir, bool *paused, char **detail) {
    *paused = false;
    if (detail) *detail = NULL;
    char *path = pause_path(data_dir);
    if (!path) return eco_error(ECO_STATUS_EINVAL, "loop pause: no data folder");
    struct stat sb;
    eco_status st = ECO_STATUS_OK;
    if (stat(path, &sb) == 0) {
        *paused = true;
        char *text = NULL;
        size_t len = 0;
        /* the file's content is informative only: an empty or foreign file still pauses */
        if (detail && eco_read_file(path, PAUSE_MAX_BYTES, &text, &len) == ECO_STATUS_OK) {
            json_t *j = NULL;
            if (eco_json_parse(text, len, 0, path, &j) == ECO_STATUS_OK && json_is_object(j))
                st = eco_json_canonical(j, detail, NULL);
            json_decref(j);
        }
        free(text);
    } else if (errno != ENOENT) {
        st = eco_error(ECO_STATUS_EIO, "%s: %s", path, strerror(errno));
    }
    free(path);
    return st;
}

eco_status eco_loop_pause_wait(const char *data_dir, double poll_s, FILE *out, double *waited_s) {
    double t0 = eco_now();
    if (waited_s) *waited_s = 0;
    bool said = false;
    for (;;) {
        bool paused = false;
        eco_status st = eco_loop_pause_get(data_dir, &paused, NULL);
        if (st || !paused) break;
        if (out && !said) {
            fprintf(out, "paused (%s/%s): waiting until it is removed\n", data_dir,
                    ECO_LOOP_PAUSE_FILE);
            fflush(out);
            said = true;
        }
        double s = poll_s > 0 ? poll_s : 1;
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
    }
    if (out && said) {
        fprintf(out, "resumed after %.0f s\n", eco_now() - t0);
        fflush(out);
    }
    if (waited_s) *waited_s = eco_now() - t0;
    return ECO_STATUS_OK;
}
