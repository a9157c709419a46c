/* sub_thr <connect-to> <message-size> <message-count> <subscribers>: <subscribers> threads,
 * each a SUB with no high-water mark subscribed to everything, each timing its stream from the
 * first message to the last; prints libzmq's throughput lines with the mean of the
 * subscribers' rates (per subscriber, not summed). */
#include "perf.h"
#include <pthread.h>

struct sub {
    void *ctx;
    const char *endpoint;
    long size, count;
    unsigned long long elapsed;
};

static void *run(void *arg) {
    struct sub *a = arg;
    void *s = zmq_socket(a->ctx, ZMQ_SUB);
    int zero = 0;
    if (!s || zmq_setsockopt(s, ZMQ_RCVHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0 || zmq_connect(s, a->endpoint) != 0)
        die("zmq_connect");
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    recv_sized(s, &msg, a->size);
    unsigned long long start = now_us();
    for (long i = 1; i < a->count; i++)
        recv_sized(s, &msg, a->size);
    a->elapsed = now_us() - start;
    zmq_msg_close(&msg);
    zmq_close(s);
    return NULL;
}

int main(int argc, char *argv[]) {
    const char *usage = "usage: sub_thr <connect-to> <message-size> <message-count> <subscribers>";
    long size, count, n;
    parse_fanout(argc, argv, usage, &size, &count, &n);
    void *ctx = zmq_ctx_new();
    struct sub subs[64];
    pthread_t threads[64];
    for (long i = 0; i < n; i++) {
        subs[i] = (struct sub){ctx, argv[1], size, count, 0};
        pthread_create(&threads[i], NULL, run, &subs[i]);
    }
    double rate = 0;
    for (long i = 0; i < n; i++) {
        pthread_join(threads[i], NULL);
        rate += (double)count / (double)(subs[i].elapsed ? subs[i].elapsed : 1) * 1000000.0;
    }
    rate /= (double)n;
    printf("message size: %ld [B]\n", size);
    printf("message count: %ld\n", count);
    printf("subscribers: %ld\n", n);
    printf("mean throughput: %d [msg/s]\n", (int)rate);
    printf("mean throughput: %.3f [Mb/s]\n", rate * (double)size * 8.0 / 1000000.0);
    zmq_ctx_term(ctx);
    return 0;
}
