/*
 * report: the ecology loop's report page (issue 21), in the daemon module.
 *
 * One self-contained HTML page (no script, no network reference: every picture is inline
 * SVG and the style sheet is inline) built from the registry alone, so it works for any data
 * folder and the server can serve it live: the event log (the loop's "loop-start",
 * "generation", "candidate", "breed-failed", "gate", "hard-examples", "archive", "canary",
 * "promote" and "rollback" events issue 21 defines; promotion.h lists its own), the stored
 * reports, genomes and lineage, the champion aliases ("C.champion", promotion.h) and their
 * history, and the last archive.
 *
 * The page holds, each under a stable id a test (or a browser) can find:
 *   <svg id="pareto-front">    the archive as a scatter of two objectives; one
 *                              <circle class="member front|dominated" data-id="..."> a member,
 *                              the points no other member beats on both joined by a line
 *   <table id="archive">       every member with all its objectives
 *   <svg id="lineage">         the lineage DAG: <g class="node kind-K [champion] [archive]
 *                              [rejected]" data-id="...">, <path class="edge" data-from data-to>
 *   <table id="champions">     per capability: champion, its base family, its scores
 *   <table id="generations">   the generation timeline
 *   <table id="rejections">    every gate rejection with its reasons (<tr class="rejection">)
 *   <table id="breed-failures">  operators that failed to breed
 *   <table id="canary">        every canary decision with its statistics (<tr class="canary">)
 *   <table id="repairs">       the canaries that carried before/after scores (the OOD repair)
 *   <table id="promotions">    promotions and rollbacks
 *   <table id="hard-examples"> hard examples mined
 *   <p id="nothing-yet">       only when the loop has recorded nothing yet
 * Every text taken from the registry is HTML-escaped; ids are escaped for DOT as well.
 *
 * The lineage is drawn by the project (no Graphviz): a layered DAG layout (Sugiyama):
 * layers by the longest path from a root, long edges split by virtual nodes, the order in
 * each layer improved by barycentre sweeps (kept only where they reduce crossings), edges
 * drawn as paths through their virtual nodes. The same graph is written as DOT.
 */
#ifndef ECOLOGY_REPORT_H
#define ECOLOGY_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "ecology/core.h"
#include "ecology/pareto.h"
#include "ecology/registry.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ECO_REPORT_INDEX_FILE  "index.html"
#define ECO_REPORT_DOT_FILE    "lineage.dot"
#define ECO_REPORT_SVG_FILE    "lineage.svg"
#define ECO_REPORT_PARETO_FILE "pareto.svg"
#define ECO_REPORT_MAX_LINEAGE 300 /* lineage nodes drawn by default */

typedef struct eco_report_options {
    const char *title;        /* NULL: "tiny-ecology report" */
    const char *x_objective;  /* the front's x axis; NULL: "p95_ms" (else the 2nd objective) */
    const char *y_objective;  /* the front's y axis; NULL: "quality" (else the 1st objective) */
    size_t max_lineage;       /* nodes drawn at most (0: ECO_REPORT_MAX_LINEAGE): champions,
                               * archive members and their ancestors first, then the latest */
    const char *generated_at; /* shown on the page; NULL: now (tests pass a fixed time) */
} eco_report_options;

/* ---- escaping ------------------------------------------------------------------------ */

/* Appends s HTML/XML-escaped (& < > " ' as entities; control bytes other than tab and
 * newline dropped; invalid UTF-8 as U+FFFD), fit for text and attribute values. false when
 * out of memory. */
bool eco_report_html_escape(eco_buf *b, const char *s);
/* Appends s as the inside of a DOT quoted string (" and \ escaped, newline as \n, other
 * control bytes dropped, invalid UTF-8 as U+FFFD). false when out of memory. */
bool eco_report_dot_escape(eco_buf *b, const char *s);

/* ---- the layered DAG layout ---------------------------------------------------------- */

/* Where each node of a DAG sits: layer[v] is the longest path from a root to v (roots 0);
 * pos[v] its slot in the layer (0 = leftmost). An edge spanning k > 1 layers passes through
 * k − 1 virtual slots, one per layer between; route_pos[route_off[e] .. route_off[e+1]) are
 * those slots, top down. width[l] counts the slots of layer l (nodes and virtual ones). */
typedef struct eco_report_layout {
    size_t n_nodes, n_edges, n_layers;
    size_t *layer;            /* [n_nodes] */
    size_t *pos;              /* [n_nodes] */
    size_t *width;            /* [n_layers] */
    size_t *route_off;        /* [n_edges + 1] */
    size_t *route_pos;        /* [route_off[n_edges]] */
    size_t crossings_initial; /* edge crossings between adjacent layers, slots in input order */
    size_t crossings;         /* the same after the barycentre sweeps (never more) */
} eco_report_layout;

/* Lays out the DAG of n_nodes nodes and n_edges edges: edges [n_edges, 2], (from, to) =
 * (parent, child) node indices. Nodes start in index order in each layer; barycentre sweeps
 * (down, then up, a few rounds) reorder them, and the order with the fewest crossings is
 * kept. EINVAL for an index out of range or a self-loop, EFORMAT naming a node on a cycle;
 * ENOMEM / EOVERFLOW. *out is the caller's: eco_report_layout_free (also on a zeroed one). */
eco_status eco_report_layout_dag(size_t n_nodes, const size_t *edges, size_t n_edges,
                                 eco_report_layout *out);
void eco_report_layout_free(eco_report_layout *l);

/* ---- the lineage graph --------------------------------------------------------------- */

typedef struct eco_report_node {
    char *id;      /* the model id */
    char *kind;    /* genome kind ("base", "adapter", ...) */
    char *op;      /* lineage operation ("import", "merge", ...) */
    char *family;  /* the base model id of its family ("" when unknown) */
    char *caps;    /* its capabilities, ", "-separated */
    char *classes; /* CSS classes after "node": "kind-K champion archive rejected ..." */
} eco_report_node;

typedef struct eco_report_lineage {
    eco_report_node *nodes; /* [n_nodes] in registration order */
    size_t n_nodes;
    size_t *edges;   /* [n_edges, 2] (parent, child) node indices; an adapter's base too when
                      * none of its parents is drawn (a bred child reaches it through them) */
    bool *edge_base; /* [n_edges] the edge is an adapter's base (drawn dashed) */
    size_t n_edges;
    size_t n_models; /* registered models in all (n_nodes of them drawn) */
} eco_report_lineage;

/* The lineage of the registry's models: at most max_nodes (0: ECO_REPORT_MAX_LINEAGE),
 * champions, archive members and their ancestors first, then the latest registered.
 * Errors of the registry. *out is the caller's: eco_report_lineage_free. */
eco_status eco_report_lineage_build(eco_registry *r, size_t max_nodes, eco_report_lineage *out);
void eco_report_lineage_free(eco_report_lineage *g);
/* The graph as <svg id="lineage"> (laid out by eco_report_layout_dag) / as a DOT digraph
 * ("digraph lineage { ... }", one statement a line), appended to out. ENOMEM and the
 * layout's errors. */
eco_status eco_report_lineage_svg(const eco_report_lineage *g, eco_buf *out);
eco_status eco_report_lineage_dot(const eco_report_lineage *g, eco_buf *out);

/* ---- the Pareto front ---------------------------------------------------------------- */

/* The archive a (may be NULL: none yet) as <svg id="pareto-front">: members plotted on
 * objectives x_obj and y_obj (names; NULL for the defaults of eco_report_options), the
 * members no other member beats on both (eco_pareto_dominates on the pair) class "front"
 * and joined in x order, the rest class "dominated" (grey), each labelled by its id.
 * ENOTFOUND naming an objective the archive lacks; ENOMEM. */
eco_status eco_report_pareto_svg(const eco_pareto *a, const char *x_obj, const char *y_obj,
                                 eco_buf *out);

/* ---- the page ------------------------------------------------------------------------ */

/* The whole page into out (appended). Reads only. o may be NULL (defaults). */
eco_status eco_report_html(eco_registry *r, const eco_report_options *o, eco_buf *out);

/* Writes out_dir/index.html, out_dir/lineage.svg, out_dir/lineage.dot and out_dir/pareto.svg
 * (out_dir created when missing), each atomically: a reader sees the old file or the new
 * one. o may be NULL. */
eco_status eco_report_write(eco_registry *r, const char *out_dir, const eco_report_options *o);

#ifdef __cplusplus
}
#endif
#endif
