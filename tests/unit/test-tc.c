/* SPDX-License-Identifier: GPL-2.0-or-later */
/* traffic-priority's messages, built without a kernel: the prio qdisc, the u32 filters,
 * and the canonical lines a filter dump is compared with. */
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/rtnetlink.h>
#include <netlink/msg.h>
#include <netlink/route/classifier.h>
#include <netlink/route/qdisc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include <json-c/json.h>

#include "../../actions/action.h"
#include "../../actions/tc.h"
#include "../../agent/util.h"

static const struct tc_band peer_client[] = {
        { .ports = { 2380 }, .n_ports = 1 },
        { .ports = { 2379 }, .n_ports = 1 },
};

static void test_prio_qdisc_message(void **state _unused_) {
        struct rtnl_qdisc *q = NULL;
        struct nl_msg *m = NULL;
        struct nlattr *tb[TCA_MAX + 1];
        struct tc_prio_qopt want = { .bands = 3 };

        assert_int_equal(tc_prio_qdisc(7, 2, &q), 0);
        assert_int_equal(rtnl_qdisc_build_add_request(q, NLM_F_CREATE | NLM_F_REPLACE, &m), 0);
        struct nlmsghdr *h = nlmsg_hdr(m);
        struct tcmsg *t = nlmsg_data(h);
        assert_int_equal(h->nlmsg_type, RTM_NEWQDISC);
        assert_true(h->nlmsg_flags & NLM_F_CREATE);
        assert_true(h->nlmsg_flags & NLM_F_REPLACE);
        assert_false(h->nlmsg_flags & NLM_F_EXCL);
        assert_int_equal(t->tcm_ifindex, 7);
        assert_int_equal(t->tcm_parent, TC_H_ROOT);
        assert_int_equal(t->tcm_handle, 0x00010000);
        assert_int_equal(nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL), 0);
        assert_string_equal(nla_get_string(tb[TCA_KIND]), "prio");
        /* The option bytes: 3 bands and every one of the 16 priorities on band 2 (the last),
         * not the kernel's default map that sends most traffic to band 1. */
        memset(want.priomap, 2, sizeof(want.priomap));
        assert_non_null(tb[TCA_OPTIONS]);
        assert_int_equal(nla_len(tb[TCA_OPTIONS]), sizeof(want));
        assert_memory_equal(nla_data(tb[TCA_OPTIONS]), &want, sizeof(want));
        nlmsg_free(m);
        rtnl_qdisc_put(q);
}

static void test_prio_qdisc_one_band(void **state _unused_) {
        struct rtnl_qdisc *q = NULL;
        struct nl_msg *m = NULL;
        struct nlattr *tb[TCA_MAX + 1];

        assert_int_equal(tc_prio_qdisc(1, 1, &q), 0);
        assert_int_equal(rtnl_qdisc_build_add_request(q, NLM_F_CREATE, &m), 0);
        assert_int_equal(nlmsg_parse(nlmsg_hdr(m), sizeof(struct tcmsg), tb, TCA_MAX, NULL), 0);
        const struct tc_prio_qopt *o = nla_data(tb[TCA_OPTIONS]);
        assert_int_equal(o->bands, 2);
        for (int i = 0; i <= TC_PRIO_MAX; i++)
                assert_int_equal(o->priomap[i], 1);
        nlmsg_free(m);
        rtnl_qdisc_put(q);
}

/* The u32 keys, read from the request messages' TCA_U32_SEL. */
static const struct tc_u32_sel *sel_of(struct nl_msg *m, struct tcmsg **t, struct nlattr **u) {
        struct nlattr *tb[TCA_MAX + 1];
        struct nlmsghdr *h = nlmsg_hdr(m);

        *t = nlmsg_data(h);
        assert_int_equal(nlmsg_parse(h, sizeof(**t), tb, TCA_MAX, NULL), 0);
        assert_string_equal(nla_get_string(tb[TCA_KIND]), "u32");
        assert_int_equal(nla_parse_nested(u, TCA_U32_MAX, tb[TCA_OPTIONS], NULL), 0);
        return u[TCA_U32_SEL] ? nla_data(u[TCA_U32_SEL]) : NULL;
}

static void test_filter_messages(void **state _unused_) {
        struct rtnl_cls **v = NULL;
        unsigned n = 0;

        assert_int_equal(tc_filters_build(9, peer_client, 2, &v, &n), 0);
        /* IPv4: table, 2 ports x 2 directions, link; IPv6: 2 ports x 2 directions. */
        assert_int_equal(n, 1 + 4 + 1 + 4);

        struct nl_msg *m[10];
        for (unsigned i = 0; i < n; i++)
                assert_int_equal(rtnl_cls_build_add_request(v[i], NLM_F_CREATE | NLM_F_EXCL, &m[i]), 0);

        struct tcmsg *t;
        struct nlattr *u[TCA_U32_MAX + 1];
        const struct tc_u32_sel *s;

        /* 0: the IPv4 hash table 10:, pref 1, protocol ip, under 1:. */
        s = sel_of(m[0], &t, u);
        assert_null(s);
        assert_int_equal(t->tcm_ifindex, 9);
        assert_int_equal(t->tcm_parent, 0x00010000);
        assert_int_equal(t->tcm_handle, 0x01000000);
        assert_int_equal(t->tcm_info, TC_H_MAKE(1u << 16, htons(ETH_P_IP)));
        assert_int_equal(nla_get_u32(u[TCA_U32_DIVISOR]), 1);

        /* 1: peer source port 2380 in 10:, at the transport header (nexthdr+0). */
        s = sel_of(m[1], &t, u);
        assert_non_null(s);
        assert_int_equal(nla_get_u32(u[TCA_U32_HASH]), 0x01000000);
        assert_int_equal(nla_get_u32(u[TCA_U32_CLASSID]), 0x00010001);
        assert_int_equal(s->flags, TC_U32_TERMINAL);
        assert_int_equal(s->nkeys, 1);
        assert_int_equal(s->keys[0].val, htonl(2380u << 16));
        assert_int_equal(s->keys[0].mask, htonl(0xffff0000u));
        assert_int_equal(s->keys[0].off, 0);
        assert_int_equal(s->keys[0].offmask, -1);
        /* 2: peer destination port. */
        s = sel_of(m[2], &t, u);
        assert_int_equal(s->keys[0].val, htonl(2380u));
        assert_int_equal(s->keys[0].mask, htonl(0x0000ffffu));
        /* 3, 4: client ports → 1:2. */
        s = sel_of(m[3], &t, u);
        assert_int_equal(nla_get_u32(u[TCA_U32_CLASSID]), 0x00010002);
        assert_int_equal(s->keys[0].val, htonl(2379u << 16));

        /* 5: the link from the root table: TCP, then jump by ihl * 4. */
        s = sel_of(m[5], &t, u);
        assert_null(u[TCA_U32_HASH]);
        assert_null(u[TCA_U32_CLASSID]);
        assert_int_equal(nla_get_u32(u[TCA_U32_LINK]), 0x01000000);
        assert_int_equal(s->flags, TC_U32_VAROFFSET);
        assert_int_equal(s->offoff, 0);
        assert_int_equal(s->offmask, htons(0x0f00));
        assert_int_equal(s->offshift, 6);
        assert_int_equal(s->nkeys, 1);
        assert_int_equal(s->keys[0].val, htonl(6u << 16));
        assert_int_equal(s->keys[0].mask, htonl(0x00ff0000u));
        assert_int_equal(s->keys[0].off, 8);
        assert_int_equal(s->keys[0].offmask, 0);

        /* 6: IPv6, pref 2: next header TCP, source port 2380 at offset 40. */
        s = sel_of(m[6], &t, u);
        assert_int_equal(t->tcm_info, TC_H_MAKE(2u << 16, htons(ETH_P_IPV6)));
        assert_null(u[TCA_U32_HASH]);
        assert_int_equal(nla_get_u32(u[TCA_U32_CLASSID]), 0x00010001);
        assert_int_equal(s->flags, TC_U32_TERMINAL);
        assert_int_equal(s->nkeys, 2);
        assert_int_equal(s->keys[0].val, htonl(6u << 8));
        assert_int_equal(s->keys[0].mask, htonl(0x0000ff00u));
        assert_int_equal(s->keys[0].off, 4);
        assert_int_equal(s->keys[1].val, htonl(2380u << 16));
        assert_int_equal(s->keys[1].off, 40);
        assert_int_equal(s->keys[1].offmask, 0);

        for (unsigned i = 0; i < n; i++)
                nlmsg_free(m[i]);
        tc_filters_free(v, n);
}

static void test_filter_lines(void **state _unused_) {
        static const char *const want[] = {
                "pref 1 proto 0800 u32",
                "pref 1 proto 0800 u32 ht 10 divisor 1",
                "pref 1 proto 0800 u32 ht root divisor 1",
                "pref 1 proto 0800 u32 node in 10 flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 0000094c/0000ffff@0+nexthdr",
                "pref 1 proto 0800 u32 node in 10 flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 094c0000/ffff0000@0+nexthdr",
                "pref 1 proto 0800 u32 node in 10 flowid 1:2 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 0000094b/0000ffff@0+nexthdr",
                "pref 1 proto 0800 u32 node in 10 flowid 1:2 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 094b0000/ffff0000@0+nexthdr",
                "pref 1 proto 0800 u32 node in root link 10 sel --V- off 0 var 0&0f00>>6 hash 0&00000000 key 00060000/00ff0000@8",
                "pref 2 proto 86dd u32",
                "pref 2 proto 86dd u32 ht root divisor 1",
                "pref 2 proto 86dd u32 node in root flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 00000600/0000ff00@4 key 0000094c/0000ffff@40",
                "pref 2 proto 86dd u32 node in root flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 00000600/0000ff00@4 key 094c0000/ffff0000@40",
                "pref 2 proto 86dd u32 node in root flowid 1:2 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 00000600/0000ff00@4 key 0000094b/0000ffff@40",
                "pref 2 proto 86dd u32 node in root flowid 1:2 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 00000600/0000ff00@4 key 094b0000/ffff0000@40",
        };
        char **lines = tc_filter_lines(0, peer_client, 2);

        assert_int_equal(strv_length(lines), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(lines[i], want[i]);
        strv_free(lines);
}

/* A dump entry as the kernel sends it: its own node handle, the table in TCA_U32_HASH, and
 * the NOT_IN_HW status flag. It must read as the request that made it. */
static struct nl_msg *dump_entry(uint32_t handle, uint32_t ht, const struct tc_u32_sel *s, size_t len, uint32_t classid,
                                 uint32_t flags) {
        struct tcmsg t = { .tcm_ifindex = 9, .tcm_parent = 0x00010000, .tcm_handle = handle,
                           .tcm_info = TC_H_MAKE(1u << 16, htons(ETH_P_IP)) };
        struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWTFILTER, NLM_F_MULTI);
        struct nlattr *o;

        assert_int_equal(nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO), 0);
        assert_int_equal(nla_put_string(m, TCA_KIND, "u32"), 0);
        o = nla_nest_start(m, TCA_OPTIONS);
        nla_put(m, TCA_U32_SEL, (int) len, s);
        nla_put_u32(m, TCA_U32_HASH, ht);
        nla_put_u32(m, TCA_U32_CLASSID, classid);
        if (flags)
                nla_put_u32(m, TCA_U32_FLAGS, flags);
        nla_nest_end(m, o);
        return m;
}

static void test_dump_folds_handles(void **state _unused_) {
        struct { struct tc_u32_sel s; struct tc_u32_key k; } sel = {
                .s = { .flags = TC_U32_TERMINAL, .nkeys = 1 },
                .k = { .val = htonl(2380u << 16), .mask = htonl(0xffff0000u), .off = 0, .offmask = -1 },
        };
        struct nl_msg *m = dump_entry(0x01000800, 0x01000000, &sel.s, sizeof(sel), 0x00010001, TCA_CLS_FLAGS_NOT_IN_HW);
        char *line = tc_filter_line(nlmsg_hdr(m));

        assert_string_equal(line, "pref 1 proto 0800 u32 node in 10 flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 094c0000/ffff0000@0+nexthdr");
        free(line);
        nlmsg_free(m);

        /* A request to skip software classification is not medic's: it shows. */
        m = dump_entry(0x01000800, 0x01000000, &sel.s, sizeof(sel), 0x00010001, TCA_CLS_FLAGS_SKIP_SW);
        line = tc_filter_line(nlmsg_hdr(m));
        assert_non_null(strstr(line, " flags 2 "));
        free(line);
        nlmsg_free(m);

        /* A node in a u32 instance's own root table (800:, 801:, ...) reads "in root". */
        m = dump_entry(0x80000800, 0x80000000, &sel.s, sizeof(sel), 0x00010003, 0);
        line = tc_filter_line(nlmsg_hdr(m));
        assert_non_null(strstr(line, "node in root flowid 1:3 "));
        free(line);
        nlmsg_free(m);
}

/* The line is put together by hand: every field as printf would write it, negative
 * offsets, all-ones masks and the widest numbers included. */
static void test_line_fields_as_printf(void **state _unused_) {
        struct { struct tc_u32_sel s; struct tc_u32_key k; } sel = {
                .s = { .flags = TC_U32_OFFSET | TC_U32_VAROFFSET | TC_U32_EAT, .nkeys = 1, .off = 65535,
                       .offoff = -32768, .offmask = htons(0xffff), .offshift = 255, .hoff = -1, .hmask = htonl(0xffffffffu) },
                .k = { .val = htonl(0xdeadbeefu), .mask = 0, .off = -2147483647 - 1, .offmask = 0 },
        };
        struct nl_msg *m = dump_entry(0x7ff00fff, 0x7ff00000, &sel.s, sizeof(sel), 0xffffffffu, 0x80000000u);
        char *line = tc_filter_line(nlmsg_hdr(m)), want[512];

        snprintf(want, sizeof want,
                 "pref %u proto %04x u32 node in %x flowid %x:%x flags %x sel %s%s%s%s off %u var %d&%04x>>%u hash %d&%08x key %08x/%08x@%d%s",
                 1u, 0x800u, 0x7ffu, 0xffffu, 0xffffu, 0x80000000u, "-", "O", "V", "E", 65535u, -32768, 0xffffu, 255u, -1,
                 0xffffffffu, 0xdeadbeefu, 0u, -2147483647 - 1, "");
        assert_string_equal(line, want);
        free(line);
        nlmsg_free(m);
}

static void test_lines_differ_by_port_and_band(void **state _unused_) {
        struct tc_band other[] = { { .ports = { 2380 }, .n_ports = 1 }, { .ports = { 2378 }, .n_ports = 1 } };
        struct tc_band swapped[] = { { .ports = { 2379 }, .n_ports = 1 }, { .ports = { 2380 }, .n_ports = 1 } };
        char **a = tc_filter_lines(0, peer_client, 2), **b = tc_filter_lines(0, other, 2), **c = tc_filter_lines(0, swapped, 2);
        size_t same_ab = 0, same_ac = 0;

        for (size_t i = 0; a[i]; i++) {
                same_ab += strv_contains(b, a[i]);
                same_ac += strv_contains(c, a[i]);
        }
        /* 4 kernel-made lines, the table and the link are shared; the port nodes are not. */
        assert_int_equal(same_ab, 6 + 4);
        assert_int_equal(same_ac, 6);
        strv_free(a), strv_free(b), strv_free(c);
}

/* A previous tbf root goes back byte for byte: its kind, handle and the option bytes the
 * dump gave, which keep the burst in timer ticks. */
static void test_rebuild_request(void **state _unused_) {
        struct { struct nlattr a; struct tc_tbf_qopt q; } opts = {
                .a = { .nla_len = NLA_HDRLEN + sizeof(struct tc_tbf_qopt), .nla_type = TCA_TBF_PARMS },
                .q = { .rate = { .rate = 125000, .linklayer = TC_LINKLAYER_ETHERNET }, .limit = 82768,
                       .buffer = 4096000 }, /* 262 ms at 1mbit = 32768 bytes */
        };
        struct tc_view prev = { .root = TC_ROOT_FOREIGN, .kind = "tbf", .handle = 0x00050000, .rebuildable = true,
                                .opts = (uint8_t *) &opts, .opts_len = sizeof(opts) };
        struct nlattr *tb[TCA_MAX + 1];
        struct nl_msg *m = NULL;
        char *d;

        assert_true(tc_kind_rebuildable("tbf"));
        assert_true(tc_kind_rebuildable("bfifo"));
        assert_false(tc_kind_rebuildable("htb"));
        assert_false(tc_kind_rebuildable("fq_codel"));
        d = tc_describe_opts("tbf", prev.opts, prev.opts_len);
        assert_string_equal(d, "rate 1mbit burst 32768 limit 82768");
        free(d);

        assert_int_equal(tc_rebuild_request(4, &prev, &m), 0);
        struct nlmsghdr *h = nlmsg_hdr(m);
        struct tcmsg *t = nlmsg_data(h);
        assert_int_equal(h->nlmsg_type, RTM_NEWQDISC);
        assert_int_equal(h->nlmsg_flags & (NLM_F_CREATE | NLM_F_REPLACE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_REPLACE);
        assert_int_equal(t->tcm_ifindex, 4);
        assert_int_equal(t->tcm_parent, TC_H_ROOT);
        assert_int_equal(t->tcm_handle, 0x00050000);
        assert_int_equal(nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL), 0);
        assert_string_equal(nla_get_string(tb[TCA_KIND]), "tbf");
        assert_int_equal(nla_len(tb[TCA_OPTIONS]), sizeof(opts));
        assert_memory_equal(nla_data(tb[TCA_OPTIONS]), &opts, sizeof(opts));
        nlmsg_free(m);
}

/* The kernel's /proc/net/psched on every kernel since 2.6.31: 64 ns ticks. */
static const char psched[] = "000003e8 00000040 000f4240 3b9aca00\n";

static void test_psched(void **state _unused_) {
        double tpu = 0;

        assert_int_equal(tc_psched_parse(psched, &tpu), 0);
        assert_true(tpu == 15.625);
        /* A nanosecond clock advertises 1000 for the first field: read it as the second. */
        assert_int_equal(tc_psched_parse("000003e8 00000040 3b9aca00 3b9aca00", &tpu), 0);
        assert_true(tpu == 1000.0); /* nanosecond ticks */
        /* Unreadable or empty: an error, never a default. */
        assert_int_equal(tc_psched_parse("", &tpu), -EBADMSG);
        assert_int_equal(tc_psched_parse(NULL, &tpu), -EBADMSG);
        assert_int_equal(tc_psched_parse("000003e8 00000000 000f4240", &tpu), -EBADMSG);
}

/* medic's classes for 2 bands at 1gbit: 1:100 at the link rate, 1:1..1:3 a third each,
 * every one with an explicit burst, cburst and quantum, the burst in scheduler ticks. */
static void test_htb_class_request(void **state _unused_) {
        double tpu;
        struct tc_class k, back;
        struct nl_msg *m = NULL;
        struct nlattr *tb[TCA_MAX + 1], *o[TCA_HTB_MAX + 1];

        assert_int_equal(tc_psched_parse(psched, &tpu), 0);
        tc_htb_medic_class(0, 2, 125000000, &k);
        assert_int_equal(k.handle, 0x00010100);
        assert_int_equal(k.parent, 0x00010000);
        assert_int_equal(k.burst, 125000 + 1514);
        tc_htb_medic_class(2, 2, 125000000, &k);
        assert_int_equal(k.handle, 0x00010002);
        assert_int_equal(k.parent, 0x00010100);
        assert_int_equal(k.rate, 41666666);
        assert_int_equal(k.ceil, 125000000);
        assert_int_equal(k.prio, 1);
        assert_int_equal(k.quantum, 1514);
        assert_int_equal(k.burst, 41666 + 1514);
        assert_int_equal(k.cburst, 125000 + 1514);

        assert_int_equal(tc_htb_class_request(7, &k, tpu, &m), 0);
        struct nlmsghdr *h = nlmsg_hdr(m);
        struct tcmsg *t = nlmsg_data(h);
        assert_int_equal(h->nlmsg_type, RTM_NEWTCLASS);
        assert_int_equal(h->nlmsg_flags & (NLM_F_CREATE | NLM_F_EXCL), NLM_F_CREATE | NLM_F_EXCL);
        assert_int_equal(t->tcm_ifindex, 7);
        assert_int_equal(t->tcm_handle, 0x00010002);
        assert_int_equal(t->tcm_parent, 0x00010100);
        assert_int_equal(nlmsg_parse(h, sizeof(*t), tb, TCA_MAX, NULL), 0);
        assert_string_equal(nla_get_string(tb[TCA_KIND]), "htb");
        assert_int_equal(nla_parse_nested(o, TCA_HTB_MAX, tb[TCA_OPTIONS], NULL), 0);
        const struct tc_htb_opt *p = nla_data(o[TCA_HTB_PARMS]);
        assert_int_equal(p->rate.rate, 41666666);
        assert_int_equal(p->ceil.rate, 125000000);
        /* 43180 bytes at 41666666 B/s = 1036 us = 16187 ticks of 64 ns; tc computes the same. */
        assert_int_equal(p->buffer, 16187);
        assert_int_equal(p->cbuffer, 15812);
        assert_int_equal(p->quantum, 1514);
        assert_int_equal(p->prio, 1);
        assert_null(o[TCA_HTB_RATE64]);

        /* The request read as a dump entry is exactly medic's class; one tick off is not. */
        h->nlmsg_type = RTM_NEWTCLASS;
        assert_int_equal(tc_class_parse(h, &back), 0);
        assert_true(back.htb);
        assert_int_equal(back.buffer, 16187);
        assert_null(tc_htb_class_diff(&back, &k, tpu));
        back.buffer = 8000;
        char *d = tc_htb_class_diff(&back, &k, tpu);
        assert_non_null(d);
        assert_non_null(strstr(d, "burst of 8000 scheduler ticks, medic sets 16187"));
        free(d);
        back.buffer = 16187;
        back.quantum = 200000;
        d = tc_htb_class_diff(&back, &k, tpu);
        assert_non_null(strstr(d, "quantum 200000, medic sets 1514"));
        free(d);
        nlmsg_free(m);

        /* 40gbit does not fit the 32-bit rate: the 64-bit attribute carries it. */
        tc_htb_medic_class(0, 2, 5000000000ull, &k);
        assert_int_equal(tc_htb_class_request(7, &k, tpu, &m), 0);
        h = nlmsg_hdr(m);
        assert_int_equal(nlmsg_parse(h, sizeof(struct tcmsg), tb, TCA_MAX, NULL), 0);
        assert_int_equal(nla_parse_nested(o, TCA_HTB_MAX, tb[TCA_OPTIONS], NULL), 0);
        assert_int_equal(((const struct tc_htb_opt *) nla_data(o[TCA_HTB_PARMS]))->rate.rate, UINT32_MAX);
        assert_non_null(o[TCA_HTB_RATE64]);
        assert_int_equal(nla_get_u64(o[TCA_HTB_RATE64]), 5000000000ull);
        assert_int_equal(tc_class_parse(h, &back), 0);
        assert_int_equal(back.rate, 5000000000ull);
        assert_null(tc_htb_class_diff(&back, &k, tpu));
        nlmsg_free(m);
}

/* ---- traffic-priority's partial states, from the JSON the journal holds ---- */

static void *st(const char *json) {
        struct json_object *j = json_tokener_parse(json);
        void *s = NULL;
        assert_non_null(j);
        assert_int_equal(traffic_priority_ops.from_json(j, &s), 0);
        json_object_put(j);
        return s;
}

#define DEFAULT_ROOT "{\"interface\":\"vt0\",\"root\":\"default\",\"kind\":\"noqueue\",\"handle\":0}"
#define TBF(h) "{\"interface\":\"vt0\",\"root\":\"foreign\",\"kind\":\"tbf\",\"handle\":" #h ",\"rebuildable\":true,\"options\":\"00\"}"
#define MEDIC(backend, b0, b1) "{\"interface\":\"vt0\",\"root\":\"medic\",\"kind\":\"htb\",\"handle\":65536,\"backend\":\"" backend "\"," \
        "\"bands\":[{\"name\":\"peer\",\"ports\":[" b0 "]},{\"name\":\"client\",\"ports\":[" b1 "]}],\"rate\":125000000}"
#define PARTIAL(iface, b0, b1, rate, classes, filters) "{\"interface\":\"" iface "\",\"root\":\"medic-partial\",\"kind\":\"htb\"," \
        "\"handle\":65536,\"backend\":\"htb\",\"bands\":[{\"ports\":[" b0 "]},{\"ports\":[" b1 "]}],\"rate\":" #rate "," \
        "\"classes\":" #classes ",\"filters\":" #filters "}"

static bool between(const char *before, const char *after, const char *have) {
        void *b = st(before), *a = st(after), *h = st(have);
        bool r = traffic_priority_ops.in_between(b, a, h);
        traffic_priority_ops.free(b);
        traffic_priority_ops.free(a);
        traffic_priority_ops.free(h);
        return r;
}

static void test_in_between(void **state _unused_) {
        assert_non_null(traffic_priority_ops.in_between);
        /* A kill inside the HTB build: the qdisc alone, 2 of 4 classes, all classes and
         * some filters — toward after, whatever the backend after says (auto). */
        assert_true(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "", "", 0, 0, 0)));
        assert_true(between(DEFAULT_ROOT, MEDIC("htb", "2380", "2379"), PARTIAL("vt0", "", "", 125000000, 2, 0)));
        assert_true(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "2380", "", 125000000, 4, 5)));
        assert_true(between(TBF(327680), MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "2380", "2379", 125000000, 4, 9)));
        /* On the way back: a rollback to a previous medic root (other bands) stopped. */
        assert_true(between(MEDIC("htb", "2380", "2379"), MEDIC("htb", "2380,2381", "2379"),
                            PARTIAL("vt0", "2381", "", 125000000, 4, 3)));
        assert_true(between(MEDIC("htb", "2380", "2379"), DEFAULT_ROOT, PARTIAL("vt0", "2380", "", 125000000, 4, 3)));
        /* Not medic's way from before to after: another port, rate, interface, backend. */
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "2390", "", 125000000, 4, 3)));
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "2379", "", 125000000, 4, 3)));
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt0", "", "", 12500000, 2, 0)));
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), PARTIAL("vt1", "", "", 0, 0, 0)));
        assert_false(between(DEFAULT_ROOT, MEDIC("prio", "2380", "2379"), PARTIAL("vt0", "", "", 0, 0, 0)));
        assert_false(between(DEFAULT_ROOT, DEFAULT_ROOT, PARTIAL("vt0", "", "", 0, 0, 0)));
        /* Someone else's root, or medic's finished one, is no partial state. */
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), TBF(327680)));
        assert_false(between(DEFAULT_ROOT, MEDIC("auto", "2380", "2379"), MEDIC("htb", "2380", "2379,2378")));
        /* No root: only where medic deleted a root with the handle it was about to use. */
        assert_true(between(TBF(65536), MEDIC("auto", "2380", "2379"), DEFAULT_ROOT));
        assert_true(between(MEDIC("htb", "2380", "2379"), TBF(65536), DEFAULT_ROOT));
        assert_true(between(MEDIC("htb", "2380", "2379"), MEDIC("htb", "2381", "2379"), DEFAULT_ROOT));
        assert_false(between(TBF(327680), MEDIC("auto", "2380", "2379"), DEFAULT_ROOT));
        assert_false(between(MEDIC("htb", "2380", "2379"), TBF(327680), DEFAULT_ROOT));
}

static void test_partial_json(void **state _unused_) {
        void *a = st(PARTIAL("vt0", "2380", "", 125000000, 4, 5)), *b;
        struct json_object *j = NULL;
        char *d;

        assert_int_equal(traffic_priority_ops.to_json(a, &j), 0);
        /* A partly built root is no policy: the kernel's view is under "observed". */
        assert_null(json_get_str(j, "root"));
        assert_string_equal(json_get_str(json_object_object_get(j, "observed"), "root"), "medic-partial");
        assert_int_equal(traffic_priority_ops.from_json(j, &b), 0);
        assert_true(traffic_priority_ops.same(a, b));
        d = traffic_priority_ops.describe(a);
        assert_string_equal(d, "htb 1: partly built (4 of 4 classes, 5 filter lines)");
        free(d);
        json_object_put(j);
        traffic_priority_ops.free(b);
        b = st(PARTIAL("vt0", "2380", "", 125000000, 4, 6));
        assert_false(traffic_priority_ops.same(a, b));
        traffic_priority_ops.free(a);
        traffic_priority_ops.free(b);

        /* medic's root, in the form of earlier journals, writes the policy's entry and
         * reads back the same; its kind and handle are medic's own again. */
        a = st(MEDIC("htb", "2380", "2379"));
        assert_int_equal(traffic_priority_ops.to_json(a, &j), 0);
        assert_string_equal(json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN),
                            "{\"interface\":\"vt0\",\"backend\":\"htb\",\"bands\":[{\"name\":\"peer\",\"ports\":[2380]},"
                            "{\"name\":\"client\",\"ports\":[2379]}],\"rate\":\"1gbit\",\"replace-foreign\":false}");
        assert_int_equal(traffic_priority_ops.from_json(j, &b), 0);
        assert_true(traffic_priority_ops.same(a, b) && traffic_priority_ops.same(b, a));
        /* No root at all between two of medic's roots: medic deleted its own 1: first,
         * which it can tell only if the policy's form gives the root medic's handle back. */
        assert_true(between("{\"interface\":\"vt0\",\"backend\":\"htb\",\"bands\":[{\"ports\":[2380]}],\"rate\":\"1gbit\"}",
                            "{\"interface\":\"vt0\",\"backend\":\"htb\",\"bands\":[{\"ports\":[2381]}],\"rate\":\"1gbit\"}",
                            DEFAULT_ROOT));
        json_object_put(j);
        traffic_priority_ops.free(a);
        traffic_priority_ops.free(b);
}

/* Rates as tc prints them: the largest unit that divides the bits exactly. */
static void test_rate_str(void **state _unused_) {
        static const struct { uint64_t bytes; const char *want; } cases[] = {
                { 0, "0bit" },          { 1, "8bit" },           { 125, "1kbit" },       { 1500, "12kbit" },
                { 125000, "1mbit" },    { 125000000, "1gbit" },  { 31250000, "250mbit" }, { 1250000000, "10gbit" },
                { 125000000000ull, "1tbit" }, { 125000001, "1000000008bit" }, { 2000000000000ull, "16tbit" },
        };
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *r = tc_rate_str(cases[i].bytes);
                assert_string_equal(r, cases[i].want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_psched),
                cmocka_unit_test(test_rate_str),
                cmocka_unit_test(test_htb_class_request),
                cmocka_unit_test(test_in_between),
                cmocka_unit_test(test_partial_json),
                cmocka_unit_test(test_prio_qdisc_message),
                cmocka_unit_test(test_prio_qdisc_one_band),
                cmocka_unit_test(test_filter_messages),
                cmocka_unit_test(test_filter_lines),
                cmocka_unit_test(test_dump_folds_handles),
                cmocka_unit_test(test_line_fields_as_printf),
                cmocka_unit_test(test_lines_differ_by_port_and_band),
                cmocka_unit_test(test_rebuild_request),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
