/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>
#include <sys/socket.h>

#include "nlsock.h"

static int keep_errno(struct sockaddr_nl *nla, struct nlmsgerr *e, void *arg) {
        int *kerr = arg;
        (void) nla;
        *kerr = e->error;
        return NL_STOP;
}

void nlsock_keep_errno(struct nl_sock *s, int *kerr) {
        nl_socket_modify_err_cb(s, NL_CB_CUSTOM, keep_errno, kerr);
}

int nlsock_bound(struct nl_sock *s, unsigned ms) {
        struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
        int fd = nl_socket_get_fd(s);

        if (fd < 0)
                return -EBADF;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        return 0;
}

/* The kernel caps a dump's datagram at the largest buffer its reader used, itself capped
 * at 32 KiB (netlink_recvmsg), unless the dump needs more for one message. */
#define NLSOCK_DIRECT_BUF 32768

int nlsock_open(int protocol, int *kerr, struct nl_sock **ret) {
        struct nl_sock *s = nl_socket_alloc();
        int r;

        if (!s)
                return -ENOMEM;
        r = nl_connect(s, protocol);
        if (r < 0) {
                nl_socket_free(s);
                *kerr = 0;
                return nlsock_errno(kerr, r);
        }
        r = nlsock_bound(s, NLSOCK_TIMEOUT_MS);
        if (r < 0) {
                nl_socket_free(s);
                return r;
        }
        nlsock_keep_errno(s, kerr);
        *ret = s;
        return 0;
}

int nlsock_errno(int *kerr, int nlerr) {
        int k = *kerr;

        *kerr = 0;
        if (k < 0)
                return k;
        switch (nlerr < 0 ? -nlerr : nlerr) {
        case NLE_NOMEM: return -ENOMEM;
        case NLE_PERM: return -EPERM;
        case NLE_NOACCESS: return -EACCES;
        case NLE_EXIST: return -EEXIST;
        case NLE_OBJ_NOTFOUND: return -ENOENT;
        case NLE_NODEV: return -ENODEV;
        case NLE_BUSY: return -EBUSY;
        case NLE_OPNOTSUPP: return -EOPNOTSUPP;
        case NLE_RANGE: return -ERANGE;
        /* Not the kernel's EAGAIN (that comes as an NLMSG_ERROR, above): recvmsg() gave up
         * after SO_RCVTIMEO. */
        case NLE_AGAIN: return -ETIMEDOUT;
        case NLE_MSGSIZE: return -EMSGSIZE;
        default: return -EIO;
        }
}

const char *nlsock_strerror(int r) {
        if (r == -ETIMEDOUT)
                return "the kernel did not answer within " NLSOCK_TIMEOUT_S " s (netlink receive timeout)";
        return strerror(r < 0 ? -r : r);
}

struct nl_cb *nlsock_cb_clone(struct nl_sock *s) {
        /* nl_socket_get_cb() hands out a reference that the clone does not consume. */
        struct nl_cb *base = nl_socket_get_cb(s), *cb = nl_cb_clone(base);
        nl_cb_put(base);
        return cb;
}

void nlsock_read_direct(struct nl_sock *s, bool on) {
        if (on) {
                nl_socket_set_msg_buf_size(s, NLSOCK_DIRECT_BUF);
                nl_socket_disable_msg_peek(s);
        } else
                nl_socket_enable_msg_peek(s);
}

int nlsock_send_simple(struct nl_sock *s, int type, int flags, const void *body, size_t len) {
        struct nl_msg *m = nlmsg_alloc_size(NLMSG_SPACE(len));
        struct nlmsghdr *h;
        int r;

        if (!m)
                return -NLE_NOMEM;
        h = nlmsg_put(m, NL_AUTO_PORT, NL_AUTO_SEQ, type, (int) len, flags);
        if (!h) {
                nlmsg_free(m);
                return -NLE_NOMEM;
        }
        memcpy(nlmsg_data(h), body, len);
        r = nl_send_auto(s, m);
        nlmsg_free(m);
        return r;
}
