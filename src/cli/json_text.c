/* Model output as a JSON string: invalid UTF-8 becomes U+FFFD. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

json_t *cli_json_text(const char *text, size_t len) {
    size_t n = 0;
    char *buf = eco_utf8_lossy(text, len, &n);
    if (!buf) return json_string("");
    json_t *v = json_stringn(buf, n);
    free(buf);
    return v ? v : json_string("");
}
