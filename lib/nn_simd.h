/*
 * VECTORIZED marks functions whose loops run over many values.  GCC
 * builds each of them three times, for SSE2, AVX2 and AVX-512, picks
 * the widest the CPU supports when the program loads, and vectorises
 * their loops even at -O2.  Results stay bit-identical to the plain C
 * loops: each vectorised loop treats every value, or every unit's
 * running sum, on its own in the scalar order, and fp-contract=off
 * forbids fused multiply-adds, which round once where the C code
 * rounds twice.  Other compilers build the plain loops.
 */
#ifndef NN_SIMD_H
#define NN_SIMD_H

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) \
    && defined(__linux__)
#define NN_HAVE_TARGET_CLONES 1
#define VECTORIZED                                                      \
    __attribute__((optimize("tree-vectorize", "fp-contract=off"),       \
                   target_clones("default", "avx2", "avx512f")))
#else
#define NN_HAVE_TARGET_CLONES 0
#define VECTORIZED
#endif

#endif
