/* ecology quantize --model MODEL --type q8_0 --out DIR [--force] [--data-dir D]
 * A q8_0 copy of a model folder (eco_quantize_dir, quantize.h), written beside DIR and
 * renamed into place, with lineage.json (operation "quantize") for `add`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "ecology/quantize.h"

int cmd_quantize(int argc, char **argv) {
    cli_opt o[] = {CLI_OPT("model", true), CLI_OPT("type", true), CLI_OPT("out", true),
                   CLI_OPT("force", false), CLI_OPT("data-dir", true)};
    const int n = (int)(sizeof o / sizeof *o);
    const char *pos[1];
    int npos;
    if (cli_parse(argc, argv, 2, o, n, pos, 0, &npos) != CLI_OK) return CLI_USAGE;
    const char *model = cli_get(o, n, "model"), *type = cli_get(o, n, "type"),
               *out = cli_get(o, n, "out");
    if (!model) return cli_usage_error("quantize: --model MODEL is required");
    if (!type) return cli_usage_error("quantize: --type q8_0 is required");
    if (strcmp(type, "q8_0") != 0)
        return cli_usage_error("option '--type': '%s' is not one of q8_0", type);
    if (!out) return cli_usage_error("quantize: --out DIR is required");
    if (cli_model_ref(o, n, "model", &model)) return CLI_FAIL;
    eco_quantize_options qo = {.model = model,
                               .type = type,
                               .out = out,
                               .force = cli_get(o, n, "force") != NULL,
                               .progress = true};
    eco_quantize_report r;
    eco_status st = eco_quantize_dir(&qo, &r);
    if (st != ECO_STATUS_OK) return cli_fail(st, "quantize");
    printf("%s: %s as %s: %lld of %lld tensors quantized (%llu weights), %.1f MB -> %.1f MB, "
           "relative RMS error %.3g, largest |error| %.3g, %.1f s\n",
           out, model, type, (long long)r.n_quantized, (long long)r.n_tensors,
           (unsigned long long)r.params_q8_0, (double)r.bytes_in / 1e6, (double)r.bytes_out / 1e6,
           r.rel_rms_error, r.max_abs_error, r.seconds);
    return CLI_OK;
}
