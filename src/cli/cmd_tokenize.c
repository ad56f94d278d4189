/* ecology tokenize --tokenizer FILE|DIR (--text TEXT | --file F) [--decode] [--no-special] [--json]
 * Prints token ids (comma-separated, or a JSON array); --decode reads ids and prints text. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ecology/tokenizer.h"

int cmd_tokenize(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("tokenizer", true),   CLI_OPT("text", true),
                   CLI_OPT("file", true),        CLI_OPT("decode", false),
                   CLI_OPT("no-special", false), CLI_OPT("json", false)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *path = cli_get(o, n, "tokenizer"), *text = cli_get(o, n, "text"),
               *file = cli_get(o, n, "file");
    if (!path) return cli_usage_error("tokenize: --tokenizer FILE|DIR is required");
    if (!text == !file) return cli_usage_error("tokenize: give exactly one of --text and --file");
    bool decode = cli_get(o, n, "decode"), json = cli_get(o, n, "json");
    bool special = !cli_get(o, n, "no-special");

    char *buf = NULL;
    size_t len = text ? strlen(text) : 0;
    eco_status st;
    if (file) {
        st = eco_read_file(file, (size_t)1 << 30, &buf, &len);
        if (st != ECO_STATUS_OK) return cli_fail(st, "tokenize");
        text = buf;
    }
    eco_tokenizer *tok;
    st = eco_tokenizer_load(path, &tok);
    if (st != ECO_STATUS_OK) {
        free(buf);
        return cli_fail(st, "tokenize");
    }
    int rc = CLI_OK;
    int32_t *ids = NULL;
    size_t n_ids = 0;
    if (decode) {
        if (cli_parse_ids(file ? "file" : "text", text, &ids, &n_ids) != CLI_OK) {
            rc = CLI_USAGE;
        } else {
            char *out;
            size_t out_len;
            st = eco_tokenizer_decode(tok, ids, n_ids, !special, &out, &out_len);
            if (st != ECO_STATUS_OK) {
                rc = cli_fail(st, "tokenize --decode");
            } else {
                if (json) {
                    json_t *v = json_object();
                    json_object_set_new(v, "text", cli_json_text(out, out_len));
                    char *s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
                    if (s) puts(s);
                    free(s);
                    json_decref(v);
                } else {
                    fwrite(out, 1, out_len, stdout);
                    putchar('\n');
                }
                free(out);
            }
        }
    } else {
        st = eco_tokenizer_encode(tok, text, len, special, &ids, &n_ids);
        if (st != ECO_STATUS_OK) {
            rc = cli_fail(st, "tokenize");
        } else {
            fputs(json ? "[" : "", stdout);
            for (size_t i = 0; i < n_ids; i++) printf(i ? ",%d" : "%d", ids[i]);
            fputs(json ? "]\n" : "\n", stdout);
        }
    }
    free(ids);
    eco_tokenizer_free(tok);
    free(buf);
    return rc;
}
