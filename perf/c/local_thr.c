/* local_thr <bind-to> <message-size> <message-count>: PULL, timed from the first message. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: local_thr <bind-to> <message-size> <message-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    long size = parse_count(argv[2], usage), count = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PULL);
    if (!s || zmq_bind(s, argv[1]) != 0)
        die("zmq_bind");
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    recv_sized(s, &msg, size);
    unsigned long long start = now_us();
    for (long i = 1; i < count; i++)
        recv_sized(s, &msg, size);
    unsigned long long elapsed = now_us() - start;
    zmq_msg_close(&msg);
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_thr(size, count, elapsed);
    return 0;
}
