/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <string.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "../util.h"

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
 * at 32 KiB (netlink_recvmsg), unless the dump needs more for one message (a link dump of a
 * NIC with many VFs: that one stays on libnl's path, which peeks for the size). */
#define NLSOCK_DIRECT_BUF 32768

#ifdef MEDIC_FUZZ
struct nl_sock *(*nlsock_open_hook)(int protocol);
#endif

int nlsock_open(int protocol, int *kerr, struct nl_sock **ret) {
        struct nl_sock *s;
        int r;

#ifdef MEDIC_FUZZ
        if (nlsock_open_hook) {
                s = nlsock_open_hook(protocol);
                nlsock_keep_errno(s, kerr);
                *ret = s;
                return 0;
        }
#endif
        s = nl_socket_alloc();
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

static int send_simple(struct nl_sock *s, int type, int flags, const void *body, size_t len, uint32_t seq) {
        struct nl_msg *m = nlmsg_alloc_size(NLMSG_SPACE(len));
        struct nlmsghdr *h;
        int r;

        if (!m)
                return -NLE_NOMEM;
        h = nlmsg_put(m, NL_AUTO_PORT, seq, type, (int) len, flags);
        if (!h) {
                nlmsg_free(m);
                return -NLE_NOMEM;
        }
        memcpy(nlmsg_data(h), body, len);
        r = nl_send_auto(s, m);
        nlmsg_free(m);
        return r;
}

int nlsock_send_simple(struct nl_sock *s, int type, int flags, const void *body, size_t len) {
        return send_simple(s, type, flags, body, len, NL_AUTO_SEQ);
}

/* nlsock_dump()'s own sequence numbers. libnl numbers its requests and expects their replies
 * in that order, counting a reply as read when its receive path sees the end: a request it
 * numbered and medic read past it would leave libnl waiting for a number already answered.
 * So medic's dumps carry numbers of their own, from a range libnl's (seeded with the time of
 * day) does not reach for decades, and libnl's count is never touched. */
static uint32_t dump_seq(void) {
        static uint32_t seq = 0xc0000000u;

        if (++seq == NL_AUTO_SEQ)
                seq = 0xc0000001u;
        return seq;
}

#ifdef MEDIC_FUZZ
void (*nlsock_dump_tap)(const void *buf, size_t len);
#endif

/* One datagram of a dump: 1 more to read, 0 done, or a libnl error. */
static int dump_datagram(uint8_t *buf, size_t n, uint32_t seq, int *kerr, nlsock_msg_fn fn, void *arg) {
        struct nlmsghdr *h = (void *) buf;
        int left = (int) n, r;
        bool more = false;

        for (; nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
                if (h->nlmsg_seq != seq)
                        return -NLE_SEQ_MISMATCH;
                if (h->nlmsg_flags & NLM_F_DUMP_INTR)
                        return -NLE_DUMP_INTR;
                more = more || (h->nlmsg_flags & NLM_F_MULTI);
                switch (h->nlmsg_type) {
                case NLMSG_DONE:
                        /* A dump the kernel could not finish says why here. */
                        if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) && *(const int *) NLMSG_DATA(h) < 0) {
                                *kerr = *(const int *) NLMSG_DATA(h);
                                return -nl_syserr2nlerr(-*kerr);
                        }
                        return 0;
                case NLMSG_NOOP:
                        continue;
                case NLMSG_OVERRUN:
                        return -NLE_MSG_OVERFLOW;
                case NLMSG_ERROR: {
                        const struct nlmsgerr *e = NLMSG_DATA(h);
                        if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
                                return -NLE_MSG_TRUNC;
                        if (e->error == 0)
                                return 0; /* an ack: nothing follows */
                        *kerr = e->error;
                        return -nl_syserr2nlerr(-e->error);
                }
                default:
                        if (h->nlmsg_type < NLMSG_MIN_TYPE)
                                continue;
                        r = fn(h, arg);
                        if (r < 0)
                                return r;
                }
        }
        /* A reply that is not a dump's (no NLM_F_MULTI) ends with its datagram. */
        return more ? 1 : 0;
}

int nlsock_dump(struct nl_sock *s, int *kerr, int type, const void *body, size_t len, nlsock_msg_fn fn, void *arg) {
        _cleanup_free_ uint8_t *buf = NULL;
        uint32_t seq = dump_seq();
        int fd = nl_socket_get_fd(s), r;

        if (fd < 0)
                return -NLE_BAD_SOCK;
        r = send_simple(s, type, NLM_F_DUMP, body, len, seq);
        if (r < 0)
                return r;
        buf = malloc(NLSOCK_DIRECT_BUF);
        if (!buf)
                return -NLE_NOMEM;
        do {
                struct sockaddr_nl from;
                struct iovec iov = { .iov_base = buf, .iov_len = NLSOCK_DIRECT_BUF };
                struct msghdr mh = { .msg_name = &from, .msg_namelen = sizeof(from), .msg_iov = &iov, .msg_iovlen = 1 };
                ssize_t n;

                do
                        n = recvmsg(fd, &mh, 0);
                while (n < 0 && errno == EINTR);
                if (n < 0)
                        return -nl_syserr2nlerr(errno);
                /* The kernel sizes a dump's datagrams to the reader's buffer; one message
                 * bigger than that is not read in part. */
                if (n == 0 || (mh.msg_flags & MSG_TRUNC))
                        return -NLE_MSG_TRUNC;
#ifdef MEDIC_FUZZ
                if (nlsock_dump_tap)
                        nlsock_dump_tap(buf, (size_t) n);
#endif
                r = dump_datagram(buf, (size_t) n, seq, kerr, fn, arg);
        } while (r > 0);
        return r;
}
