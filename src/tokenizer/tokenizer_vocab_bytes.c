/* eco_tokenizer_token_vocab (ecology/tokenizer.h): the bytes each id appends to decoded text,
 * for decoding constraints. */
#include <stdlib.h>
#include <string.h>

#include "ecology/tokenizer.h"

/* The bytes id adds after text that ends in id itself, into *out (malloc'd; NULL and 0 when
 * it adds none or cannot be decoded). */
static eco_status token_bytes(const eco_tokenizer *tok, int32_t id, uint8_t **out, size_t *len) {
    *out = NULL;
    *len = 0;
    if (eco_tokenizer_is_special(tok, id) || !eco_tokenizer_token_str(tok, id))
        return ECO_STATUS_OK;
    int32_t two[2] = {id, id};
    char *one = NULL, *both = NULL;
    size_t n1 = 0, n2 = 0;
    eco_status st = eco_tokenizer_decode(tok, two, 1, false, &one, &n1);
    if (st == ECO_STATUS_OK) st = eco_tokenizer_decode(tok, two, 2, false, &both, &n2);
    if (st == ECO_STATUS_ENOMEM) {
        free(one);
        free(both);
        return st;
    }
    if (st == ECO_STATUS_OK) {
        /* after itself when decoding keeps the first copy intact; else as decoded alone */
        const char *s = one;
        size_t n = n1;
        if (n2 >= n1 && !memcmp(both, one, n1)) {
            s = both + n1;
            n = n2 - n1;
        }
        if (n) {
            if (!(*out = malloc(n)))
                st = eco_error(ECO_STATUS_ENOMEM, "tokenizer: out of memory");
            else {
                memcpy(*out, s, n);
                *len = n;
            }
        }
    }
    free(one);
    free(both);
    return st == ECO_STATUS_ENOMEM ? st : ECO_STATUS_OK;
}

eco_status eco_tokenizer_token_vocab(const eco_tokenizer *tok, const int32_t *eos, size_t n_eos,
                                     eco_token_vocab **out) {
    if (!tok || !out) return eco_error(ECO_STATUS_EINVAL, "tokenizer: token vocab: NULL argument");
    *out = NULL;
    int64_t n = eco_tokenizer_vocab_size(tok);
    uint8_t **bytes = eco_malloc_array(n > 0 ? (size_t)n : 1, sizeof *bytes);
    size_t *lens = eco_malloc_array(n > 0 ? (size_t)n : 1, sizeof *lens);
    eco_status st =
        bytes && lens ? ECO_STATUS_OK : eco_error(ECO_STATUS_ENOMEM, "tokenizer: out of memory");
    int64_t done = 0;
    for (; st == ECO_STATUS_OK && done < n; done++)
        st = token_bytes(tok, (int32_t)done, &bytes[done], &lens[done]);
    if (st == ECO_STATUS_OK)
        st = eco_token_vocab_create((const uint8_t *const *)bytes, lens, n, eos, n_eos, out);
    for (int64_t i = 0; bytes && i < done; i++) free(bytes[i]);
    free(bytes);
    free(lens);
    return st;
}
