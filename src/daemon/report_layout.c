/* report: the layered DAG layout of the lineage graph (report.h, eco_report_layout_dag).
 *
 * Sugiyama's scheme without its last step (coordinates are slot * spacing):
 *   1. layers: the longest path from a root (Kahn's topological order; a node left over is on
 *      a cycle);
 *   2. an edge spanning k > 1 layers becomes k segments through k − 1 virtual slots, so
 *      every segment joins adjacent layers;
 *   3. order: nodes in index order, virtual slots after them; then rounds of a downward
 *      sweep (each slot's key the mean position of its neighbours above) and an upward one
 *      (neighbours below), each a stable sort; the order with the fewest crossings seen is
 *      kept, so the sweeps never make it worse.
 * Slots: real nodes are slots 0..n-1, virtual ones follow. Crossings are counted per pair
 * of adjacent layers over all segment pairs (O(S²) per layer pair: the report draws a few
 * hundred nodes). */
#include <stdlib.h>
#include <string.h>

#include "ecology/report.h"

#define SWEEP_ROUNDS 4

typedef struct slot_graph {
    size_t n_slots, n_layers, n_seg;
    size_t *slot_layer;                   /* [n_slots] */
    size_t *seg;                          /* [n_seg, 2] (upper slot, lower slot) */
    size_t *up_off, *up;                  /* CSR: the upper neighbours of each slot */
    size_t *dn_off, *dn;                  /* CSR: the lower neighbours of each slot */
    size_t *seg_by_layer, *seg_layer_off; /* segments grouped by their upper layer */
    size_t *layer_off, *order;            /* [n_layers + 1], [n_slots]: slots per layer, in order */
    size_t *pos;                          /* [n_slots] the slot's index in its layer */
} slot_graph;

static void slot_graph_free(slot_graph *g) {
    free(g->slot_layer);
    free(g->seg);
    free(g->up_off);
    free(g->up);
    free(g->dn_off);
    free(g->dn);
    free(g->seg_by_layer);
    free(g->seg_layer_off);
    free(g->layer_off);
    free(g->order);
    free(g->pos);
    memset(g, 0, sizeof *g);
}

/* Kahn's order with longest-path layers into layer[n]; EFORMAT naming a node on a cycle. */
static eco_status assign_layers(size_t n, const size_t *edges, size_t ne, size_t *layer,
                                size_t *n_layers) {
    size_t *indeg = eco_calloc_array(n + 1, sizeof *indeg);
    size_t *off = eco_calloc_array(n + 1, sizeof *off);
    size_t *child = eco_malloc_array(ne + 1, sizeof *child);
    size_t *queue = eco_malloc_array(n + 1, sizeof *queue);
    eco_status st = ECO_STATUS_OK;
    if (!indeg || !off || !child || !queue) {
        st = eco_error(ECO_STATUS_ENOMEM, "report: lineage layout: out of memory");
        goto done;
    }
    for (size_t e = 0; e < ne; e++) {
        off[edges[2 * e] + 1]++;
        indeg[edges[2 * e + 1]]++;
    }
    for (size_t v = 0; v < n; v++) off[v + 1] += off[v];
    size_t *fill = queue; /* reused as a cursor before the queue is needed */
    memcpy(fill, off, n * sizeof *fill);
    for (size_t e = 0; e < ne; e++) child[fill[edges[2 * e]]++] = edges[2 * e + 1];
    size_t head = 0, tail = 0;
    for (size_t v = 0; v < n; v++) {
        layer[v] = 0;
        if (indeg[v] == 0) queue[tail++] = v;
    }
    size_t top = 0;
    while (head < tail) {
        size_t v = queue[head++];
        if (layer[v] + 1 > top) top = layer[v] + 1;
        for (size_t k = off[v]; k < off[v + 1]; k++) {
            size_t c = child[k];
            if (layer[c] < layer[v] + 1) layer[c] = layer[v] + 1;
            if (--indeg[c] == 0) queue[tail++] = c;
        }
    }
    if (tail < n) {
        for (size_t v = 0; v < n; v++)
            if (indeg[v]) {
                st = eco_error(ECO_STATUS_EFORMAT, "report: lineage layout: node %zu is on a cycle",
                               v);
                break;
            }
    }
    *n_layers = top;
done:
    free(indeg);
    free(off);
    free(child);
    free(queue);
    return st;
}

/* CSR of the segments' ends: for each slot, its neighbours on the other side (col 1-side). */
static eco_status build_csr(const size_t *seg, size_t n_seg, size_t n_slots, int key_col,
                            size_t **off_out, size_t **adj_out) {
    size_t *off = eco_calloc_array(n_slots + 1, sizeof *off);
    size_t *adj = eco_malloc_array(n_seg + 1, sizeof *adj);
    size_t *fill = eco_malloc_array(n_slots + 1, sizeof *fill);
    if (!off || !adj || !fill) {
        free(off);
        free(adj);
        free(fill);
        return eco_error(ECO_STATUS_ENOMEM, "report: lineage layout: out of memory");
    }
    for (size_t s = 0; s < n_seg; s++) off[seg[2 * s + key_col] + 1]++;
    for (size_t v = 0; v < n_slots; v++) off[v + 1] += off[v];
    memcpy(fill, off, n_slots * sizeof *fill);
    for (size_t s = 0; s < n_seg; s++) adj[fill[seg[2 * s + key_col]]++] = seg[2 * s + 1 - key_col];
    free(fill);
    *off_out = off;
    *adj_out = adj;
    return ECO_STATUS_OK;
}

/* Counting sort of items [n] by key[item] < n_keys into sorted[n] and off[n_keys + 1]. */
static void group_by(const size_t *key, size_t n, size_t n_keys, size_t *off, size_t *sorted) {
    memset(off, 0, (n_keys + 1) * sizeof *off);
    for (size_t i = 0; i < n; i++) off[key[i] + 1]++;
    for (size_t k = 0; k < n_keys; k++) off[k + 1] += off[k];
    for (size_t i = 0; i < n; i++) sorted[off[key[i]]++] = i;
    for (size_t k = n_keys; k > 0; k--) off[k] = off[k - 1];
    off[0] = 0;
}

static size_t count_crossings(const slot_graph *g) {
    size_t total = 0;
    for (size_t l = 0; l + 1 < g->n_layers; l++)
        for (size_t a = g->seg_layer_off[l]; a < g->seg_layer_off[l + 1]; a++) {
            const size_t *sa = g->seg + 2 * g->seg_by_layer[a];
            for (size_t b = a + 1; b < g->seg_layer_off[l + 1]; b++) {
                const size_t *sb = g->seg + 2 * g->seg_by_layer[b];
                size_t ua = g->pos[sa[0]], ub = g->pos[sb[0]];
                size_t la = g->pos[sa[1]], lb = g->pos[sb[1]];
                if ((ua < ub && la > lb) || (ua > ub && la < lb)) total++;
            }
        }
    return total;
}

typedef struct keyed_slot {
    double key;
    size_t pos, slot;
} keyed_slot;

static int cmp_keyed_slot(const void *a, const void *b) {
    const keyed_slot *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Reorders layer l by the mean position of each slot's neighbours in (off, adj); a slot
 * without any keeps its position as its key. tmp: [width of l]. */
static void sweep_layer(slot_graph *g, size_t l, const size_t *off, const size_t *adj,
                        keyed_slot *tmp) {
    size_t w = g->layer_off[l + 1] - g->layer_off[l];
    size_t *ord = g->order + g->layer_off[l];
    for (size_t i = 0; i < w; i++) {
        size_t s = ord[i];
        double key = (double)i;
        if (off[s + 1] > off[s]) {
            double sum = 0;
            for (size_t k = off[s]; k < off[s + 1]; k++) sum += (double)g->pos[adj[k]];
            key = sum / (double)(off[s + 1] - off[s]);
        }
        tmp[i] = (keyed_slot){key, i, s};
    }
    qsort(tmp, w, sizeof *tmp, cmp_keyed_slot);
    for (size_t i = 0; i < w; i++) {
        ord[i] = tmp[i].slot;
        g->pos[tmp[i].slot] = i;
    }
}

static void minimise_crossings(slot_graph *g, keyed_slot *tmp, size_t *best_order, size_t *initial,
                               size_t *best) {
    *initial = *best = count_crossings(g);
    memcpy(best_order, g->order, g->n_slots * sizeof *best_order);
    for (int round = 0; round<SWEEP_ROUNDS && * best> 0; round++) {
        for (int dir = 0; dir < 2; dir++) {
            if (dir == 0)
                for (size_t l = 1; l < g->n_layers; l++) sweep_layer(g, l, g->up_off, g->up, tmp);
            else
                for (size_t l = g->n_layers; l > 1; l--)
                    sweep_layer(g, l - 2, g->dn_off, g->dn, tmp);
            size_t c = count_crossings(g);
            if (c < *best) {
                *best = c;
                memcpy(best_order, g->order, g->n_slots * sizeof *best_order);
            }
        }
    }
    memcpy(g->order, best_order, g->n_slots * sizeof *best_order);
    for (size_t l = 0; l < g->n_layers; l++)
        for (size_t i = g->layer_off[l]; i < g->layer_off[l + 1]; i++)
            g->pos[g->order[i]] = i - g->layer_off[l];
}

void eco_report_layout_free(eco_report_layout *l) {
    if (!l) return;
    free(l->layer);
    free(l->pos);
    free(l->width);
    free(l->route_off);
    free(l->route_pos);
    memset(l, 0, sizeof *l);
}

eco_status eco_report_layout_dag(size_t n, const size_t *edges, size_t ne, eco_report_layout *out) {
    if (!out || (ne && !edges))
        return eco_error(ECO_STATUS_EINVAL, "report: lineage layout: NULL argument");
    memset(out, 0, sizeof *out);
    for (size_t e = 0; e < ne; e++) {
        if (edges[2 * e] >= n || edges[2 * e + 1] >= n)
            return eco_error(
                ECO_STATUS_EINVAL,
                "report: lineage layout: edge %zu: node index out of range (%zu nodes)", e, n);
        if (edges[2 * e] == edges[2 * e + 1])
            return eco_error(ECO_STATUS_EINVAL, "report: lineage layout: edge %zu: a self-loop", e);
    }
    out->n_nodes = n;
    out->n_edges = ne;
    out->layer = eco_malloc_array(n + 1, sizeof *out->layer);
    out->pos = eco_malloc_array(n + 1, sizeof *out->pos);
    out->route_off = eco_calloc_array(ne + 1, sizeof *out->route_off);
    if (!out->layer || !out->pos || !out->route_off) {
        eco_report_layout_free(out);
        return eco_error(ECO_STATUS_ENOMEM, "report: lineage layout: out of memory");
    }
    eco_status st = assign_layers(n, edges, ne, out->layer, &out->n_layers);
    if (st) {
        eco_report_layout_free(out);
        return st;
    }
    /* slots: n real ones, then the virtual ones of each long edge, top down */
    size_t n_virtual = 0;
    for (size_t e = 0; e < ne; e++) {
        size_t span = out->layer[edges[2 * e + 1]] - out->layer[edges[2 * e]];
        out->route_off[e + 1] = out->route_off[e] + (span - 1);
        n_virtual += span - 1;
    }
    slot_graph g = {0};
    keyed_slot *tmp = NULL;
    size_t *best_order = NULL;
    if (!eco_add_ok(n, n_virtual, &g.n_slots) || !eco_add_ok(ne, n_virtual, &g.n_seg)) {
        eco_report_layout_free(out);
        return eco_error(ECO_STATUS_EOVERFLOW, "report: lineage layout: too many slots");
    }
    g.n_layers = out->n_layers;
    g.slot_layer = eco_malloc_array(g.n_slots + 1, sizeof *g.slot_layer);
    g.seg = eco_malloc_array(g.n_seg + 1, 2 * sizeof *g.seg);
    g.seg_by_layer = eco_malloc_array(g.n_seg + 1, sizeof *g.seg_by_layer);
    g.seg_layer_off = eco_malloc_array(g.n_layers + 2, sizeof *g.seg_layer_off);
    g.layer_off = eco_malloc_array(g.n_layers + 2, sizeof *g.layer_off);
    g.order = eco_malloc_array(g.n_slots + 1, sizeof *g.order);
    g.pos = eco_malloc_array(g.n_slots + 1, sizeof *g.pos);
    out->route_pos = eco_malloc_array(n_virtual + 1, sizeof *out->route_pos);
    out->width = eco_calloc_array(g.n_layers + 1, sizeof *out->width);
    tmp = eco_malloc_array(g.n_slots + 1, sizeof *tmp);
    best_order = eco_malloc_array(g.n_slots + 1, sizeof *best_order);
    size_t *seg_upper_layer = eco_malloc_array(g.n_seg + 1, sizeof *seg_upper_layer);
    if (!g.slot_layer || !g.seg || !g.seg_by_layer || !g.seg_layer_off || !g.layer_off ||
        !g.order || !g.pos || !out->route_pos || !out->width || !tmp || !best_order ||
        !seg_upper_layer) {
        st = eco_error(ECO_STATUS_ENOMEM, "report: lineage layout: out of memory");
        goto done;
    }
    memcpy(g.slot_layer, out->layer, n * sizeof *g.slot_layer);
    size_t next = n, s_i = 0;
    for (size_t e = 0; e < ne; e++) {
        size_t from = edges[2 * e], to = edges[2 * e + 1], prev = from;
        for (size_t l = out->layer[from] + 1; l < out->layer[to]; l++) {
            g.slot_layer[next] = l;
            g.seg[2 * s_i] = prev;
            g.seg[2 * s_i + 1] = next;
            s_i++;
            prev = next++;
        }
        g.seg[2 * s_i] = prev;
        g.seg[2 * s_i + 1] = to;
        s_i++;
    }
    for (size_t s = 0; s < g.n_seg; s++) seg_upper_layer[s] = g.slot_layer[g.seg[2 * s]];
    group_by(seg_upper_layer, g.n_seg, g.n_layers, g.seg_layer_off, g.seg_by_layer);
    group_by(g.slot_layer, g.n_slots, g.n_layers, g.layer_off, g.order); /* index order */
    for (size_t l = 0; l < g.n_layers; l++)
        for (size_t i = g.layer_off[l]; i < g.layer_off[l + 1]; i++)
            g.pos[g.order[i]] = i - g.layer_off[l];
    if ((st = build_csr(g.seg, g.n_seg, g.n_slots, 1, &g.up_off, &g.up)) ||
        (st = build_csr(g.seg, g.n_seg, g.n_slots, 0, &g.dn_off, &g.dn)))
        goto done;
    minimise_crossings(&g, tmp, best_order, &out->crossings_initial, &out->crossings);
    for (size_t v = 0; v < n; v++) out->pos[v] = g.pos[v];
    for (size_t l = 0; l < g.n_layers; l++) out->width[l] = g.layer_off[l + 1] - g.layer_off[l];
    for (size_t k = 0; k < n_virtual; k++) out->route_pos[k] = g.pos[n + k];
done:
    free(seg_upper_layer);
    free(tmp);
    free(best_order);
    slot_graph_free(&g);
    if (st) eco_report_layout_free(out);
    return st;
}
