/* local_lat <bind-to> <message-size> <roundtrip-count>: REP, echoing each request. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: local_lat <bind-to> <message-size> <roundtrip-count>";
    check_argc(argc, 3, usage);
    long size = parse_count(argv[2], usage), roundtrips = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REP);
    if (!s || zmq_bind(s, argv[1]) != 0)
        die("zmq_bind");
    echo_requests(s, size, roundtrips);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
