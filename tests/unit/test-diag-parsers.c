/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The diagnosis parsers that read what etcd and the kernel send: etcd's /metrics text
 * (histogram quantiles as PromQL's histogram_quantile computes them, counters over label
 * sets) and a NETLINK_SOCK_DIAG dump buffer with tcp_info. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <math.h>
#include <string.h>

#include "../../agent/kernel/kmsg.h"
#include "../../agent/kernel/promtext.h"
#include "../../agent/kernel/sockdiag.h"
#include "../../agent/util.h"

/* etcd 3.4's format: two label sets of one histogram are summed bucket by bucket. */
static const char *const METRICS =
        "# HELP etcd_disk_wal_fsync_duration_seconds The latency distributions of fsync called by WAL.\n"
        "# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n"
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 50\n"
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.002\"} 90\n"
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.004\"} 99\n"
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.008\"} 100\n"
        "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} 100\n"
        "etcd_disk_wal_fsync_duration_seconds_sum 0.1\n"
        "etcd_disk_wal_fsync_duration_seconds_count 100\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"a\",le=\"0.0001\"} 0\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"a\",le=\"0.0002\"} 10\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"a\",le=\"+Inf\"} 10\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"b x\",le=\"0.0001\"} 0\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"b x\",le=\"0.0002\"} 0\n"
        "etcd_network_peer_round_trip_time_seconds_bucket{To=\"b x\",le=\"+Inf\"} 10\n"
        "etcd_disk_backend_commit_duration_seconds_bucket{le=\"0.001\"} 0\n"
        "etcd_disk_backend_commit_duration_seconds_bucket{le=\"+Inf\"} 0\n"
        "etcd_server_leader_changes_seen_total 3\n"
        "etcd_server_leader_changes_seen_total_extra 100\n"
        "etcd_server_heartbeat_send_failures_total{To=\"a\"} 2\n"
        "etcd_server_heartbeat_send_failures_total{To=\"b\"} 5 1700000000000\n";

static void assert_near(double got, double want) {
        if (fabs(got - want) > 1e-9)
                fail_msg("got %.12g, want %.12g", got, want);
}

static void test_histogram_quantile(void **state) {
        (void) state;
        double v, n;

        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_disk_wal_fsync_duration_seconds", 0.99, &v, &n), 0);
        assert_near(v, 0.004);
        assert_near(n, 100);
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_disk_wal_fsync_duration_seconds", 0.5, &v, NULL), 0);
        assert_near(v, 0.001);
        /* Inside a bucket: linear between its bounds, as histogram_quantile() does. */
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_disk_wal_fsync_duration_seconds", 0.7, &v, NULL), 0);
        assert_near(v, 0.0015);
        /* Half of the peer probes are beyond the last finite bucket: its bound is the answer. */
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_network_peer_round_trip_time_seconds", 0.99, &v, &n), 0);
        assert_near(v, 0.0002);
        assert_near(n, 20);
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_network_peer_round_trip_time_seconds", 0.25, &v, NULL), 0);
        assert_near(v, 0.0001 + 0.0001 * 0.5);
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_disk_backend_commit_duration_seconds", 0.99, &v, NULL), -ENODATA);
        assert_int_equal(prom_histogram_quantile(METRICS, "etcd_nope", 0.99, &v, NULL), -ENOENT);
        /* Counts or bounds that are no numbers are no histogram (found by fuzz-promtext:
         * a NaN count came out as a quantile). */
        assert_int_equal(prom_histogram_quantile("h_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} NaN\n", "h", 0.99, &v, NULL), -EINVAL);
        assert_int_equal(prom_histogram_quantile("h_bucket{le=\"NaN\"} 1\nh_bucket{le=\"+Inf\"} 2\n", "h", 0.99, &v, NULL), -EINVAL);
        assert_int_equal(prom_histogram_quantile("h_bucket{le=\"-Inf\"} 1\nh_bucket{le=\"+Inf\"} 2\n", "h", 0.99, &v, NULL), -EINVAL);
}

static void test_counter(void **state) {
        (void) state;
        double v;

        /* Exactly the name: a longer name that starts with it is another metric. */
        assert_int_equal(prom_counter(METRICS, "etcd_server_leader_changes_seen_total", &v), 0);
        assert_near(v, 3);
        /* Summed over label sets; a timestamp after the value is not the value. */
        assert_int_equal(prom_counter(METRICS, "etcd_server_heartbeat_send_failures_total", &v), 0);
        assert_near(v, 7);
        assert_int_equal(prom_counter(METRICS, "etcd_nope_total", &v), -ENOENT);
        /* A sample line without its value does not take the next line's. */
        assert_int_equal(prom_counter("c_total \n5\n", "c_total", &v), -ENOENT);
}

/* One SOCK_DIAG_BY_FAMILY message with a tcp_info attribute, as the kernel sends it. */
static size_t put_sock(char *buf, uint16_t sport, uint16_t dport, const char *dst, uint32_t rtt_us, uint32_t retrans) {
        struct nlmsghdr *h = (struct nlmsghdr *) buf;
        struct inet_diag_msg *m = NLMSG_DATA(h);
        struct rtattr *a = (struct rtattr *) ((char *) m + NLMSG_ALIGN(sizeof(*m)));
        struct tcp_info ti = { .tcpi_rtt = rtt_us, .tcpi_rttvar = rtt_us / 2, .tcpi_total_retrans = retrans, .tcpi_lost = 1 };

        memset(buf, 0, 512);
        m->idiag_family = AF_INET;
        m->idiag_state = 1;
        m->id.idiag_sport = htons(sport);
        m->id.idiag_dport = htons(dport);
        inet_pton(AF_INET, "127.0.0.1", m->id.idiag_src);
        inet_pton(AF_INET, dst, m->id.idiag_dst);
        m->idiag_inode = 4242;
        a->rta_type = INET_DIAG_INFO;
        a->rta_len = (unsigned short) RTA_LENGTH(sizeof(ti));
        memcpy(RTA_DATA(a), &ti, sizeof(ti));
        h->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        h->nlmsg_len = (uint32_t) NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*m)) + RTA_ALIGN(a->rta_len));
        return NLMSG_ALIGN(h->nlmsg_len);
}

static void test_sockdiag_parse(void **state) {
        (void) state;
        char buf[2048];
        size_t len = 0;
        struct tcp_sock_info *v = NULL;
        size_t n = 0;
        char addr[64];

        len += put_sock(buf + len, 2380, 40000, "127.0.0.2", 1234, 7);
        len += put_sock(buf + len, 2379, 40001, "127.0.0.3", 99, 0); /* client port: not ours */
        len += put_sock(buf + len, 40002, 2380, "127.0.0.3", 5678, 0);
        assert_int_equal(sockdiag_parse(buf, len, 2380, &v, &n), 0);
        assert_int_equal(n, 2);
        assert_int_equal(v[0].rtt_us, 1234);
        assert_int_equal(v[0].rttvar_us, 617);
        assert_int_equal(v[0].total_retrans, 7);
        assert_int_equal(v[0].lost, 1);
        assert_int_equal(v[0].local_port, 2380);
        assert_int_equal(v[0].inode, 4242);
        tcp_sock_remote(&v[0], addr, sizeof(addr));
        assert_string_equal(addr, "127.0.0.2");
        assert_int_equal(v[1].remote_port, 2380);
        assert_int_equal(v[1].rtt_us, 5678);

        /* A last message whose padding the buffer does not hold is read, and nothing past
         * the buffer (found by fuzz-sockdiag; unit-asan sees the exact-size copy's end). */
        len = put_sock(buf, 2380, 40000, "127.0.0.2", 1234, 7);
        ((struct nlmsghdr *) buf)->nlmsg_len -= 2;
        char *exact = malloc(len - 2);
        memcpy(exact, buf, len - 2);
        free(v);
        v = NULL;
        n = 0;
        assert_int_equal(sockdiag_parse(exact, len - 2, 2380, &v, &n), 0);
        assert_int_equal(n, 1);
        free(exact);

        /* NLMSG_DONE ends the dump; NLMSG_ERROR carries the kernel's errno. */
        struct nlmsghdr done = { .nlmsg_len = NLMSG_LENGTH(sizeof(int)), .nlmsg_type = NLMSG_DONE };
        char dbuf[64] = { 0 };
        memcpy(dbuf, &done, sizeof(done));
        assert_int_equal(sockdiag_parse(dbuf, NLMSG_ALIGN(done.nlmsg_len), 2380, &v, &n), 1);
        struct {
                struct nlmsghdr h;
                struct nlmsgerr e;
        } err = { .h = { .nlmsg_len = sizeof(err), .nlmsg_type = NLMSG_ERROR }, .e = { .error = -EPERM } };
        assert_int_equal(sockdiag_parse(&err, sizeof(err), 2380, &v, &n), -EPERM);
        free(v);
}

/* Records in the form read(2) on /dev/kmsg returns them: header, message, dictionary. */
static void test_kmsg_record(void **state) {
        (void) state;
        static const char rec[] = "4,1022,183427519,-;e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:\n"
                                  " SUBSYSTEM=pci\n DEVICE=+pci:0000:00:19.0\n";
        static const char net[] = "6,1030,190001234,-;virtio_net virtio1 eth0: renamed from ens3\n SUBSYSTEM=net\n DEVICE=n2\n";
        struct kmsg_record r;

        assert_int_equal(kmsg_parse_record(rec, strlen(rec), &r), 0);
        assert_int_equal(r.level, 4);
        assert_int_equal(r.usec, 183427519);
        assert_string_equal(r.message, "e1000e 0000:00:19.0 eth0: Detected Hardware Unit Hang:");
        assert_string_equal(r.device, "+pci:0000:00:19.0");
        kmsg_record_done(&r);
        assert_int_equal(kmsg_parse_record(net, strlen(net), &r), 0);
        assert_int_equal(r.level, 6);
        assert_string_equal(r.device, "n2");
        kmsg_record_done(&r);
        assert_int_equal(kmsg_parse_record("no header here\n", 15, &r), -EBADMSG);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_histogram_quantile),
                cmocka_unit_test(test_counter),
                cmocka_unit_test(test_sockdiag_parse),
                cmocka_unit_test(test_kmsg_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
