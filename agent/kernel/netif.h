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
#include <stdint.h>

struct nl_sock;

struct netif {
        int ifindex;
        char name[IF_NAMESIZE];
        unsigned flags; /* IFF_* */
};

/* The link's error counters since boot (IFLA_STATS64). */
struct netif_counters {
        uint64_t rx_errors, tx_errors, rx_crc_errors, rx_frame_errors;
        bool known; /* the kernel sent statistics for the link */
};

struct netif_index;

/* The netlink state of one run: whoever holds it (the engine, through the action kinds'
 * ctx) passes it in; nothing here knows what a run or a policy is. */
struct netrun {
        struct nl_sock *route;
        bool route_stale;    /* an error left the route socket's stream at an unknown place */
        unsigned epoch;      /* bumped by netrun_reset(): dumps of an older epoch are void */
        struct netif_index *index; /* the link dump by name and by ifindex */
        int kerr;            /* the kernel's errno of the last NLMSG_ERROR, negative */
        int default_ifindex; /* 0: not looked up yet; -ENOENT: no default route */
        char *why;           /* netrun_why() */
};

struct netrun *netrun_new(void);
void netrun_free(struct netrun *n);
/* What the last failed call below could not do, for the operator ("dumping interfaces:
 * ...", "eth9: no such interface"); the caller adds it to its own report. Set by every
 * function here that says so; valid until the next call on n. */
const char *netrun_why(const struct netrun *n);
/* The route socket; a libnl error from it becomes the kernel's own errno (libnl folds
 * several into NLE_INVAL), negative. Sets the reason. */
int netrun_route(struct netrun *n, struct nl_sock **ret);
/* The errno of a failed libnl call on the route socket. Any error but the kernel's own
 * NLMSG_ERROR (a timeout, ENOBUFS, a message out of sequence) also resets the run. */
int netrun_errno(struct netrun *n, int nlerr);
/* After a send or receive error the socket may still hold replies to requests medic gave
 * up on, and a dump read before the error may not say what the kernel holds now: the next
 * netrun_route() opens a new socket, and caches compare netrun.epoch to drop what they
 * read before. Cheap; callers' pointers into caches stay valid until their next lookup. */
void netrun_reset(struct netrun *n);

/* The link dump of this run (one RTM_GETLINK dump, read once). These set the reason on
 * failure. */
int netif_links(struct netrun *n);
int netif_by_name(struct netrun *n, const char *name, struct netif *ret);
/* The link dump's error counters of name, found by hash. -ENODEV when there is no such
 * link, -ENODATA when the kernel sent no statistics for it. */
int netif_counters(struct netrun *n, const char *name, struct netif_counters *ret);
int netif_by_index(struct netrun *n, int ifindex, struct netif *ret);
/* A policy's interface ("eth0", "auto", "all") as interfaces; "all" = every interface that
 * is up and not loopback. -ENODEV/-ENOENT with the reason saying what is missing. */
int netif_resolve(struct netrun *n, const char *spec, struct netif **ret, size_t *ret_n);
/* The interface of the main table's default route (IPv4, else IPv6; lowest metric). */
int netif_default_route(struct netrun *n, int *ret_ifindex);
