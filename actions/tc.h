/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel side of traffic-priority: medic's qdisc/class/filter structure as libnl
 * objects, the per-run dumps it is compared with, and the previous root qdiscs medic can
 * rebuild on rollback.
 *
 * medic's structure on an interface (bands 0..n-1 from the policy, band n = the rest):
 *   prio backend: qdisc prio 1: root, bands n+1, the whole priomap → band n
 *   htb backend:  qdisc htb 1: root, default class 1:(n+1); class 1:100 at the link rate;
 *                 classes 1:1..1:(n+1) under it, HTB priority 0..n, ceil = link rate
 *   filters (both): u32 pref 1 protocol ip — a link node in the root hash table matching
 *                 TCP that jumps to table 10: with the IPv4 header length (ihl * 4) as the
 *                 offset, so ports match with or without IP options; in 10: one node per
 *                 port and direction → 1:(band+1).
 *                 u32 pref 2 protocol ipv6 — next header TCP at offset 6, ports at 40/42
 *                 (a fixed offset: IPv6 extension headers are not followed).
 * Band i lands in class 1:(i+1) in both backends. */

#include <netlink/attr.h>
#include <stdbool.h>
#include <stdint.h>

struct ctx;
struct nl_msg;
struct nlmsghdr;
struct rtnl_cls;
struct rtnl_qdisc;

#define TC_MEDIC_HANDLE 0x00010000u /* 1: */
#define TC_HTB_PARENT 0x00010100u   /* 1:100 */
#define TC_V4_TABLE 0x01000000u     /* u32 hash table 10: */
#define TC_V4_PREF 1
#define TC_V6_PREF 2
#define TC_HTB_QUANTUM 1514         /* one Ethernet frame: the DRR round of every class */
#define TC_MAX_BANDS 3
#define TC_MAX_PORTS 16

struct tc_band {
        uint16_t ports[TC_MAX_PORTS];
        unsigned n_ports;
};

/* What the root of one interface holds. */
enum tc_root {
        TC_ROOT_DEFAULT, /* the kernel's own (handle 0): pfifo_fast, mq, noqueue, fq_codel... */
        TC_ROOT_MEDIC,   /* exactly medic's structure, for some bands */
        TC_ROOT_FOREIGN, /* anything else */
        /* medic's root qdisc (1:, its kind and options) with only some of its classes and
         * filters, each exactly as medic builds them: what a medic stopped inside a build
         * leaves. Treated as a root medic cannot rebuild, except by recovery (in_between). */
        TC_ROOT_PARTIAL,
        _TC_ROOT_MAX,
};

enum tc_backend {
        TC_BACKEND_PRIO,
        TC_BACKEND_HTB,
        TC_BACKEND_AUTO,
        _TC_BACKEND_MAX,
};

struct tc_view {
        enum tc_root root;
        char kind[16];     /* the root qdisc's kind */
        uint32_t handle;
        enum tc_backend backend;             /* TC_ROOT_MEDIC */
        struct tc_band bands[TC_MAX_BANDS];  /* TC_ROOT_MEDIC; PARTIAL: the ports seen so far */
        unsigned n_bands;
        uint64_t rate;                       /* MEDIC htb: link rate, bytes/s; PARTIAL: 0 until 1:100 */
        unsigned n_classes, n_filters;       /* TC_ROOT_PARTIAL: how much of it is there */
        bool rebuildable;                    /* TC_ROOT_FOREIGN */
        uint8_t *opts;                       /* TC_ROOT_FOREIGN and rebuildable: the */
        size_t opts_len;                     /*   kernel's TCA_OPTIONS bytes */
        char *detail;                        /* why a root is not medic's / cannot be rebuilt */
};

void tc_view_done(struct tc_view *v);
const char *tc_backend_name(enum tc_backend b);

/* Read the root of ifindex from this run's dumps: one qdisc dump for all interfaces; a
 * class and a filter dump only for an interface whose root is classful (the kernel dumps
 * classes and filters per device). After a write, only that interface is read again. */
int tc_read(struct ctx *ctx, int ifindex, struct tc_view *ret);
/* Writes. Each marks what it touched on that interface for a fresh read; HTB needs the
 * kernel's scheduler clock, read (once a run) before the first change or failing cleanly. */
int tc_build(struct ctx *ctx, int ifindex, const char *ifname, enum tc_backend backend,
             const struct tc_band *bands, unsigned n, uint64_t rate, enum tc_backend *ret_used);
int tc_delete_root(struct ctx *ctx, int ifindex, const char *ifname);
int tc_rebuild(struct ctx *ctx, int ifindex, const char *ifname, const struct tc_view *prev);
/* traffic-priority's run (action_ops.run_new/run_free): the dumps above, kept for one run. */
void *tc_run_new(void);
void tc_run_free(void *run);

/* One class as the kernel dumps it (HTB: options decoded, burst kept in ticks) or as
 * medic builds it (burst and cburst in bytes). */
struct tc_class {
        uint32_t handle, parent;
        char kind[16];
        bool htb;
        uint64_t rate, ceil;       /* bytes/s */
        uint32_t buffer, cbuffer;  /* dumped: scheduler ticks */
        uint32_t burst, cburst;    /* built: bytes */
        uint32_t quantum, prio;
};

/* Pure parts, unit-tested without a kernel. */
/* Attribute policies for a tc dump message and its u32 options (tc_filter.c). */
extern struct nla_policy tc_msg_policy[];
extern struct nla_policy tc_u32_policy[];
/* /proc/net/psched's text as the kernel's scheduler ticks per microsecond. */
int tc_psched_parse(const char *text, double *ret_ticks_per_usec);
uint32_t tc_htb_burst(uint64_t rate);
/* bytes at rate as HTB's buffer: the time to send them, in scheduler ticks. */
uint32_t tc_htb_ticks(uint32_t bytes, uint64_t rate, double ticks_per_usec);
/* medic's HTB class i for n policy bands at the link rate: i = 0 is 1:100, 1..n+1 the bands. */
void tc_htb_medic_class(unsigned i, unsigned n, uint64_t rate, struct tc_class *ret);
/* RTM_NEWTCLASS for a class built by medic (rate, ceil, burst, cburst, quantum, prio). */
int tc_htb_class_request(int ifindex, const struct tc_class *k, double ticks_per_usec, struct nl_msg **ret);
/* An RTM_NEWTCLASS dump entry. */
int tc_class_parse(struct nlmsghdr *h, struct tc_class *ret);
/* NULL when a dumped class is exactly what medic builds, else what differs, for people. */
char *tc_htb_class_diff(const struct tc_class *have, const struct tc_class *want, double ticks_per_usec);
/* medic's root prio qdisc for n policy bands: n + 1 bands, the whole priomap on band n. */
int tc_prio_qdisc(int ifindex, unsigned n, struct rtnl_qdisc **ret);
/* medic's filters for these bands as libnl objects, in the order they must be added. */
int tc_filters_build(int ifindex, const struct tc_band *bands, unsigned n, struct rtnl_cls ***ret,
                     unsigned *ret_n);
void tc_filters_free(struct rtnl_cls **v, unsigned n);
/* One RTM_NEWTFILTER message (a dump entry or a request) as a canonical line: the kernel's
 * handles are folded, so the dump of medic's filters equals the lines of its requests. */
char *tc_filter_line(const struct nlmsghdr *h);
/* The lines medic's filters for these bands produce. */
char **tc_filter_lines(int ifindex, const struct tc_band *bands, unsigned n);
/* A previous root of this kind can be re-created from its dumped options. */
bool tc_kind_rebuildable(const char *kind);
/* The request that re-creates a previous root: its kind, handle and option bytes. */
int tc_rebuild_request(int ifindex, const struct tc_view *prev, struct nl_msg **ret);
/* "rate 1mbit burst 32768 limit 82768" from a tbf/fifo root's option bytes. */
char *tc_describe_opts(const char *kind, const uint8_t *opts, size_t len);
char *tc_rate_str(uint64_t bytes); /* "10gbit", "100mbit" */
/* "1gbit", "100mbit", "2500000kbit" (tc's SI bit units) as bytes/s: tc_rate_str()'s
 * inverse, for the policy and the journal. */
int tc_rate_parse(const char *s, uint64_t *ret_bytes);
/* "prio", "htb", "auto" as a backend, or -1. */
int tc_backend_from_name(const char *s);
/* Is sch_prio in this kernel? 1 yes, 0 no, -ENOENT unknown; *how says how medic knows. */
int tc_kernel_has_prio(const char **how);
