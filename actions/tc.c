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

#include "../agent/netif.h"
#include "../agent/nlsock.h"
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

char *tc_describe_opts(const char *kind, const uint8_t *opts, size_t len) {
        if (streq(kind, "tbf")) {
                struct nlattr *tb[TCA_TBF_MAX + 1];
                const struct tc_tbf_qopt *q;
                if (nla_parse(tb, TCA_TBF_MAX, (struct nlattr *) opts, (int) len, NULL) < 0 || !tb[TCA_TBF_PARMS] ||
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
static inline void rtnl_class_putp(struct rtnl_class **c) {
        if (*c)
                rtnl_class_put(*c);
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

struct tc_iface {
        int ifindex;
        struct nl_cache *classes;
        struct filter_dump fd;
};

static void tc_iface_done(struct tc_iface *f) {
        if (f->classes)
                nl_cache_free(f->classes);
        strv_free(f->fd.lines);
        *f = (struct tc_iface) { 0 };
}


/* One qdisc as the dump gave it, options kept as the kernel's bytes. */
struct tc_qd {
        int ifindex;
        uint32_t handle, parent;
        char kind[16];
        uint8_t *opts;
        size_t opts_len;
};

struct tc_cache {
        struct tc_qd *qdiscs; /* one dump, every interface */
        size_t n_qdiscs;
        bool have_qdiscs;
        struct tc_iface *ifs;
        size_t n;
        bool no_prio; /* the kernel said it has no prio qdisc: don't ask again this run */
};

static void qdiscs_drop(struct tc_cache *c) {
        for (size_t i = 0; i < c->n_qdiscs; i++)
                free(c->qdiscs[i].opts);
        free(c->qdiscs);
        c->qdiscs = NULL;
        c->n_qdiscs = 0;
        c->have_qdiscs = false;
}


static void tc_cache_free(void *p) {
        struct tc_cache *c = p;
        if (!c)
                return;
        qdiscs_drop(c);
        for (size_t i = 0; i < c->n; i++)
                tc_iface_done(&c->ifs[i]);
        free(c->ifs);
        free(c);
}

static struct tc_cache *tc_cache_get(struct ctx *ctx) {
        struct netrun *n = netrun_get(ctx);
        if (!n->tc) {
                n->tc = xcalloc(1, sizeof(struct tc_cache));
                n->tc_free = tc_cache_free;
        }
        return n->tc;
}

/* After a write on ifindex: its classes and filters, and the qdisc dump, are stale. */
static void tc_invalidate(struct ctx *ctx, int ifindex) {
        struct tc_cache *c = tc_cache_get(ctx);

        qdiscs_drop(c);
        for (size_t i = 0; i < c->n; i++)
                if (c->ifs[i].ifindex == ifindex) {
                        tc_iface_done(&c->ifs[i]);
                        c->ifs[i] = c->ifs[--c->n];
                        break;
                }
}

static int qdisc_cb(struct nl_msg *msg, void *arg) {
        struct tc_cache *c = arg;
        struct nlmsghdr *h = nlmsg_hdr(msg);
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1];
        struct tc_qd q;

        if (h->nlmsg_type != RTM_NEWQDISC || nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL) < 0 || !tb[TCA_KIND])
                return NL_SKIP;
        q = (struct tc_qd) { .ifindex = t->tcm_ifindex, .handle = t->tcm_handle, .parent = t->tcm_parent };
        snprintf(q.kind, sizeof(q.kind), "%s", nla_get_string(tb[TCA_KIND]));
        if (tb[TCA_OPTIONS] && nla_len(tb[TCA_OPTIONS]) > 0) {
                q.opts_len = (size_t) nla_len(tb[TCA_OPTIONS]);
                q.opts = xmalloc(q.opts_len);
                memcpy(q.opts, nla_data(tb[TCA_OPTIONS]), q.opts_len);
        }
        c->qdiscs = xrealloc(c->qdiscs, (c->n_qdiscs + 1) * sizeof(*c->qdiscs));
        c->qdiscs[c->n_qdiscs++] = q;
        return NL_OK;
}

/* Every qdisc of every interface in one RTM_GETQDISC dump. libnl's qdisc objects do not
 * keep the option bytes, and a previous root is rebuilt from exactly those. */
static int tc_qdiscs(struct ctx *ctx, struct tc_cache **ret) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tcmsg t = { .tcm_family = AF_UNSPEC };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r;

        if (!c->have_qdiscs) {
                r = netrun_route(ctx, &s);
                if (r < 0)
                        return r;
                r = nl_send_simple(s, RTM_GETQDISC, NLM_F_DUMP, &t, sizeof(t));
                if (r >= 0) {
                        cb = nlsock_cb_clone(s);
                        if (!cb)
                                return -ENOMEM;
                        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, qdisc_cb, c);
                        r = nl_recvmsgs(s, cb);
                        nl_cb_put(cb);
                }
                if (r < 0) {
                        qdiscs_drop(c);
                        r = netrun_errno(ctx, r);
                        ctx_fail(ctx, "dumping qdiscs: %s", strerror(-r));
                        return r;
                }
                c->have_qdiscs = true;
        }
        *ret = c;
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

        if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL) < 0 || !tb[TCA_OPTIONS] ||
            nla_parse_nested(u, TCA_U32_MAX, tb[TCA_OPTIONS], NULL) < 0 ||
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

static int dump_filters(struct ctx *ctx, int ifindex, uint32_t parent, struct filter_dump *d) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = ifindex, .tcm_parent = parent };
        struct nl_sock *s;
        struct nl_cb *cb;
        int r = netrun_route(ctx, &s);

        if (r < 0)
                return r;
        r = nl_send_simple(s, RTM_GETTFILTER, NLM_F_DUMP, &t, sizeof(t));
        if (r < 0)
                return netrun_errno(ctx, r);
        cb = nlsock_cb_clone(s);
        if (!cb)
                return -ENOMEM;
        nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, filter_cb, d);
        r = nl_recvmsgs(s, cb);
        nl_cb_put(cb);
        if (r < 0) {
                r = netrun_errno(ctx, r);
                ctx_fail(ctx, "dumping filters: %s", strerror(-r));
                return r;
        }
        strv_sort(d->lines);
        return 0;
}

static int iface_dumps(struct ctx *ctx, int ifindex, uint32_t root_handle, struct tc_iface **ret) {
        struct tc_cache *c = tc_cache_get(ctx);
        struct tc_iface f = { .ifindex = ifindex };
        struct nl_sock *s;
        int r;

        for (size_t i = 0; i < c->n; i++)
                if (c->ifs[i].ifindex == ifindex) {
                        *ret = &c->ifs[i];
                        return 0;
                }
        r = netrun_route(ctx, &s);
        if (r < 0)
                return r;
        r = rtnl_class_alloc_cache(s, ifindex, &f.classes);
        if (r < 0) {
                r = netrun_errno(ctx, r);
                ctx_fail(ctx, "dumping classes: %s", strerror(-r));
                return r;
        }
        r = dump_filters(ctx, ifindex, root_handle, &f.fd);
        if (r < 0) {
                tc_iface_done(&f);
                return r;
        }
        c->ifs = xrealloc(c->ifs, (c->n + 1) * sizeof(*c->ifs));
        c->ifs[c->n] = f;
        *ret = &c->ifs[c->n++];
        return 0;
}

static bool strv_equal(char *const *a, char *const *b) {
        size_t n = strv_length(a);
        if (n != strv_length(b))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!streq(a[i], b[i]))
                        return false;
        return true;
}

static int cmp_u16(const void *a, const void *b) {
        return (int) *(const uint16_t *) a - (int) *(const uint16_t *) b;
}

/* Does this interface carry exactly medic's filters for some bands? Fills v->bands. */
static bool filters_are_medics(struct tc_view *v, const struct filter_dump *fd, unsigned n) {
        _cleanup_strv_ char **want = NULL;
        struct tc_band bands[TC_MAX_BANDS];

        if (fd->odd_port_node)
                goto foreign;
        memcpy(bands, fd->bands, sizeof(bands));
        for (unsigned b = 0; b < n; b++) {
                if (bands[b].n_ports == 0)
                        goto foreign;
                qsort(bands[b].ports, bands[b].n_ports, sizeof(uint16_t), cmp_u16);
        }
        for (unsigned b = n; b < TC_MAX_BANDS; b++)
                if (bands[b].n_ports)
                        goto foreign;
        want = tc_filter_lines(0, bands, n);
        if (!strv_equal(want, fd->lines))
                goto foreign;
        memcpy(v->bands, bands, sizeof(v->bands));
        v->n_bands = n;
        return true;
foreign:
        if (!v->detail) {
                /* Name one foreign filter: "2 filters medic did not set, e.g. pref 5 ...". */
                const char *first = NULL;
                unsigned extra = 0;
                for (size_t i = 0; fd->lines && fd->lines[i]; i++)
                        if (!want || !strv_contains(want, fd->lines[i])) {
                                first = first ? first : fd->lines[i];
                                extra++;
                        }
                if (extra)
                        v->detail = xasprintf("%u filter%s medic did not set, e.g. '%s'", extra, extra == 1 ? "" : "s", first);
                else
                        v->detail = xasprintf("medic's filters are incomplete");
        }
        return false;
}

static bool htb_classes_are_medics(struct tc_view *v, struct nl_cache *classes, unsigned n) {
        unsigned seen = 0;
        uint64_t rate = 0;

        /* The parent class sets the link rate the children are compared with. */
        for (struct nl_object *o = nl_cache_get_first(classes); o; o = nl_cache_get_next(o)) {
                struct rtnl_class *c = (struct rtnl_class *) o;
                if (rtnl_tc_get_handle(TC_CAST(c)) == TC_HTB_PARENT && rtnl_htb_get_rate64(c, &rate) < 0)
                        rate = 0;
        }
        if (!rate)
                goto foreign;
        for (struct nl_object *o = nl_cache_get_first(classes); o; o = nl_cache_get_next(o)) {
                struct rtnl_class *c = (struct rtnl_class *) o;
                uint32_t h = rtnl_tc_get_handle(TC_CAST(c)), parent = rtnl_tc_get_parent(TC_CAST(c));
                uint64_t r = 0, ceil = 0;

                if (!streq(rtnl_tc_get_kind(TC_CAST(c)), "htb"))
                        goto foreign;
                rtnl_htb_get_rate64(c, &r);
                rtnl_htb_get_ceil64(c, &ceil);
                if (h == TC_HTB_PARENT) {
                        if ((parent != TC_H_ROOT && parent != TC_MEDIC_HANDLE) || ceil != rate ||
                            rtnl_htb_get_quantum(c) != TC_HTB_QUANTUM)
                                goto foreign;
                } else if (TC_H_MAJ(h) == TC_MEDIC_HANDLE && TC_H_MIN(h) >= 1 && TC_H_MIN(h) <= n + 1) {
                        if (parent != TC_HTB_PARENT || r != rate / (n + 1) || ceil != rate ||
                            rtnl_htb_get_prio(c) != TC_H_MIN(h) - 1 || rtnl_htb_get_quantum(c) != TC_HTB_QUANTUM)
                                goto foreign;
                } else
                        goto foreign;
                seen++;
        }
        if (seen != n + 2)
                goto foreign;
        v->rate = rate;
        return true;
foreign:
        if (!v->detail)
                v->detail = xasprintf("%d HTB classes that are not medic's", nl_cache_nitems(classes));
        return false;
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

int tc_read(struct ctx *ctx, int ifindex, struct tc_view *ret) {
        struct tc_view v = { .root = TC_ROOT_DEFAULT };
        const struct tc_qd *root = NULL;
        struct tc_cache *c = NULL;
        unsigned below = 0;
        int r = tc_qdiscs(ctx, &c);

        if (r < 0)
                return r;
        for (size_t i = 0; i < c->n_qdiscs; i++) {
                const struct tc_qd *q = &c->qdiscs[i];
                if (q->ifindex != ifindex)
                        continue;
                if (q->parent == TC_H_ROOT)
                        root = q;
                else if (q->parent != TC_H_INGRESS && q->handle != 0)
                        below++;
        }
        if (!root) {
                /* A device without a qdisc (not up yet): the kernel default it will get. */
                snprintf(v.kind, sizeof(v.kind), "noqueue");
                *ret = v;
                return 0;
        }
        snprintf(v.kind, sizeof(v.kind), "%s", root->kind);
        v.handle = root->handle;
        if (v.handle == 0) {
                *ret = v;
                return 0;
        }
        v.root = TC_ROOT_FOREIGN;
        if (below)
                v.detail = xasprintf("%u qdisc%s below the root", below, below == 1 ? "" : "s");

        bool classful = streq(v.kind, "prio") || streq(v.kind, "htb");
        if (!classful) {
                if (!below && tc_kind_rebuildable(v.kind) && root->opts_len) {
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

        struct tc_iface *f = NULL;
        r = iface_dumps(ctx, ifindex, v.handle, &f);
        if (r < 0) {
                tc_view_done(&v);
                return r;
        }
        unsigned n = 0;
        if (v.handle == TC_MEDIC_HANDLE && !below) {
                if (streq(v.kind, "prio")) {
                        const struct tc_prio_qopt *o = root->opts_len >= sizeof(*o) ? (const void *) root->opts : NULL;
                        int bands = o ? o->bands : 0;
                        bool all_last = o != NULL;
                        for (int i = 0; o && i <= TC_PRIO_MAX; i++)
                                if (o->priomap[i] != bands - 1)
                                        all_last = false;
                        if (bands >= 2 && bands <= TC_MAX_BANDS + 1 && all_last &&
                            nl_cache_nitems(f->classes) <= bands) {
                                n = (unsigned) bands - 1;
                                v.backend = TC_BACKEND_PRIO;
                        } else
                                v.detail = xasprintf("a prio root whose bands or priomap are not medic's");
                } else {
                        uint32_t def = htb_defcls(root);
                        if (def >= 2 && def <= TC_MAX_BANDS + 1 &&
                            htb_classes_are_medics(&v, f->classes, def - 1)) {
                                n = def - 1;
                                v.backend = TC_BACKEND_HTB;
                        } else if (!v.detail)
                                v.detail = xasprintf("an HTB root whose classes are not medic's");
                }
        } else if (!v.detail)
                v.detail = xasprintf("root handle %x: is not medic's 1:", TC_H_MAJ(v.handle) >> 16);
        if (n && filters_are_medics(&v, &f->fd, n))
                v.root = TC_ROOT_MEDIC;
        if (v.root == TC_ROOT_FOREIGN && !v.detail)
                v.detail = xasprintf("not medic's structure");
        if (v.root == TC_ROOT_FOREIGN) {
                /* A classful root carries classes and filters medic cannot reproduce. */
                char *x = xasprintf("%s; medic cannot rebuild it", v.detail);
                free(v.detail), v.detail = x;
        }
        *ret = v;
        return 0;
}

/* ---- writing ------------------------------------------------------------------------ */

static int tc_fail(struct ctx *ctx, int nlerr, const char *ifname, const char *what) {
        int r = netrun_errno(ctx, nlerr);
        ctx_fail(ctx, "%s: %s: %s", ifname, what, strerror(-r));
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
        int r = netrun_route(ctx, &s);

        if (r < 0)
                return r;
        if (!q)
                return -ENOMEM;
        r = rtnl_qdisc_delete(s, q);
        tc_invalidate(ctx, ifindex);
        if (r < 0) {
                r = netrun_errno(ctx, r);
                /* ENOENT: the root is already the kernel's default (handle 0). */
                if (r == -ENOENT)
                        return 0;
                ctx_fail(ctx, "%s: deleting the root qdisc: %s", ifname, strerror(-r));
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
        int r = netrun_route(ctx, &s);

        if (r < 0)
                return r;
        r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
        if (r < 0) {
                r = netrun_errno(ctx, r);
                /* The kernel loaded the qdisc's module and asks for the request again. */
                if (r == -EAGAIN) {
                        r = rtnl_qdisc_add(s, q, NLM_F_CREATE | NLM_F_REPLACE);
                        if (r < 0)
                                r = netrun_errno(ctx, r);
                }
        }
        return r;
}

static uint32_t htb_burst(uint64_t rate) {
        uint64_t b = rate / 1000 + TC_HTB_QUANTUM;
        return b > UINT32_MAX ? UINT32_MAX : (uint32_t) b;
}

static struct rtnl_class *htb_class(int ifindex, uint32_t parent, uint32_t handle, uint64_t rate,
                                    uint64_t ceil, uint32_t prio) {
        struct rtnl_class *c = rtnl_class_alloc();
        if (!c)
                return NULL;
        rtnl_tc_set_ifindex(TC_CAST(c), ifindex);
        rtnl_tc_set_parent(TC_CAST(c), parent);
        rtnl_tc_set_handle(TC_CAST(c), handle);
        if (rtnl_tc_set_kind(TC_CAST(c), "htb") < 0 || rtnl_htb_set_rate64(c, rate) < 0 ||
            rtnl_htb_set_ceil64(c, ceil) < 0 || rtnl_htb_set_prio(c, prio) < 0 ||
            rtnl_htb_set_quantum(c, TC_HTB_QUANTUM) < 0 ||
            /* tc's default burst: one timer tick at the rate plus a frame. libnl's own
             * default loses it for rates above 4 GB/s. */
            rtnl_htb_set_rbuffer(c, htb_burst(rate)) < 0 || rtnl_htb_set_cbuffer(c, htb_burst(ceil)) < 0) {
                rtnl_class_put(c);
                return NULL;
        }
        return c;
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

int tc_build(struct ctx *ctx, int ifindex, const char *ifname, enum tc_backend backend,
             const struct tc_band *bands, unsigned n, uint64_t rate, enum tc_backend *ret_used) {
        struct nl_sock *s;
        int r;

        r = netrun_route(ctx, &s);
        if (r < 0)
                return r;
        r = clear_same_handle(ctx, ifindex, ifname, TC_MEDIC_HANDLE);
        if (r < 0)
                return r;

        if (backend == TC_BACKEND_PRIO || backend == TC_BACKEND_AUTO) {
                _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = NULL;
                struct tc_cache *c = tc_cache_get(ctx);
                r = tc_prio_qdisc(ifindex, n, &q);
                if (r < 0)
                        return r;
                if (c->no_prio && backend == TC_BACKEND_AUTO)
                        r = -ENOENT; /* one refusal per run is enough to know */
                else {
                        r = add_qdisc(ctx, q);
                        tc_invalidate(ctx, ifindex);
                        if (r == -ENOENT)
                                c->no_prio = true;
                }
                if (r == -ENOENT && backend == TC_BACKEND_AUTO) {
                        ctx_note(ctx, "backend auto: used htb, because this kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set)");
                        backend = TC_BACKEND_HTB;
                } else if (r == -ENOENT) {
                        ctx_fail(ctx, "%s: kernel has no 'prio' qdisc (CONFIG_NET_SCH_PRIO not set); use backend: htb or auto", ifname);
                        return r;
                } else if (r < 0) {
                        ctx_fail(ctx, "%s: adding the prio qdisc: %s", ifname, strerror(-r));
                        return r;
                } else
                        backend = TC_BACKEND_PRIO;
        }
        if (backend == TC_BACKEND_HTB) {
                _cleanup_(rtnl_qdisc_putp) struct rtnl_qdisc *q = root_qdisc(ifindex, TC_MEDIC_HANDLE, "htb");
                if (!q || rtnl_htb_set_defcls(q, n + 1) < 0)
                        return -ENOMEM;
                r = add_qdisc(ctx, q);
                tc_invalidate(ctx, ifindex);
                if (r < 0) {
                        ctx_fail(ctx, "%s: adding the htb qdisc: %s", ifname, strerror(-r));
                        return r;
                }
                /* Each band is guaranteed an equal share and may borrow up to the link rate;
                 * HTB lends spare bandwidth to the lowest priority value first. */
                for (unsigned i = 0; i <= n + 1; i++) {
                        _cleanup_(rtnl_class_putp) struct rtnl_class *c = i == 0
                                ? htb_class(ifindex, TC_MEDIC_HANDLE, TC_HTB_PARENT, rate, rate, 0)
                                : htb_class(ifindex, TC_HTB_PARENT, TC_H_MAKE(TC_MEDIC_HANDLE, i), rate / (n + 1), rate, i - 1);
                        if (!c)
                                return -ENOMEM;
                        r = rtnl_class_add(s, c, NLM_F_CREATE | NLM_F_EXCL);
                        if (r < 0) {
                                _cleanup_free_ char *what = xasprintf("adding htb class 1:%x", TC_H_MIN(rtnl_tc_get_handle(TC_CAST(c))));
                                return tc_fail(ctx, r, ifname, what);
                        }
                }
        }

        struct rtnl_cls **v;
        unsigned nv;
        r = tc_filters_build(ifindex, bands, n, &v, &nv);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < nv; i++) {
                r = rtnl_cls_add(s, v[i], NLM_F_CREATE | NLM_F_EXCL);
                if (r < 0) {
                        r = tc_fail(ctx, r, ifname, "adding a u32 filter");
                        break;
                }
        }
        tc_filters_free(v, nv);
        tc_invalidate(ctx, ifindex);
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
        r = netrun_route(ctx, &s);
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
        tc_invalidate(ctx, ifindex);
        if (r < 0) {
                r = netrun_errno(ctx, r);
                ctx_fail(ctx, "%s: re-creating the previous %s root: %s", ifname, prev->kind, strerror(-r));
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
