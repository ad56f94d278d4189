/*
 * eval_contamination: the no-train rule for hidden corpora (issue 19; src/evaluator/).
 *
 * A model may not be evaluated on a hidden evaluation corpus H when a training corpus T
 * named by its lineage (the genomes of the model, its adapter and every ancestor: parents
 * and bases; eco_lineage_corpora, verifier.h) is
 *   no-train.hidden   H itself (T's hash is H's SHA-256), or
 *   no-train.prompt   holds a record whose prompt (or whole text, for {"text"} records) has
 *                     the SHA-256 of a case's prompt (eval_corpus.h's prompt hash), or
 *   no-train.ngram    overlaps H by eval_corpus.h's n-gram rule: some case's prompt has
 *                     containment >= ECO_NGRAM_THRESHOLD in the ECO_NGRAM_N-word n-grams of
 *                     T's prompts, completions and texts (eco_eval_corpus_overlap), or, for
 *                     a prompt of w < ECO_NGRAM_N words, its w words occur as a run inside
 *                     one of T's strings (eco_eval_corpus_overlap_short), or
 *   no-train.unknown  not readable: not recorded in the registry (`ecology corpus add`), or
 *                     its file is gone from the store, or a line of it (a UTF-8 BOM at the
 *                     start skipped, as the trainer does; blank lines skipped) is not a
 *                     record: not JSON, not an object, or without a string "prompt" or
 *                     "text". A corpus that cannot be read cannot be shown clean, so it
 *                     refuses too (only when evaluating on a hidden corpus:
 *                     on a public corpus the lineage's content does not matter).
 * Each failure names H (hash and, when recorded, name), the case (line and id) and T (hash,
 * the model whose genome names it, and the record's line). The training file is read from
 * the artifact store as data.h's JSONL ({"prompt","completion"} or {"text"}, other keys
 * ignored); a line that is not such a record is no-train.unknown, never skipped silently.
 */
#ifndef ECOLOGY_EVAL_CONTAMINATION_H
#define ECOLOGY_EVAL_CONTAMINATION_H

#include "ecology/eval_corpus.h"
#include "ecology/registry.h"
#include "ecology/verifier.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The rule above for the registered models ids[0..n) (a model and its adapter) against the
 * hidden corpus `hidden`: failures appended to *out (the caller frees; nothing appended:
 * clean). Errors only when the check could not be made: ENOTFOUND for an id not registered,
 * ENOMEM, a database failure, a store file that cannot be read (EIO). */
eco_status eco_eval_contamination(eco_registry *r, const char *const *ids, size_t n,
                                  const eco_eval_corpus *hidden, eco_artifact_failures *out);

/* Whether the evaluation corpus with this SHA-256 is recorded as hidden in r (false when not
 * recorded). */
eco_status eco_eval_corpus_is_hidden(eco_registry *r, const char *sha256, bool *hidden);

/* The recorded hidden evaluation corpora that c reveals: each hidden corpus of r (`ecology
 * corpus add --hidden`) with c's bytes or sharing a case hash with c (so the hidden corpus
 * plus a blank line, reordered, or with a case added is still hidden). The recorded hidden
 * corpora are read from the store and scanned at each call (no index: they are few and
 * small); a hidden corpus whose file is gone from the store is an error (EIO), as c cannot
 * be shown not to share its cases. *out (eco_eval_corpora_free) holds the *n matches,
 * loaded from the store, in the order recorded; none: NULL and 0. */
eco_status eco_eval_hidden_corpora(eco_registry *r, const eco_eval_corpus *c,
                                   eco_eval_corpus ***out, size_t *n);
void eco_eval_corpora_free(eco_eval_corpus **v, size_t n);

struct eco_gates;
struct eco_eval_report;
/* The fitness's new-capability coverage (evaluator.h: eco_eval_coverage) of the registered
 * model id evaluated as rep: its lineage parents from its genome, each judged by its newest
 * stored report on rep's corpus (read back with eco_eval_report_parse), or, without one, by
 * the capabilities its genome lists. *n_parents (may be NULL) receives how many parents it
 * has. Errors: the registry's, a stored report that does not parse; *coverage 0 then. */
eco_status eco_eval_coverage_registry(eco_registry *r, const char *id, const struct eco_gates *g,
                                      const struct eco_eval_report *rep, size_t *n_parents,
                                      double *coverage);

#ifdef __cplusplus
}
#endif
#endif
