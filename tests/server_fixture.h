/*
 * The in-process server fixture shared by test_server.c, test_server_admin.c,
 * test_server_select.c and test_remote.c: a registry holding the shipped base
 * (data/models/eco-tiny) and its reverse adapter, a key file with an inference and an admin
 * key, eco_server_start on a free loopback port, a minimal HTTP/1.0 client, and teardown.
 * Linked (with test_util.c) into the tests listed in CMakeLists.txt.
 */
#ifndef ECO_TEST_SERVER_FIXTURE_H
#define ECO_TEST_SERVER_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "ecology/server.h"

#define KEY_INF   "sk-test-inference-1"
#define KEY_ADMIN "sk-test-admin-00001"

typedef struct eco_test_server {
    char *tmp, *data, *keys; /* keys: the key file, NULL for a server without auth */
    eco_server *srv;
    uint16_t port;
    char base_url[64]; /* "http://127.0.0.1:<port>/v1" */
} eco_test_server;

/* f->tmp a fresh folder, f->data = <tmp>/data a registry (eco_test_registry_with_key)
 * holding data/models/eco-tiny as "eco-tiny" and data/adapters/text.reverse@1 as "reverse"
 * (capability text.reverse@1, base eco-tiny), both signed; with alias not NULL, alias points
 * at "reverse". f->keys = <tmp>/keys.json with KEY_INF (scope inference) and KEY_ADMIN (scope
 * admin, named admin_name unless NULL). Fails the test on any error. */
void eco_test_server_prepare(eco_test_server *f, const char *alias, const char *admin_name);
/* Starts the server over f->data with the key file f->keys (none when NULL), 2 threads and
 * report_public; sets f->srv, f->port (checked non-zero) and f->base_url. */
void eco_test_server_start(eco_test_server *f, bool report_public);
/* Stops the server (30 s grace; nothing when f->srv is NULL), removes f->tmp and frees the
 * paths (not f). */
void eco_test_server_close(eco_test_server *f);
/* cmocka setup and teardown: a calloc'd fixture, prepared (no alias, no admin name) and
 * started without report_public, in *state; closed and freed. */
int eco_test_server_setup(void **state);
int eco_test_server_teardown(void **state);

/* method path with key (NULL: none) and body (NULL: none) over HTTP/1.0 to the server on
 * loopback port (no chunking: the server closes the connection after the answer). Returns
 * the status; *out (may be NULL) the body, malloc'd. */
int eco_test_http(uint16_t port, const char *method, const char *path, const char *key,
                  const char *body, char **out);
/* text parsed as JSON; fails the test, printing the text, when it is not JSON. Caller
 * json_decref()s it. */
struct json_t;
struct json_t *eco_test_parse(const char *text);

#endif
