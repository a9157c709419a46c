/* raw_lat <message-size> <roundtrip-count> <block|spin>: the floor under every stack's tcp
 * latency on this machine: two processes ping-pong <message-size> bytes over a loopback TCP
 * connection (TCP_NODELAY) with no messaging library, reading with blocking recv ("block")
 * or busy-polling a non-blocking socket ("spin"). Prints libzmq's latency lines. */
#include "perf.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int spin;

static void full(int fd, char *buf, long size, int writing) {
    long done = 0;
    while (done < size) {
        ssize_t n = writing ? send(fd, buf + done, (size_t)(size - done), MSG_NOSIGNAL)
                            : recv(fd, buf + done, (size_t)(size - done), spin ? MSG_DONTWAIT : 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (n <= 0) {
            perror(writing ? "send" : "recv");
            exit(1);
        }
        done += n;
    }
}

int main(int argc, char *argv[]) {
    const char *usage = "usage: raw_lat <message-size> <roundtrip-count> <block|spin>";
    if (argc != 4 || (strcmp(argv[3], "block") && strcmp(argv[3], "spin"))) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    long size = parse_count(argv[1], usage), roundtrips = parse_count(argv[2], usage);
    spin = !strcmp(argv[3], "spin");
    int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) || listen(lfd, 1) ||
        getsockname(lfd, (struct sockaddr *)&a, &len)) {
        perror("listen");
        return 1;
    }
    char *buf = calloc(1, (size_t)size + 1);
    pid_t child = fork();
    if (child == 0) {
        int fd = accept(lfd, NULL, NULL);
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (long i = 0; i < roundtrips; i++) {
            full(fd, buf, size, 0);
            full(fd, buf, size, 1);
        }
        return 0;
    }
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
        perror("connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    unsigned long long start = now_us();
    for (long i = 0; i < roundtrips; i++) {
        full(fd, buf, size, 1);
        full(fd, buf, size, 0);
    }
    report_lat(size, roundtrips, now_us() - start);
    waitpid(child, NULL, 0);
    return 0;
}
