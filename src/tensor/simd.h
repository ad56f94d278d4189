/*
 * tensor-internal: run-time CPU dispatch. The default build targets baseline x86-64 (no
 * -march=native), so the AVX2/FMA/F16C kernels are compiled with target attributes and
 * chosen here, per call, from the CPU's feature bits (a load and a test).
 */
#ifndef ECOLOGY_TENSOR_SIMD_H
#define ECOLOGY_TENSOR_SIMD_H

#include <stdatomic.h>
#include <stdbool.h>

#if defined(__x86_64__)
#include <cpuid.h>
#define ECO_HAVE_X86_SIMD 1
#define ECO_TARGET_AVX2   __attribute__((target("avx2,fma,f16c")))
/* F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c".
 * The answer is asked once per translation unit and kept: under a hypervisor CPUID traps
 * (microseconds a call), and the kernels ask on every call —
 * hundreds of times per decoded token. The cache is a relaxed atomic (threads may race to
 * fill it; they all store the same value). */
static inline bool eco_cpu_has_f16c(void) {
    static atomic_int cached = -1;
    int v = atomic_load_explicit(&cached, memory_order_relaxed);
    if (v < 0) {
        unsigned a, b, c, d;
        v = __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
        atomic_store_explicit(&cached, v, memory_order_relaxed);
    }
    return v != 0;
}
static inline bool eco_cpu_has_avx2_fma(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && eco_cpu_has_f16c();
}
/* AVX-512 F + BW (the 512-bit matvec kernels); __builtin_cpu_supports also checks that the
 * OS saves the zmm state. */
#define ECO_TARGET_AVX512 __attribute__((target("avx512f,avx512bw,avx2,fma,f16c")))
static inline bool eco_cpu_has_avx512(void) {
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           eco_cpu_has_avx2_fma();
}
/* AVX-512 VNNI (vpdpbusd) on top of the above, for the int8 q8_0 product (q8_0_gemm.c). */
#define ECO_TARGET_AVX512VNNI                                                                      \
    __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
static inline bool eco_cpu_has_avx512_vnni(void) {
    return eco_cpu_has_avx512() && __builtin_cpu_supports("avx512vl") &&
           __builtin_cpu_supports("avx512vnni");
}
#else
static inline bool eco_cpu_has_avx512(void) { return false; }
static inline bool eco_cpu_has_avx512_vnni(void) { return false; }
#define ECO_HAVE_X86_SIMD 0
static inline bool eco_cpu_has_avx2_fma(void) { return false; }
#endif

/* Test hook (not public API): the widest kernel the matvec, attention and elementwise
 * (kernels.c) dispatchers may pick, so that a machine with AVX-512 still tests the AVX2
 * and portable kernels.
 * 0 portable, 1 AVX2, 2 AVX-512 (the default: whatever the CPU has). Not thread-safe
 * against running kernels. */
void eco_matvec_set_simd_cap(int cap);
/* The level the dispatchers use now: the CPU's widest, held to the cap above. */
int eco_simd_level(void);
/* The cap itself (matvec.c), read inline by the elementwise kernels, which run once per row
 * and would otherwise pay a call for eco_simd_level. */
extern atomic_int eco_simd_cap;
/* The AVX2/FMA/F16C kernels may run: the CPU has them and the cap allows them. */
static inline bool eco_simd_avx2_ok(void) {
    return atomic_load_explicit(&eco_simd_cap, memory_order_relaxed) >= 1 && eco_cpu_has_avx2_fma();
}

#endif
