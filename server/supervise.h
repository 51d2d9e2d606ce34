/* supervise.h: telling a service manager how start-up and shut-down go, as Redis's
 * `supervised` setting does: systemd through sd_notify's datagram protocol
 * ($NOTIFY_SOCKET), upstart by stopping ourselves once ready. */
#ifndef RESPITE_SUPERVISE_H
#define RESPITE_SUPERVISE_H

/* Resolve `supervised` (no, upstart, systemd, auto) against the environment; logs what
 * it chose. Call once after the settings are loaded. */
void supervise_init(const char *mode);
/* 1 when supervise_init found a service manager (then `daemonize yes` is ignored,
 * as in Redis). */
int supervise_active(void);
/* The server accepts connections (systemd: READY=1; upstart: SIGSTOP). */
void supervise_ready(void);
/* Shut-down has begun (systemd: STOPPING=1). */
void supervise_stopping(void);
/* Send one sd_notify message ("KEY=value\n..."): 1 if sent, 0 if not under systemd
 * or the socket refused it. */
int supervise_notify(const char *msg);

#endif
