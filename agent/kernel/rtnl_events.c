/* SPDX-License-Identifier: GPL-2.0-or-later */
/* rtnetlink link and tc announcements (see rtnl_events.h). */
#include <errno.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "rtnl_events.h"

int rtnl_events_open(void) {
        struct sockaddr_nl sa = { .nl_family = AF_NETLINK,
                                  .nl_groups = (1u << (RTNLGRP_LINK - 1)) | (1u << (RTNLGRP_TC - 1)) };
        int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
        if (fd < 0)
                return -errno;
        if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;
                close(fd);
                return r;
        }
        return fd;
}

static const char *rtm_name(int type) {
        switch (type) {
        case RTM_NEWLINK: return "link changed";
        case RTM_DELLINK: return "link deleted";
        case RTM_NEWQDISC: return "qdisc added or changed";
        case RTM_DELQDISC: return "qdisc deleted";
        case RTM_NEWTCLASS: return "class added or changed";
        case RTM_DELTCLASS: return "class deleted";
        case RTM_NEWTFILTER: return "filter added or changed";
        case RTM_DELTFILTER: return "filter deleted";
        default: return "rtnetlink event";
        }
}

void rtnl_events_parse(const void *buf, size_t len, rtnl_event_fn fn, void *u) {
        size_t n = len;

        for (const struct nlmsghdr *h = buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
                struct rtnl_event ev = { .type = h->nlmsg_type, .ifname = "?", .what = rtm_name(h->nlmsg_type) };
                if (h->nlmsg_type == RTM_NEWLINK || h->nlmsg_type == RTM_DELLINK)
                        ev.ifindex = ((const struct ifinfomsg *) NLMSG_DATA(h))->ifi_index;
                else if (h->nlmsg_type >= RTM_NEWQDISC && h->nlmsg_type <= RTM_GETTFILTER)
                        ev.ifindex = ((const struct tcmsg *) NLMSG_DATA(h))->tcm_ifindex;
                else
                        continue;
                if (ev.ifindex > 0 && !if_indextoname((unsigned) ev.ifindex, ev.ifname))
                        snprintf(ev.ifname, sizeof ev.ifname, "ifindex %d", ev.ifindex);
                fn(&ev, u);
        }
}

int rtnl_events_drain(int fd, rtnl_event_fn fn, void *u) {
        char buf[16384];

        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
                if (n < 0) {
                        if (errno == ENOBUFS) {
                                fn(NULL, u);
                                continue;
                        }
                        return errno == EAGAIN ? 0 : -errno;
                }
                rtnl_events_parse(buf, (size_t) n, fn, u);
        }
}
