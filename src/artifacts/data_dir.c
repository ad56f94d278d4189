/* The data folder: explicit (--data-dir) > $ECOLOGY_DATA > ./ecology-data. */
#include "ecology/artifacts.h"

#include <stdlib.h>

char *eco_data_dir_resolve(const char *explicit_dir) {
    /* An empty value counts as unset: "--data-dir ''" or ECOLOGY_DATA= must not mean the
     * current folder's root by accident. */
    if (explicit_dir && *explicit_dir) return eco_strdup(explicit_dir);
    const char *env = getenv(ECO_DATA_DIR_ENV);
    if (env && *env) return eco_strdup(env);
    return eco_strdup(ECO_DATA_DIR_DEFAULT);
}
