/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* traffic-priority's per-run dumps of the kernel's qdiscs, classes and filters: tc.c keeps
 * them, tc_read.c reads roots from them, tc_build.c marks what it wrote for a fresh read. */

#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/route/qdisc.h>
#include <stdbool.h>
#include <stdint.h>

#include "../agent/kernel/nlroute.h"
#include "../agent/kernel/nlsock.h"
#include "tc.h"

struct ctx;

/* What a root's filter dump says. Interfaces whose dumps are alike (every interface of an
 * `interface: all` policy, once built) share one: see tc_read.c's memo. */
struct filter_dump {
        unsigned refs;
        char **lines; /* canonical lines of the root's filters, sorted */
        /* ports seen in medic-shaped port nodes, by band (flowid 1:1 → band 0) */
        struct tc_band bands[TC_MAX_BANDS];
        bool odd_port_node;
};

/* One qdisc as the dump gave it, options kept as the kernel's bytes. */
struct tc_qd {
        uint32_t handle, parent;
        char kind[16];
        uint8_t *opts;
        size_t opts_len;
};

/* What the run knows of one interface. */
struct tc_iface {
        int ifindex;
        bool has_root;      /* a device without one (down, no queue yet) has none dumped */
        struct tc_qd root;
        unsigned below;     /* qdiscs with a handle of their own below the root, not ingress */
        bool root_stale;    /* written since: ask the kernel for this root again */
        bool detailed;      /* classes and filters below are read (dropped by any write) */
        struct tc_class *classes;
        size_t n_classes;
        struct filter_dump *fd; /* shared; set when detailed */
};

/* Filter dumps already made sense of in this run, by their bytes (less what differs between
 * interfaces and over time: the ifindex, the sequence number, u32's hit counters). */
struct filter_memo {
        struct filter_memo_entry { uint64_t hash; uint8_t *bytes; size_t len; struct filter_dump *fd; } *v;
        size_t n, mask;
        uint8_t *scratch; /* the dump being read, normalised */
        size_t scratch_len, scratch_cap;
};

/* Interfaces by ifindex in an open-addressing table (slot = index + 1): audit and apply
 * over a thousand interfaces find each in constant time. */
struct tc_cache {
        unsigned epoch;     /* netrun's: after a reset every dump is read again */
        bool dumped;        /* the one qdisc dump of this run is in ifs */
        struct tc_iface **ifs;
        size_t n, mask;
        uint32_t *slots;
        bool no_prio;       /* the kernel said it has no prio qdisc: don't ask again this run */
        int clock;          /* 0 not read, 1 read, < 0 the errno of reading /proc/net/psched */
        double ticks_per_usec;
        /* medic's filter lines for the last band set asked: every interface of an
         * `interface: all` policy asks for the same one. */
        struct tc_band want_bands[TC_MAX_BANDS];
        unsigned want_n;
        char **tc_want_lines;
        struct filter_memo memo;
};

/* After a write on ifindex: its classes and filters are stale, and its root too when the
 * write could have replaced or removed it. */
void tc_wrote(struct ctx *ctx, int ifindex, bool root);
/* This run's dumps, emptied after a netlink error (the kernel may hold something else). */
struct tc_cache *tc_cache_get(struct ctx *ctx);
/* Every qdisc of every interface, from the run's one RTM_GETQDISC dump. */
int tc_qdiscs(struct ctx *ctx, struct tc_cache **ret);
/* Ask the kernel again for the root of an interface written since the dump. */
int tc_refresh_root(struct ctx *ctx, struct tc_iface *f);
struct tc_iface *tc_iface_find(struct tc_cache *c, int ifindex);
void tc_iface_details_drop(struct tc_iface *f);
void tc_filter_dump_unref(struct filter_dump *fd);
void tc_filter_memo_done(struct filter_memo *m);
/* A dump request on the route socket, its entries to fn. */
int tc_route_dump(struct ctx *ctx, int type, const struct tcmsg *t, nlsock_msg_fn fn, void *arg);
/* Loads libnl-route-3 (nlroute_load()) for a use; when it cannot, fails ctx with the
 * loader's reason, "IFNAME: " first where one is given, and returns -ENOSYS. */
int tc_route_lib(struct ctx *ctx, const char *ifname, const char *use);
/* medic's filter lines for these bands, kept for the next interface that asks; < 0 when
 * they cannot be made (libnl-route-3 cannot be loaded), with ctx's reason. */
int tc_want_lines(struct ctx *ctx, struct tc_cache *c, const struct tc_band *bands, unsigned n, char *const **ret);
/* The kernel's scheduler clock (ticks per microsecond), once a run. */
int tc_clock(struct ctx *ctx, double *ret);

static inline void rtnl_qdisc_putp(struct rtnl_qdisc **q) {
        if (*q)
                nlr.rtnl_qdisc_put(*q);
}

static inline void nlmsg_freep(struct nl_msg **m) {
        if (*m)
                nlmsg_free(*m);
}
