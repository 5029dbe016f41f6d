/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>

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
        case NLE_AGAIN: return -EAGAIN;
        case NLE_MSGSIZE: return -EMSGSIZE;
        default: return -EIO;
        }
}

struct nl_cb *nlsock_cb_clone(struct nl_sock *s) {
        /* nl_socket_get_cb() hands out a reference that the clone does not consume. */
        struct nl_cb *base = nl_socket_get_cb(s), *cb = nl_cb_clone(base);
        nl_cb_put(base);
        return cb;
}
