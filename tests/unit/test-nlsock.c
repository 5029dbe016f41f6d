/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Netlink sockets: a receive with nothing to read gives up after the socket's timeout and
 * says so as -ETIMEDOUT (not the kernel's EAGAIN), and an error the kernel sent is told
 * apart from one that leaves the socket out of step. No privilege needed. */
#include <errno.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/msg.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>

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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_receive_times_out),
                cmocka_unit_test(test_kernel_error_is_kept),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
