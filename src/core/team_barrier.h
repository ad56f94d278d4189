/*
 * eco_team_barrier_wait: a barrier for the T threads of one parallel region, for code that
 * crosses many barriers per second (decoding crosses 150 per token for SmolLM2-135M).
 *
 * Each thread publishes how many barriers it has reached in its own 64-byte line and
 * waits until every other thread's count has reached its own: one cache-line transfer per
 * crossing, where libgomp's `#pragma omp barrier` (a shared counter, then a generation
 * word the last arrival writes) needs two in sequence, so a crossing costs several times
 * less (`bench_kernels` measures both; figures in the README). A decode step crosses a
 * barrier per phase of every layer, so that cost is paid dozens of times a token.
 *
 * Release/acquire: everything a thread wrote before it arrived is visible to every thread
 * after they leave. A waiter polls with a pause hint up to `spins` times, then yields the
 * CPU at each poll. eco_team_barrier_spins gives ECO_BARRIER_SPINS (about 0.4 ms of polling,
 * like libgomp's active wait) when the team has a CPU per thread, and 0 when it has more
 * threads than CPUs: a thread that spins there holds the CPU its partner needs to arrive
 * (more threads than CPUs decoded ten times slower spinning than yielding at once).
 *
 * Usage: `arrived` [T] counters ECO_BARRIER_STRIDE apart, all zero when the region starts;
 * each thread keeps its own count `n`, starting at 0:
 *     long n = 0; ... eco_team_barrier_wait(arrived, id, T, &n, spins); ...
 */
#ifndef ECO_TEAM_BARRIER_H
#define ECO_TEAM_BARRIER_H

#include <sched.h>
#include <stdatomic.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ECO_CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define ECO_CPU_RELAX() __asm__ __volatile__("yield")
#else
#define ECO_CPU_RELAX() ((void)0)
#endif

/* atomic_longs from one thread's counter to the next: one 64-byte line each */
#define ECO_BARRIER_STRIDE 8
/* polls before yielding when every thread has its own CPU (a pause is ~20 ns on Zen 5) */
#define ECO_BARRIER_SPINS  20000

/* The `spins` for a team of T threads on a process that may use `cpus` CPUs. */
static inline long eco_team_barrier_spins(int T, int cpus) {
    return T <= cpus ? ECO_BARRIER_SPINS : 0;
}

static inline void eco_team_barrier_wait(atomic_long *arrived, int id, int T, long *n, long spins) {
    const long mine = ++*n;
    atomic_store_explicit(&arrived[id * ECO_BARRIER_STRIDE], mine, memory_order_release);
    for (int t = 0; t < T; t++) {
        if (t == id) continue;
        for (long polls = 0;
             atomic_load_explicit(&arrived[t * ECO_BARRIER_STRIDE], memory_order_acquire) < mine;
             polls++) {
            if (polls < spins)
                ECO_CPU_RELAX();
            else
                sched_yield();
        }
    }
}

#endif /* ECO_TEAM_BARRIER_H */
