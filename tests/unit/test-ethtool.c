/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The ethtool layer without a kernel: ethtool's user-facing names and the kernel features
 * they cover (checked against `ethtool -k` output), and the netlink messages — a
 * FEATURES_SET built and compared byte for byte, FEATURES_GET / FEATURES_SET / STRSET_GET
 * replies built by hand (compact and bit-by-bit bitsets) and parsed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <linux/ethtool.h>
#include <linux/ethtool_netlink.h>
#include <netlink/genl/genl.h>
#include <netlink/msg.h>
#include <string.h>

#include "../../agent/kernel/ethtool.h"
#include "../../agent/kernel/ethtool_names.h"
#include "../../agent/kernel/ethtool_nl.h"
#include "../../agent/util.h"

#define FAMILY 0x1c

/* ---- names ---- */

/* `ethtool -k` (6.1 on a 6.18 kernel, veth and virtio_net): each kernel feature under the
 * user-facing name it is printed with, or NULL for those printed on their own. */
static const struct {
        const char *kernel;
        const char *group;
} ethtool_k[] = {
        { "rx-checksum", "rx-checksumming" },
        { "tx-checksum-ipv4", "tx-checksumming" },
        { "tx-checksum-ip-generic", "tx-checksumming" },
        { "tx-checksum-ipv6", "tx-checksumming" },
        { "tx-checksum-fcoe-crc", "tx-checksumming" },
        { "tx-checksum-sctp", "tx-checksumming" },
        { "tx-scatter-gather", "scatter-gather" },
        { "tx-scatter-gather-fraglist", "scatter-gather" },
        { "tx-tcp-segmentation", "tcp-segmentation-offload" },
        { "tx-tcp-ecn-segmentation", "tcp-segmentation-offload" },
        { "tx-tcp-mangleid-segmentation", "tcp-segmentation-offload" },
        { "tx-tcp6-segmentation", "tcp-segmentation-offload" },
        { "tx-tcp-accecn-segmentation", "tcp-segmentation-offload" },
        { "tx-generic-segmentation", "generic-segmentation-offload" },
        { "rx-gro", "generic-receive-offload" },
        { "rx-lro", "large-receive-offload" },
        { "rx-vlan-hw-parse", "rx-vlan-offload" },
        { "tx-vlan-hw-insert", "tx-vlan-offload" },
        { "rx-ntuple-filter", "ntuple-filters" },
        { "rx-hashing", "receive-hashing" },
        /* Printed on their own: near misses of the patterns above. */
        { "highdma", NULL },
        { "rx-vlan-filter", NULL },
        { "tx-gso-robust", NULL },
        { "tx-gso-list", NULL },
        { "tx-udp-segmentation", NULL },
        { "tx-udp_tnl-segmentation", NULL },
        { "tx-sctp-segmentation", NULL },
        { "tx-fcoe-segmentation", NULL },
        { "tx-gre-segmentation", NULL },
        { "tx-vlan-stag-hw-insert", NULL },
        { "rx-vlan-stag-hw-parse", NULL },
        { "rx-gro-hw", NULL },
        { "rx-gro-list", NULL },
        { "rx-udp-gro-forwarding", NULL },
        { "esp-tx-csum-hw-offload", NULL },
        { "tx-nocache-copy", NULL },
        { "loopback", NULL },
};

static void test_names_groups(void **st) {
        (void) st;
        for (size_t i = 0; i < ELEMENTSOF(ethtool_k); i++) {
                const char *g = offload_group_of(ethtool_k[i].kernel);
                if (ethtool_k[i].group)
                        assert_string_equal(g, ethtool_k[i].group);
                else if (g)
                        fail_msg("%s is grouped under %s; ethtool -k prints it on its own", ethtool_k[i].kernel, g);
                /* A user name covers exactly its group; a kernel name only itself. */
                for (size_t k = 0; k < offload_names_n; k++)
                        assert_int_equal(offload_covers(offload_names[k].name, ethtool_k[i].kernel),
                                         streq(offload_names[k].name, ethtool_k[i].group));
                assert_true(offload_covers(ethtool_k[i].kernel, ethtool_k[i].kernel));
                assert_true(offload_known_name(ethtool_k[i].kernel));
        }
        assert_false(offload_covers("tx-checksum-ipv4", "tx-checksum-ipv6"));
}

static void test_names_patterns(void **st) {
        (void) st;
        assert_string_equal(offload_pattern("tx-checksumming"), "tx-checksum-*");
        assert_string_equal(offload_pattern("scatter-gather"), "tx-scatter-gather*");
        assert_string_equal(offload_pattern("tcp-segmentation-offload"), "tx-tcp*-segmentation");
        assert_null(offload_pattern("rx-gro"));
        /* ethtool's rule: the '*' stands for any middle, also an empty one, never overlapping. */
        assert_true(offload_pattern_match("tx-tcp-segmentation", "tx-tcp*-segmentation"));
        assert_true(offload_pattern_match("tx-tcp6-segmentation", "tx-tcp*-segmentation"));
        assert_false(offload_pattern_match("tx-tcp-segmentatio", "tx-tcp*-segmentation"));
        assert_false(offload_pattern_match("tx-tc-segmentation", "tx-tcp*-segmentation"));
        assert_true(offload_pattern_match("tx-scatter-gather", "tx-scatter-gather*"));
        assert_false(offload_pattern_match("", "tx-checksum-*"));
        assert_false(offload_pattern_match("rx-checksum", "rx-checksum-*"));
        assert_true(offload_pattern_match("rx-checksum", "rx-checksum"));
}

static void test_names_known(void **st) {
        (void) st;
        for (size_t k = 0; k < offload_names_n; k++)
                assert_true(offload_known_name(offload_names[k].name));
        assert_false(offload_known_name("tx-checksuming"));
        assert_false(offload_known_name("tx")); /* ethtool's short names are not taken */
        assert_false(offload_known_name("TX-checksumming"));
        assert_false(offload_known_name(""));
        /* One claim name per kernel feature: single-member groups fold into the user name. */
        assert_string_equal(offload_canonical("rx-gro"), "generic-receive-offload");
        assert_string_equal(offload_canonical("rx-checksum"), "rx-checksumming");
        assert_string_equal(offload_canonical("generic-receive-offload"), "generic-receive-offload");
        assert_string_equal(offload_canonical("tx-checksum-ipv4"), "tx-checksum-ipv4");
        assert_string_equal(offload_canonical("highdma"), "highdma");
}

/* ---- messages ---- */

static struct nlattr *attr_of(struct nlattr *tb[], int i) {
        assert_non_null(tb[i]);
        return tb[i];
}

static void test_build_features_set(void **st) {
        uint32_t mask[2] = { 0 }, value[2] = { 0 };
        struct nlattr *tb[ETHTOOL_A_FEATURES_MAX + 1], *hb[ETHTOOL_A_HEADER_MAX + 1];
        struct nl_msg *msg;
        struct nlmsghdr *h;
        struct genlmsghdr *g;
        (void) st;

        bit_put(mask, 1, true), bit_put(value, 1, true);   /* bit 1 on */
        bit_put(mask, 3, true);                            /* bit 3 off */
        bit_put(mask, 37, true), bit_put(value, 37, true); /* bit 37 (second word) on */
        msg = ethnl_msg_features_set(FAMILY, "eth0", 64, mask, value);
        assert_non_null(msg);
        h = nlmsg_hdr(msg);
        assert_int_equal(h->nlmsg_type, FAMILY);
        assert_true(h->nlmsg_flags & NLM_F_REQUEST);
        assert_true(h->nlmsg_flags & NLM_F_ACK); /* the reply, then the ack */
        g = nlmsg_data(h);
        assert_int_equal(g->cmd, ETHTOOL_MSG_FEATURES_SET);
        assert_int_equal(g->version, ETHTOOL_GENL_VERSION);

        assert_int_equal(genlmsg_parse(h, 0, tb, ETHTOOL_A_FEATURES_MAX, NULL), 0);
        assert_null(tb[ETHTOOL_A_FEATURES_HW]);
        assert_null(tb[ETHTOOL_A_FEATURES_ACTIVE]);
        /* Nests carry NLA_F_NESTED: the ethtool family validates strictly. */
        assert_true(attr_of(tb, ETHTOOL_A_FEATURES_HEADER)->nla_type & NLA_F_NESTED);
        assert_int_equal(nla_parse_nested(hb, ETHTOOL_A_HEADER_MAX, tb[ETHTOOL_A_FEATURES_HEADER], NULL), 0);
        assert_string_equal(nla_get_string(attr_of(hb, ETHTOOL_A_HEADER_DEV_NAME)), "eth0");
        assert_int_equal(nla_get_u32(attr_of(hb, ETHTOOL_A_HEADER_FLAGS)), ETHTOOL_FLAG_COMPACT_BITSETS);

        /* WANTED, byte for byte: SIZE, VALUE, MASK (no NOMASK: a value/mask pair changes
         * only the masked bits). Host order, as the kernel reads them. */
        struct nlattr *w = attr_of(tb, ETHTOOL_A_FEATURES_WANTED);
        struct {
                struct nlattr nest;
                struct nlattr size_h;
                uint32_t size;
                struct nlattr value_h;
                uint32_t value[2];
                struct nlattr mask_h;
                uint32_t mask[2];
        } __attribute__((packed)) want = {
                .nest = { .nla_len = 36, .nla_type = ETHTOOL_A_FEATURES_WANTED | NLA_F_NESTED },
                .size_h = { .nla_len = 8, .nla_type = ETHTOOL_A_BITSET_SIZE },
                .size = 64,
                .value_h = { .nla_len = 12, .nla_type = ETHTOOL_A_BITSET_VALUE },
                .value = { 0x2, 0x20 },
                .mask_h = { .nla_len = 12, .nla_type = ETHTOOL_A_BITSET_MASK },
                .mask = { 0xa, 0x20 },
        };
        assert_int_equal(w->nla_len, sizeof(want));
        assert_memory_equal(w, &want, sizeof(want));
        nlmsg_free(msg);
}

/* A FEATURES_GET reply as the kernel builds it with ETHTOOL_FLAG_COMPACT_BITSETS: HW with a
 * mask of every known bit, the others NOMASK. */
static struct nl_msg *features_reply(uint8_t cmd, const char *ifname) {
        struct nl_msg *msg = nlmsg_alloc();
        struct nlattr *hdr;

        assert_non_null(genlmsg_put(msg, 0, 1, FAMILY, 0, 0, cmd, ETHTOOL_GENL_VERSION));
        hdr = nla_nest_start(msg, ETHTOOL_A_FEATURES_HEADER | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_HEADER_DEV_INDEX, 7);
        nla_put_string(msg, ETHTOOL_A_HEADER_DEV_NAME, ifname);
        nla_nest_end(msg, hdr);
        return msg;
}

static void test_parse_features_compact(void **st) {
        /* 40 bits: hw 0,1,2,33; wanted 0,2,33; active 0,33; nochange 39. */
        const uint32_t all[2] = { 0xffffffff, 0xff }, hw[2] = { 0x7, 0x2 }, wanted[2] = { 0x5, 0x2 },
                       active[2] = { 0x1, 0x2 }, nochange[2] = { 0, 0x80 };
        struct nl_msg *msg = features_reply(ETHTOOL_MSG_FEATURES_GET_REPLY, "eth1");
        struct eth_features f;
        char ifname[IF_NAMESIZE];
        (void) st;

        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_HW, 40, hw, all), 0);
        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_WANTED, 40, wanted, NULL), 0);
        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_ACTIVE, 40, active, NULL), 0);
        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_NOCHANGE, 40, nochange, NULL), 0);
        assert_int_equal(ethnl_parse_features(nlmsg_hdr(msg), 40, ifname, &f), 0);
        assert_string_equal(ifname, "eth1");
        assert_int_equal(f.n_bits, 40);
        assert_int_equal(f.words, 2);
        assert_memory_equal(f.hw, hw, sizeof(hw));
        assert_memory_equal(f.wanted, wanted, sizeof(wanted));
        assert_memory_equal(f.active, active, sizeof(active));
        assert_memory_equal(f.nochange, nochange, sizeof(nochange));
        assert_false(eth_feature_fixed(&f, 0));
        assert_false(eth_feature_fixed(&f, 33));
        assert_true(eth_feature_fixed(&f, 3));  /* not in hw */
        assert_true(eth_feature_fixed(&f, 39)); /* never changes */
        eth_features_done(&f);

        /* A kernel with more bits than we asked for: the extra ones are dropped. */
        assert_int_equal(ethnl_parse_features(nlmsg_hdr(msg), 33, ifname, &f), 0);
        assert_int_equal(f.words, 2);
        assert_int_equal(f.hw[1], 0x0);
        assert_int_equal(f.hw[0], 0x7);
        eth_features_done(&f);
        nlmsg_free(msg);
}

static void put_bit(struct nl_msg *msg, uint32_t idx, const char *name, bool value) {
        struct nlattr *b = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS_BIT | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_BITSET_BIT_INDEX, idx);
        nla_put_string(msg, ETHTOOL_A_BITSET_BIT_NAME, name);
        if (value)
                nla_put_flag(msg, ETHTOOL_A_BITSET_BIT_VALUE);
        nla_nest_end(msg, b);
}

static void test_parse_bitset_verbose(void **st) {
        struct nl_msg *msg = nlmsg_alloc();
        struct nlattr *set, *bits;
        uint32_t value[1] = { 0 }, mask[1] = { 0 };
        (void) st;

        /* value/mask form: listed bits are masked, with their own value. */
        set = nla_nest_start(msg, 1 | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, 8);
        bits = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS | NLA_F_NESTED);
        put_bit(msg, 1, "tx-checksum-ipv4", true);
        put_bit(msg, 4, "highdma", false);
        put_bit(msg, 9, "beyond", true); /* past n_bits: ignored */
        nla_nest_end(msg, bits);
        nla_nest_end(msg, set);
        assert_int_equal(ethnl_parse_bitset(nlmsg_attrdata(nlmsg_hdr(msg), 0), 8, value, mask), 0);
        assert_int_equal(value[0], 0x02);
        assert_int_equal(mask[0], 0x12);
        nlmsg_free(msg);

        /* NOMASK: a list of the bits that are set. */
        msg = nlmsg_alloc();
        value[0] = mask[0] = 0;
        set = nla_nest_start(msg, 1 | NLA_F_NESTED);
        nla_put_flag(msg, ETHTOOL_A_BITSET_NOMASK);
        bits = nla_nest_start(msg, ETHTOOL_A_BITSET_BITS | NLA_F_NESTED);
        put_bit(msg, 0, "tx-scatter-gather", false);
        put_bit(msg, 5, "tx-scatter-gather-fraglist", false);
        nla_nest_end(msg, bits);
        nla_nest_end(msg, set);
        assert_int_equal(ethnl_parse_bitset(nlmsg_attrdata(nlmsg_hdr(msg), 0), 8, value, mask), 0);
        assert_int_equal(value[0], 0x21);
        assert_int_equal(mask[0], 0xff);
        nlmsg_free(msg);
}

static void test_parse_bitset_malformed(void **st) {
        struct nl_msg *msg = nlmsg_alloc();
        struct nlattr *set;
        uint32_t one = 1, value[2] = { 0 }, mask[2] = { 0 };
        (void) st;

        /* 64 bits announced, one word of value. */
        set = nla_nest_start(msg, 1 | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, 64);
        nla_put(msg, ETHTOOL_A_BITSET_VALUE, sizeof(one), &one);
        nla_put(msg, ETHTOOL_A_BITSET_MASK, sizeof(one), &one);
        nla_nest_end(msg, set);
        assert_int_equal(ethnl_parse_bitset(nlmsg_attrdata(nlmsg_hdr(msg), 0), 64, value, mask), -EBADMSG);
        nlmsg_free(msg);

        /* A value/mask pair without its mask. */
        msg = nlmsg_alloc();
        set = nla_nest_start(msg, 1 | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_BITSET_SIZE, 32);
        nla_put(msg, ETHTOOL_A_BITSET_VALUE, sizeof(one), &one);
        nla_nest_end(msg, set);
        assert_int_equal(ethnl_parse_bitset(nlmsg_attrdata(nlmsg_hdr(msg), 0), 32, value, mask), -EBADMSG);
        nlmsg_free(msg);

        assert_int_equal(ethnl_parse_bitset(NULL, 32, value, mask), -EBADMSG);
}

static void test_parse_set_reply(void **st) {
        /* Asked: bits 1 and 5 on. Bit 5 stayed off (WANTED: mask 5, value = asked), and bits 1,
         * 6 and 34 changed (ACTIVE: 6 and 34 are dependents that went off). */
        const uint32_t w_val[2] = { 0x20, 0 }, w_mask[2] = { 0x20, 0 };
        const uint32_t a_val[2] = { 0x2, 0 }, a_mask[2] = { 0x42, 0x4 };
        struct nl_msg *msg = features_reply(ETHTOOL_MSG_FEATURES_SET_REPLY, "eth0");
        struct eth_set_result r;
        (void) st;

        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_WANTED, 64, w_val, w_mask), 0);
        assert_int_equal(ethnl_put_bitset(msg, ETHTOOL_A_FEATURES_ACTIVE, 64, a_val, a_mask), 0);
        eth_set_result_init(&r, 64);
        assert_int_equal(ethnl_parse_set_reply(nlmsg_hdr(msg), 64, &r), 0);
        assert_memory_equal(r.not_taken, w_mask, sizeof(w_mask));
        assert_memory_equal(r.changed, a_mask, sizeof(a_mask));
        assert_true(bit_on(r.active, 1));
        assert_false(bit_on(r.active, 6));
        assert_false(bit_on(r.active, 34));
        eth_set_result_done(&r);
        nlmsg_free(msg);
}

static void test_parse_strset(void **st) {
        struct nl_msg *msg = nlmsg_alloc();
        struct nlattr *sets, *set, *strings, *s;
        char **names = NULL;
        unsigned n = 0;
        (void) st;

        genlmsg_put(msg, 0, 1, FAMILY, 0, 0, ETHTOOL_MSG_STRSET_GET_REPLY, ETHTOOL_GENL_VERSION);
        sets = nla_nest_start(msg, ETHTOOL_A_STRSET_STRINGSETS | NLA_F_NESTED);
        /* Another set first: skipped. */
        set = nla_nest_start(msg, ETHTOOL_A_STRINGSETS_STRINGSET | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_STRINGSET_ID, ETH_SS_TEST);
        nla_put_u32(msg, ETHTOOL_A_STRINGSET_COUNT, 0);
        nla_nest_end(msg, set);
        set = nla_nest_start(msg, ETHTOOL_A_STRINGSETS_STRINGSET | NLA_F_NESTED);
        nla_put_u32(msg, ETHTOOL_A_STRINGSET_ID, ETH_SS_FEATURES);
        nla_put_u32(msg, ETHTOOL_A_STRINGSET_COUNT, 4);
        strings = nla_nest_start(msg, ETHTOOL_A_STRINGSET_STRINGS | NLA_F_NESTED);
        static const struct {
                uint32_t idx;
                const char *value;
        } strs[] = { { 0, "tx-scatter-gather" }, { 1, "tx-checksum-ipv4" }, { 3, "tx-checksum-ip-generic" } };
        for (size_t i = 0; i < ELEMENTSOF(strs); i++) {
                s = nla_nest_start(msg, ETHTOOL_A_STRINGS_STRING | NLA_F_NESTED);
                nla_put_u32(msg, ETHTOOL_A_STRING_INDEX, strs[i].idx);
                nla_put_string(msg, ETHTOOL_A_STRING_VALUE, strs[i].value);
                nla_nest_end(msg, s);
        }
        nla_nest_end(msg, strings);
        nla_nest_end(msg, set);
        nla_nest_end(msg, sets);

        assert_int_equal(ethnl_parse_strset(nlmsg_hdr(msg), &names, &n), 0);
        assert_int_equal(n, 4);
        assert_string_equal(names[0], "tx-scatter-gather");
        assert_string_equal(names[1], "tx-checksum-ipv4");
        assert_string_equal(names[2], ""); /* a retired bit keeps its index */
        assert_string_equal(names[3], "tx-checksum-ip-generic");
        assert_null(names[4]);
        strv_free(names);
        nlmsg_free(msg);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_groups),
                cmocka_unit_test(test_names_patterns),
                cmocka_unit_test(test_names_known),
                cmocka_unit_test(test_build_features_set),
                cmocka_unit_test(test_parse_features_compact),
                cmocka_unit_test(test_parse_bitset_verbose),
                cmocka_unit_test(test_parse_bitset_malformed),
                cmocka_unit_test(test_parse_set_reply),
                cmocka_unit_test(test_parse_strset),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
