/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's u32 filters: built as libnl objects, and any filter message (a
 * request or a dump entry) as one canonical line, so that the kernel's dump of medic's
 * filters compares equal to the requests that made them. No kernel needed: unit-tested. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/netlink.h>
#include <netlink/route/classifier.h>
#include <netlink/route/cls/u32.h>
#include <netlink/route/tc.h>
#include <stdio.h>
#include <string.h>

#include "../agent/kernel/nlroute.h"
#include "action.h"
#include "tc.h"

static inline void nlmsg_freep(struct nl_msg **m) {
        if (*m)
                nlmsg_free(*m);
}

/* ---- filter lines ------------------------------------------------------------------- */

/* Attribute types of the dump messages medic reads, so that a kind without its NUL or a
 * short number is refused, not read past (found by the tc fuzzer). */
struct nla_policy tc_msg_policy[TCA_MAX + 1] = {
        [TCA_KIND] = { .type = NLA_STRING },
};
struct nla_policy tc_u32_policy[TCA_U32_MAX + 1] = {
        [TCA_U32_CLASSID] = { .type = NLA_U32 },
        [TCA_U32_HASH] = { .type = NLA_U32 },
        [TCA_U32_LINK] = { .type = NLA_U32 },
        [TCA_U32_DIVISOR] = { .type = NLA_U32 },
        [TCA_U32_FLAGS] = { .type = NLA_U32 },
};

static const char *ht_name(uint32_t htid, char buf[16]) {
        /* The kernel numbers each u32 instance's own root table from 800: up; medic's linked
         * table is 10:. Root tables are named by role, not number, so that a dump compares
         * equal to the requests that produced it. */
        htid = (htid >> 20) & 0xfff;
        if (htid >= 0x800)
                return "root";
        snprintf(buf, 16, "%x", htid);
        return buf;
}

/* A line is built in one buffer: an audit of a thousand interfaces formats ten thousand
 * of them. A line longer than the buffer is cut, which no line of medic's is. The pieces
 * are appended by hand, not by vsnprintf: at ten thousand lines its format parsing was a
 * fifth of such an audit. */
struct line {
        char s[2048];
        size_t n;
};

static void put_n(struct line *l, const char *p, size_t k) {
        size_t room = sizeof(l->s) - 1 - l->n;

        if (k > room)
                k = room;
        memcpy(l->s + l->n, p, k);
        l->n += k;
        l->s[l->n] = 0;
}

static void put(struct line *l, const char *str) {
        put_n(l, str, strlen(str));
}

/* v in base 10 or 16 (lower case), zero-padded to width digits: printf's %u, %x, %04x. */
static void put_u(struct line *l, unsigned long long v, unsigned base, unsigned width) {
        char b[24];
        size_t i = sizeof(b);

        do {
                b[--i] = "0123456789abcdef"[v % base];
                v /= base;
        } while (v);
        while (sizeof(b) - i < width && i > 0)
                b[--i] = '0';
        put_n(l, b + i, sizeof(b) - i);
}

/* printf's %d. */
static void put_d(struct line *l, long long v) {
        if (v < 0) {
                put_n(l, "-", 1);
                put_u(l, -(unsigned long long) v, 10, 0);
        } else
                put_u(l, (unsigned long long) v, 10, 0);
}

char *tc_filter_line(const struct nlmsghdr *hdr) {
        /* libnl's parsers take a mutable header; they only read it. */
        struct nlmsghdr *h = (struct nlmsghdr *) hdr;
        struct tcmsg *t = nlmsg_data(h);
        struct nlattr *tb[TCA_MAX + 1], *u[TCA_U32_MAX + 1];
        unsigned pref, proto;
        struct line l; /* not zeroed: 2 KiB per line, and put_n() keeps it terminated */
        char b1[16], b2[16];
        const char *kind;

        l.n = 0;
        l.s[0] = 0;

        if (!nlmsg_valid_hdr(h, sizeof(*t)))
                return xstrdup("unparsable");
        pref = TC_H_MAJ(t->tcm_info) >> 16;
        proto = ntohs((uint16_t) TC_H_MIN(t->tcm_info));
        /* "pref %u proto %04x" */
        put(&l, "pref ");
        put_u(&l, pref, 10, 0);
        put(&l, " proto ");
        put_u(&l, proto, 16, 4);
        if (nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, tc_msg_policy) < 0 || !tb[TCA_KIND]) {
                put(&l, " unparsable");
                return xstrdup(l.s);
        }
        kind = nla_get_string(tb[TCA_KIND]);
        if (!streq(kind, "u32")) {
                /* " %s handle %x" */
                put(&l, " ");
                put(&l, kind);
                put(&l, " handle ");
                put_u(&l, t->tcm_handle, 16, 0);
        } else if (!tb[TCA_OPTIONS] || nla_len(tb[TCA_OPTIONS]) == 0)
                put(&l, " u32"); /* the classifier instance itself */
        else if (nla_parse_nested(u, TCA_U32_MAX, tb[TCA_OPTIONS], tc_u32_policy) < 0)
                put(&l, " u32 unparsable");
        else if (u[TCA_U32_DIVISOR]) {
                /* " u32 ht %s divisor %u" */
                put(&l, " u32 ht ");
                put(&l, ht_name(t->tcm_handle, b1));
                put(&l, " divisor ");
                put_u(&l, nla_get_u32(u[TCA_U32_DIVISOR]), 10, 0);
        } else {
                uint32_t ht = u[TCA_U32_HASH] ? nla_get_u32(u[TCA_U32_HASH]) : t->tcm_handle;
                put(&l, " u32 node in ");
                put(&l, t->tcm_handle || u[TCA_U32_HASH] ? ht_name(ht, b1) : "root");
                if (u[TCA_U32_CLASSID]) {
                        uint32_t c = nla_get_u32(u[TCA_U32_CLASSID]);
                        /* " flowid %x:%x" */
                        put(&l, " flowid ");
                        put_u(&l, TC_H_MAJ(c) >> 16, 16, 0);
                        put(&l, ":");
                        put_u(&l, TC_H_MIN(c), 16, 0);
                }
                if (u[TCA_U32_LINK]) {
                        put(&l, " link ");
                        put(&l, ht_name(nla_get_u32(u[TCA_U32_LINK]), b2));
                }
                /* IN_HW/NOT_IN_HW report where the kernel put the filter, not what was asked. */
                uint32_t flags = u[TCA_U32_FLAGS] ? nla_get_u32(u[TCA_U32_FLAGS]) & ~(TCA_CLS_FLAGS_IN_HW | TCA_CLS_FLAGS_NOT_IN_HW) : 0;
                if (flags) {
                        put(&l, " flags ");
                        put_u(&l, flags, 16, 0);
                }
                if (u[TCA_U32_ACT] || u[TCA_U32_POLICE] || u[TCA_U32_INDEV] || u[TCA_U32_MARK])
                        put(&l, " +actions/police/indev/mark");
                if (u[TCA_U32_SEL] && nla_len(u[TCA_U32_SEL]) >= (int) sizeof(struct tc_u32_sel)) {
                        const struct tc_u32_sel *s = nla_data(u[TCA_U32_SEL]);
                        size_t room = ((size_t) nla_len(u[TCA_U32_SEL]) - sizeof(*s)) / sizeof(struct tc_u32_key);
                        /* " sel %s%s%s%s off %u var %d&%04x>>%u hash %d&%08x" */
                        put(&l, " sel ");
                        put(&l, s->flags & TC_U32_TERMINAL ? "T" : "-");
                        put(&l, s->flags & TC_U32_OFFSET ? "O" : "-");
                        put(&l, s->flags & TC_U32_VAROFFSET ? "V" : "-");
                        put(&l, s->flags & TC_U32_EAT ? "E" : "-");
                        put(&l, " off ");
                        put_u(&l, s->off, 10, 0);
                        put(&l, " var ");
                        put_d(&l, s->offoff);
                        put(&l, "&");
                        put_u(&l, ntohs(s->offmask), 16, 4);
                        put(&l, ">>");
                        put_u(&l, s->offshift, 10, 0);
                        put(&l, " hash ");
                        put_d(&l, s->hoff);
                        put(&l, "&");
                        put_u(&l, ntohl(s->hmask), 16, 8);
                        for (size_t k = 0; k < s->nkeys && k < room; k++) {
                                /* " key %08x/%08x@%d%s" */
                                put(&l, " key ");
                                put_u(&l, ntohl(s->keys[k].val), 16, 8);
                                put(&l, "/");
                                put_u(&l, ntohl(s->keys[k].mask), 16, 8);
                                put(&l, "@");
                                put_d(&l, s->keys[k].off);
                                put(&l, s->keys[k].offmask ? "+nexthdr" : "");
                        }
                }
        }
        return xstrdup(l.s);
}

/* ---- building medic's objects ------------------------------------------------------- */

static struct rtnl_cls *new_u32(int ifindex, unsigned pref, uint16_t proto) {
        struct rtnl_cls *f = nlr.rtnl_cls_alloc();
        if (!f)
                return NULL;
        nlr.rtnl_tc_set_ifindex(TC_CAST(f), ifindex);
        nlr.rtnl_tc_set_parent(TC_CAST(f), TC_MEDIC_HANDLE);
        if (nlr.rtnl_tc_set_kind(TC_CAST(f), "u32") < 0) {
                nlr.rtnl_cls_put(f);
                return NULL;
        }
        nlr.rtnl_cls_set_prio(f, (uint16_t) pref);
        nlr.rtnl_cls_set_protocol(f, proto);
        return f;
}

static int push(struct rtnl_cls ***v, unsigned *n, struct rtnl_cls *f) {
        if (!f)
                return -ENOMEM;
        *v = xrealloc(*v, (*n + 1) * sizeof(**v));
        (*v)[(*n)++] = f;
        return 0;
}

/* A port node: TCP source (dir 0) or destination (dir 1) port → class of the band. In the
 * IPv4 table the offset is the transport header found by the link node ("nexthdr+0"); in
 * IPv6 it is fixed after the 40-byte header, with the next-header byte checked for TCP. */
static struct rtnl_cls *port_node(int ifindex, bool v6, uint16_t port, int dir, uint32_t classid) {
        uint32_t val = dir == 0 ? (uint32_t) port << 16 : port;
        uint32_t mask = dir == 0 ? 0xffff0000u : 0x0000ffffu;
        struct rtnl_cls *f = new_u32(ifindex, v6 ? TC_V6_PREF : TC_V4_PREF, v6 ? ETH_P_IPV6 : ETH_P_IP);

        if (!f)
                return NULL;
        if (nlr.rtnl_u32_set_cls_terminal(f) < 0 || nlr.rtnl_u32_set_classid(f, classid) < 0)
                goto fail;
        if (v6) {
                if (nlr.rtnl_u32_add_key(f, htonl(IPPROTO_TCP << 8), htonl(0x0000ff00u), 4, 0) < 0 ||
                    nlr.rtnl_u32_add_key(f, htonl(val), htonl(mask), 40, 0) < 0)
                        goto fail;
        } else {
                if (nlr.rtnl_u32_set_hashtable(f, TC_V4_TABLE) < 0 ||
                    nlr.rtnl_u32_add_key(f, htonl(val), htonl(mask), 0, -1) < 0)
                        goto fail;
        }
        return f;
fail:
        nlr.rtnl_cls_put(f);
        return NULL;
}

int tc_filters_build(int ifindex, const struct tc_band *bands, unsigned n, struct rtnl_cls ***ret,
                     unsigned *ret_n) {
        struct rtnl_cls **v = NULL, *f;
        unsigned nv = 0;
        int r;

        if (nlroute_load(NULL) < 0)
                return -ENOSYS;

        /* IPv4: the linked table first, then its port nodes, then the link into it, so no
         * packet is ever sent into a half-filled table. */
        f = new_u32(ifindex, TC_V4_PREF, ETH_P_IP);
        if (f) {
                nlr.rtnl_tc_set_handle(TC_CAST(f), TC_V4_TABLE);
                nlr.rtnl_u32_set_divisor(f, 1);
        }
        r = push(&v, &nv, f);
        for (unsigned b = 0; r >= 0 && b < n; b++)
                for (unsigned p = 0; r >= 0 && p < bands[b].n_ports; p++)
                        for (int dir = 0; r >= 0 && dir < 2; dir++)
                                r = push(&v, &nv, port_node(ifindex, false, bands[b].ports[p], dir,
                                                            TC_H_MAKE(TC_MEDIC_HANDLE, b + 1)));
        if (r >= 0) {
                /* Match TCP (protocol byte 9), then jump to 10: at ihl * 4: the 16 bits at
                 * offset 0 masked with 0x0f00 and shifted right by 6 are the header length in
                 * bytes. */
                f = new_u32(ifindex, TC_V4_PREF, ETH_P_IP);
                if (f && (nlr.rtnl_u32_set_selector(f, 0, 0x0f00, 6, 0, 0) < 0 ||
                          nlr.rtnl_u32_add_key(f, htonl(IPPROTO_TCP << 16), htonl(0x00ff0000u), 8, 0) < 0 ||
                          nlr.rtnl_u32_set_link(f, TC_V4_TABLE) < 0)) {
                        nlr.rtnl_cls_put(f);
                        f = NULL;
                }
                r = push(&v, &nv, f);
        }
        for (unsigned b = 0; r >= 0 && b < n; b++)
                for (unsigned p = 0; r >= 0 && p < bands[b].n_ports; p++)
                        for (int dir = 0; r >= 0 && dir < 2; dir++)
                                r = push(&v, &nv, port_node(ifindex, true, bands[b].ports[p], dir,
                                                            TC_H_MAKE(TC_MEDIC_HANDLE, b + 1)));
        if (r < 0) {
                tc_filters_free(v, nv);
                return r;
        }
        *ret = v;
        *ret_n = nv;
        return 0;
}

void tc_filters_free(struct rtnl_cls **v, unsigned n) {
        for (unsigned i = 0; i < n; i++)
                nlr.rtnl_cls_put(v[i]);
        free(v);
}

char **tc_filter_lines(int ifindex, const struct tc_band *bands, unsigned n) {
        struct rtnl_cls **v;
        unsigned nv;
        char **lines = NULL;

        if (tc_filters_build(ifindex, bands, n, &v, &nv) < 0)
                return NULL;
        for (unsigned i = 0; i < nv; i++) {
                _cleanup_(nlmsg_freep) struct nl_msg *m = NULL;
                if (nlr.rtnl_cls_build_add_request(v[i], NLM_F_CREATE, &m) < 0)
                        continue;
                strv_push(&lines, tc_filter_line(nlmsg_hdr(m)));
        }
        tc_filters_free(v, nv);
        /* What the kernel adds on its own: each classifier instance and its root table. */
        strv_push(&lines, xasprintf("pref %u proto %04x u32", TC_V4_PREF, ETH_P_IP));
        strv_push(&lines, xasprintf("pref %u proto %04x u32 ht root divisor 1", TC_V4_PREF, ETH_P_IP));
        strv_push(&lines, xasprintf("pref %u proto %04x u32", TC_V6_PREF, ETH_P_IPV6));
        strv_push(&lines, xasprintf("pref %u proto %04x u32 ht root divisor 1", TC_V6_PREF, ETH_P_IPV6));
        strv_sort(lines);
        return lines;
}

