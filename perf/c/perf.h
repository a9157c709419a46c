/* Shared by the C twins of libzmq's perf tools: argument parsing, the clock, the result
 * lines. Written for ferromq's comparisons (scripts/perf_compare.py); they time and print
 * exactly as libzmq's own perf/ tools do, so the numbers compare with ferromq's Rust tools. */
#ifndef FERROMQ_PERF_H
#define FERROMQ_PERF_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static inline void die(const char *what) {
    fprintf(stderr, "error in %s: %s\n", what, zmq_strerror(zmq_errno()));
    exit(1);
}

/* Microseconds on the monotonic clock. */
static inline unsigned long long now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000ull;
}

/* Exits with the usage line unless the tool got exactly `want` arguments. */
static inline void check_argc(int argc, int want, const char *usage) {
    if (argc != want + 1) {
        fprintf(stderr, "%s\n", usage);
        exit(1);
    }
}

static inline long parse_count(const char *s, const char *usage) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end != '\0' || v < 0) {
        fprintf(stderr, "%s\n", usage);
        exit(1);
    }
    return v;
}

/* The fan-out tools' `<endpoint> <message-size> <message-count> <subscribers>` (1 to 64). */
static inline void parse_fanout(int argc, char *argv[], const char *usage, long *size,
                                long *count, long *subscribers) {
    check_argc(argc, 4, usage);
    *size = parse_count(argv[2], usage);
    *count = parse_count(argv[3], usage);
    *subscribers = parse_count(argv[4], usage);
    if (*subscribers < 1 || *subscribers > 64) {
        fprintf(stderr, "%s\n", usage);
        exit(1);
    }
}

/* libzmq's throughput lines; `elapsed` runs from the first message to the last. */
static inline void report_thr(long size, long count, unsigned long long elapsed) {
    if (elapsed == 0)
        elapsed = 1;
    double throughput = (double)count / (double)elapsed * 1000000.0;
    double megabits = throughput * (double)size * 8.0 / 1000000.0;
    printf("message size: %ld [B]\n", size);
    printf("message count: %ld\n", count);
    printf("mean throughput: %d [msg/s]\n", (int)throughput);
    printf("mean throughput: %.3f [Mb/s]\n", megabits);
}

/* libzmq's latency lines: one-way latency is the round trip halved. */
static inline void report_lat(long size, long roundtrips, unsigned long long elapsed) {
    double latency = (double)elapsed / ((double)roundtrips * 2.0);
    printf("message size: %ld [B]\n", size);
    printf("roundtrip count: %ld\n", roundtrips);
    printf("average latency: %.3f [us]\n", latency);
}

/* Sends one fresh message of `size` bytes, as libzmq's tools build one per send. */
static inline void send_fresh(void *s, long size) {
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, (size_t)size) != 0)
        die("zmq_msg_init_size");
    memset(zmq_msg_data(&msg), 0, (size_t)size);
    if (zmq_msg_send(&msg, s, 0) < 0)
        die("zmq_msg_send");
    zmq_msg_close(&msg);
}

/* Receives one message and checks its size. */
static inline void recv_sized(void *s, zmq_msg_t *msg, long size) {
    if (zmq_msg_recv(msg, s, 0) < 0)
        die("zmq_msg_recv");
    if ((long)zmq_msg_size(msg) != size) {
        fprintf(stderr, "message of incorrect size received\n");
        exit(1);
    }
}

/* REP side of the latency tools: echoes `roundtrips` requests of `size` bytes. */
static inline void echo_requests(void *s, long size, long roundtrips) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (long i = 0; i < roundtrips; i++) {
        recv_sized(s, &msg, size);
        if (zmq_msg_send(&msg, s, 0) < 0)
            die("zmq_msg_send");
    }
    zmq_msg_close(&msg);
}

/* REQ side of the latency tools: `roundtrips` round trips of `size` bytes; elapsed us. */
static inline unsigned long long round_trips(void *s, long size, long roundtrips) {
    zmq_msg_t msg;
    if (zmq_msg_init_size(&msg, (size_t)size) != 0)
        die("zmq_msg_init_size");
    memset(zmq_msg_data(&msg), 0, (size_t)size);
    unsigned long long start = now_us();
    for (long i = 0; i < roundtrips; i++) {
        if (zmq_msg_send(&msg, s, 0) < 0)
            die("zmq_msg_send");
        recv_sized(s, &msg, size);
    }
    unsigned long long elapsed = now_us() - start;
    zmq_msg_close(&msg);
    return elapsed;
}

/* Receiving side of the throughput tools: `count` messages, timed from the first; elapsed us. */
static inline unsigned long long receive_timed(void *s, long size, long count) {
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    recv_sized(s, &msg, size);
    unsigned long long start = now_us();
    for (long i = 1; i < count; i++)
        recv_sized(s, &msg, size);
    unsigned long long elapsed = now_us() - start;
    zmq_msg_close(&msg);
    return elapsed;
}

#endif
