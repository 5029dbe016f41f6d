/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seeds for the netlink fuzzers, from a real kernel: runs a fuzzer's driver on a real
 * socket and writes every reply it got in the fuzzers' input format (fakenl.h), less the
 * NLMSG_DONE or ack that ends it, which the fake kernel adds back. tests/fuzz/make-seeds
 * runs it in a network namespace it sets up.
 *
 *   capture tc|ethtool OUTPUT
 *   capture sockdiag OUTPUT   the first reply of the peer-network check's sock_diag dump
 *                             (IPv4, then IPv6 to OUTPUT-v6), as recv() got it */
#include <linux/ethtool_netlink.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "../../agent/kernel/nlsock.h"
#include "fakenl.h"
#include "fuzz.h"

static uint8_t out[1 << 20];
static size_t out_len;
static uint8_t reply[0xffff];
static size_t reply_len;
static int replies; /* -1: no request yet */

static void flush(void) {
        if (replies >= 0)
                out_len += fakenl_put_reply(out + out_len, sizeof(out) - out_len, reply, reply_len);
        reply_len = 0;
}

static int record_send(struct nl_sock *sk, struct nl_msg *msg) {
        struct iovec iov = { .iov_base = nlmsg_hdr(msg), .iov_len = nlmsg_hdr(msg)->nlmsg_len };

        flush();
        replies++;
        return nl_send_iovec(sk, msg, &iov, 1);
}

/* One datagram medic read, less its end. */
static void record(const void *buf, int n) {
        int left = n;

        for (struct nlmsghdr *h = (struct nlmsghdr *) buf; n > 0 && nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
                bool end = h->nlmsg_type == NLMSG_DONE ||
                           (h->nlmsg_type == NLMSG_ERROR && ((struct nlmsgerr *) nlmsg_data(h))->error == 0);
                if (end)
                        continue;
                if (reply_len + NLMSG_ALIGN(h->nlmsg_len) > sizeof(reply)) {
                        fprintf(stderr, "capture: a reply longer than the fuzzers' 64 KiB\n");
                        exit(1);
                }
                memcpy(reply + reply_len, h, h->nlmsg_len);
                reply_len += NLMSG_ALIGN(h->nlmsg_len);
        }
}

static int record_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf, struct ucred **creds) {
        int n = nl_recv(sk, nla, buf, creds);

        record(*buf, n);
        return n;
}

/* The dumps medic reads past libnl (nlsock_dump()). */
static void record_tap(const void *buf, size_t len) {
        record(buf, (int) len);
}

static struct nl_sock *recording(struct nl_sock *s) {
        struct nl_cb *cb = nl_socket_get_cb(s);
        nlsock_dump_tap = record_tap;
        nl_cb_overwrite_send(cb, record_send);
        nl_cb_overwrite_recv(cb, record_recv);
        nl_cb_put(cb);
        return s;
}

/* The request agent/sockdiag.c sends: established TCP sockets with their tcp_info. */
static int capture_sockdiag(int family, const char *path) {
        struct {
                struct nlmsghdr h;
                struct inet_diag_req_v2 r;
        } req = {
                .h = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
                .r = { .sdiag_family = (uint8_t) family, .sdiag_protocol = IPPROTO_TCP,
                       .idiag_ext = 1 << (INET_DIAG_INFO - 1), .idiag_states = 1 << 1 },
        };
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
        int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
        ssize_t n;
        FILE *f;

        if (fd < 0 || sendto(fd, &req, sizeof(req), 0, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
            (n = recv(fd, out, sizeof(out), 0)) <= 0) {
                perror("sock_diag");
                return 1;
        }
        close(fd);
        f = fopen(path, "w");
        if (!f || fwrite(out, 1, (size_t) n, f) != (size_t) n || fclose(f) != 0) {
                perror(path);
                return 1;
        }
        printf("%s: %zd bytes\n", path, n);
        return 0;
}

int main(int argc, char **argv) {
        struct nl_sock *s = nl_socket_alloc();
        FILE *f;

        if (argc != 3 || !s) {
                fprintf(stderr, "usage: capture tc|ethtool|sockdiag OUTPUT\n");
                return 64;
        }
        if (strcmp(argv[1], "sockdiag") == 0) {
                char v6[4096];
                snprintf(v6, sizeof(v6), "%s-v6", argv[2]);
                nl_socket_free(s);
                return capture_sockdiag(AF_INET, argv[2]) || capture_sockdiag(AF_INET6, v6);
        }
        replies = -1;
        if (strcmp(argv[1], "tc") == 0) {
                if (nl_connect(s, NETLINK_ROUTE) < 0)
                        return 1;
                fuzz_tc(recording(s));
        } else if (strcmp(argv[1], "ethtool") == 0) {
                int family;
                if (genl_connect(s) < 0 || (family = genl_ctrl_resolve(s, ETHTOOL_GENL_NAME)) < 0)
                        return 1;
                fuzz_ethtool(recording(s), family);
        } else
                return 64;
        flush();
        f = fopen(argv[2], "w");
        if (!f || fwrite(out, 1, out_len, f) != out_len || fclose(f) != 0) {
                perror(argv[2]);
                return 1;
        }
        printf("%s: %d replies, %zu bytes\n", argv[2], replies + 1, out_len);
        return 0;
}
