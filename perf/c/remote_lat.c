/* remote_lat <connect-to> <message-size> <roundtrip-count>: REQ, timing the round trips;
 * prints the one-way latency (elapsed / (2 x roundtrips)). */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: remote_lat <connect-to> <message-size> <roundtrip-count>";
    check_argc(argc, 3, usage);
    long size = parse_count(argv[2], usage), roundtrips = parse_count(argv[3], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    if (!s || zmq_connect(s, argv[1]) != 0)
        die("zmq_connect");
    unsigned long long elapsed = round_trips(s, size, roundtrips);
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_lat(size, roundtrips, elapsed);
    return 0;
}
