/* The remote module's shared pieces (response.c's parser, read by stream.c for each event). */
#ifndef ECO_REMOTE_INTERNAL_H
#define ECO_REMOTE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/remote.h"

/* eco_remote_parse_completion, and with chunk true a streamed chunk's: "choices" may be empty
 * (the usage chunk; out->text stays NULL) and an object with "error" is the server's error
 * (EIO with its message). */
eco_status remote_parse_answer(const char *body, size_t len, const char *label, bool chunk,
                               eco_remote_completion *out);

#endif
