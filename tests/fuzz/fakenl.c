/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <linux/netlink.h>
#include <netlink/errno.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/socket.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../agent/kernel/nlsock.h"
#include "fakenl.h"

/* The fake kernel is a second NETLINK_USERSOCK socket: it answers each request by sending
 * the reply datagrams to medic's socket, a real netlink socket. medic then reads them as it
 * reads a kernel's, through libnl's receive or its own (nlsock_dump()), with the same
 * datagram boundaries and truncation. */
static struct {
        const uint8_t *data;
        size_t size, pos;
        int kfd;       /* the fake kernel's socket */
        int mfd;       /* medic's */
        uint32_t port; /* medic's socket's port */
} fk = { .kfd = -1, .mfd = -1 };

static uint8_t reply[0x10000];

void fakenl_load(const uint8_t *data, size_t size) {
        fk.data = data;
        fk.size = size;
        fk.pos = 0;
}

static void deliver(const void *buf, size_t len) {
        struct sockaddr_nl to = { .nl_family = AF_NETLINK, .nl_pid = fk.port };

        /* medic's receive buffer is empty (drained below) and big enough for any reply. */
        if (sendto(fk.kfd, buf, len, MSG_DONTWAIT, (struct sockaddr *) &to, sizeof(to)) < 0)
                abort();
}

/* What a reply the last request left unread: a kernel owes only the reply to the newest. */
static void drain(void) {
        while (recv(fk.mfd, reply, sizeof(reply), MSG_DONTWAIT | MSG_TRUNC) >= 0)
                ;
}

/* The next reply of the input, answering req: its messages carry the request's sequence
 * number, as a kernel's do (the input's own would only stop medic at its sequence check). */
static void next_reply(const struct nlmsghdr *req) {
        size_t len = 0;
        int left;

        if (fk.pos + 2 <= fk.size) {
                len = (size_t) fk.data[fk.pos] | (size_t) fk.data[fk.pos + 1] << 8;
                fk.pos += 2;
        }
        if (len > fk.size - fk.pos)
                len = fk.size - fk.pos;
        if (len == 0)
                return;
        memcpy(reply, fk.data + fk.pos, len);
        fk.pos += len;
        left = (int) len;
        for (struct nlmsghdr *h = (struct nlmsghdr *) reply; nlmsg_ok(h, left); h = nlmsg_next(h, &left))
                h->nlmsg_seq = req->nlmsg_seq;
        deliver(reply, len);
}

/* NLMSG_DONE closes a dump; an ack (an error message with error 0) closes a request. */
static void end_of_reply(const struct nlmsghdr *req) {
        bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
        struct {
                struct nlmsghdr h;
                struct nlmsgerr e;
        } m = { 0 };

        if (!dump && !(req->nlmsg_flags & NLM_F_ACK))
                return;
        m.h = (struct nlmsghdr) {
                .nlmsg_len = (uint32_t) NLMSG_SPACE(dump ? sizeof(int) : sizeof(struct nlmsgerr)),
                .nlmsg_type = dump ? NLMSG_DONE : NLMSG_ERROR,
                .nlmsg_flags = dump ? NLM_F_MULTI : 0,
                .nlmsg_seq = req->nlmsg_seq,
                .nlmsg_pid = req->nlmsg_pid,
        };
        if (!dump)
                m.e.msg = *req;
        deliver(&m, m.h.nlmsg_len);
}

static int fake_send(struct nl_sock *sk, struct nl_msg *msg) {
        struct nlmsghdr req = *nlmsg_hdr(msg);

        (void) sk;
        drain();
        next_reply(&req);
        end_of_reply(&req);
        return (int) req.nlmsg_len;
}

static struct nl_sock *reopen(int protocol) {
        (void) protocol;
        return fakenl_socket();
}

struct nl_sock *fakenl_socket(void) {
        struct sockaddr_nl self = { .nl_family = AF_NETLINK };
        struct nl_sock *s = nl_socket_alloc();
        struct nl_cb *cb;
        int size = 1 << 20;

        if (!s || nl_connect(s, NETLINK_USERSOCK) < 0)
                abort();
        fk.mfd = nl_socket_get_fd(s);
        fk.port = nl_socket_get_local_port(s);
        /* Room for a whole reply and its end at once; nothing owed reads as a timeout. */
        if (setsockopt(fk.mfd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0 &&
            setsockopt(fk.mfd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0)
                abort();
        if (nl_socket_set_nonblocking(s) < 0)
                abort();
        if (fk.kfd < 0) {
                fk.kfd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
                if (fk.kfd < 0 || bind(fk.kfd, (struct sockaddr *) &self, sizeof(self)) < 0)
                        abort();
        }
        cb = nl_socket_get_cb(s);
        nl_cb_overwrite_send(cb, fake_send);
        nl_cb_put(cb);
        /* The input's sequence numbers are the fuzzer's: the fake kernel sets them. */
        nl_socket_disable_seq_check(s);
        /* The socket medic opens after an error (its stream out of step) is answered from
         * the rest of the input too: this machine's kernel must never answer a fuzzer. */
        nlsock_open_hook = reopen;
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
