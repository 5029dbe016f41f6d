/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Interfaces and the netlink state the network actions share within one run.
 *
 * One run opens one NETLINK_ROUTE socket and dumps the links once; traffic-priority and
 * nic-offload resolve their `interface:` through that dump, so an audit of `all` over a
 * thousand interfaces costs one RTM_GETLINK dump, not a request per interface. */

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>

struct ctx;
struct nl_cache;
struct nl_sock;

struct netif {
        int ifindex;
        char name[IF_NAMESIZE];
        unsigned flags; /* IFF_* */
};

struct netrun {
        struct nl_sock *route;
        struct nl_cache *links;
        int kerr;            /* the kernel's errno of the last NLMSG_ERROR, negative */
        int default_ifindex; /* 0: not looked up yet; -ENOENT: no default route */
        /* Per-kind caches, freed with the run (dumped once, dropped after a write). */
        void *tc;
        void (*tc_free)(void *);
        void *ethtool;
        void (*ethtool_free)(void *);
};

/* The run's netlink state, created on first use. */
struct netrun *netrun_get(struct ctx *ctx);
void netrun_free(struct netrun *n);
/* The route socket; a libnl error from it becomes the kernel's own errno (libnl folds
 * several into NLE_INVAL), negative. */
int netrun_route(struct ctx *ctx, struct nl_sock **ret);
int netrun_errno(struct ctx *ctx, int nlerr);

/* The link dump of this run (one RTM_GETLINK dump). */
int netif_links(struct ctx *ctx, struct nl_cache **ret);
int netif_by_name(struct ctx *ctx, const char *name, struct netif *ret);
int netif_by_index(struct ctx *ctx, int ifindex, struct netif *ret);
/* A policy's interface ("eth0", "auto", "all") as interfaces; "all" = every interface that
 * is up and not loopback. -ENODEV/-ENOENT with ctx_fail() saying what is missing. */
int netif_resolve(struct ctx *ctx, const char *spec, struct netif **ret, size_t *ret_n);
/* The interface of the main table's default route (IPv4, else IPv6; lowest metric). */
int netif_default_route(struct ctx *ctx, int *ret_ifindex);
