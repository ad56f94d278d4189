/* ecology serve [--config FILE] [--host H] [--port P] [--api-keys FILE] [--data-dir D]
 *               [--threads N] [--http-threads N] [--preload MODEL]... [--grace S]
 * Starts the OpenAI-compatible server (include/ecology/server.h), prints its address on
 * stdout when it is ready, and stops gracefully on SIGTERM or SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/json_read.h"
#include "ecology/server.h"

#define MAX_PRELOAD 64

int cmd_serve(int argc, char **argv) {
    const char *preload[MAX_PRELOAD];
    cli_opt o[] = {
        CLI_OPT("config", true),       CLI_OPT("host", true),     CLI_OPT("port", true),
        CLI_OPT("api-keys", true),     CLI_OPT("data-dir", true), CLI_OPT("threads", true),
        CLI_OPT("http-threads", true), CLI_OPT("preload", true),  CLI_OPT("grace", true)};
    const int n = (int)(sizeof o / sizeof *o);
    o[7].repeated_ok = true;
    o[7].values = preload;
    o[7].max_values = MAX_PRELOAD;
    int npos;
    if (cli_parse(argc, argv, 2, o, n, NULL, 0, &npos) != CLI_OK) return CLI_USAGE;

    eco_server_options opt;
    eco_server_options_init(&opt);
    eco_server_config *cfg = NULL;
    const char *s;
    int64_t v;
    double grace = 30;
    if ((s = cli_get(o, n, "threads"))) {
        if (cli_parse_int("threads", s, 1, ECO_MAX_THREADS, &v) != CLI_OK) return CLI_USAGE;
        eco_set_threads((int)v);
    }
    if ((s = cli_get(o, n, "port")) && cli_parse_int("port", s, 0, 65535, &v) != CLI_OK)
        return CLI_USAGE;
    uint16_t port = s ? (uint16_t)v : 8080;
    if ((s = cli_get(o, n, "http-threads")) &&
        cli_parse_int("http-threads", s, 1, 1024, &v) != CLI_OK)
        return CLI_USAGE;
    unsigned http_threads = s ? (unsigned)v : 0;
    if ((s = cli_get(o, n, "grace")) && cli_parse_float("grace", s, 0, 86400, &grace) != CLI_OK)
        return CLI_USAGE;

    /* The config file first; flags given on the command line override it. */
    opt.port = 8080;
    if ((s = cli_get(o, n, "config"))) {
        char *file = NULL, *text = NULL;
        size_t len = 0;
        eco_status st = eco_json_read_doc(s, "serve.json", (size_t)1 << 20, &file, &text, &len);
        if (st == ECO_STATUS_OK) st = eco_server_config_parse(text, len, file, &opt, &cfg);
        free(text);
        free(file);
        if (st != ECO_STATUS_OK) return cli_fail(st, "serve");
    }
    if (cli_get(o, n, "port")) opt.port = port;
    if (http_threads) opt.threads = http_threads;
    if ((s = cli_get(o, n, "host"))) opt.host = s;
    if ((s = cli_get(o, n, "api-keys"))) opt.api_keys = s;
    if ((s = cli_get(o, n, "data-dir"))) opt.data_dir = s;
    if (o[7].n_values > 0) {
        opt.preload = preload;
        opt.n_preload = (size_t)o[7].n_values;
    }

    /* Signals go to this thread only (sigwait below): blocked before any server thread
     * starts, so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    eco_server *srv = NULL;
    eco_status st = eco_server_start(&opt, &srv);
    if (st != ECO_STATUS_OK) {
        eco_server_config_free(cfg);
        return cli_fail(st, "serve");
    }
    printf("ecology serve: listening on http://%s:%u\n", opt.host ? opt.host : "127.0.0.1",
           (unsigned)eco_server_port(srv));
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "ecology serve: %s: stopping (%u requests in flight, up to %.0f s)\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM", eco_server_in_flight(srv), grace);
    eco_server_stop(srv, grace);
    eco_server_config_free(cfg);
    fprintf(stderr, "ecology serve: stopped\n");
    return CLI_OK;
}
