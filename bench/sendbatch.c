/* sendbatch.c: what batching a turn's replies saves in the kernel (issue 18's measurement).
 *
 * 50 loopback TCP connections, as a server's 50 clients at pipeline 1. Each round, every
 * client sends a request and the "server" reads it (so the reply carries the ACK, as in
 * real traffic), then the server's 50 replies of 16 bytes go out one of three ways, and
 * only that step is timed, in the thread's own CPU time: 50 write() calls, 50 send()
 * calls, or one io_uring_enter submitting 50 IORING_OP_SEND with MSG_DONTWAIT (each
 * completes inline or fails with EAGAIN: nothing stays in flight). The clients drain
 * untimed. Prints nanoseconds of CPU per reply for each way.
 * Build: cc -O2 bench/sendbatch.c -o sendbatch $(pkg-config --cflags --libs liburing) */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS 50

static double thread_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

static void need(int ok, const char *what) {
    if (!ok) {
        perror(what);
        exit(1);
    }
}

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 5000;
    int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    need(bind(l, (void *)&a, sizeof a) == 0 && listen(l, 128) == 0 && getsockname(l, (void *)&a, &al) == 0, "listen");
    int cl[CLIENTS], sv[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cl[i] = socket(AF_INET, SOCK_STREAM, 0);
        need(connect(cl[i], (void *)&a, sizeof a) == 0, "connect");
        sv[i] = accept(l, NULL, NULL);
        need(sv[i] >= 0, "accept");
        setsockopt(sv[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        setsockopt(cl[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(sv[i], F_SETFL, O_NONBLOCK);
    }
    struct io_uring ring;
    need(io_uring_queue_init(256, &ring, 0) == 0, "io_uring_queue_init");
    static const char req[] = "*1\r\n$4\r\nPING\r\n", reply[16] = "$10\r\n0123456789";
    char buf[4096];
    double t[3] = {0};
    for (int r = 0; r < rounds; r++) {
        for (int way = 0; way < 3; way++) {
            for (int i = 0; i < CLIENTS; i++) need(write(cl[i], req, sizeof req - 1) > 0, "client write");
            for (int i = 0; i < CLIENTS; i++) need(read(sv[i], buf, sizeof buf) > 0, "server read");
            double t0 = thread_ns();
            if (way == 0) {
                for (int i = 0; i < CLIENTS; i++) need(write(sv[i], reply, 16) == 16, "write");
            } else if (way == 1) {
                for (int i = 0; i < CLIENTS; i++) need(send(sv[i], reply, 16, MSG_DONTWAIT) == 16, "send");
            } else {
                for (int i = 0; i < CLIENTS; i++)
                    io_uring_prep_send(io_uring_get_sqe(&ring), sv[i], reply, 16, MSG_DONTWAIT);
                need(io_uring_submit_and_wait(&ring, CLIENTS) == CLIENTS, "io_uring_submit_and_wait");
                struct io_uring_cqe *c;
                unsigned head, n = 0;
                io_uring_for_each_cqe(&ring, head, c) {
                    need(c->res == 16, "io_uring send");
                    n++;
                }
                io_uring_cq_advance(&ring, n);
            }
            t[way] += thread_ns() - t0;
            for (int i = 0; i < CLIENTS; i++) need(read(cl[i], buf, sizeof buf) == 16, "client read");
        }
    }
    printf("CPU ns per reply: write %.0f, send %.0f, io_uring (one enter per %d sends) %.0f\n", t[0] / rounds / CLIENTS,
           t[1] / rounds / CLIENTS, CLIENTS, t[2] / rounds / CLIENTS);
    return 0;
}
