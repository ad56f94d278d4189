/* `ecology eval` on a registered model: the fitness's new-capability coverage, computed by
 * the library (eval_contamination.h: eco_eval_coverage_registry) for the evaluated id (the
 * adapter when registered, else the model); a failure counts 0 with a warning. */
#include <stdio.h>

#include "cli.h"
#include "ecology/eval_contamination.h"
#include "ecology/evaluator.h"

double cli_eval_coverage(cli_eval_reg *reg, const eco_gates *g, const eco_eval_report *rep) {
    const char *id = reg->adapter_id ? reg->adapter_id : reg->model_id;
    if (!reg->r || !id) return 0;
    double cov = 0;
    size_t np = 0;
    if (eco_eval_coverage_registry(reg->r, id, g, rep, &np, &cov) != ECO_STATUS_OK) {
        fprintf(stderr, "ecology: eval: warning: coverage counted 0: %s\n", eco_last_error());
        return 0;
    }
    if (np)
        fprintf(stderr,
                "ecology: eval: coverage %.4f (capabilities passed that none of %zu "
                "parent%s passes)\n",
                cov, np, np == 1 ? "" : "s");
    return cov;
}
