/* inproc_lat <message-size> <roundtrip-count>: a REP echo thread and a REQ here, over
 * inproc in one context. */
#include "perf.h"
#include <pthread.h>

static long size, roundtrips;

static void *echo(void *ctx) {
    void *s = zmq_socket(ctx, ZMQ_REP);
    if (!s || zmq_connect(s, "inproc://lat_test") != 0)
        die("zmq_connect");
    echo_requests(s, size, roundtrips);
    zmq_close(s);
    return NULL;
}

int main(int argc, char *argv[]) {
    const char *usage = "usage: inproc_lat <message-size> <roundtrip-count>";
    check_argc(argc, 2, usage);
    size = parse_count(argv[1], usage);
    roundtrips = parse_count(argv[2], usage);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_REQ);
    if (!s || zmq_bind(s, "inproc://lat_test") != 0)
        die("zmq_bind");
    pthread_t t;
    pthread_create(&t, NULL, echo, ctx);
    unsigned long long elapsed = round_trips(s, size, roundtrips);
    pthread_join(t, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    report_lat(size, roundtrips, elapsed);
    return 0;
}
