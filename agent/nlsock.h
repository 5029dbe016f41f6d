/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What every netlink socket of medic needs from libnl, once: the kernel's own errno, and
 * a callback set for one dump's handlers. */

struct nl_cb;
struct nl_sock;

/* libnl folds several kernel errnos into NLE_INVAL: keep the kernel's own in *kerr
 * (negative) each time the socket receives an NLMSG_ERROR. */
void nlsock_keep_errno(struct nl_sock *s, int *kerr);
/* The kernel's errno if it sent one since the last call, else libnl's code as an errno;
 * negative. Resets *kerr. */
int nlsock_errno(int *kerr, int nlerr);
/* A copy of the socket's callbacks (with the error handler) to add a dump's own to. */
struct nl_cb *nlsock_cb_clone(struct nl_sock *s);
