/*
 * Seeded pseudo-random numbers for shuffling, augmentation, weight
 * initialisation and dropout: xoshiro256** (Blackman and Vigna, 2018)
 * with its state filled from a 64-bit seed through splitmix64.
 *
 * The state is a plain struct, so it can be copied, saved in a
 * checkpoint and restored.  The same seed gives the same sequence on
 * every machine.  Not for cryptographic use.
 */
#ifndef NN_RNG_H
#define NN_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4];              /* xoshiro256** state, never all zero */
} nn_rng;

/* Fill rng's state from seed.  Every seed, 0 included, is valid. */
void nn_rng_seed(nn_rng *rng, uint64_t seed);

/* Advance rng and return the next 64 uniformly distributed bits. */
uint64_t nn_rng_next(nn_rng *rng);

/* Draw a double uniform in [0, 1) from the top 53 bits of one draw. */
double nn_rng_uniform(nn_rng *rng);

/*
 * Draw an integer uniform in [0, n) without modulo bias, by rejecting
 * the few draws below 2^64 mod n.  Returns 0 when n is 0 or 1; n = 1
 * still consumes a draw, n = 0 consumes none.
 */
uint64_t nn_rng_below(nn_rng *rng, uint64_t n);

/*
 * Draw a standard normal value (mean 0, variance 1) by the Box-Muller
 * transform.  Each call consumes exactly two draws and keeps no cached
 * second value, so the result depends only on the state.
 */
double nn_rng_normal(nn_rng *rng);

/*
 * Shuffle idx[0..n) in place with Fisher-Yates: for i from n-1 down
 * to 1, swap idx[i] with idx[j], j uniform in [0, i].
 */
void nn_rng_shuffle(nn_rng *rng, uint32_t *idx, size_t n);

#endif
