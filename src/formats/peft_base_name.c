/*
 * eco_peft_base_name: what base_model_name_or_path says for a base given as a folder
 * (peft.h). One function for every writer of adapters (the trainer, extract, merge), so
 * that their adapters of one base carry one name.
 */
#include "ecology/peft.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void eco_peft_base_name(const char *given, char *out, size_t out_size) {
    if (!given || !out || out_size == 0) return;
    struct stat sb;
    if (stat(given, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        /* not a folder: the id or hub name as given */
        const size_t n = strlen(given);
        if (n < out_size) memmove(out, given, n + 1);
        return;
    }
    char *gpath = eco_path_join(given, "genome.json");
    json_t *g = gpath ? json_load_file(gpath, JSON_REJECT_DUPLICATES, NULL) : NULL;
    free(gpath);
    const char *id = json_string_value(json_object_get(g, "id"));
    if (id && id[0] && strlen(id) < out_size && !strchr(id, '/')) {
        snprintf(out, out_size, "%s", id);
        json_decref(g);
        return;
    }
    json_decref(g);
    char *real = realpath(given, NULL);
    const char *slash = real ? strrchr(real, '/') : NULL;
    if (slash && slash[1] && strlen(slash + 1) < out_size) snprintf(out, out_size, "%s", slash + 1);
    free(real);
}
