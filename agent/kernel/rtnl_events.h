/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

#include <stddef.h>

/* rtnetlink's multicast groups RTNLGRP_LINK and RTNLGRP_TC: the kernel's announcement that
 * a link, qdisc, class or filter changed. A features change (NETDEV_FEAT_CHANGE) is an
 * RTM_NEWLINK too. */

struct rtnl_event {
        int type;       /* RTM_NEWLINK, RTM_DELQDISC, ... */
        int ifindex;    /* 0: not one link's (a filter block's) */
        char ifname[32]; /* its name now, or "ifindex N" once it is gone */
        const char *what; /* "qdisc deleted" */
};

/* Joins both groups: a non-blocking socket, or -errno. */
int rtnl_events_open(void);

/* Called for each link or tc message, or with NULL when the kernel dropped events
 * (ENOBUFS): everything may have changed. */
typedef void (*rtnl_event_fn)(const struct rtnl_event *ev, void *u);

/* Reads until nothing is queued. Returns 0, or -errno of a receive that failed otherwise
 * than with EAGAIN or ENOBUFS. */
int rtnl_events_drain(int fd, rtnl_event_fn fn, void *u);
/* The link and tc messages in one receive's buffer (for the tests). */
void rtnl_events_parse(const void *buf, size_t len, rtnl_event_fn fn, void *u);
