/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Netlink sockets: a receive with nothing to read gives up after the socket's timeout and
 * says so as -ETIMEDOUT (not the kernel's EAGAIN), and an error the kernel sent is told
 * apart from one that leaves the socket out of step. nlsock_dump()'s own receive loop,
 * against a peer that answers like a kernel (a NETLINK_USERSOCK socket in a thread): every
 * message in order across datagrams, the end, and each way a dump fails. No privilege
 * needed. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../agent/kernel/nlsock.h"
#include "../../agent/util.h"

static void test_receive_times_out(void **state _unused_) {
        struct nl_sock *s = NULL;
        int kerr = 0, r;

        assert_int_equal(nlsock_open(NETLINK_ROUTE, &kerr, &s), 0);
        assert_int_equal(nlsock_bound(s, 200), 0);
        uint64_t t0 = now_monotonic_ns();
        /* Nothing was asked: a socket without a timeout would wait here forever. */
        r = nl_recvmsgs_default(s);
        uint64_t ms = (now_monotonic_ns() - t0) / 1000000;
        assert_true(r < 0);
        assert_false(nlsock_kernel_error(&kerr));
        assert_int_equal(nlsock_errno(&kerr, r), -ETIMEDOUT);
        assert_true(ms >= 150 && ms < 3000);
        assert_string_equal(nlsock_strerror(-ETIMEDOUT),
                            "the kernel did not answer within " NLSOCK_TIMEOUT_S " s (netlink receive timeout)");
        nl_socket_free(s);
}

static void test_kernel_error_is_kept(void **state _unused_) {
        struct nl_sock *s = NULL;
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 0x7ffffff0 };
        int kerr = 0, r;

        assert_int_equal(nlsock_open(NETLINK_ROUTE, &kerr, &s), 0);
        assert_true(nl_send_simple(s, RTM_GETLINK, 0, &ifi, sizeof(ifi)) >= 0);
        r = nl_wait_for_ack(s);
        if (r >= 0) /* the link reply came first: read on to the error */
                r = nl_recvmsgs_default(s);
        assert_true(r < 0);
        /* The kernel answered (no such device): the socket is in step. */
        assert_true(nlsock_kernel_error(&kerr));
        assert_int_equal(nlsock_errno(&kerr, r), -ENODEV);
        assert_int_equal(kerr, 0);
        nl_socket_free(s);
}


/* ---- nlsock_dump() against a scripted peer ---- */

/* One message the peer sends: its type and flags, and its sequence number relative to the
 * request's (0: the request's own); val is the int payload (a DONE's or an error's errno,
 * or a data message's number). */
struct peer_msg {
        uint16_t type, flags;
        int seq_off, val;
        bool end_datagram; /* the next message starts a new datagram */
};

struct peer {
        int fd;
        const struct peer_msg *script;
        size_t n;
};

static void *peer_run(void *arg) {
        struct peer *p = arg;
        struct sockaddr_nl from;
        socklen_t flen = sizeof(from);
        uint8_t req[256], out[4096];
        size_t len = 0;

        if (recvfrom(p->fd, req, sizeof(req), 0, (struct sockaddr *) &from, &flen) < (ssize_t) sizeof(struct nlmsghdr))
                return NULL;
        uint32_t seq = ((struct nlmsghdr *) req)->nlmsg_seq;
        for (size_t i = 0; i < p->n; i++) {
                const struct peer_msg *m = &p->script[i];
                struct nlmsghdr *h = (struct nlmsghdr *) (out + len);
                size_t size = m->type == NLMSG_ERROR ? sizeof(struct nlmsgerr) : sizeof(int);
                *h = (struct nlmsghdr) { .nlmsg_len = (uint32_t) NLMSG_LENGTH(size), .nlmsg_type = m->type,
                                         .nlmsg_flags = m->flags, .nlmsg_seq = seq + (uint32_t) m->seq_off };
                memset(NLMSG_DATA(h), 0, size);
                if (m->type == NLMSG_ERROR)
                        ((struct nlmsgerr *) NLMSG_DATA(h))->error = m->val;
                else
                        *(int *) NLMSG_DATA(h) = m->val;
                len += NLMSG_ALIGN(h->nlmsg_len);
                if (m->end_datagram || i == p->n - 1) {
                        (void) sendto(p->fd, out, len, 0, (struct sockaddr *) &from, sizeof(from));
                        len = 0;
                }
        }
        return NULL;
}

struct seen {
        int vals[8];
        size_t n;
        int fail_at; /* the callback fails at this message (1-based), 0 never */
};

static int seen_cb(const struct nlmsghdr *h, void *arg) {
        struct seen *s = arg;
        if (s->n < 8)
                s->vals[s->n] = *(const int *) NLMSG_DATA(h);
        s->n++;
        return s->fail_at && (int) s->n == s->fail_at ? -NLE_RANGE : 0;
}

/* nlsock_dump() of one request, answered by the script; its result, *kerr as it left it. */
static int dump_with(const struct peer_msg *script, size_t n, struct seen *seen, int *kerr) {
        struct sockaddr_nl self = { .nl_family = AF_NETLINK };
        socklen_t slen = sizeof(self);
        struct peer p = { .script = script, .n = n };
        struct nl_sock *s = nl_socket_alloc();
        pthread_t t;
        int body = 0, r;

        assert_non_null(s);
        assert_int_equal(nl_connect(s, NETLINK_USERSOCK), 0);
        assert_int_equal(nlsock_bound(s, 300), 0);
        p.fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_USERSOCK);
        assert_true(p.fd >= 0);
        assert_int_equal(bind(p.fd, (struct sockaddr *) &self, sizeof(self)), 0);
        assert_int_equal(getsockname(p.fd, (struct sockaddr *) &self, &slen), 0);
        nl_socket_set_peer_port(s, self.nl_pid);
        nlsock_keep_errno(s, kerr);
        assert_int_equal(pthread_create(&t, NULL, peer_run, &p), 0);
        r = nlsock_dump(s, kerr, RTM_GETQDISC, &body, sizeof(body), seen_cb, seen);
        pthread_join(t, NULL);
        close(p.fd);
        nl_socket_free(s);
        return r;
}

#define DATA(v) { .type = RTM_NEWQDISC, .flags = NLM_F_MULTI, .val = (v) }

static void test_dump_reads_every_datagram(void **state _unused_) {
        const struct peer_msg script[] = {
                DATA(1), { .type = RTM_NEWQDISC, .flags = NLM_F_MULTI, .val = 2, .end_datagram = true },
                { .type = NLMSG_NOOP, .flags = NLM_F_MULTI }, DATA(3), { .type = RTM_NEWQDISC, .flags = NLM_F_MULTI, .val = 4, .end_datagram = true },
                { .type = NLMSG_DONE, .flags = NLM_F_MULTI },
        };
        struct seen seen = { 0 };
        int kerr = 0;

        assert_int_equal(dump_with(script, ELEMENTSOF(script), &seen, &kerr), 0);
        assert_int_equal(seen.n, 4);
        for (int i = 0; i < 4; i++)
                assert_int_equal(seen.vals[i], i + 1);
        assert_int_equal(kerr, 0);
}

static void test_dump_failures(void **state _unused_) {
        static const struct {
                const char *what;
                struct peer_msg script[3];
                size_t n;
                int want_r, want_kerr; /* want_r 1: any error (the kernel's errno is in kerr) */
                size_t want_seen;
        } cases[] = {
                /* The kernel could not finish the dump: DONE carries its errno. */
                { "done with an errno", { DATA(1), { .type = NLMSG_DONE, .flags = NLM_F_MULTI, .val = -EMSGSIZE } }, 2,
                  1, -EMSGSIZE, 1 },
                { "an error instead of a dump", { { .type = NLMSG_ERROR, .val = -ENODEV } }, 1, 1, -ENODEV, 0 },
                /* A reply to some other request: medic is out of step, never reads it as its own. */
                { "another request's reply", { { .type = RTM_NEWQDISC, .flags = NLM_F_MULTI, .seq_off = -1, .val = 9 } }, 1,
                  -NLE_SEQ_MISMATCH, 0, 0 },
                { "interrupted dump", { DATA(1), { .type = RTM_NEWQDISC, .flags = NLM_F_MULTI | NLM_F_DUMP_INTR, .val = 2 } }, 2,
                  -NLE_DUMP_INTR, 0, 1 },
                { "overrun", { { .type = NLMSG_OVERRUN, .flags = NLM_F_MULTI } }, 1, -NLE_MSG_OVERFLOW, 0, 0 },
                /* No end: the receive times out, and says so as a timeout. */
                { "no end", { DATA(1) }, 1, -NLE_AGAIN, 0, 1 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct seen seen = { 0 };
                int kerr = 0, r = dump_with(cases[i].script, cases[i].n, &seen, &kerr);
                print_message("%s: r %d kerr %d seen %zu\n", cases[i].what, r, kerr, seen.n);
                if (cases[i].want_r == 1)
                        assert_true(r < 0);
                else
                        assert_int_equal(r, cases[i].want_r);
                assert_int_equal(kerr, cases[i].want_kerr);
                /* Only the kernel's own answer leaves the socket in step. */
                assert_int_equal(nlsock_kernel_error(&kerr), cases[i].want_kerr != 0);
                assert_int_equal(seen.n, cases[i].want_seen);
                if (cases[i].want_r == -NLE_AGAIN)
                        assert_int_equal(nlsock_errno(&kerr, r), -ETIMEDOUT);
        }
}

static void test_dump_callback_stops_it(void **state _unused_) {
        const struct peer_msg script[] = { DATA(1), DATA(2), DATA(3), { .type = NLMSG_DONE, .flags = NLM_F_MULTI } };
        struct seen seen = { .fail_at = 2 };
        int kerr = 0;

        assert_int_equal(dump_with(script, ELEMENTSOF(script), &seen, &kerr), -NLE_RANGE);
        assert_int_equal(seen.n, 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_receive_times_out),
                cmocka_unit_test(test_kernel_error_is_kept),
                cmocka_unit_test(test_dump_reads_every_datagram),
                cmocka_unit_test(test_dump_failures),
                cmocka_unit_test(test_dump_callback_stops_it),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
