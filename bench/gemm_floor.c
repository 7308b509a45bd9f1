/*
 * gemm_floor: time the two matrix products that one training epoch of
 * a Dense layer cannot avoid, with the same OpenBLAS calls and
 * transposes as lib/nn_model_impl.h:
 *   forward   Z = X W^T     (m, k) by (k, n) -> (m, n)
 *   backward  dW = dZ^T X   (n, m) by (m, k) -> (n, k)
 * The input gradient dX is not timed: the first layer never needs it.
 *
 * Usage: gemm_floor M K N BITS REPS
 * Prints one line of key=value pairs on stdout: the median, minimum
 * and maximum wall-clock seconds of the pair of products over REPS
 * repetitions, after one untimed warm-up; the median CPU seconds of
 * the process (all threads) per pair; and the OpenBLAS build and
 * thread count (OPENBLAS_NUM_THREADS sets it).
 */
#define _POSIX_C_SOURCE 199309L

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double clock_s(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* Fill n values with a fixed pattern in [-0.5, 0.5). */
static void fill(void *buf, size_t n, int f64)
{
    for (size_t i = 0; i < n; i++) {
        double v = (double)((i * 2654435761u) % 1000) / 1000 - 0.5;

        if (f64)
            ((double *)buf)[i] = v;
        else
            ((float *)buf)[i] = (float)v;
    }
}

/*
 * One forward and one weight-gradient product.  Returns the wall-clock
 * seconds and stores the process CPU seconds in *cpu_s.
 */
static double time_pair(int m, int k, int n, int f64, const void *x,
                        const void *w, void *z, void *dw, double *cpu_s)
{
    double t0 = clock_s(CLOCK_MONOTONIC);
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);

    if (f64) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
                    1, x, k, w, k, 0, z, n);
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m,
                    1, z, n, x, k, 0, dw, k);
    } else {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k,
                    1, x, k, w, k, 0, z, n);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, k, m,
                    1, z, n, x, k, 0, dw, k);
    }
    *cpu_s = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    return clock_s(CLOCK_MONOTONIC) - t0;
}

int main(int argc, char **argv)
{
    int m, k, n, bits, reps, f64;
    size_t elem;
    void *x, *w, *z, *dw;
    double *times, *cpu_times, median, cpu_median, unused;

    if (argc != 6) {
        fprintf(stderr, "Usage: gemm_floor M K N BITS REPS\n");
        return 2;
    }
    m = atoi(argv[1]);
    k = atoi(argv[2]);
    n = atoi(argv[3]);
    bits = atoi(argv[4]);
    reps = atoi(argv[5]);
    if (m < 1 || k < 1 || n < 1 || (bits != 32 && bits != 64) || reps < 1) {
        fprintf(stderr, "gemm_floor: M, K, N and REPS must be positive "
                "and BITS 32 or 64\n");
        return 2;
    }
    f64 = bits == 64;
    elem = f64 ? sizeof(double) : sizeof(float);
    x = malloc((size_t)m * k * elem);
    w = malloc((size_t)n * k * elem);
    z = malloc((size_t)m * n * elem);
    dw = malloc((size_t)n * k * elem);
    times = malloc((size_t)reps * sizeof *times);
    cpu_times = malloc((size_t)reps * sizeof *cpu_times);
    if (!x || !w || !z || !dw || !times || !cpu_times) {
        fprintf(stderr, "gemm_floor: out of memory\n");
        return 1;
    }
    fill(x, (size_t)m * k, f64);
    fill(w, (size_t)n * k, f64);

    time_pair(m, k, n, f64, x, w, z, dw, &unused);
    for (int r = 0; r < reps; r++)
        times[r] = time_pair(m, k, n, f64, x, w, z, dw, &cpu_times[r]);
    qsort(times, (size_t)reps, sizeof *times, compare_doubles);
    qsort(cpu_times, (size_t)reps, sizeof *cpu_times, compare_doubles);
    median = (times[(reps - 1) / 2] + times[reps / 2]) / 2;
    cpu_median = (cpu_times[(reps - 1) / 2] + cpu_times[reps / 2]) / 2;

    printf("bits=%d m=%d k=%d n=%d reps=%d median_s=%.6f min_s=%.6f "
           "max_s=%.6f cpu_median_s=%.6f threads=%d core=%s "
           "config=\"%s\"\n",
           bits, m, k, n, reps, median, times[0], times[reps - 1],
           cpu_median,
           openblas_get_num_threads(), openblas_get_corename(),
           openblas_get_config());
    free(x);
    free(w);
    free(z);
    free(dw);
    free(times);
    free(cpu_times);
    return 0;
}
