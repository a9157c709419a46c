/* memcpy_bw <block-size> <total-MiB>: this machine's memcpy bandwidth for blocks of
 * <block-size> bytes, copied between two 64 MiB arenas (larger than the caches, as a stream of
 * messages is), printed as GB/s and as the blocks per second a perfect stack could move: the
 * yardstick for the 64 KiB rows of scripts/perf_compare.py. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: memcpy_bw <block-size> <total-MiB>";
    check_argc(argc, 2, usage);
    long block = parse_count(argv[1], usage), total = parse_count(argv[2], usage) << 20;
    const long arena = 64L << 20;
    if (block < 1 || block > arena) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    char *src = malloc((size_t)arena), *dst = malloc((size_t)arena);
    if (!src || !dst)
        return 1;
    memset(src, 1, (size_t)arena);
    memset(dst, 2, (size_t)arena);
    long blocks = total / block, slots = arena / block;
    unsigned long long start = now_us();
    for (long i = 0; i < blocks; i++) {
        long at = (i % slots) * block;
        memcpy(dst + at, src + at, (size_t)block);
        /* Keep the compiler from proving the copies dead. */
        __asm__ volatile("" : : "r"(dst) : "memory");
    }
    unsigned long long elapsed = now_us() - start;
    if (elapsed == 0)
        elapsed = 1;
    double bytes_per_s = (double)blocks * (double)block / (double)elapsed * 1e6;
    printf("block size: %ld [B]\n", block);
    printf("bandwidth: %.2f [GB/s]\n", bytes_per_s / 1e9);
    printf("blocks per second: %d [blocks/s]\n", (int)(bytes_per_s / (double)block));
    free(src);
    free(dst);
    return 0;
}
