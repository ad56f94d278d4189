/*
 * chat_template_internal.h: the pieces of src/tokenizer/chat_template*.c that tests and the
 * fuzz target reach directly. Not under include/.
 */
#ifndef ECO_TOKENIZER_CHAT_TEMPLATE_INTERNAL_H
#define ECO_TOKENIZER_CHAT_TEMPLATE_INTERNAL_H

#include <stddef.h>

#include "ecology/core.h"

/* The normalised form of a Jinja template that recognition matches on (chat_template.h):
 * appended to b (NUL-terminated). EFORMAT "LABEL: chat_template: ..." for a tag, comment or
 * string that is not closed; ENOMEM. */
eco_status eco_chat_template_normalise(const char *s, size_t n, const char *label, eco_buf *b);

/* Python's str.strip() with no argument, which Jinja's trim filter is too: the span of
 * s[0..n) (valid UTF-8) without leading and trailing white space as str.isspace() has it
 * (U+0009..U+000D, U+001C..U+001F, U+0020, U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
 * U+2029, U+202F, U+205F, U+3000). */
void eco_chat_py_strip(const char *s, size_t n, size_t *start, size_t *len);

#endif
