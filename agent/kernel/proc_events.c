/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc connector: exec and comm events, and the cheap look at the process they name
 * (see proc_events.h). */
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proc_events.h"
#include "../util.h"

static uint64_t now_us(void) {
        return now_monotonic_ns() / 1000;
}

/* The kernel answers a listen request at once with an ack (PROC_EVENT_NONE, our ack + 1) —
 * unless it ignores the request: the proc connector serves only the initial pid and user
 * namespaces and says nothing to anyone else, who still gets the events other listeners
 * asked for, with pids of a namespace it cannot see. So no ack means no process events. */
int proc_events_open(char **ret_why) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC };
        uint32_t nonce = (uint32_t) getpid() ^ (uint32_t) now_us();
        struct {
                struct nlmsghdr h;
                struct cn_msg cn;
                enum proc_cn_mcast_op op;
        } __attribute__((packed)) req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = NLMSG_DONE },
                .cn = { .id = { .idx = CN_IDX_PROC, .val = CN_VAL_PROC }, .ack = nonce,
                        .len = sizeof(enum proc_cn_mcast_op) },
                .op = PROC_CN_MCAST_LISTEN,
        };
        uint64_t deadline = now_us() + 250000;
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
        int r;

        if (fd < 0) {
                r = -errno;
                *ret_why = xasprintf("proc connector: %s", strerror(-r));
                return r;
        }
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || send(fd, &req, sizeof(req), 0) < 0) {
                r = -errno;
                *ret_why = xasprintf("proc connector: %s%s", strerror(-r),
                                     r == -ECONNREFUSED ? ", it serves only the initial network namespace" : "");
                close(fd);
                return r;
        }
        for (uint64_t t; (t = now_us()) < deadline;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (poll(&p, 1, (int) ((deadline - t) / 1000) + 1) <= 0)
                        continue;
                n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                for (struct nlmsghdr *h = (struct nlmsghdr *) buf; n > 0 && NLMSG_OK(h, (size_t) n); h = NLMSG_NEXT(h, n)) {
                        struct cn_msg *cn = NLMSG_DATA(h);
                        struct proc_event ev = { 0 };
                        if (cn->id.idx != CN_IDX_PROC || cn->ack != nonce + 1)
                                continue;
                        memcpy(&ev, cn->data, cn->len < sizeof(ev) ? cn->len : sizeof(ev));
                        if (ev.what != PROC_EVENT_NONE)
                                continue;
                        if (ev.event_data.ack.err == 0)
                                return fd;
                        *ret_why = xasprintf("proc connector: %s", strerror((int) ev.event_data.ack.err));
                        close(fd);
                        return -(int) ev.event_data.ack.err;
                }
        }
        *ret_why = xstrdup("the proc connector did not answer: it serves only the initial pid and user namespaces, and medic runs in another");
        close(fd);
        return -EPERM;
}

void proc_events_parse(const void *buf, size_t len, proc_event_fn fn, void *u) {
        size_t n = len;

        for (const struct nlmsghdr *h = buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
                const struct cn_msg *cn = NLMSG_DATA(h);
                struct proc_event ev = { 0 };
                if (cn->id.idx != CN_IDX_PROC)
                        continue;
                /* The event sits 36 bytes into the message (nlmsghdr + cn_msg): not
                 * aligned for its u64 timestamp, so it is copied out, not cast. */
                memcpy(&ev, cn->data, cn->len < sizeof(ev) ? cn->len : sizeof(ev));
                if (ev.what == PROC_EVENT_EXEC)
                        fn(ev.event_data.exec.process_tgid, u);
                else if (ev.what == PROC_EVENT_COMM)
                        fn(ev.event_data.comm.process_tgid, u);
        }
}

int proc_events_drain(int fd, proc_event_fn fn, void *u) {
        char buf[4096];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == ENOBUFS) {
                                fn(0, u);
                                continue;
                        }
                        return errno == EAGAIN ? 0 : -errno;
                }
                proc_events_parse(buf, (size_t) n, fn, u);
        }
}
