/*
 * Unit tests for nn_rng: fixed outputs for a fixed seed, ranges, rough
 * uniformity and normality, and Fisher-Yates shuffles.
 *
 * The statistical checks use 10^6 draws and bounds of at least five
 * standard errors, so a correct generator fails one of them with odds
 * below 1 in 10^5; the seeds are fixed, so a run is repeatable anyway.
 */
#include "nn_rng.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

#define N_DRAWS 1000000

static void test_seed_zero_outputs(void)
{
    /* the state is the first four splitmix64 outputs from 0, and the
     * outputs agree with other xoshiro256** implementations seeded the
     * same way */
    static const uint64_t state[4] = {
        0xe220a8397b1dcdafu, 0x6e789e6aa1b965f4u,
        0x06c45d188009454fu, 0xf88bb8a8724c81ecu,
    };
    static const uint64_t first[5] = {
        0x99ec5f36cb75f2b4u, 0xbf6e1f784956452au, 0x1a5f849d4933e6e0u,
        0x6aa594f1262d2d2cu, 0xbba5ad4a1f842e59u,
    };
    nn_rng rng;

    nn_rng_seed(&rng, 0);
    for (int i = 0; i < 4; i++)
        CHECK(rng.s[i] == state[i]);
    for (int i = 0; i < 5; i++)
        CHECK(nn_rng_next(&rng) == first[i]);

    nn_rng_seed(&rng, 0);
    CHECK(nn_rng_uniform(&rng) == (double)(first[0] >> 11) * 0x1.0p-53);
}

static void test_same_seed_same_sequence(void)
{
    nn_rng a, b, copy;
    int same = 1, differs = 0;

    nn_rng_seed(&a, 12345);
    nn_rng_seed(&b, 12345);
    for (int i = 0; i < 1000; i++)
        same &= nn_rng_next(&a) == nn_rng_next(&b);
    CHECK(same);

    /* a copied state continues the same sequence */
    copy = a;
    same = 1;
    for (int i = 0; i < 1000; i++)
        same &= nn_rng_next(&a) == nn_rng_next(&copy);
    CHECK(same);

    nn_rng_seed(&a, 1);
    nn_rng_seed(&b, 2);
    for (int i = 0; i < 10; i++)
        differs |= nn_rng_next(&a) != nn_rng_next(&b);
    CHECK(differs);
}

static void test_uniform_range_and_mean(void)
{
    nn_rng rng;
    double sum = 0, lo = 1, hi = 0;

    nn_rng_seed(&rng, 7);
    for (int i = 0; i < N_DRAWS; i++) {
        double u = nn_rng_uniform(&rng);

        sum += u;
        lo = u < lo ? u : lo;
        hi = u > hi ? u : hi;
    }
    CHECK(lo >= 0.0);
    CHECK(hi < 1.0);
    /* standard error of the mean: sqrt(1/12 / 10^6) = 2.9e-4 */
    CHECK(fabs(sum / N_DRAWS - 0.5) < 0.002);
    CHECK(lo < 1e-4);
    CHECK(hi > 1 - 1e-4);
}

static void test_below_range_and_counts(void)
{
    enum { N_BINS = 10 };
    nn_rng rng;
    long counts[N_BINS] = { 0 };
    uint64_t big = (UINT64_C(1) << 63) + 1;
    int in_range = 1, balanced = 1;

    nn_rng_seed(&rng, 3);
    for (int i = 0; i < N_DRAWS; i++) {
        uint64_t k = nn_rng_below(&rng, N_BINS);

        if (k >= N_BINS)
            in_range = 0;
        else
            counts[k]++;
    }
    CHECK(in_range);
    /* each count is binomial(10^6, 0.1): standard deviation 300 */
    for (int k = 0; k < N_BINS; k++)
        balanced &= labs(counts[k] - N_DRAWS / N_BINS) < 1500;
    CHECK(balanced);

    CHECK(nn_rng_below(&rng, 0) == 0);
    CHECK(nn_rng_below(&rng, 1) == 0);

    /* n just above 2^63 rejects almost half of the raw draws */
    in_range = 1;
    for (int i = 0; i < 1000; i++)
        in_range &= nn_rng_below(&rng, big) < big;
    CHECK(in_range);
}

static void test_normal_moments(void)
{
    nn_rng rng;
    double sum = 0, sum_sq = 0, mean, var;
    int finite = 1;

    nn_rng_seed(&rng, 11);
    for (int i = 0; i < N_DRAWS; i++) {
        double z = nn_rng_normal(&rng);

        finite &= isfinite(z) != 0;
        sum += z;
        sum_sq += z * z;
    }
    mean = sum / N_DRAWS;
    var = sum_sq / N_DRAWS - mean * mean;
    CHECK(finite);
    /* standard errors: 1e-3 for the mean, sqrt(2/10^6) = 1.4e-3 for
     * the variance */
    CHECK(fabs(mean) < 0.006);
    CHECK(fabs(var - 1.0) < 0.01);
}

static void test_normal_is_stateless(void)
{
    nn_rng a, b;

    nn_rng_seed(&a, 5);
    nn_rng_seed(&b, 5);
    (void)nn_rng_normal(&a);
    (void)nn_rng_normal(&b);
    CHECK(nn_rng_normal(&a) == nn_rng_normal(&b));

    /* two draws per call */
    nn_rng_seed(&a, 5);
    nn_rng_seed(&b, 5);
    (void)nn_rng_normal(&a);
    (void)nn_rng_next(&b);
    (void)nn_rng_next(&b);
    CHECK(nn_rng_next(&a) == nn_rng_next(&b));
}

static int is_permutation(const uint32_t *idx, size_t n)
{
    char *seen = calloc(n, 1);
    int ok = seen != NULL;

    for (size_t i = 0; ok && i < n; i++) {
        if (idx[i] >= n || seen[idx[i]])
            ok = 0;
        else
            seen[idx[i]] = 1;
    }
    free(seen);
    return ok;
}

static void test_shuffle(void)
{
    enum { N = 1000 };
    static uint32_t a[N], b[N];
    nn_rng ra, rb;
    int same = 1, moved = 0;

    for (uint32_t i = 0; i < N; i++)
        a[i] = b[i] = i;
    nn_rng_seed(&ra, 99);
    nn_rng_seed(&rb, 99);
    nn_rng_shuffle(&ra, a, N);
    nn_rng_shuffle(&rb, b, N);

    CHECK(is_permutation(a, N));
    for (size_t i = 0; i < N; i++) {
        same &= a[i] == b[i];
        moved += a[i] != i;
    }
    CHECK(same);
    /* a random permutation of 1000 leaves about one element in place */
    CHECK(moved > N - 10);

    /* the draws follow the documented order: j = below(i + 1) */
    {
        uint32_t small[3] = { 0, 1, 2 }, expect[3] = { 0, 1, 2 };
        nn_rng r1, r2;

        nn_rng_seed(&r1, 4);
        nn_rng_seed(&r2, 4);
        nn_rng_shuffle(&r1, small, 3);
        for (size_t i = 2; i >= 1; i--) {
            size_t j = (size_t)nn_rng_below(&r2, i + 1);
            uint32_t t = expect[i];

            expect[i] = expect[j];
            expect[j] = t;
        }
        for (int i = 0; i < 3; i++)
            CHECK(small[i] == expect[i]);
    }

    /* empty and one-element arrays are left alone */
    a[0] = 42;
    nn_rng_shuffle(&ra, a, 0);
    nn_rng_shuffle(&ra, a, 1);
    CHECK(a[0] == 42);
}

int main(void)
{
    test_seed_zero_outputs();
    test_same_seed_same_sequence();
    test_uniform_range_and_mean();
    test_below_range_and_counts();
    test_normal_moments();
    test_normal_is_stateless();
    test_shuffle();

    printf("%d passed, %d failed\n", n_passed, n_failed);
    return n_failed ? 1 : 0;
}
