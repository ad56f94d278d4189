/*
 * libFuzzer target: structured output's recogniser (eco_json_constraint_*). The input is a
 * schema, then optionally the line "=====" and bytes to feed (with no such line, the schema
 * text itself is fed; an empty schema part means json_object). A schema the decoder refuses
 * must leave *out NULL with EUNSUPPORTED, ERANGE or EFORMAT. Then, byte by byte: feed agrees
 * with next_bytes, a state that is not complete always allows some byte (no dead end), every
 * complete prefix validates against the schema, and the token mask over a small vocabulary
 * agrees with feeding each token.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ecology/json_schema.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const TOKENS[] = {
    "{",     "}",        "[",    "]",     "\"",   ",",     ":",   " ",   "0",     "1",  "-",
    ".",     "e",        "true", "false", "null", "\"a\"", "{\"", "\":", "\",\"", "}]", "\\",
    "\\u00", "\xc3\xa9", "a",    "12",    "",     ", ",    "\"}", "[]",  "{}",    "\n"};
#define N_TOKENS (sizeof TOKENS / sizeof *TOKENS)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *text = (const char *)data;
    size_t schema_len = size;
    const uint8_t *in = data;
    size_t in_len = size;
    for (size_t i = 0; i + 7 <= size; i++) {
        if (memcmp(text + i, "\n=====\n", 7) == 0) {
            schema_len = i;
            in = data + i + 7;
            in_len = size - i - 7;
            break;
        }
    }
    if (in_len > 4096) in_len = 4096;
    eco_json_schema *s = NULL;
    if (schema_len > 0 && eco_json_schema_compile(text, schema_len, "fuzz", &s) != ECO_STATUS_OK)
        return 0;
    eco_json_schema *any_object = NULL;
    if (!s && eco_json_schema_compile("{\"type\":\"object\"}", 17, "fuzz", &any_object))
        __builtin_trap();
    eco_json_constraint *c = NULL, *probe = NULL;
    eco_status st = eco_json_constraint_create(s, "fuzz", &c, NULL, 0);
    if (st != ECO_STATUS_OK) {
        if (c || (st != ECO_STATUS_EUNSUPPORTED && st != ECO_STATUS_ERANGE &&
                  st != ECO_STATUS_EFORMAT && st != ECO_STATUS_ENOMEM))
            __builtin_trap();
        eco_json_schema_free(s);
        return 0;
    }
    if (eco_json_constraint_create(s, "fuzz", &probe, NULL, 0) != ECO_STATUS_OK) __builtin_trap();
    const eco_json_schema *check = s ? s : any_object;
    size_t fed = 0;
    for (size_t i = 0; i < in_len; i++) {
        bool allowed[256];
        eco_json_constraint_next_bytes(c, allowed);
        bool any = false;
        for (int b = 0; b < 256; b++) any |= allowed[b];
        bool complete = eco_json_constraint_complete(c);
        if (!any && !complete) __builtin_trap(); /* a dead end */
        if (complete) {
            bool valid = false;
            if (eco_json_schema_validate_text(check, (const char *)in, fed, &valid, NULL) ==
                    ECO_STATUS_OK &&
                !valid)
                __builtin_trap();
        }
        bool ok = eco_json_constraint_feed(c, &in[i], 1);
        if (ok != allowed[in[i]]) __builtin_trap();
        if (!ok) break;
        fed++;
    }
    /* the token mask where the feed stopped */
    const uint8_t *bytes[N_TOKENS];
    size_t lens[N_TOKENS];
    for (size_t i = 0; i < N_TOKENS; i++) {
        bytes[i] = (const uint8_t *)TOKENS[i];
        lens[i] = strlen(TOKENS[i]);
    }
    int32_t eos = 26; /* the empty token */
    eco_token_vocab *v = NULL;
    if (eco_token_vocab_create(bytes, lens, N_TOKENS, &eos, 1, &v) != ECO_STATUS_OK)
        __builtin_trap();
    float logits[N_TOKENS] = {0};
    size_t n_allowed = 0;
    bool complete = false;
    eco_decode_constraint *d = eco_json_constraint_decoder(c);
    if (d->mask(d, v, logits, &n_allowed, &complete) != ECO_STATUS_OK) __builtin_trap();
    size_t count = 0;
    for (size_t id = 0; id < N_TOKENS; id++) {
        eco_json_constraint_reset(probe);
        if (!eco_json_constraint_feed(probe, in, fed)) __builtin_trap();
        bool want = id == (size_t)eos ? eco_json_constraint_complete(probe)
                                      : eco_json_constraint_feed(probe, bytes[id], lens[id]);
        if (want != !isinf(logits[id])) __builtin_trap();
        count += want;
    }
    if (count != n_allowed || complete != eco_json_constraint_complete(c)) __builtin_trap();
    eco_token_vocab_free(v);
    eco_json_constraint_free(c);
    eco_json_constraint_free(probe);
    eco_json_schema_free(s);
    eco_json_schema_free(any_object);
    return 0;
}
