/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's kernel side, reading: what an interface's root holds, from the run's
 * dumps, compared with the structure medic builds (medic's, partly built, or foreign). */
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
#include "tc_dump.h"

/* ---- reading ------------------------------------------------------------------------ */

static void band_add(struct tc_band *b, uint16_t port) {
        for (unsigned i = 0; i < b->n_ports; i++)
                if (b->ports[i] == port)
                        return;
        if (b->n_ports < TC_MAX_PORTS)
                b->ports[b->n_ports++] = port;
}

/* Collect a port from a node shaped like medic's, to know which bands to compare with. */
static void note_port(struct filter_dump *d, const struct nlmsghdr *hdr) {
        struct nlmsghdr *h = (struct nlmsghdr *) hdr; /* libnl's parsers only read it */
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
                val >>= 16;
        else if (mask != 0x0000ffffu)
                val = 0;
        /* A policy's ports are 1-65535: a node for port 0 is not one medic writes (and a
         * state naming it could not be journaled and read back). */
        if ((uint16_t) val == 0)
                d->odd_port_node = true;
        else
                band_add(&d->bands[TC_H_MIN(c) - 1], (uint16_t) val);
}

/* ---- filter dumps, made sense of once per kind of dump -------------------------------- */

/* An audit of `interface: all` over a thousand interfaces reads a thousand filter dumps that
 * are, once medic built them, the same bytes but for the ifindex: making canonical lines of
 * each message, sorting and comparing them was a fifth of such an audit's user time. Each dump
 * is kept normalised (what the lines do not depend on zeroed) and looked up by its bytes; an
 * equal dump shares the first one's result. Equal bytes give equal lines, so this changes
 * nothing medic decides. The memo holds at most FILTER_MEMO_MAX kinds of dump a run. */
#define FILTER_MEMO_MAX 256

void tc_filter_dump_unref(struct filter_dump *fd) {
        if (fd && --fd->refs == 0) {
                strv_free(fd->lines);
                free(fd);
        }
}

void tc_filter_memo_done(struct filter_memo *m) {
        for (size_t i = 0; m->v && i <= m->mask; i++)
                if (m->v[i].fd) {
                        free(m->v[i].bytes);
                        tc_filter_dump_unref(m->v[i].fd);
                }
        free(m->v);
        free(m->scratch);
        *m = (struct filter_memo) { 0 };
}

/* Zero what differs between interfaces and runs, and what the lines never read: the
 * header's sequence, port and flags, the ifindex, and u32's hit counters (TCA_U32_PCNT,
 * present where the kernel counts them, and different on every busy interface). */
static void filter_msg_normalise(struct nlmsghdr *h) {
        struct nlattr *a, *o;
        int rem, rem2;

        h->nlmsg_seq = 0;
        h->nlmsg_pid = 0;
        h->nlmsg_flags = 0;
        if (!nlmsg_valid_hdr(h, sizeof(struct tcmsg)))
                return;
        ((struct tcmsg *) nlmsg_data(h))->tcm_ifindex = 0;
        nlmsg_for_each_attr(a, h, sizeof(struct tcmsg), rem)
                if (nla_type(a) == TCA_OPTIONS)
                        nla_for_each_nested(o, a, rem2)
                                if (nla_type(o) == TCA_U32_PCNT)
                                        memset(nla_data(o), 0, (size_t) nla_len(o));
}

static int filter_cb(const struct nlmsghdr *h, void *arg) {
        struct filter_memo *m = arg;
        size_t len = NLMSG_ALIGN(h->nlmsg_len);

        if (h->nlmsg_type != RTM_NEWTFILTER)
                return 0;
        if (m->scratch_len + len > m->scratch_cap) {
                m->scratch_cap = 2 * (m->scratch_len + len);
                m->scratch = xrealloc(m->scratch, m->scratch_cap);
        }
        /* nlsock_dump() hands over a message whose length fits what it received. */
        memset(m->scratch + m->scratch_len, 0, len);
        memcpy(m->scratch + m->scratch_len, h, h->nlmsg_len);
        filter_msg_normalise((struct nlmsghdr *) (m->scratch + m->scratch_len));
        m->scratch_len += len;
        return 0;
}

static uint64_t bytes_hash(const uint8_t *p, size_t n) {
        uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;

        for (; n >= 8; p += 8, n -= 8) {
                memcpy(&w, p, 8);
                h = (h ^ w) * 0xff51afd7ed558ccdull;
                h ^= h >> 32;
        }
        w = 0;
        if (n) /* p may be NULL for an empty dump */
                memcpy(&w, p, n);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        return h ^ (h >> 29);
}

/* The dump in the scratch buffer, made sense of: lines sorted, ports by band. */
static struct filter_dump *filter_dump_new(const uint8_t *p, size_t n) {
        struct filter_dump *fd = xcalloc(1, sizeof(*fd));

        fd->refs = 1;
        for (size_t off = 0; off + sizeof(struct nlmsghdr) <= n;) {
                const struct nlmsghdr *h = (const void *) (p + off);
                strv_push(&fd->lines, tc_filter_line(h));
                note_port(fd, h);
                off += NLMSG_ALIGN(h->nlmsg_len);
        }
        strv_sort(fd->lines);
        return fd;
}

/* The result for the dump just read: an earlier equal dump's, or a new one kept for the
 * next. The caller holds a reference. */
static struct filter_dump *filter_dump_get(struct filter_memo *m) {
        uint64_t h = bytes_hash(m->scratch, m->scratch_len);
        size_t i;

        for (i = m->v ? h & m->mask : 0; m->v && m->v[i].fd; i = (i + 1) & m->mask)
                if (m->v[i].hash == h && m->v[i].len == m->scratch_len &&
                    (m->scratch_len == 0 || memcmp(m->v[i].bytes, m->scratch, m->scratch_len) == 0)) {
                        m->v[i].fd->refs++;
                        return m->v[i].fd;
                }
        struct filter_dump *fd = filter_dump_new(m->scratch, m->scratch_len);
        if (m->n >= FILTER_MEMO_MAX)
                return fd;
        if (!m->v) {
                m->mask = 2 * FILTER_MEMO_MAX - 1; /* never more than half full */
                m->v = xcalloc(m->mask + 1, sizeof(*m->v));
                i = h & m->mask;
        }
        m->v[i] = (struct filter_memo_entry) { .hash = h, .len = m->scratch_len, .fd = fd,
                                               .bytes = xmalloc(m->scratch_len ? m->scratch_len : 1) };
        if (m->scratch_len)
                memcpy(m->v[i].bytes, m->scratch, m->scratch_len);
        m->n++;
        fd->refs++;
        return fd;
}

static int class_cb(const struct nlmsghdr *h, void *arg) {
        struct tc_iface *f = arg;
        struct tc_class k;

        if (tc_class_parse((struct nlmsghdr *) h, &k) < 0)
                return 0;
        f->classes = xrealloc(f->classes, (f->n_classes + 1) * sizeof(*f->classes));
        f->classes[f->n_classes++] = k;
        return 0;
}

/* The classes and the root's filters of one interface (per-device dumps). */
static int iface_details(struct ctx *ctx, struct tc_cache *c, struct tc_iface *f) {
        struct tcmsg t = { .tcm_family = AF_UNSPEC, .tcm_ifindex = f->ifindex };
        int r;

        if (f->detailed)
                return 0;
        tc_iface_details_drop(f);
        r = tc_route_dump(ctx, RTM_GETTCLASS, &t, class_cb, f);
        if (r < 0) {
                tc_iface_details_drop(f);
                ctx_fail(ctx, "dumping classes: %s", nlsock_strerror(r));
                return r;
        }
        t.tcm_parent = f->root.handle;
        c->memo.scratch_len = 0;
        r = tc_route_dump(ctx, RTM_GETTFILTER, &t, filter_cb, &c->memo);
        if (r < 0) {
                tc_iface_details_drop(f);
                ctx_fail(ctx, "dumping filters: %s", nlsock_strerror(r));
                return r;
        }
        f->fd = filter_dump_get(&c->memo);
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

static int filters_shape(struct ctx *ctx, struct tc_cache *c, struct tc_view *v, const struct filter_dump *fd, unsigned n,
                         enum shape *ret) {
        char *const *want;
        int r;
        struct tc_band bands[TC_MAX_BANDS];
        bool all = true;
        const char *first = NULL;
        unsigned extra = 0;

        *ret = SHAPE_FOREIGN;
        if (fd->odd_port_node) {
                v->detail = v->detail ?: xasprintf("filters with port nodes medic does not write");
                return 0;
        }
        memset(bands, 0, sizeof(bands));
        memcpy(bands, fd->bands, sizeof(bands));
        for (unsigned b = 0; b < TC_MAX_BANDS; b++) {
                qsort(bands[b].ports, bands[b].n_ports, sizeof(uint16_t), cmp_u16);
                if (b < n && bands[b].n_ports == 0)
                        all = false;
                if (b >= n && bands[b].n_ports) {
                        v->detail = v->detail ?: xasprintf("a filter sends traffic to class 1:%x, past the root's %u bands", b + 1, n + 1);
                        return 0;
                }
        }
        /* The lines medic writes for the ports seen: each port's nodes name their own port
         * and band; the tables and links are the same for every band set. */
        r = tc_want_lines(ctx, c, bands, n, &want);
        if (r < 0)
                return r;
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
                return 0;
        }
        memcpy(v->bands, bands, sizeof(v->bands));
        v->n_filters = (unsigned) strv_length(fd->lines);
        *ret = all && strv_length(want) == strv_length(fd->lines) ? SHAPE_ALL : SHAPE_PART;
        return 0;
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
        f = tc_iface_find(c, ifindex);
        if (f && f->root_stale) {
                r = tc_refresh_root(ctx, f);
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
        str_copy(v.kind, root->kind, sizeof(v.kind));
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

        r = iface_details(ctx, c, f);
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
        if (n && classes != SHAPE_FOREIGN) {
                r = filters_shape(ctx, c, &v, f->fd, n, &filters);
                if (r < 0) {
                        tc_view_done(&v);
                        return r;
                }
        }
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
