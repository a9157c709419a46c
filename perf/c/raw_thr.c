/* raw_thr <tcp|ipc> <message-size> <message-count>: the floor under every stack's 64 KiB
 * throughput on this machine: one process writes <message-count> blocks of <message-size>
 * bytes into a loopback TCP connection or a Unix stream socket, with no messaging library and
 * no framing, and another reads them into a 256 KiB buffer. The writer sets each block before
 * it writes it (memset, as every stack's tool fills each fresh message), but reuses one
 * buffer, so it pays no malloc and no page faults. Prints libzmq's throughput lines. */
#include "perf.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
    const char *usage = "usage: raw_thr <tcp|ipc> <message-size> <message-count>";
    if (argc != 4 || (strcmp(argv[1], "tcp") && strcmp(argv[1], "ipc"))) {
        fprintf(stderr, "%s\n", usage);
        return 1;
    }
    int tcp = !strcmp(argv[1], "tcp");
    long size = parse_count(argv[2], usage), count = parse_count(argv[3], usage);
    struct sockaddr_in in = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path, sizeof un.sun_path, "/tmp/raw_thr-%d.sock", (int)getpid());
    struct sockaddr *addr = tcp ? (struct sockaddr *)&in : (struct sockaddr *)&un;
    socklen_t len = tcp ? sizeof in : sizeof un;
    int lfd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
    if (bind(lfd, addr, len) || listen(lfd, 1) || getsockname(lfd, addr, &len)) {
        perror("listen");
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        int fd = socket(tcp ? AF_INET : AF_UNIX, SOCK_STREAM, 0);
        if (connect(fd, addr, len)) {
            perror("connect");
            return 1;
        }
        char *buf = malloc((size_t)size);
        for (long i = 0; i < count; i++) {
            memset(buf, (int)i, (size_t)size);
            for (long done = 0; done < size;) {
                ssize_t n = send(fd, buf + done, (size_t)(size - done), MSG_NOSIGNAL);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0) {
                    perror("send");
                    return 1;
                }
                done += n;
            }
        }
        close(fd);
        return 0;
    }
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) {
        perror("accept");
        return 1;
    }
    static char buf[256 * 1024];
    long long want = (long long)size * count, got = 0;
    unsigned long long start = 0;
    while (got < want) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "raw_thr: stream ended after %lld of %lld bytes\n", got, want);
            return 1;
        }
        if (got == 0)
            start = now_us();
        got += n;
    }
    unsigned long long elapsed = now_us() - start;
    waitpid(child, NULL, 0);
    if (!tcp)
        unlink(un.sun_path);
    report_thr(size, count, elapsed);
    return 0;
}
