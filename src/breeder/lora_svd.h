/*
 * lora_svd: factoring a weight delta back into LoRA halves, shared by the adapter merge
 * (merge_lora.c) and LoRA extraction (extract.c). LAPACK does the decompositions (LAPACKE's
 * sgesdd and sgeqrf/sorgqr over the OpenBLAS already linked); nothing here is a hand-written
 * factorisation.
 *
 * Both factorings split the singular values as √S to both halves (mergekit's extract-lora,
 * MERGING.md): for a delta D ≈ U_k diag(S_k) V_kᵀ,
 *   B [out, k] = U_k diag(√S_k),  A [k, in] = diag(√S_k) V_kᵀ,
 * so that B·A is the best rank-k approximation of D (Eckart–Young) at scale 1 (alpha = r).
 */
#ifndef ECO_BREEDER_LORA_SVD_H
#define ECO_BREEDER_LORA_SVD_H

#include "ecology/core.h"

/* The thin SVD of D [m, n] (row-major f32; D is overwritten): S [min(m, n)] descending, and
 * the halves of its top-k part split as √S: B [m, ldb] gets U_k diag(√S_k) in its first k
 * columns, A [k, n] gets diag(√S_k) V_kᵀ (k ≤ min(m, n); ldb ≥ k; the caller zeroes any
 * padding). B or A may be NULL (only S wanted). label names the module in messages.
 * EOVERFLOW when m or n exceeds LAPACK's int, ENOMEM, EFORMAT for a non-finite D, EINTERNAL
 * when LAPACK does not converge. */
eco_status eco_lora_svd(float *D, int64_t m, int64_t n, int64_t k, float *S, float *B, int64_t ldb,
                        float *A, const char *label);

/* The same top-k factoring for D = Bc·Ac given in factored form, Bc [m, c] and Ac [c, n]
 * with c ≤ min(m, n) (both overwritten): a QR of Bc and of Acᵀ reduce the SVD to the c × c
 * core R_B·R_Aᵀ, and the core's singular vectors are mapped back by applying the QRs'
 * reflectors (sormqr; Q is never formed), so the cost is O((m + n)·c²) instead of
 * O(m·n·min(m, n)), and the result is the SVD of D (exact up to rounding). S [c] receives
 * the singular values, B [m, ldb] and A [k, n] the halves as above (k ≤ c). Errors as
 * eco_lora_svd. */
eco_status eco_lora_svd_factored(float *Bc, float *Ac, int64_t m, int64_t n, int64_t c, int64_t k,
                                 float *S, float *B, int64_t ldb, float *A, const char *label);

#endif
