/*
 * lora_svd: the SVD factorings of lora_svd.h over LAPACKE.
 *
 * A row-major D [m, n] is, read column-major, Dᵀ [n, m]; its SVD Dᵀ = V S Uᵀ hands back
 * (column-major) V [n, k0] and Uᵀ [k0, m], which read row-major are exactly Vᵀ [k0, n] and
 * U [m, k0]. So sgesdd runs on the caller's buffer as it lies, with no transposed copy.
 */
#include "breeder/lora_svd.h"

#include <cblas.h>
#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool lapack_dims_ok(int64_t m, int64_t n) {
    return m > 0 && n > 0 && m <= INT_MAX && n <= INT_MAX;
}

/* U [m, k0] and Vt [k0, n] (row-major, k0 = min(m, n)) and S [k0] of D [m, n] (destroyed). */
static eco_status thin_svd(float *D, int64_t m, int64_t n, float *S, float *U, float *Vt,
                           const char *label) {
    const size_t numel = (size_t)m * (size_t)n;
    for (size_t i = 0; i < numel; i++)
        if (!isfinite(D[i]))
            return eco_error(ECO_STATUS_EFORMAT, "%s: the delta holds a non-finite value", label);
    const int64_t k0 = m < n ? m : n;
    /* column-major Dᵀ [n, m], lda n: left vectors V [n, k0] (ldu n), right Uᵀ [k0, m] */
    lapack_int info = LAPACKE_sgesdd(LAPACK_COL_MAJOR, 'S', (lapack_int)n, (lapack_int)m, D,
                                     (lapack_int)n, S, Vt, (lapack_int)n, U, (lapack_int)k0);
    if (info < 0)
        return eco_error(ECO_STATUS_EINTERNAL, "%s: sgesdd: argument %d invalid", label,
                         (int)-info);
    if (info > 0)
        return eco_error(ECO_STATUS_EINTERNAL, "%s: sgesdd did not converge (%d)", label,
                         (int)info);
    return ECO_STATUS_OK;
}

/* B [m, ldb] first k columns = U_k diag(√S_k) (U [m, ldu]); A [k, n] = diag(√S_k) Vt_k. */
static void split_sqrt(const float *U, int64_t ldu, const float *Vt, const float *S, int64_t m,
                       int64_t n, int64_t k, float *B, int64_t ldb, float *A) {
    for (int64_t j = 0; j < k; j++) {
        const float r = sqrtf(S[j] > 0 ? S[j] : 0);
        if (B)
            for (int64_t i = 0; i < m; i++) B[i * ldb + j] = U[i * ldu + j] * r;
        if (A)
            for (int64_t c = 0; c < n; c++) A[j * n + c] = r * Vt[j * n + c];
    }
}

eco_status eco_lora_svd(float *D, int64_t m, int64_t n, int64_t k, float *S, float *B, int64_t ldb,
                        float *A, const char *label) {
    if (!lapack_dims_ok(m, n))
        return eco_error(ECO_STATUS_EOVERFLOW, "%s: [%lld, %lld] is beyond LAPACK's sizes", label,
                         (long long)m, (long long)n);
    const int64_t k0 = m < n ? m : n;
    if (k < 0 || k > k0 || (B && ldb < k))
        return eco_error(ECO_STATUS_EINTERNAL, "%s: rank %lld of a [%lld, %lld] delta", label,
                         (long long)k, (long long)m, (long long)n);
    float *U = eco_malloc_array((size_t)m * (size_t)k0, sizeof *U);
    float *Vt = eco_malloc_array((size_t)k0 * (size_t)n, sizeof *Vt);
    eco_status st;
    if (!U || !Vt)
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for the SVD", label);
    else if ((st = thin_svd(D, m, n, S, U, Vt, label)) == ECO_STATUS_OK)
        split_sqrt(U, k0, Vt, S, m, n, k, B, ldb, A);
    free(U);
    free(Vt);
    return st;
}

/* X [m, c] (row-major) = Q R: X keeps the Householder reflectors (and tau their factors)
 * for sormqr, R [c, c] gets the upper triangle (zeroed below). */
static eco_status qr(float *X, int64_t m, int64_t c, float *R, float *tau, const char *label) {
    lapack_int info =
        LAPACKE_sgeqrf(LAPACK_ROW_MAJOR, (lapack_int)m, (lapack_int)c, X, (lapack_int)c, tau);
    if (info != 0)
        return eco_error(ECO_STATUS_EINTERNAL, "%s: QR factorisation failed (%d)", label,
                         (int)info);
    for (int64_t i = 0; i < c; i++)
        for (int64_t j = 0; j < c; j++) R[i * c + j] = j >= i ? X[i * c + j] : 0.0f;
    return ECO_STATUS_OK;
}

eco_status eco_lora_svd_factored(float *Bc, float *Ac, int64_t m, int64_t n, int64_t c, int64_t k,
                                 float *S, float *B, int64_t ldb, float *A, const char *label) {
    if (!lapack_dims_ok(m, n) || c < 1 || c > m || c > n || k < 0 || k > c || (B && ldb < k))
        return eco_error(ECO_STATUS_EINTERNAL, "%s: factored SVD of [%lld, %lld] by %lld", label,
                         (long long)m, (long long)n, (long long)c);
    const size_t cc = (size_t)c * (size_t)c;
    float *At = eco_malloc_array((size_t)n * (size_t)c, sizeof *At); /* Acᵀ [n, c] */
    float *RB = eco_malloc_array(cc, sizeof *RB), *RA = eco_malloc_array(cc, sizeof *RA);
    float *M = eco_malloc_array(cc, sizeof *M), *Uc = eco_malloc_array(cc, sizeof *Uc);
    float *Vtc = eco_malloc_array(cc, sizeof *Vtc), *tau = eco_malloc_array(2 * (size_t)c, 4);
    eco_status st = ECO_STATUS_OK;
    if (!At || !RB || !RA || !M || !Uc || !Vtc || !tau) {
        st = eco_error(ECO_STATUS_ENOMEM, "%s: out of memory for the SVD", label);
        goto done;
    }
    for (int64_t i = 0; i < c; i++)
        for (int64_t j = 0; j < n; j++) At[j * c + i] = Ac[i * n + j];
    for (size_t i = 0; i < (size_t)m * (size_t)c; i++)
        if (!isfinite(Bc[i])) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: lora_B holds a non-finite value", label);
            goto done;
        }
    for (size_t i = 0; i < (size_t)n * (size_t)c; i++)
        if (!isfinite(At[i])) {
            st = eco_error(ECO_STATUS_EFORMAT, "%s: lora_A holds a non-finite value", label);
            goto done;
        }
    /* Bc = Q_B R_B, Acᵀ = Q_A R_A, so D = Q_B (R_B R_Aᵀ) Q_Aᵀ and the core's SVD is D's. */
    float *tau_b = tau, *tau_a = tau + c;
    if ((st = qr(Bc, m, c, RB, tau_b, label)) || (st = qr(At, n, c, RA, tau_a, label))) goto done;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)c, (int)c, (int)c, 1.0f, RB, (int)c,
                RA, (int)c, 0.0f, M, (int)c);
    if ((st = thin_svd(M, c, c, S, Uc, Vtc, label))) goto done;
    /* Uc ← Uc_k diag(√S_k) in place (first k columns), Vtc ← diag(√S_k) Vtc_k */
    split_sqrt(Uc, c, Vtc, S, c, c, k, Uc, c, Vtc);
    if (k == 0) goto done;
    lapack_int info = 0;
    if (B) { /* B [m, k] = Q_B · [Uc_k; 0]: the reflectors applied, Q_B never formed */
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < k; j++) B[i * ldb + j] = i < c ? Uc[i * c + j] : 0.0f;
        info = LAPACKE_sormqr(LAPACK_ROW_MAJOR, 'L', 'N', (lapack_int)m, (lapack_int)k,
                              (lapack_int)c, Bc, (lapack_int)c, tau_b, B, (lapack_int)ldb);
    }
    if (A && info == 0) { /* A [k, n] = [Vtc_k | 0] · Q_Aᵀ */
        for (int64_t j = 0; j < k; j++)
            for (int64_t i = 0; i < n; i++) A[j * n + i] = i < c ? Vtc[j * c + i] : 0.0f;
        info = LAPACKE_sormqr(LAPACK_ROW_MAJOR, 'R', 'T', (lapack_int)k, (lapack_int)n,
                              (lapack_int)c, At, (lapack_int)c, tau_a, A, (lapack_int)n);
    }
    if (info != 0)
        st = eco_error(ECO_STATUS_EINTERNAL, "%s: applying Q failed (%d)", label, (int)info);
done:
    free(At);
    free(RB);
    free(RA);
    free(M);
    free(Uc);
    free(Vtc);
    free(tau);
    return st;
}
