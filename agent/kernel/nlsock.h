/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every netlink socket of medic needs from libnl, once: a bounded wait, the kernel's
 * own errno, and a callback set for one dump's handlers; and, for the dumps read in bulk
 * (tc's, two per interface), small requests and a receive loop of medic's own. */

#include <stdbool.h>
#include <stddef.h>

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

/* One dump on s, its messages handed to fn as the kernel wrote them: read from the socket
 * into a buffer of the dump's own, not through libnl's receive path, which copies each
 * message into an object of its own first (an audit of 1,000 interfaces with medic's roots
 * reads 20,000 messages in 2,000 dumps). Sequence numbers are checked; an NLMSG_ERROR's errno
 * goes to *kerr as libnl's error callback puts it; a dump the kernel marks interrupted
 * (NLM_F_DUMP_INTR) fails with -NLE_DUMP_INTR. fn returns 0 to go on or a negative libnl
 * error to give up (the rest of the dump is then left unread: the caller's error path
 * treats the socket as out of step). A libnl error code, negative, or 0. */
struct nlmsghdr;
typedef int (*nlsock_msg_fn)(const struct nlmsghdr *h, void *arg);
int nlsock_dump(struct nl_sock *s, int *kerr, int type, const void *body, size_t len, nlsock_msg_fn fn, void *arg);
#ifdef MEDIC_FUZZ
/* The fuzzers' seed recorder: each datagram nlsock_dump() reads. */
extern void (*nlsock_dump_tap)(const void *buf, size_t len);
/* The fuzzers' fake kernel: the socket nlsock_open() gives in place of a real one. An
 * error that leaves a socket out of step makes medic open a new one, which must be
 * answered from the same input, never by this machine's kernel. */
extern struct nl_sock *(*nlsock_open_hook)(int protocol);
#endif
