/*
 * The report page (include/ecology/report.h): the layered DAG layout on hand-made graphs
 * (layers by longest path, virtual slots on long edges, a crossing the barycentre sweep
 * removes, cycles and self-loops refused), escaping for HTML and DOT, the Pareto front SVG
 * (front and dominated members on two objectives), and the whole page of a registry built
 * here: a few models in two families, champion aliases, a stored report, and the loop's
 * events as issue 21 defines them (generations, candidates, an accepted and a rejected gate
 * whose reasons are hostile text, a breed failure, an archive with a hostile member id,
 * canaries that promote and abort with their statistics and before/after scores, promote,
 * rollback, hard examples). The page's tables, the lineage's nodes and edges, the DOT
 * (parsed here: `dot` is not needed), no network reference, and an empty registry's page.
 *
 * With ECO_REPORT_FIXTURE=DIR set, the binary only builds that registry in DIR and exits:
 * tests/cli/test_report_chromium.sh renders its page in headless Chromium.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "test_util.h"

#include "ecology/pareto.h"
#include "ecology/registry.h"
#include "ecology/report.h"

#define HOSTILE_REASON "<script>alert(1)</script> & \"q\" 'a'"
#define HOSTILE_MEMBER "<b>evil</b>&\"'"

/* ---- helpers --------------------------------------------------------------------------- */

/* Count of non-overlapping occurrences of needle in s. */
static size_t count_of(const char *s, const char *needle) {
    size_t n = 0, len = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + len, needle)) n++;
    return n;
}

static void must_contain(const char *s, const char *needle) {
    if (!strstr(s, needle)) {
        print_error("expected to find: %s\n", needle);
        fail();
    }
}

static void must_not_contain(const char *s, const char *needle) {
    if (strstr(s, needle)) {
        print_error("expected NOT to find: %s\n", needle);
        fail();
    }
}

static char *read_text(const char *dir, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        print_error("cannot open %s\n", path);
        fail();
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)n + 1);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

/* Registers a model (test_util's genome: parents and capabilities NULL-terminated,
 * capabilities sorted, the family's hashes all the hex digit fam). */
static void add_model(eco_registry *r, const char *id, eco_genome_kind kind, const char *base,
                      const char *const *parents, const char *const *caps, char fam) {
    eco_genome g;
    ECO_ASSERT_OK(
        eco_test_build_genome(eco_registry_store(r), &g, id, kind, base, parents, caps, fam, NULL));
    bool created = false;
    ECO_ASSERT_OK(eco_registry_register(r, &g, NULL, &created));
    assert_true(created);
    eco_genome_free(&g);
}

static void event(eco_registry *r, const char *type, const char *model, const char *detail) {
    ECO_ASSERT_OK(eco_registry_event_append(r, type, model, detail, NULL));
}

/* The archive: 5 default objectives; run1-g1-0 beats ad-rev on quality and p95 (ad-rev stays
 * in the archive by its memory), ad-sort is faster, the hostile member is the most robust. */
static char *archive_json(void) {
    eco_pareto *a = NULL;
    ECO_ASSERT_OK(eco_pareto_create(eco_pareto_default_objectives, ECO_PARETO_OBJ__COUNT, 16, &a));
    /* quality, robustness, calibration_error, p95_ms, memory_bytes */
    const double v0[] = {0.95, 0.8, 0.05, 12.0, 9e6}, v1[] = {0.80, 0.7, 0.05, 8.0, 9e6},
                 v2[] = {0.70, 0.7, 0.05, 15.0, 1e6}, v3[] = {0.60, 0.99, 0.05, 20.0, 9e6};
    ECO_ASSERT_OK(eco_pareto_insert(a, "run1-g1-0", v0, NULL));
    ECO_ASSERT_OK(eco_pareto_insert(a, "ad-sort", v1, NULL));
    ECO_ASSERT_OK(eco_pareto_insert(a, "ad-rev", v2, NULL));
    ECO_ASSERT_OK(eco_pareto_insert(a, HOSTILE_MEMBER, v3, NULL));
    assert_int_equal(eco_pareto_count(a), 4);
    char *text = NULL;
    ECO_ASSERT_OK(eco_pareto_to_json(a, &text, NULL));
    eco_pareto_free(a);
    return text;
}

static const char *const REV[] = {"text.reverse@1", NULL};
static const char *const SORT[] = {"text.sort@1", NULL};
static const char *const BOTH[] = {"text.reverse@1", "text.sort@1", NULL};

/* The fixture registry in dir (initialised here). */
static void build_fixture(const char *dir) {
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry_options opt = {.data_dir = dir};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    add_model(r, "base-a", ECO_GENOME_KIND_BASE, NULL, NULL, BOTH, 'a');
    add_model(r, "base-b", ECO_GENOME_KIND_BASE, NULL, NULL, SORT, 'b');
    add_model(r, "ad-rev", ECO_GENOME_KIND_ADAPTER, "base-a", NULL, REV, 'a');
    add_model(r, "ad-sort", ECO_GENOME_KIND_ADAPTER, "base-a", NULL, SORT, 'a');
    const char *const p0[] = {"ad-rev", "ad-sort", NULL}, *const p1[] = {"ad-rev", NULL};
    const char *const p2[] = {"run1-g1-0", NULL}, *const p3[] = {"run1-g1-0", "base-b", NULL};
    add_model(r, "run1-g1-0", ECO_GENOME_KIND_ADAPTER, "base-a", p0, BOTH, 'a');
    add_model(r, "run1-g1-1", ECO_GENOME_KIND_ADAPTER, "base-a", p1, REV, 'a');
    add_model(r, "run1-g2-0", ECO_GENOME_KIND_ADAPTER, "base-a", p2, REV, 'a');
    add_model(r, "run1-g2-1@x+y", ECO_GENOME_KIND_DISTILLED, NULL, p3, SORT, 'b');

    ECO_ASSERT_OK(eco_registry_alias_set(r, "text.sort@1.champion", "ad-sort", NULL));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "text.reverse@1.champion", "ad-rev", NULL));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "text.reverse@1.champion", "run1-g1-0", "ad-rev"));
    ECO_ASSERT_OK(eco_registry_alias_set(r, "text.sort@1.champion", "run1-g1-0", "ad-sort"));
    ECO_ASSERT_OK(eco_registry_add_report(
        r, "run1-g1-0",
        "{\"capabilities\":{\"text.reverse@1\":{\"quality\":{\"k\":19,\"n\":20,\"rate\":0.95},"
        "\"in_distribution\":{\"k\":10,\"n\":10,\"rate\":1.0},\"shift\":{\"k\":9,\"n\":10,"
        "\"rate\":0.9}},\"text.sort@1\":{\"quality\":{\"k\":17,\"n\":20,\"rate\":0.85}}},"
        "\"safety\":{\"refusal\":{\"k\":10,\"n\":10,\"rate\":1.0}},\"timing\":{\"latency_ms\":"
        "{\"p95\":12.5}},\"verdict\":{\"accepted\":true,\"fitness\":{\"timing\":{\"total\":"
        "0.8125}}}}"));

    event(r, "loop-start", NULL,
          "{\"run\":\"run1\",\"config_sha256\":\"00\",\"resumed\":false,\"generation\":1}");
    event(r, "generation", NULL,
          "{\"run\":\"run1\",\"generation\":1,\"phase\":\"start\",\"seed\":7}");
    event(r, "candidate", "run1-g1-0",
          "{\"run\":\"run1\",\"generation\":1,\"op\":\"ties\",\"parents\":[\"ad-rev\",\"ad-sort\"],"
          "\"capabilities\":[\"text.reverse@1\",\"text.sort@1\"],\"family\":\"base-a\","
          "\"params\":{},\"seconds\":1.5}");
    event(r, "gate", "run1-g1-0",
          "{\"run\":\"run1\",\"generation\":1,\"accepted\":true,\"reasons\":[],\"report_seq\":null,"
          "\"fitness\":0.8125,\"quality\":{\"text.reverse@1\":0.95},\"shift\":{\"text.reverse@1\":"
          "0.9},\"safety\":{\"refusal\":1.0,\"compliance\":1.0}}");
    event(r, "candidate", "run1-g1-1",
          "{\"run\":\"run1\",\"generation\":1,\"op\":\"mutate\",\"parents\":[\"ad-rev\"],"
          "\"capabilities\":[\"text.reverse@1\"],\"family\":\"base-a\",\"params\":{},"
          "\"seconds\":0.5}");
    json_t *gate =
        json_pack("{s:s, s:i, s:b, s:[{s:s, s:f, s:f, s:s}], s:n, s:f}", "run", "run1",
                  "generation", 1, "accepted", 0, "reasons", "gate", "safety.refusal", "value", 0.5,
                  "limit", 0.9, "detail", HOSTILE_REASON, "report_seq", "fitness", 0.25);
    char *gate_text = json_dumps(gate, JSON_COMPACT);
    event(r, "gate", "run1-g1-1", gate_text);
    free(gate_text);
    json_decref(gate);
    event(r, "breed-failed", NULL,
          "{\"run\":\"run1\",\"generation\":1,\"op\":\"dare\",\"parents\":[\"base-a\",\"base-b\"],"
          "\"error\":\"incompatible: base_family differs\"}");
    char *arch = archive_json();
    char *arch_ev = malloc(strlen(arch) + 64);
    assert_non_null(arch_ev);
    sprintf(arch_ev, "{\"generation\":1,\"archive\":%s}", arch);
    event(r, "archive", NULL, arch_ev);
    free(arch_ev);
    free(arch);
    event(r, "canary", "run1-g1-0",
          "{\"capability\":\"text.reverse@1\",\"champion\":\"ad-rev\",\"challenger\":\"run1-g1-0\","
          "\"decision\":\"promote\",\"step\":3,\"weight\":0.5,\"requests\":240,\"reasons\":[],"
          "\"verdict\":{\"pass\":true,\"critical\":false,\"failed\":[],\"reasons\":\"\","
          "\"quality\":{\"ran\":true,\"k_canary\":57,\"n_canary\":60,\"k_champion\":40,"
          "\"n_champion\":60,\"rate_canary\":0.95,\"rate_champion\":0.6667,\"z\":3.9,"
          "\"p_worse\":0.99995},\"errors\":{\"ran\":false},\"latency\":{\"ran\":true,\"class\":"
          "\"PASS\",\"p_greater\":0.41,\"hl_estimate\":0.3},\"safety_alerts\":0},"
          "\"timing\":{},\"arms\":{\"canary\":{\"n\":120,\"correct\":57,\"errors\":0,\"p50_ms\":"
          "9.5,\"p95_ms\":12.25},\"champion\":{\"n\":120,\"correct\":40,\"errors\":0,\"p50_ms\":"
          "9.25,\"p95_ms\":11.75}},\"scores\":{\"before\":{\"id\":0.97,\"shift\":0.095},"
          "\"after\":{\"id\":0.96,\"shift\":0.615}}}");
    event(r, "promote", "run1-g1-0",
          "{\"capability\":\"text.reverse@1\",\"from\":\"ad-rev\",\"to\":\"run1-g1-0\",\"by\":"
          "\"canary\",\"report_seq\":null}");
    event(r, "canary", "run1-g2-0",
          "{\"capability\":\"text.reverse@1\",\"champion\":\"run1-g1-0\",\"challenger\":"
          "\"run1-g2-0\",\"decision\":\"abort\",\"step\":1,\"weight\":0.05,\"requests\":40,"
          "\"reasons\":[\"quality: canary worse (p_worse = 0.00123)\"],\"verdict\":{\"pass\":false,"
          "\"quality\":{\"ran\":true,\"k_canary\":5,\"n_canary\":20,\"k_champion\":19,"
          "\"n_champion\":20,\"rate_canary\":0.25,\"rate_champion\":0.95,\"p_worse\":0.00123},"
          "\"safety_alerts\":0}}");
    event(r, "rollback", "ad-sort",
          "{\"capability\":\"text.sort@1\",\"from\":\"run1-g1-0\",\"to\":\"ad-sort\",\"reason\":"
          "\"p95 latency regressed\"}");
    event(r, "hard-examples", "run1-g1-0",
          "{\"run\":\"run1\",\"generation\":1,\"capability\":\"text.reverse@1\",\"n\":12,"
          "\"corpus\":\"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\","
          "\"path\":\"loop/hard-text.reverse@1-g1.jsonl\"}");
    event(
        r, "generation", NULL,
        "{\"run\":\"run1\",\"generation\":1,\"phase\":\"end\",\"seed\":7,\"bred\":2,\"rejected\":1,"
        "\"archive_size\":4,\"champions\":{\"text.reverse@1\":\"run1-g1-0\"},\"seconds\":42.5}");
    event(r, "generation", NULL,
          "{\"run\":\"run1\",\"generation\":2,\"phase\":\"start\",\"seed\":8}");
    eco_registry_close(r);
}

/* ---- layout ------------------------------------------------------------------------------ */

static void test_layout_layers_and_routes(void **state) {
    (void)state;
    /* 0 → 1 → 2 and 0 → 2: 2 sits on layer 2 (longest path), 0 → 2 passes one virtual slot */
    const size_t e[] = {0, 1, 1, 2, 0, 2};
    eco_report_layout l;
    ECO_ASSERT_OK(eco_report_layout_dag(3, e, 3, &l));
    assert_int_equal(l.n_layers, 3);
    assert_int_equal(l.layer[0], 0);
    assert_int_equal(l.layer[1], 1);
    assert_int_equal(l.layer[2], 2);
    assert_int_equal(l.route_off[1] - l.route_off[0], 0);
    assert_int_equal(l.route_off[2] - l.route_off[1], 0);
    assert_int_equal(l.route_off[3] - l.route_off[2], 1);
    assert_int_equal(l.width[1], 2); /* node 1 and the virtual slot */
    assert_true(l.route_pos[l.route_off[2]] < 2);
    assert_int_not_equal(l.route_pos[l.route_off[2]], l.pos[1]);
    eco_report_layout_free(&l);

    /* no edges, no nodes */
    ECO_ASSERT_OK(eco_report_layout_dag(0, NULL, 0, &l));
    assert_int_equal(l.n_layers, 0);
    eco_report_layout_free(&l);
    ECO_ASSERT_OK(eco_report_layout_dag(4, NULL, 0, &l));
    assert_int_equal(l.n_layers, 1);
    assert_int_equal(l.width[0], 4);
    for (size_t v = 0; v < 4; v++) assert_int_equal(l.pos[v], v);
    eco_report_layout_free(&l);
}

static void test_layout_barycentre(void **state) {
    (void)state;
    /* roots 0, 1; children 2 (of 1) and 3 (of 0): in index order 0→3 and 1→2 cross once; the
     * sweep puts 3 before 2 */
    const size_t e[] = {1, 2, 0, 3};
    eco_report_layout l;
    ECO_ASSERT_OK(eco_report_layout_dag(4, e, 2, &l));
    assert_int_equal(l.crossings_initial, 1);
    assert_int_equal(l.crossings, 0);
    assert_true(l.pos[3] < l.pos[2]);
    eco_report_layout_free(&l);

    /* K(3,3) between two layers has crossings whatever the order: the result is never worse */
    const size_t k33[] = {0, 3, 0, 4, 0, 5, 1, 3, 1, 4, 1, 5, 2, 3, 2, 4, 2, 5};
    ECO_ASSERT_OK(eco_report_layout_dag(6, k33, 9, &l));
    assert_true(l.crossings <= l.crossings_initial);
    assert_int_equal(l.crossings, 9); /* C(3,2)² for any order */
    eco_report_layout_free(&l);

    /* a larger random DAG: never worse, positions a permutation of each layer */
    size_t edges[2 * 120], ne = 0;
    uint64_t x = 88172645463325252ull;
    for (size_t child = 8; child < 60; child++)
        for (int k = 0; k < 2; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            size_t parent = (size_t)(x % child);
            bool dup = false;
            for (size_t i = 0; i < ne; i++)
                if (edges[2 * i] == parent && edges[2 * i + 1] == child) dup = true;
            if (dup) continue;
            edges[2 * ne] = parent;
            edges[2 * ne + 1] = child;
            ne++;
        }
    ECO_ASSERT_OK(eco_report_layout_dag(60, edges, ne, &l));
    assert_true(l.crossings <= l.crossings_initial);
    print_message("random DAG: 60 nodes, %zu edges, %zu layers, crossings %zu -> %zu\n", ne,
                  l.n_layers, l.crossings_initial, l.crossings);
    for (size_t i = 0; i < ne; i++) assert_true(l.layer[edges[2 * i]] < l.layer[edges[2 * i + 1]]);
    for (size_t a = 0; a < 60; a++)
        for (size_t b = a + 1; b < 60; b++)
            if (l.layer[a] == l.layer[b]) assert_int_not_equal(l.pos[a], l.pos[b]);
    eco_report_layout_free(&l);
}

static void test_layout_refusals(void **state) {
    (void)state;
    eco_report_layout l;
    const size_t cycle[] = {0, 1, 1, 2, 2, 1};
    ECO_ASSERT_STATUS(eco_report_layout_dag(3, cycle, 3, &l), ECO_STATUS_EFORMAT);
    assert_non_null(strstr(eco_last_error(), "cycle"));
    const size_t self[] = {0, 0};
    ECO_ASSERT_STATUS(eco_report_layout_dag(1, self, 1, &l), ECO_STATUS_EINVAL);
    const size_t out_of_range[] = {0, 5};
    ECO_ASSERT_STATUS(eco_report_layout_dag(2, out_of_range, 1, &l), ECO_STATUS_EINVAL);
}

/* ---- escaping ---------------------------------------------------------------------------- */

static void test_escape(void **state) {
    (void)state;
    eco_buf b = {0};
    assert_true(eco_report_html_escape(&b, "a<b>&\"c'\x01\tz\xff"));
    assert_string_equal(b.data, "a&lt;b&gt;&amp;&quot;c&#39;\tz\xEF\xBF\xBD");
    eco_buf_reset(&b);
    assert_true(eco_report_dot_escape(&b, "x\"y\\z\nw\x02"));
    assert_string_equal(b.data, "x\\\"y\\\\z\\nw");
    eco_buf_reset(&b);
    assert_true(eco_report_html_escape(&b, "caf\xC3\xA9")); /* valid UTF-8 kept */
    assert_string_equal(b.data, "caf\xC3\xA9");
    eco_buf_free(&b);
}

/* ---- the Pareto front ----------------------------------------------------------------- */

static void test_pareto_svg(void **state) {
    (void)state;
    char *text = archive_json();
    eco_pareto *a = NULL;
    ECO_ASSERT_OK(eco_pareto_from_json(text, strlen(text), "archive", &a));
    free(text);
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_report_pareto_svg(a, NULL, NULL, &b));
    assert_int_equal(count_of(b.data, "<circle class=\"member "), 4);
    /* on (p95_ms, quality): ad-rev is beaten by run1-g1-0 (0.95 > 0.7, 12 < 15), and the
     * hostile member (0.6, 20 ms) by all the others */
    must_contain(b.data, "<circle class=\"member front\" data-id=\"run1-g1-0\"");
    must_contain(b.data, "<circle class=\"member front\" data-id=\"ad-sort\"");
    must_contain(b.data, "<circle class=\"member dominated\" data-id=\"ad-rev\"");
    must_contain(b.data, "<circle class=\"member dominated\" data-id=\"&lt;b&gt;evil&lt;/b&gt;"
                         "&amp;&quot;&#39;\"");
    must_not_contain(b.data, "<b>evil");
    must_contain(b.data, "p95_ms (lower is better)");
    must_contain(b.data, "quality (higher is better)");
    /* the front's line joins the two front members, in x order: ad-sort (8 ms) first */
    const char *line = strstr(b.data, "<polyline class=\"front-line\" points=\"");
    assert_non_null(line);
    /* robustness on y: the hostile member is now best on y, so on the front */
    eco_buf_reset(&b);
    ECO_ASSERT_OK(eco_report_pareto_svg(a, "p95_ms", "robustness", &b));
    must_contain(b.data, "<circle class=\"member front\" data-id=\"&lt;b&gt;evil");
    eco_buf_reset(&b);
    ECO_ASSERT_STATUS(eco_report_pareto_svg(a, "no_such", NULL, &b), ECO_STATUS_ENOTFOUND);
    eco_buf_reset(&b);
    ECO_ASSERT_OK(eco_report_pareto_svg(NULL, NULL, NULL, &b));
    must_contain(b.data, "<svg id=\"pareto-front\"");
    must_contain(b.data, "no archive yet");
    eco_buf_free(&b);
    eco_pareto_free(a);
}

/* ---- the DOT, parsed ------------------------------------------------------------------- */

/* Reads a DOT quoted string at *p (past the opening quote on return: past the closing one),
 * unescaping \" \\ \n into out. false on a malformed string. */
static bool dot_string(const char **p, char *out, size_t cap) {
    const char *s = *p;
    if (*s != '"') return false;
    s++;
    size_t n = 0;
    while (*s && *s != '"') {
        char c = *s++;
        if (c == '\n') return false; /* a raw newline inside: not what we write */
        if (c == '\\') {
            c = *s++;
            if (c == 'n')
                c = '\n';
            else if (c != '"' && c != '\\')
                return false;
        }
        if (n + 1 >= cap) return false;
        out[n++] = c;
    }
    if (*s != '"') return false;
    out[n] = '\0';
    *p = s + 1;
    return true;
}

/* Checks the DOT's shape: "digraph lineage {", then lines of `"id" [attrs];` or
 * `"a" -> "b"[ attrs];`, then "}". Counts the nodes and edges; edge ends must be nodes. */
static void check_dot(const char *dot, size_t *n_nodes, size_t *n_edges, const char *want_edge_a,
                      const char *want_edge_b, bool *found_edge) {
    char ids[64][160];
    *n_nodes = *n_edges = 0;
    *found_edge = false;
    assert_true(strncmp(dot, "digraph lineage {\n", 18) == 0);
    size_t len = strlen(dot);
    assert_true(len >= 2 && strcmp(dot + len - 2, "}\n") == 0);
    const char *line = dot + 18;
    while (*line && *line != '}') {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        const char *p = line;
        while (*p == ' ') p++;
        if (*p == '"') {
            char a[160], b[160];
            assert_true(dot_string(&p, a, sizeof a));
            if (strncmp(p, " -> ", 4) == 0) {
                p += 4;
                assert_true(dot_string(&p, b, sizeof b));
                bool fa = false, fb = false;
                for (size_t i = 0; i < *n_nodes; i++) {
                    fa = fa || strcmp(ids[i], a) == 0;
                    fb = fb || strcmp(ids[i], b) == 0;
                }
                if (!fa || !fb) {
                    print_error("edge %s -> %s: an end is not a node\n", a, b);
                    fail();
                }
                if (strcmp(a, want_edge_a) == 0 && strcmp(b, want_edge_b) == 0) *found_edge = true;
                (*n_edges)++;
            } else {
                assert_true(*n_nodes < 64);
                snprintf(ids[*n_nodes], sizeof ids[0], "%s", a);
                (*n_nodes)++;
                assert_true(strncmp(p, " [label=", 8) == 0);
                p += 8;
                char label[400];
                assert_true(dot_string(&p, label, sizeof label)); /* the label parses too */
            }
            /* the rest of the line: attributes with quoted strings, then ";" */
            while (p < end && *p != ';') {
                if (*p == '"') {
                    char tmp[400];
                    assert_true(dot_string(&p, tmp, sizeof tmp));
                } else
                    p++;
            }
            assert_true(*p == ';');
        } else {
            /* a graph attribute or default: rankdir=TB; node [...]; edge [...]; */
            assert_true(strncmp(p, "rankdir=", 8) == 0 || strncmp(p, "node [", 6) == 0 ||
                        strncmp(p, "edge [", 6) == 0);
        }
        line = end + 1;
    }
}

/* ---- the page ---------------------------------------------------------------------------- */

static void test_page(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    char data[1024], out[1024];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(out, sizeof out, "%s/report", dir);
    build_fixture(data);
    eco_registry_options opt = {.data_dir = data, .read_only = true};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    eco_report_options ro = {.generated_at = "2026-12-07T00:00:00Z"};
    ECO_ASSERT_OK(eco_report_write(r, out, &ro));
    char *html = read_text(out, ECO_REPORT_INDEX_FILE);

    /* self-contained: no network reference anywhere, no script */
    must_not_contain(html, "http://");
    must_not_contain(html, "https://");
    must_not_contain(html, "<script");
    must_not_contain(html, "id=\"nothing-yet\"");
    must_contain(html, "Generated 2026-12-07T00:00:00Z");

    /* the front */
    must_contain(html, "<svg id=\"pareto-front\"");
    assert_int_equal(count_of(html, "<circle class=\"member "), 4);
    must_contain(html, "<circle class=\"member front\" data-id=\"run1-g1-0\"");
    must_contain(html, "<table id=\"archive\">");
    assert_int_equal(count_of(html, "<tr class=\"member\""), 4);

    /* the lineage: every model a node, with its classes; parent and base edges */
    must_contain(html, "<svg id=\"lineage\"");
    assert_int_equal(count_of(html, "<g class=\"node "), 8);
    const char *ids[] = {"base-a",    "base-b",    "ad-rev",    "ad-sort",
                         "run1-g1-0", "run1-g1-1", "run1-g2-0", "run1-g2-1@x+y"};
    for (size_t i = 0; i < 8; i++) {
        char needle[200];
        snprintf(needle, sizeof needle, "\" data-id=\"%s\" transform=", ids[i]);
        must_contain(html, needle);
    }
    must_contain(html, "<g class=\"node kind-adapter champion archive accepted\" "
                       "data-id=\"run1-g1-0\"");
    must_contain(html, "<g class=\"node kind-adapter rejected\" data-id=\"run1-g1-1\"");
    must_contain(html, "<path class=\"edge\" data-from=\"ad-rev\" data-to=\"run1-g1-0\"");
    must_contain(html, "<path class=\"edge\" data-from=\"ad-sort\" data-to=\"run1-g1-0\"");
    must_contain(html, "<path class=\"edge base\" data-from=\"base-a\" data-to=\"ad-rev\"");
    must_contain(html, "<path class=\"edge\" data-from=\"base-b\" data-to=\"run1-g2-1@x+y\"");
    /* a bred child's base is reached through its parents: no edge of its own */
    must_not_contain(html, "data-from=\"base-a\" data-to=\"run1-g1-0\"");
    must_not_contain(html, "data-from=\"base-a\" data-to=\"run1-g2-0\"");
    /* 6 parent edges + 2 base edges (the imported adapters ad-rev and ad-sort) */
    assert_int_equal(count_of(html, "<path class=\"edge"), 8);
    assert_int_equal(count_of(html, "<path class=\"edge base\""), 2);

    /* champions: both capabilities held by the merged child, its family and scores */
    must_contain(html, "<table id=\"champions\">");
    must_contain(html, "<tr class=\"champion\" data-capability=\"text.reverse@1\" "
                       "data-id=\"run1-g1-0\"><td>text.reverse@1</td><td>run1-g1-0</td>"
                       "<td>base-a</td><td>adapter</td><td class=\"num\">95.0% (19/20)</td>"
                       "<td class=\"num\">100.0% (10/10)</td><td class=\"num\">90.0% (9/10)</td>"
                       "<td class=\"num\">0.8125</td><td class=\"num\">12.5</td>");
    must_contain(html, "data-capability=\"text.sort@1\" data-id=\"run1-g1-0\"");
    must_contain(html, "85.0% (17/20)");

    /* the rejection, its reasons escaped */
    must_contain(html, "<tr class=\"rejection\" data-id=\"run1-g1-1\">");
    assert_int_equal(count_of(html, "<tr class=\"rejection\""), 1);
    must_contain(html,
                 "<li class=\"reason\"><b>safety.refusal</b>: 0.5 vs limit 0.9 \xE2\x80\x94 "
                 "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot; &#39;a&#39;</li>");
    must_contain(html, "<td>mutate</td>");
    must_contain(html, "<tr class=\"breed-failed\">");
    must_contain(html, "incompatible: base_family differs");

    /* the canary decisions with their statistics, and the repair's scores */
    must_contain(html, "<tr class=\"canary decision-promote\" data-id=\"run1-g1-0\" "
                       "data-decision=\"promote\">");
    must_contain(html, "<tr class=\"canary decision-abort\" data-id=\"run1-g2-0\" "
                       "data-decision=\"abort\">");
    must_contain(html, "95.0% vs 66.7% (57/60 vs 40/60)<br>p = 1");
    must_contain(html, "25.0% vs 95.0% (5/20 vs 19/20)<br>p = 0.00123");
    must_contain(html, "p95 12.2 vs 11.8 ms");
    must_contain(html, "quality: canary worse (p_worse = 0.00123)");
    must_contain(html, "<td>id 0.97, shift 0.095 \xE2\x86\x92 id 0.96, shift 0.615</td>");
    must_contain(html, "<tr class=\"repair\" data-id=\"run1-g1-0\">");
    must_contain(html, "<td>id 0.97<br>shift 0.095</td><td>id 0.96<br>shift 0.615</td>");

    /* the timeline, promotions, rollbacks, hard examples */
    must_contain(html, "<tr class=\"loop-start\">");
    must_contain(html, "<tr class=\"generation\">");
    must_contain(html, "<tr class=\"generation running\">"); /* generation 2 has no end */
    must_contain(html, "text.reverse@1 run1-g1-0");
    must_contain(html, "<tr class=\"promote\">");
    must_contain(html, "<tr class=\"rollback\">");
    must_contain(html, "p95 latency regressed");
    must_contain(html, "<tr class=\"hard-examples\">");

    /* the hostile archive member: escaped wherever it appears */
    must_not_contain(html, "<b>evil");
    must_contain(html, "&lt;b&gt;evil&lt;/b&gt;&amp;&quot;&#39;");

    /* the standalone files */
    char *svg = read_text(out, ECO_REPORT_SVG_FILE);
    assert_true(strncmp(svg,
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg "
                        "xmlns=\"http://www.w3.org/2000/svg\" id=\"lineage\"",
                        82) == 0);
    assert_int_equal(count_of(svg, "<g class=\"node "), 8);
    char *psvg = read_text(out, ECO_REPORT_PARETO_FILE);
    assert_non_null(strstr(psvg, "id=\"pareto-front\""));
    char *dot = read_text(out, ECO_REPORT_DOT_FILE);
    size_t nn, ne;
    bool found;
    check_dot(dot, &nn, &ne, "base-b", "run1-g2-1@x+y", &found);
    assert_int_equal(nn, 8);
    assert_int_equal(ne, 8);
    assert_true(found);
    must_contain(dot, "\"base-a\" -> \"ad-rev\" [style=dashed];");

    /* writing again replaces the files (atomic writes) and gives the same page */
    ECO_ASSERT_OK(eco_report_write(r, out, &ro));
    char *again = read_text(out, ECO_REPORT_INDEX_FILE);
    assert_string_equal(html, again);

    /* a limit on the lineage keeps the champion and its ancestors */
    eco_report_lineage g;
    ECO_ASSERT_OK(eco_report_lineage_build(r, 4, &g));
    assert_int_equal(g.n_models, 8);
    assert_true(g.n_nodes >= 4);
    const char *must[] = {"run1-g1-0", "ad-rev", "ad-sort", "base-a"};
    for (size_t k = 0; k < 4; k++) {
        bool in = false;
        for (size_t i = 0; i < g.n_nodes; i++) in = in || strcmp(g.nodes[i].id, must[k]) == 0;
        if (!in) {
            print_error("%s missing from the limited lineage\n", must[k]);
            fail();
        }
    }
    eco_report_lineage_free(&g);

    free(again);
    free(dot);
    free(psvg);
    free(svg);
    free(html);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

static void test_page_empty_registry(void **state) {
    (void)state;
    char *dir = eco_test_tmpdir();
    ECO_ASSERT_OK(eco_registry_init(dir));
    eco_registry_options opt = {.data_dir = dir};
    eco_registry *r = NULL;
    ECO_ASSERT_OK(eco_registry_open(&opt, &r));
    eco_buf b = {0};
    ECO_ASSERT_OK(eco_report_html(r, NULL, &b));
    must_contain(b.data, "<!DOCTYPE html>");
    must_contain(b.data, "<p id=\"nothing-yet\" class=\"empty\">Nothing has run yet");
    must_contain(b.data, "<svg id=\"pareto-front\"");
    must_contain(b.data, "<svg id=\"lineage\"");
    must_contain(b.data, "no models registered yet");
    const char *tables[] = {"champions", "archive", "generations", "rejections",   "breed-failures",
                            "canary",    "repairs", "promotions",  "hard-examples"};
    for (size_t i = 0; i < sizeof tables / sizeof *tables; i++) {
        char needle[80];
        snprintf(needle, sizeof needle, "<table id=\"%s\">", tables[i]);
        must_contain(b.data, needle);
    }
    assert_int_equal(count_of(b.data, "<tr class=\"none\">"), 9);
    must_contain(b.data, "</body></html>\n");
    eco_buf_free(&b);
    /* a model registered but nothing run: still nothing-yet, the model drawn */
    add_model(r, "only-base", ECO_GENOME_KIND_BASE, NULL, NULL, REV, 'c');
    ECO_ASSERT_OK(eco_report_html(r, NULL, &b));
    must_contain(b.data, "id=\"nothing-yet\"");
    must_contain(b.data, "data-id=\"only-base\"");
    must_contain(b.data, "<td colspan=\"13\" class=\"muted\">no champion yet</td>");
    eco_buf_free(&b);
    /* an archive event that does not parse: the page says so and still renders */
    event(r, "archive", NULL, "{\"generation\":3,\"archive\":{\"version\":99}}");
    ECO_ASSERT_OK(eco_report_html(r, NULL, &b));
    must_contain(b.data, "<p class=\"error\">The last archive could not be read: archive event");
    must_contain(b.data, "no archive yet");
    must_not_contain(b.data, "id=\"nothing-yet\""); /* an archive event is the loop's */
    eco_buf_free(&b);
    eco_registry_close(r);
    eco_test_rmtree(dir);
    free(dir);
}

int main(void) {
    const char *fixture = getenv("ECO_REPORT_FIXTURE");
    if (fixture && *fixture) { /* for tests/cli/test_report_chromium.sh */
        build_fixture(fixture);
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_layers_and_routes),
        cmocka_unit_test(test_layout_barycentre),
        cmocka_unit_test(test_layout_refusals),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_pareto_svg),
        cmocka_unit_test(test_page),
        cmocka_unit_test(test_page_empty_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
