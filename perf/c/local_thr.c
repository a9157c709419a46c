/* local_thr <bind-to> <message-size> <message-count>: PULL, timed from the first message. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: local_thr <bind-to> <message-size> <message-count>";
    check_argc(argc, 3, usage);
    long size = parse_count(argv[2], usage), count = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PULL);
    if (!s || zmq_bind(s, argv[1]) != 0)
        die("zmq_bind");
    unsigned long long elapsed = receive_timed(s, size, count);
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_thr(size, count, elapsed);
    return 0;
}
