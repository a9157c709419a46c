/* inproc_thr <message-size> <message-count>: PUSH in a second thread, PULL here, over
 * inproc in one context. */
#include "perf.h"
#include <pthread.h>

static long size, count;

static void *remote(void *ctx) {
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    if (!s || zmq_connect(s, "inproc://thr_test") != 0)
        die("zmq_connect");
    for (long i = 0; i < count; i++)
        send_fresh(s, size);
    zmq_close(s);
    return NULL;
}

int main(int argc, char *argv[]) {
    const char *usage = "usage: inproc_thr <message-size> <message-count>";
    check_argc(argc, 2, usage);
    size = parse_count(argv[1], usage);
    count = parse_count(argv[2], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PULL);
    if (!s || zmq_bind(s, "inproc://thr_test") != 0)
        die("zmq_bind");
    pthread_t t;
    pthread_create(&t, NULL, remote, ctx);
    unsigned long long elapsed = receive_timed(s, size, count);
    pthread_join(t, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_thr(size, count, elapsed);
    return 0;
}
