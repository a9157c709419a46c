/* local_lat <bind-to> <message-size> <roundtrip-count>: REP, echoing each request. */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: local_lat <bind-to> <message-size> <roundtrip-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    long size = parse_count(argv[2], usage), roundtrips = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REP);
    if (!s || zmq_bind(s, argv[1]) != 0)
        die("zmq_bind");
    zmq_msg_t msg;
    zmq_msg_init(&msg);
    for (long i = 0; i < roundtrips; i++) {
        recv_sized(s, &msg, size);
        if (zmq_msg_send(&msg, s, 0) < 0)
            die("zmq_msg_send");
    }
    zmq_msg_close(&msg);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
