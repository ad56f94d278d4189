/*
 * tokenizer: Hugging Face `tokenizer.json` with a BPE model, in two flavours.
 *
 *  (a) byte-level (GPT-2, Llama 3, Qwen2/3, SmolLM2): optional NFC normalizer, the
 *      pre-tokenizer's Split regex run through PCRE2 in UTF mode, the byte-to-unicode
 *      table, merges applied by rank (merges as "a b" strings or [a, b] pairs).
 *  (b) SentencePiece-style (Llama 2, TinyLlama, Mistral): Prepend "▁" and Replace " " by
 *      "▁" (normalizer or Metaspace pre-tokenizer), merges by rank, byte fallback to
 *      <0xNN> tokens for pieces missing from the vocabulary.
 * Added and special tokens are matched before BPE (longest first, honouring lstrip,
 * rstrip, single_word). The post-processor's template adds BOS/EOS when asked.
 * Decoding is the exact inverse of encoding.
 *
 * The project's own byte tokenizer (256 byte tokens plus <|bos|>, <|eos|>, <|pad|>) is
 * written as a byte-level tokenizer.json by eco_tokenizer_write_bytes, so one loader
 * serves every model.
 *
 * Supported tokenizer.json pieces (anything else is refused with EUNSUPPORTED naming the
 * field, e.g. "tokenizer.json: normalizer.type 'NFKC' is not supported"):
 *   model        BPE (unk_token, fuse_unk, byte_fallback, ignore_merges; no dropout, no
 *                subword prefix/suffix)
 *   normalizer   NFC, Prepend, Replace (String pattern), Sequence of these
 *   pre_tokenizer Split (Regex or String; all five behaviours; invert), ByteLevel
 *                (add_prefix_space, use_regex), Metaspace (prepend_scheme, split), Digits,
 *                Sequence of these
 *   post_processor TemplateProcessing (single), RobertaProcessing, BertProcessing,
 *                ByteLevel, Sequence
 *   decoder      ByteLevel, Replace (String), ByteFallback, Fuse, Strip, Metaspace, Sequence
 * Matches Hugging Face `tokenizers` id for id on the real Qwen3 and Mistral vocabularies
 * (tests/test_tokenizer_real.c). Regexes run in PCRE2 (UTF, UCP, JIT) with \s spelled as
 * Unicode White_Space, as Oniguruma (HF's engine) reads it.
 *
 * Bytes that are not valid UTF-8 (HF never sees them: it works on Rust strings) are
 * accepted: normalizers pass them through, a Split regex puts each in a pre-token of its
 * own, byte-level models encode them as their byte tokens and SentencePiece-style models
 * through byte fallback. Decoding returns raw bytes where HF would write U+FFFD, so that
 * decode(encode(x)) == x for byte-level models without a normalizer, == NFC(x) with NFC,
 * and == x for SentencePiece-style models unless x holds "▁" or an added token's text.
 *
 * A loaded tokenizer is immutable: encode and decode may run on several threads at once.
 */
#ifndef ECOLOGY_TOKENIZER_H
#define ECOLOGY_TOKENIZER_H

#include "ecology/contracts.h"
#include "ecology/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct eco_tokenizer eco_tokenizer;

/* Loads a tokenizer.json file, or `path`/tokenizer.json when path is a folder, or the
 * tokenizer.json a .gguf's tokenizer.ggml.* keys describe (eco_gguf_tokenizer_json). */
eco_status eco_tokenizer_load(const char *path, eco_tokenizer **out);
/* Parses tokenizer.json text; `label` names the source in messages. */
eco_status eco_tokenizer_parse(const char *json, size_t len, const char *label,
                               eco_tokenizer **out);
void eco_tokenizer_free(eco_tokenizer *tok);

/* Encodes `len` bytes of text (any bytes: invalid UTF-8 is encoded byte-wise by byte-level
 * models and through byte fallback by SentencePiece-style ones). add_special applies the
 * post-processor (e.g. BOS). *ids is malloc'd; caller frees. */
eco_status eco_tokenizer_encode(const eco_tokenizer *tok, const char *text, size_t len,
                                bool add_special, int32_t **ids, size_t *n_ids);
/* Decodes ids to bytes (NUL-terminated, *len excludes the NUL). skip_special drops special
 * tokens. Ids outside the vocabulary are ECO_STATUS_ERANGE. Caller frees *text. */
eco_status eco_tokenizer_decode(const eco_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                bool skip_special, char **text, size_t *len);

/* Highest id + 1 over the vocabulary and added tokens. */
int64_t eco_tokenizer_vocab_size(const eco_tokenizer *tok);
/* Id of an exact token string (vocabulary or added), or -1. */
int32_t eco_tokenizer_token_id(const eco_tokenizer *tok, const char *token);
/* The token's string as stored in the vocabulary, or NULL for an unknown id. */
const char *eco_tokenizer_token_str(const eco_tokenizer *tok, int32_t id);
bool eco_tokenizer_is_special(const eco_tokenizer *tok, int32_t id);

/* The vocabulary as the bytes each id appends to decoded text (contracts.h's
 * eco_token_vocab, for decoding constraints): a token's bytes are what decoding it after
 * itself adds (decode([id, id]) past decode([id])), so that a SentencePiece-style token's
 * leading space, which decoding strips at the start of a text, is kept; special tokens and
 * ids missing from the vocabulary get no bytes. eos[n_eos] are the ids that end an output.
 * Caller frees *out with eco_token_vocab_free. ENOMEM. */
eco_status eco_tokenizer_token_vocab(const eco_tokenizer *tok, const int32_t *eos, size_t n_eos,
                                     eco_token_vocab **out);

/* Ids of the byte tokenizer written by eco_tokenizer_write_bytes: byte b is id b. */
#define ECO_BYTE_TOKENIZER_BOS   256
#define ECO_BYTE_TOKENIZER_EOS   257
#define ECO_BYTE_TOKENIZER_PAD   258
#define ECO_BYTE_TOKENIZER_VOCAB 259

/* Writes the project's byte tokenizer as a Hugging Face tokenizer.json (byte-level BPE
 * without merges, no regex split, BOS added by the post-processor), atomically. */
eco_status eco_tokenizer_write_bytes(const char *path);

#ifdef __cplusplus
}
#endif
#endif
