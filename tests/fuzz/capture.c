/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Seeds for the netlink fuzzers, from a real kernel: runs a fuzzer's driver on a real
 * socket and writes every reply it got in the fuzzers' input format (fakenl.h), less the
 * NLMSG_DONE or ack that ends it, which the fake kernel adds back. tests/fuzz/make-seeds
 * runs it in a network namespace it sets up.
 *
 *   capture tc|ethtool OUTPUT */
#include <linux/ethtool_netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

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

static int record_recv(struct nl_sock *sk, struct sockaddr_nl *nla, unsigned char **buf, struct ucred **creds) {
        int n = nl_recv(sk, nla, buf, creds), left = n;

        for (struct nlmsghdr *h = (struct nlmsghdr *) *buf; n > 0 && nlmsg_ok(h, left); h = nlmsg_next(h, &left)) {
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
        return n;
}

static struct nl_sock *recording(struct nl_sock *s) {
        struct nl_cb *cb = nl_socket_get_cb(s);
        nl_cb_overwrite_send(cb, record_send);
        nl_cb_overwrite_recv(cb, record_recv);
        nl_cb_put(cb);
        return s;
}

int main(int argc, char **argv) {
        struct nl_sock *s = nl_socket_alloc();
        FILE *f;

        if (argc != 3 || !s) {
                fprintf(stderr, "usage: capture tc|ethtool OUTPUT\n");
                return 64;
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
