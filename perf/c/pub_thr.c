/* pub_thr <bind-to> <message-size> <message-count> <subscribers>: an XPUB with no high-water
 * mark binds, waits until <subscribers> peers have subscribed, then publishes <message-count>
 * fresh messages to all of them and closes, lingering until every copy went out. With
 * sub_thr, the fan-out row of scripts/perf_compare.py (libzmq has no tool for it). */
#include "perf.h"

int main(int argc, char *argv[]) {
    const char *usage = "usage: pub_thr <bind-to> <message-size> <message-count> <subscribers>";
    long size, count, subscribers;
    parse_fanout(argc, argv, usage, &size, &count, &subscribers);
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_XPUB);
    int zero = 0, verbose = 1;
    /* XPUB_VERBOSE: every subscriber's "" subscription is reported, not only the first. */
    if (!s || zmq_setsockopt(s, ZMQ_SNDHWM, &zero, sizeof zero) != 0 ||
        zmq_setsockopt(s, ZMQ_XPUB_VERBOSE, &verbose, sizeof verbose) != 0 ||
        zmq_bind(s, argv[1]) != 0)
        die("zmq_bind");
    for (long seen = 0; seen < subscribers;) {
        char sub[256];
        int n = zmq_recv(s, sub, sizeof sub, 0);
        if (n < 0)
            die("zmq_recv");
        if (n >= 1 && sub[0] == 1)
            seen++;
    }
    for (long i = 0; i < count; i++)
        send_fresh(s, size);
    zmq_close(s);
    zmq_ctx_term(ctx);
    return 0;
}
