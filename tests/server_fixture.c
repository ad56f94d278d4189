#include "server_fixture.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test_util.h"

#include "ecology/registry.h"

void eco_test_server_prepare(eco_test_server *f, const char *alias, const char *admin_name) {
    f->tmp = eco_test_tmpdir();
    f->data = eco_path_join(f->tmp, "data");
    eco_registry *r = NULL;
    char *key = eco_test_registry_with_key(f->data, &r);
    char *base = eco_test_source_path("data/models/eco-tiny");
    char *rev = eco_test_source_path("data/adapters/text.reverse@1");
    const char *caps[] = {"text.reverse@1"};
    eco_add_options ob = {.id = "eco-tiny", .sign_key = key};
    eco_add_options oa = {.id = "reverse",
                          .base = "eco-tiny",
                          .capabilities = caps,
                          .n_capabilities = 1,
                          .sign_key = key};
    ECO_ASSERT_OK(eco_registry_add_dir(r, base, &ob, NULL));
    ECO_ASSERT_OK(eco_registry_add_dir(r, rev, &oa, NULL));
    if (alias) ECO_ASSERT_OK(eco_registry_alias_set(r, alias, "reverse", NULL));
    eco_registry_close(r);
    free(key);
    free(base);
    free(rev);
    f->keys = eco_path_join(f->tmp, "keys.json");
    eco_buf keys = {0};
    assert_true(eco_buf_printf(&keys,
                               "{\"keys\":[{\"key\":\"" KEY_INF "\",\"scope\":\"inference\"},"
                               "{\"key\":\"" KEY_ADMIN "\",\"scope\":\"admin\"%s%s%s}]}",
                               admin_name ? ",\"name\":\"" : "", admin_name ? admin_name : "",
                               admin_name ? "\"" : ""));
    eco_test_write_file(f->keys, keys.data, keys.len);
    eco_buf_free(&keys);
}

void eco_test_server_start(eco_test_server *f, bool report_public) {
    eco_server_options o;
    eco_server_options_init(&o);
    o.data_dir = f->data;
    o.api_keys = f->keys;
    o.threads = 2;
    o.report_public = report_public;
    ECO_ASSERT_OK(eco_server_start(&o, &f->srv));
    f->port = eco_server_port(f->srv);
    assert_true(f->port > 0);
    snprintf(f->base_url, sizeof f->base_url, "http://127.0.0.1:%u/v1", (unsigned)f->port);
}

void eco_test_server_close(eco_test_server *f) {
    eco_server_stop(f->srv, 30);
    f->srv = NULL;
    eco_test_rmtree(f->tmp);
    free(f->tmp);
    free(f->data);
    free(f->keys);
}

int eco_test_server_setup(void **state) {
    eco_test_server *f = calloc(1, sizeof *f);
    assert_non_null(f);
    eco_test_server_prepare(f, NULL, NULL);
    eco_test_server_start(f, false);
    *state = f;
    return 0;
}

int eco_test_server_teardown(void **state) {
    eco_test_server *f = *state;
    eco_test_server_close(f);
    free(f);
    return 0;
}

int eco_test_http(uint16_t port, const char *method, const char *path, const char *key,
                  const char *body, char **out) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    eco_buf req = {0};
    assert_true(eco_buf_printf(&req, "%s %s HTTP/1.0\r\nHost: x\r\n", method, path));
    if (key) assert_true(eco_buf_printf(&req, "Authorization: Bearer %s\r\n", key));
    if (body)
        assert_true(eco_buf_printf(
            &req, "Content-Type: application/json\r\nContent-Length: %zu\r\n", strlen(body)));
    assert_true(eco_buf_puts(&req, "\r\n") && (!body || eco_buf_puts(&req, body)));
    for (size_t sent = 0; sent < req.len;) {
        ssize_t n = send(fd, req.data + sent, req.len - sent, MSG_NOSIGNAL);
        assert_true(n > 0);
        sent += (size_t)n;
    }
    eco_buf_free(&req);
    eco_buf resp = {0};
    char chunk[4096];
    ssize_t n;
    while ((n = recv(fd, chunk, sizeof chunk, 0)) > 0)
        assert_true(eco_buf_append(&resp, chunk, (size_t)n));
    close(fd);
    int status = 0;
    assert_non_null(resp.data);
    assert_int_equal(sscanf(resp.data, "HTTP/1.%*d %d", &status), 1);
    const char *b = strstr(resp.data, "\r\n\r\n");
    assert_non_null(b);
    if (out) *out = eco_strdup(b + 4);
    eco_buf_free(&resp);
    return status;
}

json_t *eco_test_parse(const char *text) {
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);
    if (!j) print_error("not JSON (%s): %.300s\n", e.text, text);
    assert_non_null(j);
    return j;
}
