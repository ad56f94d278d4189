/*
 * bench_server_select: the cost of per-request adapter merges in the server (select.c), as a
 * client sees it: wall time of one request (1 greedy token) over loopback to an in-process
 * server, for
 *   - the baseline: an adapter selected by id (resident);
 *   - lora [{reverse, 0.5}, {sort, 0.5}] (the breeder's linear merge at rank 64, a
 *     concatenation): cold (merged, written, loaded), cached (resident), and after a restart
 *     (cached on disk, loaded again);
 *   - merged_adapters ties at density 0.5 (the dense route and a truncated SVD): the same.
 * Each round starts from an empty cache; the figures are medians over the rounds, printed
 * in ms and as ratios to the baseline of the same run, with the load average (the machine
 * may be shared).
 *
 *   bench_server_select [--rounds N]   (default 5; ECO_SOURCE_DIR: the source tree)
 *
 * Prints figures; never fails a build.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_common.h"
#include "ecology/registry.h"
#include "ecology/server.h"

#define P          "\"prompt\":\"Sort: dcba\\nSorted:\",\"max_tokens\":1,\"temperature\":0"
#define MAX_ROUNDS 32

static const char *const BY_ID = "{\"model\":\"sort\"," P "}";
static const char *const LORA =
    "{\"model\":\"eco-tiny\"," P ",\"lora\":[{\"id\":\"reverse\",\"scale\":0.5},"
    "{\"id\":\"sort\",\"scale\":0.5}]}";
static const char *const TIES =
    "{\"model\":\"eco-tiny\"," P ",\"merged_adapters\":{\"ids\":[\"reverse\",\"sort\"],"
    "\"merge_strategy\":\"ties\",\"density\":0.5}}";

/* Seconds for one POST /v1/completions of body; negative when it is not a 200. */
static double request(uint16_t port, const char *body) {
    double t0 = eco_now();
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) return -1;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "POST /v1/completions HTTP/1.0\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n",
                     strlen(body));
    if (send(fd, head, (size_t)n, MSG_NOSIGNAL) != n ||
        send(fd, body, strlen(body), MSG_NOSIGNAL) != (ssize_t)strlen(body)) {
        close(fd);
        return -1;
    }
    char buf[4096];
    ssize_t got, total = 0;
    int status = 0;
    while ((got = recv(fd, buf, sizeof buf - 1, 0)) > 0) {
        if (total == 0) {
            buf[got] = '\0';
            if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1) status = 0;
        }
        total += got;
    }
    close(fd);
    return status == 200 ? eco_now() - t0 : -1;
}

static int start(const char *data, eco_server **s) {
    eco_server_options o;
    eco_server_options_init(&o);
    o.data_dir = data;
    o.threads = 2;
    return eco_server_start(&o, s) == ECO_STATUS_OK ? 0 : 1;
}

static int add(eco_registry *r, const char *rel, const char *id, const char *base) {
    char *dir = bench_source_path(rel);
    eco_add_options o = {.id = id, .base = base, .created_at = "2026-12-07T00:00:00Z"};
    eco_status st = eco_registry_add_dir(r, dir, &o, NULL);
    free(dir);
    if (st) fprintf(stderr, "bench_server_select: add %s: %s\n", id, eco_last_error());
    return st ? 1 : 0;
}

static double med(double *v, int n) { return bench_median(v, n) * 1e3; }

int main(int argc, char **argv) {
    int rounds = 5;
    if (argc == 3 && !strcmp(argv[1], "--rounds")) rounds = atoi(argv[2]);
    if (rounds < 1 || rounds > MAX_ROUNDS) {
        fprintf(stderr, "usage: bench_server_select [--rounds 1..%d]\n", MAX_ROUNDS);
        return 2;
    }
    eco_set_threads(1);
    char tmpl[] = "/tmp/bench-server-select-XXXXXX";
    char *tmp = mkdtemp(tmpl);
    if (!tmp) return 1;
    char *data = eco_path_join(tmp, "data");
    eco_registry *r = NULL;
    eco_registry_options ro = {.data_dir = data};
    if (eco_registry_init(data) || eco_registry_open(&ro, &r) ||
        add(r, "data/models/eco-tiny", "eco-tiny", NULL) ||
        add(r, "data/adapters/text.reverse@1", "reverse", "eco-tiny") ||
        add(r, "data/adapters/text.sort@1", "sort", "eco-tiny"))
        return 1;
    eco_registry_close(r);
    printf("bench_server_select: %d rounds, 1 greedy token a request, threads %d, load average "
           "%.2f\n",
           rounds, eco_get_threads(), bench_loadavg());
    double by_id[MAX_ROUNDS], lc[MAX_ROUNDS], lw[MAX_ROUNDS], lr[MAX_ROUNDS], tc[MAX_ROUNDS],
        tw[MAX_ROUNDS], tr[MAX_ROUNDS];
    char cmd[512];
    int bad = 0;
    for (int i = 0; i < rounds && !bad; i++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s/cache'", data);
        if (system(cmd) != 0) return 1;
        eco_server *s = NULL;
        if (start(data, &s)) return 1;
        uint16_t port = eco_server_port(s);
        request(port, BY_ID); /* the base and the adapter resident */
        by_id[i] = request(port, BY_ID);
        lc[i] = request(port, LORA);
        lw[i] = request(port, LORA);
        tc[i] = request(port, TIES);
        tw[i] = request(port, TIES);
        eco_server_stop(s, 30);
        if (start(data, &s)) return 1;
        port = eco_server_port(s);
        request(port, BY_ID);
        lr[i] = request(port, LORA);
        tr[i] = request(port, TIES);
        eco_server_stop(s, 30);
        bad = by_id[i] < 0 || lc[i] < 0 || lw[i] < 0 || lr[i] < 0 || tc[i] < 0 || tw[i] < 0 ||
              tr[i] < 0;
    }
    if (bad) {
        fprintf(stderr, "bench_server_select: a request failed\n");
        return 1;
    }
    const double b = med(by_id, rounds);
    printf("  baseline: adapter by id       %8.2f ms\n", b);
    const struct {
        const char *name;
        double *v;
    } rows[] = {{"lora linear, cold (merge)", lc},
                {"lora linear, cached", lw},
                {"lora linear, after restart", lr},
                {"ties, cold (merge)", tc},
                {"ties, cached", tw},
                {"ties, after restart", tr}};
    for (size_t k = 0; k < sizeof rows / sizeof *rows; k++) {
        const double m = med(rows[k].v, rounds);
        printf("  %-29s %8.2f ms  %6.2fx the baseline\n", rows[k].name, m, m / b);
    }
    printf("load average %.2f at the end\n", bench_loadavg());
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_server_select: could not remove %s\n", tmp);
    free(data);
    return 0;
}
