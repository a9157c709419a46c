/* remote_lat <connect-to> <message-size> <roundtrip-count>: REQ, timing the round trips;
 * prints the one-way latency (elapsed / (2 x roundtrips)). */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: remote_lat <connect-to> <message-size> <roundtrip-count>";
    if (argc != 4) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    long size = parse_count(argv[2], usage), roundtrips = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    if (!s || zmq_connect(s, argv[1]) != 0)
        die("zmq_connect");
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
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_lat(size, roundtrips, elapsed);
    return 0;
}
