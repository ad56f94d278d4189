/*
 * tensor-internal: run-time CPU dispatch. The default build targets baseline x86-64 (no
 * -march=native), so the AVX2/FMA/F16C kernels are compiled with target attributes and
 * chosen here, per call, from the CPU's feature bits (a load and a test).
 */
#ifndef ECOLOGY_TENSOR_SIMD_H
#define ECOLOGY_TENSOR_SIMD_H

#include <stdbool.h>

#if defined(__x86_64__)
#include <cpuid.h>
#define ECO_HAVE_X86_SIMD 1
#define ECO_TARGET_AVX2 __attribute__((target("avx2,fma,f16c")))
/* F16C from CPUID leaf 1 (ECX bit 29): clang's __builtin_cpu_supports has no "f16c". */
static inline bool eco_cpu_has_f16c(void) {
    unsigned a, b, c, d;
    return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 29)) != 0;
}
static inline bool eco_cpu_has_avx2_fma(void) {
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && eco_cpu_has_f16c();
}
#else
#define ECO_HAVE_X86_SIMD 0
static inline bool eco_cpu_has_avx2_fma(void) { return false; }
#endif

#endif
