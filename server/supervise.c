/* supervise.c: sd_notify without libsystemd (one datagram to $NOTIFY_SOCKET, an
 * abstract socket when the path starts with '@') and upstart's raise-SIGSTOP, chosen
 * by the `supervised` setting as Redis chooses. */
#include "server/supervise.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server/server.h"

enum { SUP_NONE, SUP_UPSTART, SUP_SYSTEMD };
static int sup_mode = SUP_NONE;

void supervise_init(const char *mode) {
    sup_mode = SUP_NONE;
    if (!mode || !strcmp(mode, "no")) return;
    if (!strcmp(mode, "auto")) {
        if (getenv("UPSTART_JOB")) sup_mode = SUP_UPSTART;
        else if (getenv("NOTIFY_SOCKET")) sup_mode = SUP_SYSTEMD;
    } else if (!strcmp(mode, "upstart")) {
        sup_mode = SUP_UPSTART;
    } else if (!strcmp(mode, "systemd")) {
        sup_mode = SUP_SYSTEMD;
    }
    if (sup_mode == SUP_SYSTEMD) {
        if (!getenv("NOTIFY_SOCKET")) {
            log_warning("systemd supervision requested or auto-detected, but no socket specified");
            sup_mode = SUP_NONE;
            return;
        }
        log_notice("Supervised by systemd. Please make sure you set appropriate values for TimeoutStartSec and "
                   "TimeoutStopSec in your service unit.");
    } else if (sup_mode == SUP_UPSTART) {
        if (!getenv("UPSTART_JOB")) {
            log_warning("upstart supervision requested, but UPSTART_JOB not found!");
            sup_mode = SUP_NONE;
            return;
        }
        log_notice("supervised by upstart, will stop to signal readiness.");
    }
}

int supervise_active(void) { return sup_mode != SUP_NONE; }

int supervise_notify(const char *msg) {
    const char *path = getenv("NOTIFY_SOCKET");
    if (sup_mode != SUP_SYSTEMD || !path) return 0;
    size_t plen = strlen(path);
    struct sockaddr_un sun;
    if (plen < 2 || plen >= sizeof(sun.sun_path) || (path[0] != '/' && path[0] != '@')) {
        log_warning("NOTIFY_SOCKET is not a usable socket path: %s", path);
        return 0;
    }
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, plen);
    if (path[0] == '@') sun.sun_path[0] = '\0'; /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return 0;
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    ssize_t n = sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
    close(fd);
    if (n < 0) {
        log_warning("Could not notify systemd (%s)", path);
        return 0;
    }
    return 1;
}

void supervise_ready(void) {
    if (sup_mode == SUP_SYSTEMD) {
        supervise_notify("STATUS=Ready to accept connections\nREADY=1\n");
    } else if (sup_mode == SUP_UPSTART) {
        unsetenv("UPSTART_JOB");
        raise(SIGSTOP);
    }
}

void supervise_stopping(void) {
    if (sup_mode == SUP_SYSTEMD) supervise_notify("STOPPING=1\nSTATUS=Shutting down\n");
}
