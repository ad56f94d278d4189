/* verifier_internal: helpers shared by the verifier's text checks (refusal.c, deny_list.c,
 * text_norm.c). Internal to the verifier module. */
#ifndef ECO_VERIFIER_INTERNAL_H
#define ECO_VERIFIER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A word character of the deny list's and the openings' boundaries: a letter, a digit (any
 * number category), a combining mark, or '_'. */
bool vf_is_word(uint32_t cp);
/* The code point starting at s[p] (s is n bytes of valid UTF-8), 0 at the end. */
uint32_t vf_cp_at(const char *s, size_t n, size_t p);
/* The code point ending just before s[p], 0 at the start. */
uint32_t vf_cp_before(const char *s, size_t n, size_t p);

#endif
