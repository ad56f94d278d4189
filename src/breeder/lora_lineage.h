/*
 * lora_lineage: the pieces of lineage.json (merge_dir.h) that the adapter merge and LoRA
 * extraction share (merge_lora.c, extract.c).
 */
#ifndef ECO_BREEDER_LORA_LINEAGE_H
#define ECO_BREEDER_LORA_LINEAGE_H

#include "ecology/core.h"

/* Appends {"role": role, "file": name, "sha256": H} to the JSON array parents, H the SHA-256
 * of dir/name; name NULL means a model's weights (eco_weights_lineage_entry: the index and
 * every shard when sharded). No path is recorded. */
eco_status eco_lora_lineage_parent(struct json_t *parents, const char *role, const char *dir,
                                   const char *name);
/* Writes dir/lineage.json: {"tool": "ecology", "version", "operation": {"name": op,
 * "params": params, "seed": seed, "result": result}, "parents": parents} (canonical; the
 * JSON values are borrowed). */
eco_status eco_lora_lineage_write(const char *dir, const char *op, const struct json_t *params,
                                  uint64_t seed, const struct json_t *result,
                                  const struct json_t *parents);
/* The last component of a path or hub id ("a/b/" → "b"); *len its length. */
const char *eco_lora_last_component(const char *s, size_t *len);

#endif
