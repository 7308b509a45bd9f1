/*
 * xoshiro256** (Blackman and Vigna) seeded through splitmix64 (Steele,
 * Lea and Flood), plus the uniform, bounded, normal and shuffle draws
 * built on it.
 */
#include "nn_rng.h"

#include <math.h>

#define TWO_PI 6.283185307179586476925286766559

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* One splitmix64 step: a well-mixed output for any input, 0 included. */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

void nn_rng_seed(nn_rng *rng, uint64_t seed)
{
    uint64_t x = seed;

    /* splitmix64 never yields four zeros in a row, so the state is valid */
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64(&x);
}

uint64_t nn_rng_next(nn_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double nn_rng_uniform(nn_rng *rng)
{
    return (double)(nn_rng_next(rng) >> 11) * 0x1.0p-53;
}

uint64_t nn_rng_below(nn_rng *rng, uint64_t n)
{
    uint64_t threshold, x;

    if (n == 0)
        return 0;

    /* (2^64 - n) mod n = 2^64 mod n: drawing only from [threshold, 2^64)
     * leaves a range whose length is a multiple of n */
    threshold = (0 - n) % n;
    do
        x = nn_rng_next(rng);
    while (x < threshold);
    return x % n;
}

double nn_rng_normal(nn_rng *rng)
{
    /* 1 - u lies in (0, 1], so the logarithm is finite */
    double u1 = 1.0 - nn_rng_uniform(rng);
    double u2 = nn_rng_uniform(rng);

    return sqrt(-2.0 * log(u1)) * cos(TWO_PI * u2);
}

void nn_rng_shuffle(nn_rng *rng, uint32_t *idx, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)nn_rng_below(rng, i);
        uint32_t tmp = idx[i - 1];

        idx[i - 1] = idx[j];
        idx[j] = tmp;
    }
}
