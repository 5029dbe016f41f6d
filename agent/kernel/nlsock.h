/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every netlink socket of medic needs from libnl, once: a bounded wait, the kernel's
 * own errno, and a callback set for one dump's handlers. */

#include <stdbool.h>

struct nl_cb;
struct nl_sock;

/* How long medic waits for the kernel on one send or receive. A kernel that does not
 * answer (a lost reply, an injected ENOBUFS) must not leave medic blocked in recvmsg()
 * while it holds the state lock. */
#define NLSOCK_TIMEOUT_MS 2000
#define NLSOCK_TIMEOUT_S "2"

/* A new socket connected to protocol (NETLINK_ROUTE, NETLINK_GENERIC), with send and
 * receive timeouts and the kernel's errno kept in *kerr. */
int nlsock_open(int protocol, int *kerr, struct nl_sock **ret);
/* SO_SNDTIMEO and SO_RCVTIMEO of ms on s (NLSOCK_TIMEOUT_MS). */
int nlsock_bound(struct nl_sock *s, unsigned ms);
/* libnl folds several kernel errnos into NLE_INVAL: keep the kernel's own in *kerr
 * (negative) each time the socket receives an NLMSG_ERROR. */
void nlsock_keep_errno(struct nl_sock *s, int *kerr);
/* Was the last error the kernel's answer to a request (its NLMSG_ERROR)? Anything else (a
 * timeout, ENOBUFS, a truncated or out-of-sequence message) leaves the socket's stream at
 * an unknown place: replies to requests medic gave up on may still be queued, and the
 * next read would take them for its own. Ask before nlsock_errno(), which resets *kerr. */
static inline bool nlsock_kernel_error(const int *kerr) {
        return *kerr < 0;
}
/* The kernel's errno if it sent one since the last call, else libnl's code as an errno
 * (a receive that timed out: -ETIMEDOUT); negative. Resets *kerr. */
int nlsock_errno(int *kerr, int nlerr);
/* strerror() of a negative errno from nlsock_errno(), with -ETIMEDOUT said as what it
 * means here: "the kernel did not answer within 2 s". */
const char *nlsock_strerror(int r);
/* A copy of the socket's callbacks (with the error handler) to add a dump's own to. */
struct nl_cb *nlsock_cb_clone(struct nl_sock *s);

/* nl_send_simple()'s request in a message of its own size: libnl's takes a zeroed page per
 * request, and an audit of a thousand interfaces sends two thousand. */
int nlsock_send_simple(struct nl_sock *s, int type, int flags, const void *body, size_t len);

/* Reads each datagram of s straight into a 32 KiB buffer (on), or as libnl does by default
 * (off): a MSG_PEEK for its size, then the read, two recvmsg calls per datagram. A dump
 * whose datagrams the kernel sizes to the reader's buffer (qdiscs, classes, filters) fits
 * in 32 KiB; the link dump must keep the peek, since the kernel makes a datagram as big as
 * the biggest device needs (a NIC with many VFs needs more than 32 KiB). */
void nlsock_read_direct(struct nl_sock *s, bool on);
