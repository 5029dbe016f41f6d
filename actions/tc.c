/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's kernel side: build medic's qdisc, classes and u32 filters with
 * libnl-route, read them back from one dump per kind, rebuild a previous root. This file
 * holds the names and the per-run dumps; tc_read.c reads and compares a root,
 * tc_build.c builds, deletes and rebuilds one. */
#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/errno.h>
#include <netlink/netlink.h>
#include <netlink/route/class.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/htb.h>
#include <netlink/route/qdisc/prio.h>
#include <netlink/route/tc.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "../agent/kernel/netif.h"
#include "../agent/kernel/nlroute.h"
#include "../agent/kernel/nlsock.h"
#include "action.h"
#include "tc.h"
#include "tc_dump.h"

static const char *const backend_names[] = {
        [TC_BACKEND_PRIO] = "prio",
        [TC_BACKEND_HTB] = "htb",
        [TC_BACKEND_AUTO] = "auto",
};

char *tc_rate_str(uint64_t bytes) {
        static const struct { const char *unit; uint64_t div; } units[] = {
                { "tbit", 1000000000000ull }, { "gbit", 1000000000 }, { "mbit", 1000000 }, { "kbit", 1000 },
        };
        uint64_t bits = bytes * 8, n = bits;
        const char *unit = "bit";
        char digits[24], *p = digits + sizeof(digits);

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (bits >= units[i].div && bits % units[i].div == 0) {
                        n = bits / units[i].div;
                        unit = units[i].unit;
                        break;
                }
        /* By hand, not printf: two rates per interface go into every audit's rows. */
        *--p = 0;
        do
                *--p = (char) ('0' + n % 10);
        while ((n /= 10) > 0);
        return xasprintf("%s%s", p, unit);
}

static struct nla_policy tbf_policy[TCA_TBF_MAX + 1] = {
        [TCA_TBF_RATE64] = { .type = NLA_U64 },
};

char *tc_describe_opts(const char *kind, const uint8_t *opts, size_t len) {
        if (streq(kind, "tbf")) {
                struct nlattr *tb[TCA_TBF_MAX + 1];
                const struct tc_tbf_qopt *q;
                if (nla_parse(tb, TCA_TBF_MAX, (struct nlattr *) opts, (int) len, tbf_policy) < 0 || !tb[TCA_TBF_PARMS] ||
                    nla_len(tb[TCA_TBF_PARMS]) < (int) sizeof(*q))
                        return xstrdup("(unreadable options)");
                q = nla_data(tb[TCA_TBF_PARMS]);
                uint64_t rate = tb[TCA_TBF_RATE64] ? nla_get_u64(tb[TCA_TBF_RATE64]) : q->rate.rate;
                /* The burst is kept as the time to send it at the rate, in 64 ns ticks. */
                uint64_t burst = (uint64_t) ((long double) rate * q->buffer * 64 / 1e9L + 0.5L);
                _cleanup_free_ char *r = tc_rate_str(rate);
                return xasprintf("rate %s burst %llu limit %u", r, (unsigned long long) burst, q->limit);
        }
        if ((streq(kind, "pfifo") || streq(kind, "bfifo")) && len >= sizeof(struct tc_fifo_qopt))
                return xasprintf("limit %u", ((const struct tc_fifo_qopt *) opts)->limit);
        return xstrdup("");
}

const char *tc_backend_name(enum tc_backend b) {
        return b < _TC_BACKEND_MAX ? backend_names[b] : "?";
}

int tc_backend_from_name(const char *s) {
        for (int b = 0; b < _TC_BACKEND_MAX; b++)
                if (streq(tc_backend_name(b), s))
                        return b;
        return -1;
}

/* "1gbit", "100mbit", "2500000kbit": tc's SI bit units. */
int tc_rate_parse(const char *s, uint64_t *ret_bytes) {
        static const struct { const char *unit; uint64_t mult; } units[] = {
                { "bit", 1 }, { "kbit", 1000 }, { "mbit", 1000000 }, { "gbit", 1000000000 },
                { "tbit", 1000000000000ull },
        };
        char *end;
        unsigned long long v;

        if (!isdigit((unsigned char) s[0]))
                return -EINVAL;
        errno = 0;
        v = strtoull(s, &end, 10);
        if (errno || end == s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (strcasecmp(end, units[i].unit) == 0) {
                        if (v > UINT64_MAX / units[i].mult)
                                return -ERANGE;
                        *ret_bytes = v * units[i].mult / 8;
                        return 0;
                }
        return -EINVAL;
}

void tc_view_done(struct tc_view *v) {
        free(v->detail);
        v->detail = NULL;
        free(v->opts);
        v->opts = NULL;
        v->opts_len = 0;
}

/* ---- per-run dumps ------------------------------------------------------------------ */


void tc_iface_details_drop(struct tc_iface *f) {
        free(f->classes);
        f->classes = NULL;
        f->n_classes = 0;
        tc_filter_dump_unref(f->fd);
        f->fd = NULL;
        f->detailed = false;
}

static void iface_free(struct tc_iface *f) {
        tc_iface_details_drop(f);
        free(f->root.opts);
        free(f);
}

static void ifaces_drop(struct tc_cache *c) {
        for (size_t i = 0; i < c->n; i++)
                iface_free(c->ifs[i]);
        free(c->ifs);
        free(c->slots);
        c->ifs = NULL;
        c->slots = NULL;
        c->n = c->mask = 0;
        c->dumped = false;
}

void *tc_run_new(void) {
        return xcalloc(1, sizeof(struct tc_cache));
}

void tc_run_free(void *p) {
        struct tc_cache *c = p;
        if (!c)
                return;
        ifaces_drop(c);
        strv_free(c->tc_want_lines);
        tc_filter_memo_done(&c->memo);
        free(c);
}

int tc_route_lib(struct ctx *ctx, const char *ifname, const char *use) {
        const char *why = NULL;

        if (nlroute_load(&why) >= 0)
                return 0;
        ctx_fail(ctx, "%s%slibnl-route-3 cannot be loaded (%s): %s", ifname ? ifname : "", ifname ? ": " : "",
                 why ? why : "?", use);
        return -ENOSYS;
}

int tc_want_lines(struct ctx *ctx, struct tc_cache *c, const struct tc_band *bands, unsigned n, char *const **ret) {
        if (!c->tc_want_lines || c->want_n != n || memcmp(c->want_bands, bands, sizeof(c->want_bands))) {
                int r = tc_route_lib(ctx, NULL, "medic compares a root's filters with its own through it");

                strv_free(c->tc_want_lines);
                c->tc_want_lines = NULL;
                if (r < 0)
                        return r;
                c->tc_want_lines = tc_filter_lines(0, bands, n);
                if (!c->tc_want_lines) {
                        ctx_fail(ctx, "cannot make medic's filter lines: %s", strerror(ENOMEM));
                        return -ENOMEM;
                }
                memcpy(c->want_bands, bands, sizeof(c->want_bands));
                c->want_n = n;
        }
        *ret = c->tc_want_lines;
        return 0;
}

struct tc_cache *tc_cache_get(struct ctx *ctx) {
        const struct netrun *n = ctx_net(ctx);
        struct tc_cache *c = ctx_run(ctx, &traffic_priority_ops);

        if (c->epoch != n->epoch) {
                /* A netlink error: what was read before may not be what the kernel holds. */
                ifaces_drop(c);
                c->epoch = n->epoch;
        }
        return c;
}

static size_t slot_of(int ifindex) {
        return (size_t) (uint32_t) ifindex * 2654435761u;
}

struct tc_iface *tc_iface_find(struct tc_cache *c, int ifindex) {
        if (!c->slots)
                return NULL;
        for (size_t h = slot_of(ifindex) & c->mask; c->slots[h]; h = (h + 1) & c->mask)
                if (c->ifs[c->slots[h] - 1]->ifindex == ifindex)
                        return c->ifs[c->slots[h] - 1];
        return NULL;
}

static struct tc_iface *iface_add(struct tc_cache *c, int ifindex) {
        struct tc_iface *f = tc_iface_find(c, ifindex);
        size_t h;

        if (f)
                return f;
        if (2 * (c->n + 1) > c->mask + 1) {
                size_t size = c->mask ? 2 * (c->mask + 1) : 64;
                free(c->slots);
                c->slots = xcalloc(size, sizeof(uint32_t));
                c->mask = size - 1;
                for (size_t i = 0; i < c->n; i++) {
                        for (h = slot_of(c->ifs[i]->ifindex) & c->mask; c->slots[h]; h = (h + 1) & c->mask)
                                ;
                        c->slots[h] = (uint32_t) i + 1;
                }
        }
        f = xcalloc(1, sizeof(*f));
        f->ifindex = ifindex;
        c->ifs = xrealloc(c->ifs, (c->n + 1) * sizeof(*c->ifs));
        c->ifs[c->n] = f;
        for (h = slot_of(ifindex) & c->mask; c->slots[h]; h = (h + 1) & c->mask)
                ;
        c->slots[h] = (uint32_t) ++c->n;
        return f;
}

/* After a write on ifindex: its classes and filters are stale, and its root too when the
 * write could have replaced or removed it. Nothing else is: other interfaces keep the
 * run's one dump, so a write costs a read of one interface, not of all of them. */
void tc_wrote(struct ctx *ctx, int ifindex, bool root) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tc_iface *f = tc_iface_find(c, ifindex);

        if (!c->dumped)
                return;
        if (!f)
                f = iface_add(c, ifindex);
        tc_iface_details_drop(f);
        if (root)
                f->root_stale = true;
}

static void set_root(struct tc_iface *f, const struct tc_qd *q) {
        free(f->root.opts);
        f->root = *q;
        f->has_root = true;
}

static bool parse_qdisc(const struct nlmsghdr *hdr, int *ifindex, struct tc_qd *ret) {
        struct nlmsghdr *h = (struct nlmsghdr *) hdr; /* libnl's parser only reads it */
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1];

        if (h->nlmsg_type != RTM_NEWQDISC || nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, tc_msg_policy) < 0 || !tb[TCA_KIND])
                return false;
        *ifindex = t->tcm_ifindex;
        *ret = (struct tc_qd) { .handle = t->tcm_handle, .parent = t->tcm_parent };
        str_copy(ret->kind, nla_get_string(tb[TCA_KIND]), sizeof(ret->kind));
        if (tb[TCA_OPTIONS] && nla_len(tb[TCA_OPTIONS]) > 0) {
                ret->opts_len = (size_t) nla_len(tb[TCA_OPTIONS]);
                ret->opts = xmalloc(ret->opts_len);
                memcpy(ret->opts, nla_data(tb[TCA_OPTIONS]), ret->opts_len);
        }
        return true;
}

static int qdisc_cb(const struct nlmsghdr *h, void *arg) {
        struct tc_cache *c = arg;
        struct tc_qd q;
        int ifindex;

        if (!parse_qdisc(h, &ifindex, &q))
                return 0;
        struct tc_iface *f = iface_add(c, ifindex);
        if (q.parent == TC_H_ROOT)
                set_root(f, &q);
        else {
                if (q.parent != TC_H_INGRESS && q.handle != 0)
                        f->below++;
                free(q.opts);
        }
        return 0;
}

/* A dump request on the route socket, its entries to fn. */
int tc_route_dump(struct ctx *ctx, int type, const struct tcmsg *t, nlsock_msg_fn fn, void *arg) {
        struct netrun *n = ctx_net(ctx);
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(n, &s));

        if (r < 0)
                return r;
        r = nlsock_dump(s, &n->kerr, type, t, sizeof(*t), fn, arg);
        return r < 0 ? netrun_errno(n, r) : 0;
}

/* Every qdisc of every interface in one RTM_GETQDISC dump. libnl's qdisc objects do not
 * keep the option bytes, and a previous root is rebuilt from exactly those. */
int tc_qdiscs(struct ctx *ctx, struct tc_cache **ret) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tcmsg t = { .tcm_family = AF_UNSPEC };
        int r;

        if (!c->dumped) {
                ifaces_drop(c);
                r = tc_route_dump(ctx, RTM_GETQDISC, &t, qdisc_cb, c);
                c = tc_cache_get(ctx);
                if (r < 0) {
                        ifaces_drop(c);
                        ctx_fail(ctx, "dumping qdiscs: %s", nlsock_strerror(r));
                        return r;
                }
                c->dumped = true;
        }
        *ret = c;
        return 0;
}

struct root_reply {
        int ifindex;
        bool got, acked;
        struct tc_qd q;
};

static int root_ack_cb(struct nl_msg *msg, void *arg) {
        struct root_reply *rr = arg;
        (void) msg;
        rr->acked = true;
        return NL_STOP;
}

static int root_cb(struct nl_msg *msg, void *arg) {
        struct root_reply *rr = arg;
        struct tc_qd q;
        int ifindex;

        if (!parse_qdisc(nlmsg_hdr(msg), &ifindex, &q))
                return NL_SKIP;
        if (ifindex != rr->ifindex || q.parent != TC_H_ROOT || rr->got) {
                free(q.opts);
                return NL_SKIP;
        }
        rr->q = q;
        rr->got = true;
        return NL_OK;
}

/* The root qdisc of one interface, asked of the kernel alone (RTM_GETQDISC for parent root
 * with NLM_F_ECHO: the kernel has no per-device qdisc dump; like any qdisc request it is
 * also reported to RTNLGRP_TC listeners such as `tc monitor`). A device whose root is the
 * kernel's built-in noop answers with an ack only. A root replaced or removed since the
 * dump took the qdiscs below it along; a root kept keeps them. */
int tc_refresh_root(struct ctx *ctx, struct tc_iface *f) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = f->ifindex, .tcm_parent = TC_H_ROOT };
        struct root_reply rr = { .ifindex = f->ifindex };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        r = nlsock_send_simple(s, RTM_GETQDISC, NLM_F_ECHO | NLM_F_ACK, &t, sizeof(t));
        if (r < 0)
                return netrun_errno(ctx_net(ctx), r);
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, root_cb, &rr);
        nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, root_ack_cb, &rr);
        /* The echo and the ack may come in two datagrams. */
        while (!rr.acked && r >= 0)
                r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        if (r < 0) {
                free(rr.q.opts);
                return netrun_errno(ctx_net(ctx), r);
        }
        bool same = rr.got && f->has_root && rr.q.handle == f->root.handle && streq(rr.q.kind, f->root.kind);
        if (!same)
                f->below = 0;
        if (rr.got)
                set_root(f, &rr.q);
        else {
                free(f->root.opts);
                f->root = (struct tc_qd) { 0 };
                f->has_root = false;
        }
        f->root_stale = false;
        return 0;
}

/* The kernel's scheduler clock, once a run. */
int tc_clock(struct ctx *ctx, double *ret) {
        struct tc_cache *c = tc_cache_get(ctx);

        if (c->clock == 0) {
                _cleanup_free_ char *text = NULL;
                int r = read_file("/proc/net/psched", &text, NULL);
                if (r >= 0)
                        r = tc_psched_parse(text, &c->ticks_per_usec);
                c->clock = r < 0 ? r : 1;
        }
        if (c->clock < 0) {
                ctx_fail(ctx, "reading /proc/net/psched: %s: without the kernel's packet scheduler clock medic cannot set or check HTB bursts",
                         strerror(-c->clock));
                return c->clock;
        }
        *ret = c->ticks_per_usec;
        return 0;
}
