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
struct rtnl_link;

struct netif {
        int ifindex;
        char name[IF_NAMESIZE];
        unsigned flags; /* IFF_* */
};

struct netif_index;

struct netrun {
        struct nl_sock *route;
        bool route_stale;    /* an error left the route socket's stream at an unknown place */
        unsigned epoch;      /* bumped by netrun_reset(): dumps of an older epoch are void */
        struct nl_cache *links;
        struct netif_index *index; /* the link dump by name and by ifindex */
        int kerr;            /* the kernel's errno of the last NLMSG_ERROR, negative */
        int default_ifindex; /* 0: not looked up yet; -ENOENT: no default route */
        /* Per-kind caches, freed with the run (dumped once, updated after a write). */
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
/* The errno of a failed libnl call on the route socket. Any error but the kernel's own
 * NLMSG_ERROR (a timeout, ENOBUFS, a message out of sequence) also resets the run. */
int netrun_errno(struct ctx *ctx, int nlerr);
/* After a send or receive error the socket may still hold replies to requests medic gave
 * up on, and a dump read before the error may not say what the kernel holds now: the next
 * netrun_route() opens a new socket, and caches compare netrun.epoch to drop what they
 * read before. Cheap; callers' pointers into caches stay valid until their next lookup. */
void netrun_reset(struct ctx *ctx);

/* The link dump of this run (one RTM_GETLINK dump). */
int netif_links(struct ctx *ctx, struct nl_cache **ret);
int netif_by_name(struct ctx *ctx, const char *name, struct netif *ret);
/* The link dump's entry for name (its statistics, say), found by hash; borrowed: valid
 * until the run ends, no reference taken. NULL when there is none. */
struct rtnl_link *netif_link(struct ctx *ctx, const char *name);
int netif_by_index(struct ctx *ctx, int ifindex, struct netif *ret);
/* A policy's interface ("eth0", "auto", "all") as interfaces; "all" = every interface that
 * is up and not loopback. -ENODEV/-ENOENT with ctx_fail() saying what is missing. */
int netif_resolve(struct ctx *ctx, const char *spec, struct netif **ret, size_t *ret_n);
/* The interface of the main table's default route (IPv4, else IPv6; lowest metric). */
int netif_default_route(struct ctx *ctx, int *ret_ifindex);
