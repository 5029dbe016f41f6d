/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's kernel side: build medic's qdisc, classes and u32 filters with
 * libnl-route, read them back from one dump per kind, rebuild a previous root. */
#include <arpa/inet.h>
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
#include <sys/utsname.h>
#include <unistd.h>

#include "../agent/kernel/netif.h"
#include "../agent/kernel/nlsock.h"
#include "action.h"
#include "tc.h"

static const char *const backend_names[] = {
        [TC_BACKEND_PRIO] = "prio",
        [TC_BACKEND_HTB] = "htb",
        [TC_BACKEND_AUTO] = "auto",
};

char *tc_rate_str(uint64_t bytes) {
        static const struct { const char *unit; uint64_t div; } units[] = {
                { "tbit", 1000000000000ull }, { "gbit", 1000000000 }, { "mbit", 1000000 }, { "kbit", 1000 },
        };
        uint64_t bits = bytes * 8;
        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (bits >= units[i].div && bits % units[i].div == 0)
                        return xasprintf("%llu%s", (unsigned long long) (bits / units[i].div), units[i].unit);
        return xasprintf("%llubit", (unsigned long long) bits);
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

void tc_view_done(struct tc_view *v) {
        free(v->detail);
        v->detail = NULL;
        free(v->opts);
        v->opts = NULL;
        v->opts_len = 0;
}

static inline void rtnl_qdisc_putp(struct rtnl_qdisc **q) {
        if (*q)
                rtnl_qdisc_put(*q);
}

static inline void nlmsg_freep(struct nl_msg **m) {
        if (*m)
                nlmsg_free(*m);
}

/* ---- per-run dumps ------------------------------------------------------------------ */

struct filter_dump {
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
        struct filter_dump fd;
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
        char **want_lines;
};

static void iface_details_drop(struct tc_iface *f) {
        free(f->classes);
        f->classes = NULL;
        f->n_classes = 0;
        strv_free(f->fd.lines);
        f->fd = (struct filter_dump) { 0 };
        f->detailed = false;
}

static void iface_free(struct tc_iface *f) {
        iface_details_drop(f);
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
        strv_free(c->want_lines);
        free(c);
}

static char *const *want_lines(struct tc_cache *c, const struct tc_band *bands, unsigned n) {
        if (!c->want_lines || c->want_n != n || memcmp(c->want_bands, bands, sizeof(c->want_bands))) {
                strv_free(c->want_lines);
                c->want_lines = tc_filter_lines(0, bands, n);
                memcpy(c->want_bands, bands, sizeof(c->want_bands));
                c->want_n = n;
        }
        return c->want_lines;
}

static struct tc_cache *tc_cache_get(struct ctx *ctx) {
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

static struct tc_iface *iface_find(struct tc_cache *c, int ifindex) {
        if (!c->slots)
                return NULL;
        for (size_t h = slot_of(ifindex) & c->mask; c->slots[h]; h = (h + 1) & c->mask)
                if (c->ifs[c->slots[h] - 1]->ifindex == ifindex)
                        return c->ifs[c->slots[h] - 1];
        return NULL;
}

static struct tc_iface *iface_add(struct tc_cache *c, int ifindex) {
        struct tc_iface *f = iface_find(c, ifindex);
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
static void tc_wrote(struct ctx *ctx, int ifindex, bool root) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tc_iface *f = iface_find(c, ifindex);

        if (!c->dumped)
                return;
        if (!f)
                f = iface_add(c, ifindex);
        iface_details_drop(f);
        if (root)
                f->root_stale = true;
}

static void set_root(struct tc_iface *f, const struct tc_qd *q) {
        free(f->root.opts);
        f->root = *q;
        f->has_root = true;
}

static bool parse_qdisc(struct nl_msg *msg, int *ifindex, struct tc_qd *ret) {
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1];

        if (h->nlmsg_type != RTM_NEWQDISC || nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, tc_msg_policy) < 0 || !tb[TCA_KIND])
                return false;
        *ifindex = t->tcm_ifindex;
        *ret = (struct tc_qd) { .handle = t->tcm_handle, .parent = t->tcm_parent };
        snprintf(ret->kind, sizeof(ret->kind), "%s", nla_get_string(tb[TCA_KIND]));
        if (tb[TCA_OPTIONS] && nla_len(tb[TCA_OPTIONS]) > 0) {
                ret->opts_len = (size_t) nla_len(tb[TCA_OPTIONS]);
                ret->opts = xmalloc(ret->opts_len);
                memcpy(ret->opts, nla_data(tb[TCA_OPTIONS]), ret->opts_len);
        }
        return true;
}

static int qdisc_cb(struct nl_msg *msg, void *arg) {
        struct tc_cache *c = arg;
        struct tc_qd q;
        int ifindex;

        if (!parse_qdisc(msg, &ifindex, &q))
                return NL_SKIP;
        struct tc_iface *f = iface_add(c, ifindex);
        if (q.parent == TC_H_ROOT)
                set_root(f, &q);
        else {
                if (q.parent != TC_H_INGRESS && q.handle != 0)
                        f->below++;
                free(q.opts);
        }
        return NL_OK;
}

/* A dump request on the route socket, its entries to fn. */
static int route_dump(struct ctx *ctx, int type, const struct tcmsg *t, nl_recvmsg_msg_cb_t fn, void *arg) {
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        r = nl_send_simple(s, type, NLM_F_DUMP, (void *) t, sizeof(*t));
        if (r < 0)
                return netrun_errno(ctx_net(ctx), r);
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, fn, arg);
        r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        return r < 0 ? netrun_errno(ctx_net(ctx), r) : 0;
}

/* Every qdisc of every interface in one RTM_GETQDISC dump. libnl's qdisc objects do not
 * keep the option bytes, and a previous root is rebuilt from exactly those. */
static int tc_qdiscs(struct ctx *ctx, struct tc_cache **ret) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tcmsg t = { .tcm_family = AF_UNSPEC };
        int r;

        if (!c->dumped) {
                ifaces_drop(c);
                r = route_dump(ctx, RTM_GETQDISC, &t, qdisc_cb, c);
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

        if (!parse_qdisc(msg, &ifindex, &q))
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
static int refresh_root(struct ctx *ctx, struct tc_iface *f) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = f->ifindex, .tcm_parent = TC_H_ROOT };
        struct root_reply rr = { .ifindex = f->ifindex };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        r = nl_send_simple(s, RTM_GETQDISC, NLM_F_ECHO | NLM_F_ACK, &t, sizeof(t));
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
static int tc_clock(struct ctx *ctx, double *ret) {
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

/* ---- reading ------------------------------------------------------------------------ */

static void band_add(struct tc_band *b, uint16_t port) {
        for (unsigned i = 0; i < b->n_ports; i++)
                if (b->ports[i] == port)
                        return;
        if (b->n_ports < TC_MAX_PORTS)
                b->ports[b->n_ports++] = port;
}

/* Collect a port from a node shaped like medic's, to know which bands to compare with. */
static void note_port(struct filter_dump *d, struct nl_msg *msg) {
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1], *u[TCA_U32_MAX + 1];
        const struct tc_u32_sel *s;
        uint32_t c, mask, val;

        if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, tc_msg_policy) < 0 || !tb[TCA_OPTIONS] ||
            nla_parse_nested(u, TCA_U32_MAX, tb[TCA_OPTIONS], tc_u32_policy) < 0 ||
            !u[TCA_U32_CLASSID] || !u[TCA_U32_SEL] || nla_len(u[TCA_U32_SEL]) < (int) sizeof(*s))
                return;
        c = nla_get_u32(u[TCA_U32_CLASSID]);
        s = nla_data(u[TCA_U32_SEL]);
        if (TC_H_MAJ(c) != TC_MEDIC_HANDLE || TC_H_MIN(c) < 1 || TC_H_MIN(c) > TC_MAX_BANDS ||
            s->nkeys < 1 || (size_t) nla_len(u[TCA_U32_SEL]) < sizeof(*s) + s->nkeys * sizeof(struct tc_u32_key)) {
                d->odd_port_node = true;
                return;
        }
        mask = ntohl(s->keys[s->nkeys - 1].mask);
        val = ntohl(s->keys[s->nkeys - 1].val);
        if (mask == 0xffff0000u)
                band_add(&d->bands[TC_H_MIN(c) - 1], (uint16_t) (val >> 16));
        else if (mask == 0x0000ffffu)
                band_add(&d->bands[TC_H_MIN(c) - 1], (uint16_t) val);
        else
                d->odd_port_node = true;
}

static int filter_cb(struct nl_msg *msg, void *arg) {
        struct filter_dump *d = arg;
        if (nlmsg_hdr(msg)->nlmsg_type != RTM_NEWTFILTER)
                return NL_SKIP;
        strv_push(&d->lines, tc_filter_line(msg));
        note_port(d, msg);
        return NL_OK;
}

static int class_cb(struct nl_msg *msg, void *arg) {
        struct tc_iface *f = arg;
        struct tc_class k;

        if (tc_class_parse(nlmsg_hdr(msg), &k) < 0)
                return NL_SKIP;
        f->classes = xrealloc(f->classes, (f->n_classes + 1) * sizeof(*f->classes));
        f->classes[f->n_classes++] = k;
        return NL_OK;
}

/* The classes and the root's filters of one interface (per-device dumps). */
static int iface_details(struct ctx *ctx, struct tc_iface *f) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = f->ifindex };
        int r;

        if (f->detailed)
                return 0;
        iface_details_drop(f);
        r = route_dump(ctx, RTM_GETTCLASS, &t, class_cb, f);
        if (r < 0) {
                iface_details_drop(f);
                ctx_fail(ctx, "dumping classes: %s", nlsock_strerror(r));
                return r;
        }
        t.tcm_parent = f->root.handle;
        r = route_dump(ctx, RTM_GETTFILTER, &t, filter_cb, &f->fd);
        if (r < 0) {
                iface_details_drop(f);
                ctx_fail(ctx, "dumping filters: %s", nlsock_strerror(r));
                return r;
        }
        strv_sort(f->fd.lines);
        f->detailed = true;
        return 0;
}

static int cmp_u16(const void *a, const void *b) {
        return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

/* How the root's filters compare with medic's for n bands: every line one medic writes
 * (and the bands they name), or not. */
enum shape {
        SHAPE_FOREIGN,
        SHAPE_PART,
        SHAPE_ALL,
        _SHAPE_MAX,
};

static enum shape filters_shape(struct tc_cache *c, struct tc_view *v, const struct filter_dump *fd, unsigned n) {
        char *const *want;
        struct tc_band bands[TC_MAX_BANDS];
        bool all = true;
        const char *first = NULL;
        unsigned extra = 0;

        if (fd->odd_port_node) {
                v->detail = v->detail ?: xasprintf("filters with port nodes medic does not write");
                return SHAPE_FOREIGN;
        }
        memset(bands, 0, sizeof(bands));
        memcpy(bands, fd->bands, sizeof(bands));
        for (unsigned b = 0; b < TC_MAX_BANDS; b++) {
                qsort(bands[b].ports, bands[b].n_ports, sizeof(uint16_t), cmp_u16);
                if (b < n && bands[b].n_ports == 0)
                        all = false;
                if (b >= n && bands[b].n_ports) {
                        v->detail = v->detail ?: xasprintf("a filter sends traffic to class 1:%x, past the root's %u bands", b + 1, n + 1);
                        return SHAPE_FOREIGN;
                }
        }
        /* The lines medic writes for the ports seen: each port's nodes name their own port
         * and band; the tables and links are the same for every band set. */
        want = want_lines(c, bands, n);
        /* Both sorted: one walk. */
        size_t k = 0;
        for (size_t i = 0; fd->lines && fd->lines[i]; i++) {
                int cmp = 1;
                while (want && want[k] && (cmp = strcmp(want[k], fd->lines[i])) < 0)
                        k++;
                if (cmp != 0) {
                        first = first ?: fd->lines[i];
                        extra++;
                } else
                        k++;
        }
        if (extra) {
                v->detail = v->detail ?: xasprintf("%u filter%s medic did not set, e.g. '%s'", extra, extra == 1 ? "" : "s", first);
                return SHAPE_FOREIGN;
        }
        memcpy(v->bands, bands, sizeof(v->bands));
        v->n_filters = (unsigned) strv_length(fd->lines);
        return all && strv_length(want) == strv_length(fd->lines) ? SHAPE_ALL : SHAPE_PART;
}

/* Are the classes medic's for n bands? HTB: 1:100 at the link rate, then 1:1..1:(n+1),
 * each with every parameter medic sets (rate, ceil, burst, cburst, quantum, prio). */
static int htb_classes_shape(struct ctx *ctx, struct tc_view *v, const struct tc_iface *f, unsigned n, enum shape *ret) {
        const struct tc_class *parent = NULL;
        double tpu;
        int r;

        for (size_t i = 0; i < f->n_classes; i++)
                if (f->classes[i].handle == TC_HTB_PARENT)
                        parent = &f->classes[i];
        if (!parent) {
                if (f->n_classes) {
                        v->detail = xasprintf("%zu HTB classes without medic's 1:100", f->n_classes);
                        *ret = SHAPE_FOREIGN;
                } else
                        *ret = SHAPE_PART;
                v->n_classes = 0;
                return 0;
        }
        r = tc_clock(ctx, &tpu);
        if (r < 0)
                return r;
        for (size_t i = 0; i < f->n_classes; i++) {
                const struct tc_class *k = &f->classes[i];
                struct tc_class want;
                unsigned idx = k->handle == TC_HTB_PARENT ? 0 : TC_H_MIN(k->handle);

                if (k->handle != TC_HTB_PARENT && (TC_H_MAJ(k->handle) != TC_MEDIC_HANDLE || idx < 1 || idx > n + 1)) {
                        v->detail = xasprintf("HTB class %x:%x is not one of medic's", TC_H_MAJ(k->handle) >> 16, TC_H_MIN(k->handle));
                        *ret = SHAPE_FOREIGN;
                        return 0;
                }
                tc_htb_medic_class(idx, n, parent->rate, &want);
                char *d = tc_htb_class_diff(k, &want, tpu);
                if (d) {
                        v->detail = d;
                        *ret = SHAPE_FOREIGN;
                        return 0;
                }
        }
        v->rate = parent->rate;
        v->n_classes = (unsigned) f->n_classes;
        *ret = f->n_classes == n + 2 ? SHAPE_ALL : SHAPE_PART;
        return 0;
}

/* Previous roots medic builds again exactly: classless kinds whose dumped options are
 * exactly what their change request takes, so replaying the bytes gives the same qdisc
 * (tbf's burst is kept in timer ticks, which round-trip; libnl's tbf rebuild does not). */
bool tc_kind_rebuildable(const char *kind) {
        return streq(kind, "tbf") || streq(kind, "pfifo") || streq(kind, "bfifo");
}

static uint32_t htb_defcls(const struct tc_qd *q) {
        struct nlattr *tb[TCA_HTB_MAX + 1];
        if (!q->opts_len || nla_parse(tb, TCA_HTB_MAX, (struct nlattr *) q->opts, (int) q->opts_len, NULL) < 0 ||
            !tb[TCA_HTB_INIT] || nla_len(tb[TCA_HTB_INIT]) < (int) sizeof(struct tc_htb_glob))
                return 0;
        return ((const struct tc_htb_glob *) nla_data(tb[TCA_HTB_INIT]))->defcls;
}

/* medic's root qdisc (1:, prio or htb, medic's options): its band count, else 0. */
static unsigned medic_root_bands(struct tc_view *v, const struct tc_qd *root) {
        if (streq(v->kind, "prio")) {
                const struct tc_prio_qopt *o = root->opts_len >= sizeof(*o) ? (const void *) root->opts : NULL;
                int bands = o ? o->bands : 0;
                for (int i = 0; o && i <= TC_PRIO_MAX; i++)
                        if (o->priomap[i] != bands - 1)
                                o = NULL;
                if (o && bands >= 2 && bands <= TC_MAX_BANDS + 1) {
                        v->backend = TC_BACKEND_PRIO;
                        return (unsigned) bands - 1;
                }
                v->detail = xasprintf("a prio root whose bands or priomap are not medic's");
                return 0;
        }
        uint32_t def = htb_defcls(root);
        if (def >= 2 && def <= TC_MAX_BANDS + 1) {
                v->backend = TC_BACKEND_HTB;
                return def - 1;
        }
        v->detail = xasprintf("an HTB root whose default class is not medic's");
        return 0;
}

int tc_read(struct ctx *ctx, int ifindex, struct tc_view *ret) {
        struct tc_view v = { .root = TC_ROOT_DEFAULT };
        struct tc_cache *c = NULL;
        struct tc_iface *f;
        int r = tc_qdiscs(ctx, &c);

        if (r < 0)
                return r;
        f = iface_find(c, ifindex);
        if (f && f->root_stale) {
                r = refresh_root(ctx, f);
                if (r < 0) {
                        ctx_fail(ctx, "reading the root qdisc: %s", nlsock_strerror(r));
                        return r;
                }
        }
        if (!f || !f->has_root) {
                /* A device without a qdisc (not up yet): the kernel default it will get. */
                snprintf(v.kind, sizeof(v.kind), "noqueue");
                *ret = v;
                return 0;
        }
        const struct tc_qd *root = &f->root;
        snprintf(v.kind, sizeof(v.kind), "%s", root->kind);
        v.handle = root->handle;
        if (v.handle == 0) {
                *ret = v;
                return 0;
        }
        v.root = TC_ROOT_FOREIGN;
        if (f->below)
                v.detail = xasprintf("%u qdisc%s below the root", f->below, f->below == 1 ? "" : "s");

        bool classful = streq(v.kind, "prio") || streq(v.kind, "htb");
        if (!classful) {
                if (!f->below && tc_kind_rebuildable(v.kind) && root->opts_len) {
                        v.rebuildable = true;
                        v.opts = xmalloc(root->opts_len);
                        memcpy(v.opts, root->opts, root->opts_len);
                        v.opts_len = root->opts_len;
                }
                if (!v.rebuildable && !v.detail)
                        v.detail = xasprintf("medic cannot rebuild a '%s' root", v.kind);
                *ret = v;
                return 0;
        }

        r = iface_details(ctx, f);
        if (r < 0) {
                tc_view_done(&v);
                return r;
        }
        unsigned n = 0;
        enum shape classes = SHAPE_FOREIGN, filters = SHAPE_FOREIGN;
        if (v.handle != TC_MEDIC_HANDLE)
                v.detail = v.detail ?: xasprintf("root handle %x: is not medic's 1:", TC_H_MAJ(v.handle) >> 16);
        else if (!f->below)
                n = medic_root_bands(&v, root);
        if (n && v.backend == TC_BACKEND_HTB) {
                r = htb_classes_shape(ctx, &v, f, n, &classes);
                if (r < 0) {
                        tc_view_done(&v);
                        return r;
                }
        } else if (n) {
                /* prio's classes are the kernel's own, one per band. */
                classes = f->n_classes <= n + 1 ? SHAPE_ALL : SHAPE_FOREIGN;
                if (classes == SHAPE_FOREIGN)
                        v.detail = xasprintf("%zu classes under a prio root of %u bands", f->n_classes, n + 1);
        }
        if (n && classes != SHAPE_FOREIGN)
                filters = filters_shape(c, &v, &f->fd, n);
        if (classes == SHAPE_ALL && filters == SHAPE_ALL) {
                v.root = TC_ROOT_MEDIC;
                v.n_bands = n;
                v.n_classes = v.n_filters = 0;
                free(v.detail), v.detail = NULL;
        } else if (classes != SHAPE_FOREIGN && filters != SHAPE_FOREIGN) {
                v.root = TC_ROOT_PARTIAL;
                v.n_bands = n;
                free(v.detail);
                /* What a medic stopped inside a build leaves; someone's bare "htb default 3"
                 * looks the same, so recovery accepts it only where a change set says
                 * medic was building here (in_between). */
                if (v.backend == TC_BACKEND_HTB)
                        v.detail = xasprintf("medic's htb root as a build stopped part way leaves it: %u of %u classes, %u filter lines",
                                             v.n_classes, n + 2, v.n_filters);
                else
                        v.detail = xasprintf("medic's prio root as a build stopped part way leaves it: %u filter lines", v.n_filters);
        } else {
                memset(v.bands, 0, sizeof(v.bands));
                v.rate = 0;
                v.n_classes = v.n_filters = 0;
                /* A classful root carries classes and filters medic cannot reproduce. */
                char *x = xasprintf("%s; medic cannot rebuild it", v.detail ? v.detail : "not medic's structure");
                free(v.detail), v.detail = x;
        }
        *ret = v;
        return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

static int tc_fail(struct ctx *ctx, int nlerr, const char *ifname, const char *what) {
        int r = netrun_errno(ctx_net(ctx), nlerr);
        ctx_fail(ctx, "%s: %s: %s", ifname, what, nlsock_strerror(r));
        return r;
}

static struct rtnl_qdisc *root_qdisc(int ifindex, uint32_t handle, const char *kind) {
        struct rtnl_qdisc *q = rtnl_qdisc_alloc();
        if (!q)
                return NULL;
        rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
        rtnl_tc_set_parent(TC_CAST(q), TC_H_ROOT);
        rtnl_tc_set_handle(TC_CAST(q), handle);
        if (kind && rtnl_tc_set_kind(TC_CAST(q), kind) < 0) {
                rtnl_qdisc_put(q);
                return NULL;
        }
        return q;
}

int tc_delete_root(struct ctx *ctx, int ifindex, const char *ifname) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = root_qdisc(ifindex, 0, NULL);
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        if (!q)
                return -ENOMEM;
        r = rtnl_qdisc_delete(s, q);
        if (r < 0)
                r = netrun_errno(ctx_net(ctx), r);
        tc_wrote(ctx, ifindex, true);
        /* ENOENT: the root is already the kernel's default (handle 0). */
        if (r < 0 && r != -ENOENT) {
                ctx_fail(ctx, "%s: deleting the root qdisc: %s", ifname, nlsock_strerror(r));
                return r;
        }
        return 0;
}

/* Replacing a root by one with the same handle is a "change" to the kernel, which refuses a
 * different kind and would keep the old classes: delete such a root first. */
static int clear_same_handle(struct ctx *ctx, int ifindex, const char *ifname, uint32_t handle) {
        struct tc_view cur;
        int r = tc_read(ctx, ifindex, &cur);

        if (r < 0)
                return r;
        bool same = cur.handle == handle && cur.root != TC_ROOT_DEFAULT;
        tc_view_done(&cur);
        return same ? tc_delete_root(ctx, ifindex, ifname) : 0;
}

static int add_qdisc(struct ctx *ctx, struct rtnl_qdisc *q) {
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0)
                return r;
        r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
        if (r < 0) {
                r = netrun_errno(ctx_net(ctx), r);
                /* The kernel loaded the qdisc's module and asks for the request again. */
                if (r == -EAGAIN) {
                        r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
                        if (r >= 0)
                                r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
                        if (r < 0)
                                r = netrun_errno(ctx_net(ctx), r);
                }
        }
        return r;
}

/* One request of medic's own (sent and acked); the message is taken. */
static int send_request(struct ctx *ctx, struct nl_msg *m) {
        struct nl_sock *s;
        int r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));

        if (r < 0) {
                nlmsg_free(m);
                return r;
        }
        r = nl_send_sync(s, m);
        return r < 0 ? netrun_errno(ctx_net(ctx), r) : 0;
}

int tc_prio_qdisc(int ifindex, unsigned n, struct rtnl_qdisc **ret) {
        uint8_t map[TC_PRIO_MAX + 1];
        struct rtnl_qdisc *q = root_qdisc(ifindex, TC_MEDIC_HANDLE, "prio");

        if (!q)
                return -ENOMEM;
        /* libnl checks the priomap against the band count: bands first. Every priority maps
         * to the last band, or unclassified traffic would share a policy band. */
        rtnl_qdisc_prio_set_bands(q, (int) n + 1);
        memset(map, (int) n, sizeof(map));
        if (rtnl_qdisc_prio_set_priomap(q, map, sizeof(map)) < 0) {
                rtnl_qdisc_put(q);
                return -EINVAL;
        }
        *ret = q;
        return 0;
}

static int build_htb(struct ctx *ctx, int ifindex, const char *ifname, unsigned n, uint64_t rate, double tpu) {
        _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = root_qdisc(ifindex, TC_MEDIC_HANDLE, "htb");
        int r;

        if (!q || rtnl_htb_set_defcls(q, n + 1) < 0)
                return -ENOMEM;
        r = add_qdisc(ctx, q);
        tc_wrote(ctx, ifindex, true);
        if (r < 0) {
                ctx_fail(ctx, "%s: adding the htb qdisc: %s", ifname, nlsock_strerror(r));
                return r;
        }
        for (unsigned i = 0; i <= n + 1; i++) {
                struct tc_class k;
                struct nl_msg *m;
                tc_htb_medic_class(i, n, rate, &k);
                r = tc_htb_class_request(ifindex, &k, tpu, &m);
                if (r >= 0)
                        r = send_request(ctx, m);
                tc_wrote(ctx, ifindex, false);
                if (r < 0) {
                        ctx_fail(ctx, "%s: adding htb class 1:%x: %s", ifname, TC_H_MIN(k.handle), nlsock_strerror(r));
                        return r;
                }
        }
        return 0;
}

int tc_build(struct ctx *ctx, int ifindex, const char *ifname, enum tc_backend backend,
             const struct tc_band *bands, unsigned n, uint64_t rate, enum tc_backend *ret_used) {
        double tpu = 0;
        int r;

        /* Everything HTB needs is known before the first change, or nothing changes. */
        if (backend != TC_BACKEND_PRIO) {
                r = tc_clock(ctx, &tpu);
                if (r < 0)
                        return r;
        }
        r = clear_same_handle(ctx, ifindex, ifname, TC_MEDIC_HANDLE);
        if (r < 0)
                return r;

        if (backend == TC_BACKEND_PRIO || backend == TC_BACKEND_AUTO) {
                _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
                r = tc_prio_qdisc(ifindex, n, &q);
                if (r < 0)
                        return r;
                if (tc_cache_get(ctx)->no_prio && backend == TC_BACKEND_AUTO)
                        r = -ENOENT; /* one refusal per run is enough to know */
                else {
                        r = add_qdisc(ctx, q);
                        tc_wrote(ctx, ifindex, true);
                        if (r == -ENOENT)
                                tc_cache_get(ctx)->no_prio = true;
                }
                if (r == -ENOENT && backend == TC_BACKEND_AUTO) {
                        ctx_note(ctx, "backend auto: used htb, because this kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set)");
                        backend = TC_BACKEND_HTB;
                } else if (r == -ENOENT) {
                        ctx_fail(ctx, "%s: kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set); use backend: htb or auto", ifname);
                        return r;
                } else if (r < 0) {
                        ctx_fail(ctx, "%s: adding the prio qdisc: %s", ifname, nlsock_strerror(r));
                        return r;
                } else
                        backend = TC_BACKEND_PRIO;
        }
        if (backend == TC_BACKEND_HTB) {
                r = build_htb(ctx, ifindex, ifname, n, rate, tpu);
                if (r < 0)
                        return r;
        }

        struct rtnl_cls **v;
        unsigned nv;
        struct nl_sock *s;
        r = tc_filters_build(ifindex, bands, n, &v, &nv);
        if (r < 0)
                return r;
        for (unsigned i = 0; r >= 0 && i < nv; i++) {
                r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
                if (r >= 0 && (r = rtnl_cls_add(s, v[i], NLM_F_CREATE | NLM_F_EXCL)) < 0)
                        r = tc_fail(ctx, r, ifname, "adding a u32 filter");
        }
        tc_filters_free(v, nv);
        tc_wrote(ctx, ifindex, false);
        if (r < 0)
                return r;
        *ret_used = backend;
        return 0;
}

int tc_rebuild_request(int ifindex, const struct tc_view *prev, struct nl_msg **ret) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = TC_H_ROOT,
                           .tcm_handle = prev->handle };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_REPLACE);

        if (!m)
                return -ENOMEM;
        if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 || nla_put_string(m, TCA_KIND, prev->kind) < 0 ||
            nla_put(m, TCA_OPTIONS, (int) prev->opts_len, prev->opts) < 0) {
                nlmsg_free(m);
                return -ENOMEM;
        }
        *ret = m;
        return 0;
}

int tc_rebuild(struct ctx *ctx, int ifindex, const char *ifname, const struct tc_view *prev) {
        _cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
        struct nl_sock *s;
        int r;

        if (!prev->rebuildable || !tc_kind_rebuildable(prev->kind) || !prev->opts_len) {
                ctx_fail(ctx, "%s: medic cannot rebuild a '%s' root", ifname, prev->kind);
                return -EOPNOTSUPP;
        }
        r = ctx_net_why(ctx, netrun_route(ctx_net(ctx), &s));
        if (r < 0)
                return r;
        r = clear_same_handle(ctx, ifindex, ifname, prev->handle);
        if (r < 0)
                return r;
        r = tc_rebuild_request(ifindex, prev, &m);
        if (r < 0)
                return r;
        r = nl_send_auto(s, m);
        if (r >= 0)
                r = nl_wait_for_ack(s);
        tc_wrote(ctx, ifindex, true);
        if (r < 0) {
                r = netrun_errno(ctx_net(ctx), r);
                ctx_fail(ctx, "%s: re-creating the previous %s root: %s", ifname, prev->kind, nlsock_strerror(r));
                return r;
        }
        return 0;
}

/* modprobe runs an "install sch_prio COMMAND" line of modprobe.d instead of loading the
 * module. Looks in modprobe's own order (a file name found earlier hides the same name
 * later) and returns the command of the first such line, or NULL. */
static char *modprobe_install_rule(const char *module) {
        static const char *const dirs[] = { "/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d",
                                            "/lib/modprobe.d", "/usr/lib/modprobe.d" };
        _cleanup_strv_ char **seen = NULL;

        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                _cleanup_strv_ char **names = NULL;
                DIR *d = opendir(dirs[i]);
                struct dirent *e;

                if (!d)
                        continue;
                while ((e = readdir(d))) {
                        size_t l = strlen(e->d_name);
                        if (l > 5 && streq(e->d_name + l - 5, ".conf") && !strv_contains(seen, e->d_name))
                                strv_push(&names, xstrdup(e->d_name));
                }
                closedir(d);
                strv_sort(names);
                for (size_t k = 0; names && names[k]; k++) {
                        _cleanup_free_ char *path = xasprintf("%s/%s", dirs[i], names[k]), *text = NULL;
                        strv_push(&seen, xstrdup(names[k]));
                        if (read_file(path, &text, NULL) < 0)
                                continue;
                        for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
                                char word[16], mod[64];
                                int at = 0;
                                if (sscanf(line, " %15s %63s %n", word, mod, &at) == 2 && streq(word, "install") &&
                                    streq(mod, module) && at > 0) {
                                        line += at;
                                        line[strcspn(line, "#")] = '\0';
                                        for (size_t t = strlen(line); t > 0 && (line[t - 1] == ' ' || line[t - 1] == '\t'); t--)
                                                line[t - 1] = '\0';
                                        return xstrdup(line);
                                }
                        }
                }
        }
        return NULL;
}

/* Read-only: whether the kernel can create a prio qdisc, without creating one and without
 * loading a module (audit changes nothing). An installed module is not enough: the kernel
 * must also be allowed to load it, or apply meets the same ENOENT as on a kernel built
 * without it — and the operator must hear which of the two it is. */
static int probe_prio(const char **how) {
        static char why[512];
        struct utsname u;
        char path[256];
        _cleanup_free_ char *builtin = NULL, *dep = NULL, *disabled = NULL, *modprobe = NULL, *rule = NULL;

        if (access("/sys/module/sch_prio", F_OK) == 0) {
                *how = "module sch_prio is loaded";
                return 1;
        }
        *how = "no /lib/modules for this kernel to tell";
        if (uname(&u) < 0)
                return -ENOENT;
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.builtin", u.release);
        if (read_file(path, &builtin, NULL) >= 0 && strstr(builtin, "/sch_prio.ko")) {
                *how = "sch_prio is built into the kernel";
                return 1;
        }
        snprintf(path, sizeof(path), "/lib/modules/%s/modules.dep", u.release);
        if (read_file(path, &dep, NULL) >= 0) {
                if (!strstr(dep, "/sch_prio.ko")) {
                        if (builtin) {
                                *how = "CONFIG_NET_SCH_PRIO is not set: no sch_prio module or built-in";
                                return 0;
                        }
                        *how = "no /lib/modules for this kernel to tell";
                        return -ENOENT;
                }
                if (read_line_file("/proc/sys/kernel/modules_disabled", &disabled) >= 0 && streq(disabled, "1")) {
                        *how = "module sch_prio is installed but the kernel refuses to load it: kernel.modules_disabled=1 (until reboot)";
                        return 0;
                }
                /* The kernel loads a qdisc's module by running kernel.modprobe; empty means never. */
                if (read_line_file("/proc/sys/kernel/modprobe", &modprobe) >= 0 && !modprobe[0]) {
                        *how = "module sch_prio is installed but the kernel cannot load it: kernel.modprobe is empty";
                        return 0;
                }
                rule = modprobe_install_rule("sch_prio");
                if (rule) {
                        const char *cmd = strrchr(rule, '/') ? strrchr(rule, '/') + 1 : rule;
                        bool refuses = streq(cmd, "false") || streq(cmd, "true");
                        snprintf(why, sizeof(why), "module sch_prio is installed but modprobe.d says 'install sch_prio %s'%s",
                                 rule, refuses ? ", so it is never loaded" : " instead of loading it");
                        *how = why;
                        /* /bin/false and /bin/true load nothing; another command may or may not. */
                        return refuses ? 0 : -ENOENT;
                }
                *how = "module sch_prio is installed";
                return 1;
        }
        return -ENOENT;
}

/* modules.dep is a megabyte on a distribution kernel, and the audit asks once per
 * interface: the answer cannot change while medic runs. */
int tc_kernel_has_prio(const char **how) {
        static int known = 0, answer;
        static const char *said;

        if (!known) {
                answer = probe_prio(&said);
                known = 1;
        }
        *how = said;
        return answer;
}
