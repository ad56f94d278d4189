/*
 * LoRA adapter merges (merge_dir.h). Not written yet: this placeholder keeps the library
 * linking while the adapter merge is built.
 */
#include "ecology/merge_dir.h"

eco_status eco_merge_adapters_dir(const eco_merge_dir_options *o, eco_merge_dir_report *rep) {
    (void)o;
    (void)rep;
    return eco_error(ECO_STATUS_EUNSUPPORTED, "merge: adapter merges are not built yet");
}
