/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdlib.h>
#include <string.h>

#include "fakenl.h"

/* What the fake kernel owes the socket after a request: the reply, then its end. */
enum owed {
        OWED_NOTHING,
        OWED_REPLY,
        OWED_END,
};

static struct {
        const uint8_t *data;
        size_t size, pos;
        enum owed owed;
        struct nlmsghdr req; /* the last request's header: the end answers it */
} fk;

void fakenl_load(const uint8_t *data, size_t size) {
        fk.data = data;
        fk.size = size;
        fk.pos = 0;
        fk.owed = OWED_NOTHING;
}

static int fake_send(struct nl_sock *sk, struct nl_msg *msg) {
        (void) sk;
        fk.req = *nlmsg_hdr(msg);
        fk.owed = OWED_REPLY;
        return (int) fk.req.nlmsg_len;
}

/* The next reply of the input, as a buffer libnl frees. */
static int next_reply(unsigned char **buf) {
        size_t len = 0;

        if (fk.pos + 2 <= fk.size) {
                len = (size_t) fk.data[fk.pos] | (size_t) fk.data[fk.pos + 1] << 8;
                fk.pos += 2;
        }
        if (len > fk.size - fk.pos)
                len = fk.size - fk.pos;
        if (len == 0)
                return 0;
        *buf = malloc(len);
        if (!*buf)
                return -NLE_NOMEM;
        memcpy(*buf, fk.data + fk.pos, len);
        fk.pos += len;
        return (int) len;
}

/* NLMSG_DONE closes a dump; an ack (an error message with error 0) closes a request. */
static int end_of_reply(unsigned char **buf) {
        bool dump = (fk.req.nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        size_t len;
        struct nlmsghdr *h;

        if (!dump && !(fk.req.nlmsg_flags & NLM_F_ACK))
                return 0;
        len = NLMSG_SPACE(dump ? sizeof(int) : sizeof(struct nlmsgerr));
        h = calloc(1, len);
        if (!h)
                return -NLE_NOMEM;
        *h = (struct nlmsghdr) {
                .nlmsg_len = (uint32_t) len,
                .nlmsg_type = dump ? NLMSG_DONE : NLMSG_ERROR,
                .nlmsg_flags = dump ? NLM_F_MULTI : 0,
                .nlmsg_seq = fk.req.nlmsg_seq,
                .nlmsg_pid = fk.req.nlmsg_pid,
        };
        if (!dump)
                ((struct nlmsgerr *) NLMSG_DATA(h))->msg = fk.req;
        *buf = (unsigned char *) h;
        return (int) len;
}

static int fake_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf, struct ucred **creds) {
        int n = 0;

        (void) sk;
        (void) creds;
        *nla = (struct sockaddr_nl) { .nl_family = AF_NETLINK };
        if (fk.owed == OWED_REPLY) {
                fk.owed = OWED_END;
                n = next_reply(buf);
                if (n != 0)
                        return n;
        }
        if (fk.owed == OWED_END) {
                fk.owed = OWED_NOTHING;
                n = end_of_reply(buf);
                if (n != 0)
                        return n;
        }
        /* Nothing is owed: a real socket would block; this one times out. */
        return -NLE_AGAIN;
}

struct nl_sock *fakenl_socket(void) {
        struct nl_sock *s = nl_socket_alloc();
        struct nl_cb *cb;

        if (!s)
                abort();
        cb = nl_socket_get_cb(s);
        nl_cb_overwrite_send(cb, fake_send);
        nl_cb_overwrite_recv(cb, fake_recv);
        nl_cb_put(cb);
        /* The input's sequence numbers are whatever the fuzzer made of them. */
        nl_socket_disable_seq_check(s);
        return s;
}

size_t fakenl_put_reply(uint8_t *out, size_t room, const void *msgs, size_t len) {
        if (len > 0xffff || len + 2 > room)
                abort();
        out[0] = (uint8_t) len;
        out[1] = (uint8_t) (len >> 8);
        memcpy(out + 2, msgs, len);
        return len + 2;
}
