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
        char *line = tc_filter_line(m);

        assert_string_equal(line, "pref 1 proto 0800 u32 node in 10 flowid 1:1 sel T--- off 0 var 0&0000>>0 hash 0&00000000 key 094c0000/ffff0000@0+nexthdr");
        free(line);
        nlmsg_free(m);

        /* A request to skip software classification is not medic's: it shows. */
        m = dump_entry(0x01000800, 0x01000000, &sel.s, sizeof(sel), 0x00010001, TCA_CLS_FLAGS_SKIP_SW);
        line = tc_filter_line(m);
        assert_non_null(strstr(line, " flags 2 "));
        free(line);
        nlmsg_free(m);

        /* A node in a u32 instance's own root table (800:, 801:, ...) reads "in root". */
        m = dump_entry(0x80000800, 0x80000000, &sel.s, sizeof(sel), 0x00010003, 0);
        line = tc_filter_line(m);
        assert_non_null(strstr(line, "node in root flowid 1:3 "));
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

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_prio_qdisc_message),
                cmocka_unit_test(test_prio_qdisc_one_band),
                cmocka_unit_test(test_filter_messages),
                cmocka_unit_test(test_filter_lines),
                cmocka_unit_test(test_dump_folds_handles),
                cmocka_unit_test(test_lines_differ_by_port_and_band),
                cmocka_unit_test(test_rebuild_request),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
