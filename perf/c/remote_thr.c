/* remote_thr <connect-to> <message-size> <message-count>: PUSH, a fresh message per send;
 * closing waits (default linger) until every message went out. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: remote_thr <connect-to> <message-size> <message-count>";
    check_argc(argc, 3, usage);
    long size = parse_count(argv[2], usage), count = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_PUSH);
    if (!s || zmq_connect(s, argv[1]) != 0)
        die("zmq_connect");
    for (long i = 0; i < count; i++)
        send_fresh(s, size);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
